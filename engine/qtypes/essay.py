"""Essays and case studies: a written answer, graded by a person against a rubric.

The type never grades a text by itself: :meth:`Essay.grade` refuses, and the manual-grading
behaviour asks :func:`grade_rubric` for the fraction once a grader has picked a level for every
criterion. The rubric is shown to students (they write to it); the points are the grader's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from engine.items.types import EssayItem, RubricCriterion
from engine.qtypes.base import (
    Grade,
    QuestionType,
    Raw,
    ResponseError,
    SelfTestCase,
    SelfTestResult,
    Verdict,
)
from engine.qtypes.common import Names, render_common
from engine.variants import Variant

MAX_CHARACTERS = 100_000


class ManualGradingRequired(RuntimeError):
    """An essay was asked to grade itself."""


def word_count(text: str) -> int:
    return len(text.split())


def grade_rubric(item: EssayItem, selections: Mapping[str, int], comment: str = "") -> Grade:
    """The fraction for one level per criterion: points earned over the rubric's maximum.

    ``selections`` maps criterion id to the index of the chosen level; every criterion needs one.
    """
    criteria = {c.id: c for c in item.rubric.criteria}
    unknown = set(selections) - criteria.keys()
    if unknown:
        raise ValueError(f"unknown rubric criterion {min(unknown)!r}")
    missing = criteria.keys() - set(selections)
    if missing:
        raise ValueError(f"choose a level for criterion {min(missing)!r}")
    points = 0.0
    lines = []
    for criterion in item.rubric.criteria:
        index = selections[criterion.id]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(criterion.levels):
            raise ValueError(
                f"criterion {criterion.id!r} has levels 0 to {len(criterion.levels) - 1}, not {index!r}"
            )
        level = criterion.levels[index]
        points += level.points
        lines.append(f"{criterion.title}: {level.label} ({level.points:g}/{criterion.max_points:g})")
    if comment:
        lines.append(comment)
    return Grade(points / item.rubric.max_points, tuple(lines))


def _level(criterion: RubricCriterion, pick: Callable[..., int]) -> int:
    """The index of the criterion's highest (``max``) or lowest (``min``) scoring level."""
    points = [level.points for level in criterion.levels]
    return points.index(pick(points))


class Essay(QuestionType[EssayItem]):
    name = "essay"
    parse_reads_variant = False

    def prepare(self, item: EssayItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        return {}

    def render(self, item: EssayItem, variant: Variant) -> dict[str, Any]:
        data = render_common(item, variant)
        data["rubric"] = [
            {
                "id": c.id,
                "title": c.title,
                "description": c.description,
                "levels": [{"label": lv.label, "description": lv.description} for lv in c.levels],
            }
            for c in item.rubric.criteria
        ]
        data["min_words"] = item.response.min_words
        data["max_words"] = item.response.max_words
        return data

    def parse(self, item: EssayItem, variant: Variant, raw: Raw) -> str:
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ResponseError("write an answer")
        if len(text) > MAX_CHARACTERS:
            raise ResponseError(f"the answer is over {MAX_CHARACTERS} characters")
        words = word_count(text)
        if words < item.response.min_words:
            raise ResponseError(f"write at least {item.response.min_words} words (now {words})")
        if words > item.response.max_words:
            raise ResponseError(f"write at most {item.response.max_words} words (now {words})")
        return text

    def grade(self, item: EssayItem, variant: Variant, response: Any) -> Grade:
        raise ManualGradingRequired("an essay is graded by a person against its rubric")

    def summarise(self, item: EssayItem, variant: Variant, response: Raw) -> str:
        text = response.get("text")
        if not isinstance(text, str):
            return ""
        return " ".join(text.split())[:200]

    def correct_response(self, item: EssayItem, variant: Variant) -> Raw:
        return {"rubric": {c.id: _level(c, max) for c in item.rubric.criteria}}

    def self_test_cases(self, item: EssayItem, variant: Variant) -> list[SelfTestCase]:
        words = max(item.response.min_words, 1)
        worst = {c.id: _level(c, min) for c in item.rubric.criteria}
        return [
            SelfTestCase("right", self.correct_response(item, variant), Verdict.RIGHT),
            SelfTestCase("wrong", {"rubric": worst, "text": "word " * words}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"text": "word " * (item.response.max_words + 1)}, "invalid"),
        ]

    def self_test(self, item: EssayItem, variant: Variant) -> list[SelfTestResult]:
        """Rubric selections stand in for a grader; an over-long text must not parse."""
        results = []
        for case in self.self_test_cases(item, variant):
            try:
                if "text" in case.response:
                    self.parse(item, variant, case.response)
                grade = grade_rubric(item, case.response["rubric"])
            except ResponseError as exc:
                results.append(SelfTestResult(case, "invalid", str(exc)))
                continue
            except KeyError:
                results.append(SelfTestResult(case, "invalid", "no rubric selections"))
                continue
            verdict = Verdict.RIGHT if grade.verdict == Verdict.RIGHT else Verdict.NOT_RIGHT
            results.append(SelfTestResult(case, verdict, f"fraction {grade.fraction}"))
        return results
