"""The item bank through the API and `assay content load`: versions, validation, import, export."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from assessments.bank.content_sync import load_content
from assessments.errors import Invalid
from assessments.models import Item, ItemVersion
from tests.assessments.conftest import T0, World
from tests.conftest import ROOT

NEW_ITEM: dict[str, Any] = {
    "id": "api-made-item",
    "type": "numeric",
    "title": "Loss of a tie",
    "tags": {"chapter": "Ch.4 Alignment", "bloom": "Remember"},
    "stem": "What is the ranking loss of a tie?",
    "answer": "ranking_loss(0, 0)",
    "tolerance": {"sigfigs": 3},
}


@pytest.fixture
def staff(world: World) -> dict[str, str]:
    return world.headers(world.author())


def test_create_search_update_and_preview(world: World, staff: dict[str, str]) -> None:
    api = world.client
    assert api is not None
    made = api.post("/api/v1/items", headers=staff, json=NEW_ITEM)
    assert made.status_code == 201, made.text
    assert made.json() == {"key": "api-made-item", "version": 1, "created": True}
    again = api.post("/api/v1/items", headers=staff, json=NEW_ITEM)
    assert again.json() == {"key": "api-made-item", "version": 1, "created": False}

    found = api.get("/api/v1/items", headers=staff, params={"tag": "bloom:Remember", "q": "tie"}).json()
    assert [i["key"] for i in found] == ["api-made-item"]
    hierarchy = api.get("/api/v1/items", headers=staff,
                        params={"tag": "discipline:Science > Empirical Science"}).json()
    assert "ranking-loss-which-pair-is-penalised" in [i["key"] for i in hierarchy]

    changed = {**NEW_ITEM, "title": "The loss of a tie"}
    put = api.put("/api/v1/items/api-made-item", headers=staff, json=changed)
    assert put.json() == {"key": "api-made-item", "version": 2, "created": True}
    detail = api.get("/api/v1/items/api-made-item", headers=staff).json()
    assert detail["title"] == "The loss of a tie" and [v["number"] for v in detail["versions"]] == [1, 2]
    back = api.put("/api/v1/items/api-made-item", headers=staff, json=NEW_ITEM)  # a revert: no new version
    assert back.json() == {"key": "api-made-item", "version": 1, "created": False}

    preview = api.get("/api/v1/items/ranking-loss-which-pair-is-penalised/preview", headers=staff,
                      params={"seed": 7}).json()
    assert preview["seed"] == 7 and set(preview["params"]) == {"r_w", "r_l"}
    assert preview["key_response"]["choices"] and preview["solution"]


def test_validation_errors_say_where(world: World, staff: dict[str, str]) -> None:
    api = world.client
    assert api is not None
    bad = {**NEW_ITEM, "answer": "ranking_loss(0, 0).real", "scoring": {"method": "partial"}}
    reply = api.post("/api/v1/items", headers=staff, json=bad)
    assert reply.status_code == 400
    problems = {tuple(p["path"]): p["message"] for p in reply.json()["error"]["details"]}
    assert "attribute access" in problems[("answer",)]
    ambiguous = {**NEW_ITEM, "misconceptions": {"same": "ranking_loss(0, 0)"}}
    reply = api.post("/api/v1/items", headers=staff, json=ambiguous)
    assert reply.status_code == 400
    assert reply.json()["error"]["details"][0]["path"] == ["misconceptions", "same", "value"]
    assert api.get("/api/v1/items/api-made-item", headers=staff).status_code == 404


def test_yaml_import_is_all_or_nothing_and_export_round_trips(world: World, staff: dict[str, str]) -> None:
    api = world.client
    assert api is not None
    good = yaml.safe_dump(NEW_ITEM, sort_keys=False)
    broken = textwrap.dedent("""\
        id: broken-item
        type: numeric
        title: Broken
        stem: s
        answer: nope + 1
    """)
    reply = api.post("/api/v1/items/import", headers=staff, content=good + "---\n" + broken)
    assert reply.status_code == 400
    [problem] = reply.json()["error"]["details"]
    assert problem["line"] == good.count("\n") + 2 + 4  # "answer:" in the second document
    assert "unknown name 'nope'" in problem["message"]
    assert api.get("/api/v1/items/api-made-item", headers=staff).status_code == 404  # nothing half-imported

    reply = api.post("/api/v1/items/import", headers=staff, content=good)
    assert reply.json()["created"] == 1
    exported = api.get("/api/v1/items/export", headers=staff, params={"q": "api-made"}).text
    assert list(yaml.safe_load_all(exported)) == [NEW_ITEM]


def _versions(db: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(ItemVersion)))


@pytest.mark.parametrize("fmt", ["yaml", "gift"])
def test_a_bad_tag_filter_is_refused_by_the_export_as_by_the_search(world: World, staff: dict[str, str],
                                                                     fmt: str) -> None:
    """``tag=AAA`` (no ``facet:value``) once reached the export as a ValueError: 500."""
    api = world.client
    assert api is not None
    searched = api.get("/api/v1/items", headers=staff, params={"tag": "AAA"})
    exported = api.get("/api/v1/items/export", headers=staff, params={"tag": "AAA", "format": fmt})
    for reply in (searched, exported):
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"] == {"code": "bad_tag_query",
                                         "message": "bad tag query: tag value '' has an empty level"}


def test_content_load_is_idempotent_and_atomic(db: Any, tmp_path: Path) -> None:
    bank = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "foundations-of-llms" / "ch4-alignment" / "reward-models",
                    bank / "reward-models")
    shutil.copy(ROOT / "content" / "bank.yaml", bank / "bank.yaml")
    first = load_content(db, bank, actor_id=None, now=T0)
    before = _versions(db)
    assert first.created + first.unchanged == len(first.items) >= 20

    second = load_content(db, bank, actor_id=None, now=T0)
    assert second.unchanged == len(second.items) and _versions(db) == before

    seed = bank / "reward-models" / "ranking-loss-which-pair-is-penalised.yaml"
    seed.write_text(seed.read_text().replace("Select all that apply.", "Select every one that applies."))
    third = load_content(db, bank, actor_id=None, now=T0)
    assert third.new_versions == 1 and _versions(db) == before + 1

    (bank / "reward-models" / "zz-broken.yaml").write_text("id: zz-broken\ntype: numeric\ntitle: t\nstem: s\n")
    seed.write_text(seed.read_text().replace("every one", "each one"))
    with pytest.raises(Invalid) as caught:
        load_content(db, bank, actor_id=None, now=T0)
    assert any(p["file"].endswith("zz-broken.yaml") for p in caught.value.details)
    assert _versions(db) == before + 1  # the changed seed item was not loaded either
    assert db.scalar(select(Item).where(Item.key == "zz-broken")) is None
