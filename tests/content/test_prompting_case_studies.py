"""The arithmetic of the Ch.3 Prompting case studies: every figure their rubrics and model answers
state is recomputed here from the data in the stem, with the function library, so that a change
to the data or a slip in a rubric fails a test instead of misleading a grader."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import yaml

from engine.functions import (
    majority_vote_accuracy,
    plurality_vote_accuracy,
    recall_at_k,
    reciprocal_rank,
)
from tests.conftest import ROOT

CASES = ROOT / "content" / "foundations-of-llms" / "case-studies"


def _load(name: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))


def _graded_text(item: dict) -> str:  # type: ignore[type-arg]
    """The rubric's descriptions and the model answer, where the figures are stated."""
    levels = [level.get("description", "") for c in item["rubric"]["criteria"] for level in c["levels"]]
    return " ".join([*levels, item["solution"]])


def _states(text: str, figure: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(figure)}(?![\d])", text) is not None


@pytest.fixture(scope="module")
def retriever_case() -> dict:  # type: ignore[type-arg]
    return _load("prompting-rag-retriever-choice")


def _pilot_table(stem: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = re.findall(r"^\| Q\d [^|]+\| (\d+) \| ([01 ]+) \| ([01 ]+) \|$", stem, re.MULTILINE)
    assert len(rows) == 5
    total = np.array([int(r[0]) for r in rows])
    bm25 = np.array([[int(v) for v in r[1].split()] for r in rows])
    dense = np.array([[int(v) for v in r[2].split()] for r in rows])
    return total, bm25, dense


def test_retriever_case_metrics_are_the_rubrics(retriever_case) -> None:  # type: ignore[no-untyped-def]
    total, bm25, dense = _pilot_table(retriever_case["stem"])
    text = _graded_text(retriever_case)
    figures = {
        "BM25 recall@3": recall_at_k(bm25, 3, total).mean(),
        "Dense recall@3": recall_at_k(dense, 3, total).mean(),
        "BM25 recall@5": recall_at_k(bm25, 5, total).mean(),
        "Dense recall@5": recall_at_k(dense, 5, total).mean(),
        "BM25 MRR": reciprocal_rank(bm25).mean(),
        "Dense MRR": reciprocal_rank(dense).mean(),
    }
    expected = {"BM25 recall@3": "0.567", "Dense recall@3": "0.733", "BM25 recall@5": "0.933",
                "Dense recall@5": "0.733", "BM25 MRR": "0.607", "Dense MRR": "0.700"}
    for name, value in figures.items():
        assert f"{value:.3f}" == expected[name], name
        assert _states(text, expected[name]), name
    # Dense finds nothing for Q4, the error code: the rubric's diagnosis rests on it.
    assert reciprocal_rank(dense[3]) == 0 and reciprocal_rank(bm25[3]) > 0


def test_retriever_case_costs_and_standard_error(retriever_case) -> None:  # type: ignore[no-untyped-def]
    text = _graded_text(retriever_case)
    tokens = {k: 300 + 50 + 400 * k for k in (3, 5)}
    monthly = {k: 2_000_000 * tokens[k] * 2.50 / 1e6 for k in (3, 5)}
    assert tokens == {3: 1550, 5: 2350}
    assert monthly == {3: 7750.0, 5: 11750.0}
    for figure in ("1,550", "2,350", "7,750", "11,750", "4,000"):
        assert _states(text, figure), figure
    assert round(100 * (monthly[5] / monthly[3] - 1)) == 52
    assert _states(text, "52%")
    se = math.sqrt(0.74 * 0.26 / 200)
    assert f"{se:.3f}" == "0.031"
    assert _states(text, "0.031")


@pytest.fixture(scope="module")
def budget_case() -> dict:  # type: ignore[type-arg]
    return _load("prompting-self-consistency-budget")


def test_budget_case_vote_accuracies(budget_case) -> None:  # type: ignore[no-untyped-def]
    text = _graded_text(budget_case)
    votes = [0.55, 0.15, 0.15, 0.15]
    for n, stated in [(1, "0.550"), (3, "0.649"), (5, "0.746"), (7, "0.817")]:
        assert f"{plurality_vote_accuracy(votes, n):.3f}" == stated, n
        assert _states(text, stated), n
    for n, stated in [(3, "0.575"), (5, "0.593")]:
        assert f"{majority_vote_accuracy(0.55, n):.3f}" == stated, n
        assert _states(text, stated), n


def test_budget_case_costs_and_early_stopping(budget_case) -> None:  # type: ignore[no-untyped-def]
    text = _graded_text(budget_case)
    for n in (1, 3, 5, 7):
        cost = 1000 * (600 * 0.50 + n * 350 * 1.50) / 1e6
        assert _states(text, f"{cost:.3f}"), n
    within = [n for n in (1, 3, 5, 7) if 1000 * (600 * 0.50 + n * 350 * 1.50) / 1e6 <= 3.00]
    assert max(within) == 5
    unanimous = 0.55**3 + 3 * 0.15**3
    assert f"{unanimous:.4f}" == "0.1765" and _states(text, "0.1765")
    assert f"{3 + 2 * (1 - unanimous):.2f}" == "4.65" and _states(text, "4.65")
