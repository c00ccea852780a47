"""Question types: one module per type, one stateless instance per type, found by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.qtypes.base import (
    Grade,
    GradeBatch,
    QuestionType,
    ResponseError,
    Responses,
    SelfTestCase,
    SelfTestResult,
    Verdict,
)
from engine.qtypes.choice import MultipleResponse, SingleChoice
from engine.qtypes.essay import Essay, ManualGradingRequired, grade_rubric
from engine.qtypes.matching import Matching
from engine.qtypes.numeric import Numeric
from engine.qtypes.ordering import Ordering
from engine.qtypes.short_text import ShortText
from engine.qtypes.true_false import TrueFalse

if TYPE_CHECKING:
    from engine.items import ItemBase

__all__ = [
    "QUESTION_TYPES",
    "Grade",
    "GradeBatch",
    "ManualGradingRequired",
    "QuestionType",
    "ResponseError",
    "Responses",
    "SelfTestCase",
    "SelfTestResult",
    "Verdict",
    "grade_rubric",
    "qtype_for",
]

QUESTION_TYPES: dict[str, QuestionType[Any]] = {
    qtype.name: qtype
    for qtype in (
        SingleChoice(),
        MultipleResponse(),
        TrueFalse(),
        Numeric(),
        Ordering(),
        Matching(),
        ShortText(),
        Essay(),
    )
}


def qtype_for(item: ItemBase) -> QuestionType[Any]:
    """The question type that grades ``item``."""
    return QUESTION_TYPES[item.type_name]
