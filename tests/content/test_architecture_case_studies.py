"""The arithmetic of Ch.2's architecture case studies: every figure their rubrics cite agrees with
what the item's own computed values (the function library's results) give.

A rubric is plain text that a grader reads, so its numbers are not templates; here each cited
figure is recomputed from the item's variant, and its phrase is found, as printed, in the rubric.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.content.loader import load_item_text
from engine.functions import chinchilla_loss
from engine.items.types import EssayItem
from engine.variants import generate
from tests.conftest import ROOT

CASES = ROOT / "content" / "foundations-of-llms" / "case-studies"

Values = Callable[[str], float]
Figure = tuple[str, float, Callable[[Values], float], float]
"""The phrase as the rubric prints it, the number it prints, that number recomputed from the
variant's values, and how far apart the two may be (the printed rounding)."""


def _weights_and_cache(v: Values) -> float:
    return v("B") * v("kv_gqa") + 2 * v("N") / 1e9


def _loss_at_four_epochs(v: Values) -> float:
    return float(chinchilla_loss(v("n_4ep"), 4 * v("U") * 1e12))


def _loss_at_fitted_optimum(v: Values) -> float:
    return float(chinchilla_loss(v("n_fit"), v("d_fit")))


SERVING: list[Figure] = [
    ("about 370 GB of 640", 370.0, _weights_and_cache, 5.0),
    ("about 370 GB of 640", 640.0, lambda v: v("G") * v("M"), 0.0),
    ("leaves about 270 GB", 270.0, lambda v: v("G") * v("M") - _weights_and_cache(v), 5.0),
    ("over 40% of the node", 42.0, lambda v: 100 * (1 - _weights_and_cache(v) / (v("G") * v("M"))), 2.0),
    ("about twice the weight term", 2.0, lambda v: v("attn_flops") / v("dense_flops"), 0.25),
]

PRETRAINING: list[Figure] = [
    ("about 58B on 6.1T tokens", 58.0, lambda v: v("n_fit") / 1e9, 0.5),
    ("about 58B on 6.1T tokens", 6.1, lambda v: v("d_fit") / 1e12, 0.05),
    ("105 tokens per parameter", 105.0, lambda v: v("d_fit") / v("n_fit"), 0.5),
    ("about 132B on 2.65T", 132.0, lambda v: v("n_20") / 1e9, 0.5),
    ("about 132B on 2.65T", 2.65, lambda v: 20 * v("n_20") / 1e12, 0.005),
    ("43.8T tokens", 43.8, lambda v: v("d_small") / 1e12, 0.05),
    ("about 7.3 epochs", 7.3, lambda v: v("d_small") / 1e12 / v("U"), 0.05),
    ("about 2.0 (58B)", 2.0, lambda v: v("serve_year") * v("n_fit"), 0.05),
    ("4.5 (132B)", 4.5, lambda v: v("serve_year") * v("n_20"), 0.05),
    ("0.27 (8B)", 0.27, lambda v: v("serve_year") * v("n_small"), 0.005),
    ("about 15B on 24T tokens", 15.0, lambda v: v("n_4ep") / 1e9, 0.5),
    ("about 15B on 24T tokens", 24.0, lambda v: 4 * v("U"), 0.0),
    ("predicted 1.906", 1.906, _loss_at_four_epochs, 0.0005),
    ("the fitted optimum's 1.887", 1.887, _loss_at_fitted_optimum, 0.0005),
    ("(0.019 nats worse)", 0.019, lambda v: _loss_at_four_epochs(v) - _loss_at_fitted_optimum(v), 0.0005),
    ("about a quarter of the 58B model's serving cost", 0.25, lambda v: v("n_4ep") / v("n_fit"), 0.01),
]


@pytest.mark.parametrize(("name", "figures"), [
    ("architecture-long-context-serving-plan", SERVING),
    ("architecture-pretraining-compute-plan", PRETRAINING),
])
def test_every_figure_a_rubric_cites_is_what_the_item_computes(name: str, figures: list[Figure]) -> None:
    item = load_item_text((CASES / f"{name}.yaml").read_text(encoding="utf-8"), name)
    assert isinstance(item, EssayItem)
    variant = generate(item, 0)

    def value(key: str) -> float:
        return float(variant.value(key))

    rubric = " ".join(level.description or "" for criterion in item.rubric.criteria for level in criterion.levels)
    for phrase, printed, recompute, tolerance in figures:
        assert phrase in rubric, f"{name}: the rubric no longer says {phrase!r}"
        got = recompute(value)
        assert abs(got - printed) <= tolerance, f"{name}: {phrase!r} prints {printed}; the item computes {got:.4g}"
