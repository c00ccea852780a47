"""The item API gives every text both as written and as HTML with MathML (the pages' renderer), so
that a client need not render Markdown or LaTeX: the stored item as written, a preview as its seed
fills it in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assessments.bank.rendered import rendered_texts
from tests.assessments.conftest import World

KEY = "ranking-loss-which-pair-is-penalised"


def test_the_item_comes_back_as_source_and_rendered(world: World, client: TestClient) -> None:
    headers = world.headers(world.author("ada"))
    item = client.get(f"/api/v1/items/{KEY}", headers=headers).json()
    assert r"$\mathcal{L} = -\log \sigma\big(r(x, y_w) - r(x, y_l)\big)$" in item["definition"]["stem"]
    stem = item["rendered"]["stem"]
    assert stem.startswith("<p>") and "<math" in stem and r"$\mathcal" not in stem
    assert r'alttext="\mathcal{L} = -\log' in stem  # the formula's source stays as its alternative text
    assert "<strong>not</strong>" in item["rendered"]["solution"]
    assert "{{ r_w[i]:.1f }}" in item["rendered"]["options"]["text"]  # as written: the preview fills it in
    assert "params" not in item["rendered"] and "compute" not in item["rendered"]


def test_a_preview_comes_back_rendered_for_its_seed(world: World, client: TestClient) -> None:
    headers = world.headers(world.author("ada"))
    preview = client.get(f"/api/v1/items/{KEY}/preview", params={"seed": 3}, headers=headers).json()
    rendered = preview["rendered"]
    assert "<math" in rendered["question"]["stem"]
    options = preview["question"]["options"]
    assert [o["id"] for o in rendered["question"]["options"]] == [o["id"] for o in options]
    assert [o["text"] for o in rendered["question"]["options"]] == [o["text"] for o in options]  # no markup in them
    assert len(rendered["key_feedback"]) == len(preview["key_feedback"]) > 0
    assert "<math" in rendered["solution"] and "{{" not in rendered["solution"]
    assert preview["solution"] is not None and "$" in preview["solution"]


def test_only_texts_are_rendered_and_html_in_them_is_sanitised() -> None:
    rendered = rendered_texts({"stem": "x <script>alert(1)</script> $x^2$", "answer": "ranking_loss(1, 2)",
                               "options": [{"text": "*a*", "correct": True}, {"text": "b", "correct": False}],
                               "misconceptions": {"swap": {"says": "swaps $r_w$", "selects": "r_w > 0"}}})
    assert "<script" not in rendered["stem"] and "<msup>" in rendered["stem"]
    assert rendered["options"] == [{"text": "<em>a</em>"}, {"text": "b"}]
    assert "<math" in rendered["misconceptions"]["swap"]["says"] and "selects" not in rendered["misconceptions"]["swap"]
    assert "answer" not in rendered
