"""The right answer a review shows is written at the precision the question asks for (#15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.content.loader import load_item_text
from engine.items import NumericItem
from engine.qtypes import qtype_for
from engine.qtypes.numeric import at_precision
from engine.variants import generate
from tests.engine import samples

ROOT = Path(__file__).resolve().parents[2]


def _numeric(answer: str, tolerance: str, precision: str = "") -> NumericItem:
    item = samples.item(f"""
        id: precise
        type: numeric
        title: A weight
        stem: "The weight? Give it to three decimal places."
        answer: "{answer}"
        tolerance: {tolerance}
        {precision}
        """)
    assert isinstance(item, NumericItem)
    return item


def _shown(item: NumericItem, seed: int = 0) -> str:
    variant = generate(item, seed)
    return str(qtype_for(item).shown_response(item, variant)["answer"])


@pytest.mark.parametrize(("value", "kwargs", "text"), [
    (0.0522, {"decimals": 3}, "0.052"),
    (0.0522, {"sigfigs": 2}, "0.052"),
    (0.05, {"sigfigs": 3}, "0.0500"),  # trailing zeros are part of the precision
    (0.09996, {"sigfigs": 3}, "0.100"),  # the rounding carries into the next digit
    (12345.0, {"sigfigs": 3}, "12300"),
    (-1.4049, {"decimals": 1}, "-1.4"),
    (-0.0001, {"decimals": 3}, "0.000"),  # no negative zero
])
def test_at_precision(value: float, kwargs: dict[str, int], text: str) -> None:
    assert at_precision(value, **kwargs) == text


def test_three_decimal_places_show_three_decimals() -> None:
    # absolute: 0.0005 is half a unit in the third decimal: the stem's "three decimal places"
    item = _numeric("0.0522", "{absolute: 0.0005}")
    assert _shown(item) == "0.052"
    assert qtype_for(item).correct_response(item, generate(item, 0)) == {"answer": "0.0522"}, (
        "the response the self-tests grade is unchanged")


def test_declared_precision_wins_over_the_tolerance() -> None:
    item = _numeric("0.0522", "{relative: 0.02}", "precision: {sigfigs: 2}")
    assert _shown(item) == "0.052"
    item = _numeric("0.0522", "{relative: 0.02}", "precision: {decimals: 3}")
    assert _shown(item) == "0.052"


def test_significant_figures_tolerance() -> None:
    assert _shown(_numeric("0.0522", "{sigfigs: 3}")) == "0.0522"
    assert _shown(_numeric("0.05", "{sigfigs: 3}")) == "0.0500"


def test_no_declared_precision_shows_the_key_as_before() -> None:
    item = _numeric("0.0522", "{relative: 0.01}")
    assert _shown(item) == "0.0522" == qtype_for(item).correct_response(item, generate(item, 0))["answer"]


def test_a_shown_key_is_right() -> None:
    for answer, tolerance in [("0.0522", "{absolute: 0.0005}"), ("2/3", "{sigfigs: 2}"), ("-1.45", "{absolute: 0.05}")]:
        item = _numeric(answer, tolerance)
        variant = generate(item, 0)
        qtype = qtype_for(item)
        shown = qtype.shown_response(item, variant)
        assert qtype.grade(item, variant, qtype.parse(item, variant, shown)).fraction == 1.0


def test_shipped_item_asking_three_decimal_places() -> None:
    path = ROOT / "content/foundations-of-llms/ch2-generative-models/causal-mask-attention-weight.yaml"
    item = load_item_text(path.read_text(), path.name)
    assert isinstance(item, NumericItem) and "three decimal places" in item.stem
    qtype = qtype_for(item)
    for seed in range(10):
        variant = generate(item, seed)
        key = float(variant.key["answer"][0])
        shown = qtype.shown_response(item, variant)["answer"]
        assert shown == f"{key:.3f}", (seed, key, shown)
        assert qtype.grade(item, variant, qtype.parse(item, variant, {"answer": shown})).fraction == 1.0
