"""The shipped bank: every file checks, every item self-tests, and the bank is big enough."""

from __future__ import annotations

import pytest

from engine.content.checker import check
from engine.content.loader import item_files, load_items
from engine.qtypes import qtype_for
from engine.variants import generate_batch
from tests.conftest import ROOT

CONTENT = ROOT / "content"
FILES = item_files(CONTENT)


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return check(CONTENT)


def test_the_whole_bank_checks_clean(report) -> None:  # type: ignore[no-untyped-def]
    assert report.ok, "\n".join(str(p) for p in report.problems)


def test_the_bank_has_the_items_the_course_needs(report) -> None:  # type: ignore[no-untyped-def]
    items = [loaded.item for loaded in report.items]
    assert len(items) >= 60
    computed = [item for item in items if item.is_computed]
    assert len(computed) >= 25
    assert all(item.misconceptions for item in computed)
    titles = {item.title for item in items}
    for title in (
        "Reward Model Training via Ranking Loss Minimization",
        "Evaluating Reward Model Score Outputs",
        "Intuition of the Ranking Loss Function in RLHF",
        "Reward Model Loss as Negative Log-Likelihood",
        "Flexibility of Ranking Loss Functions in Reward Model Training",
        "Learning-to-Rank Approaches for Human Preference Modeling",
        "Diagnosing Instability in an RLHF + PPO Training Run",
        'Root-Cause Analysis of a "Reward Hacking" Spike During RLHF with PPO',
    ):
        assert title in titles
    types = {item.type_name for item in items}
    assert types == {"single_choice", "multiple_response", "true_false", "numeric", "ordering",
                     "matching", "short_text", "essay"}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_item_self_test(path) -> None:  # type: ignore[no-untyped-def]
    """Each item loads, makes variants, and grades its key right, a wrong answer not right and an
    invalid answer as a format error."""
    (loaded,), problems = load_items([path])
    assert not problems
    item = loaded.item
    qtype = qtype_for(item)
    batch = generate_batch(item, range(8))
    for row in range(len(batch)):
        for result in qtype.self_test(item, batch[row]):
            assert result.passed, (result.case.label, result.outcome, result.detail)
