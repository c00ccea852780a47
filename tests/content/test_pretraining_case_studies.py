"""The Ch.1 case studies' rubrics quote figures a grader checks answers against; each is computed
here from the item's own data with the library's functions, so a rubric cannot reward wrong
arithmetic (their stems and solutions show the same values through {{ }} fields)."""

from __future__ import annotations

import pytest

from engine.content.loader import load_items
from engine.texts import render
from engine.variants import generate
from tests.conftest import ROOT

CASE_STUDIES = ROOT / "content" / "foundations-of-llms" / "case-studies"

AUDIT = "pretraining-legal-encoder-run-audit"
DESIGN = "pretraining-clinical-encoder-design"

# (item, criterion, the figure as the rubric writes it, the expression and format that give it)
FIGURES = [
    (AUDIT, "masking-check", "5,120,000 tokens", "tokens:,.0f"),
    (AUDIT, "masking-check", "768,000 selected", "exp_sel:,.0f"),
    (AUDIT, "masking-check", "614,400 [MASK]", "exp_mask:,.0f"),
    (AUDIT, "masking-check", "76,800 random", "exp_rand:,.0f"),
    (AUDIT, "masking-check", "76,800 unchanged", "exp_kept:,.0f"),
    (AUDIT, "masking-check", "(0.200 of the selected)", "share_rand:.3f"),
    (AUDIT, "masking-check", "392 unchanged (0.001)", "share_kept:.3f"),
    (AUDIT, "loss-claim", "Accepts the 7.0 times", "claimed_ratio:.1f"),
    (AUDIT, "loss-claim", "768,412 / 5,120,000 = 0.150", "log_sel / tokens:.3f"),
    (AUDIT, "loss-claim", "1.80 nats per predicted position", "per_position:.2f"),
    (AUDIT, "loss-claim", "about 5% lower", "100 * (1 - per_position / reference_loss):.0f"),
    (AUDIT, "recipe", "seen 8 times", "repeats:.0f"),
    (DESIGN, "objective", "76.8 predictions", "preds_15:.1f"),
    (DESIGN, "objective", "40% gives 204.8", "preds_40:.1f"),
    (DESIGN, "scale", "Base 116.2M", "base / 1000000:.1f"),
    (DESIGN, "scale", "Large 343.8M", "large / 1000000:.1f"),
    (DESIGN, "scale", "table is 26.4% of Base", "base_emb_share:.1f"),
    (DESIGN, "scale", "104.9B tokens", "train_tokens / 1000000000:.1f"),
    (DESIGN, "scale", "17.5 epochs", "epochs:.1f"),
    (DESIGN, "scale", "2.2e20 FLOPs for Large", "large_flops / 1e10 / 1e10:.1f"),
    (DESIGN, "scale", "budget of 6.9e21", "budget_flops / 1e10 / 1e11:.1f"),
    (DESIGN, "scale", "(3.1%)", "large_budget_share:.1f"),
    (DESIGN, "adaptation", "0.69 GB each", "large_copy_gb:.2f"),
    (DESIGN, "adaptation", "6.2 GB for 9 tasks", "storage_gb:.1f"),
]


def _item(item_id: str):  # type: ignore[no-untyped-def]
    (loaded,), problems = load_items([CASE_STUDIES / f"{item_id}.yaml"])
    assert not problems
    return loaded.item


@pytest.mark.parametrize(("item_id", "criterion", "quoted", "field"), FIGURES,
                         ids=[f"{i}:{q}" for i, _, q, _ in FIGURES])
def test_each_figure_the_rubric_quotes_is_the_computed_value(item_id: str, criterion: str, quoted: str,
                                                             field: str) -> None:
    item = _item(item_id)
    (found,) = [c for c in item.rubric.criteria if c.id == criterion]
    rubric_text = " ".join([found.description, *(level.description for level in found.levels)])
    assert quoted in rubric_text, f"{quoted!r} is not in criterion {criterion!r}"
    computed = render("{{ " + field + " }}", generate(item, 0).values).strip()
    assert computed in quoted, f"the rubric says {quoted!r}; the item's data give {computed}"


def test_every_case_study_of_the_chapter_has_its_figures_checked() -> None:
    files = sorted(path.stem for path in CASE_STUDIES.glob("pretraining-*.yaml"))
    assert files == sorted({item_id for item_id, *_ in FIGURES})
