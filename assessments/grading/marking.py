"""What a grader reads and writes: a response as its student saw it, and a mark out of the maximum.

Graders think in marks ("3 out of 4"), the engine in fractions of the question's maximum: a mark
is turned into the engine's fraction here, checked against the question's range first so that a
refusal says what was wrong in the grader's words ("the mark must be 4 or less"). A response is
shown as text, never as the stored JSON: an essay's whole text, the chosen options' texts, a
number with the unit the student answered in.
"""

from __future__ import annotations

import math
from typing import Any

from assessments.errors import Invalid
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.behaviours.base import min_fraction

MARK_FIELD = "mark"


def _number(value: float) -> str:
    return format(round(value, 6) + 0.0, "g")


def mark_refused(message: str) -> Invalid:
    return Invalid(message, code="invalid_grade", details=[{"loc": ["body", MARK_FIELD], "message": message}])


def fraction_of_mark(mark: float, qa: EngineAttempt) -> float:
    """The engine's fraction for ``mark`` out of the question's maximum mark; a mark outside the
    question's range (below 0, or below its negative marking's floor, or above its maximum) is
    refused with the range in the message."""
    top = qa.max_mark  # always positive: the engine refuses a question worth nothing
    if not math.isfinite(mark):
        raise mark_refused("enter the mark as a number, such as 2.5")
    low = min_fraction(qa.item) * top
    if mark > top:
        raise mark_refused(f"the mark must be {_number(top)} or less: the question is out of {_number(top)}")
    if mark < low:
        raise mark_refused(f"the mark must be {_number(low)} or more")
    return mark / top


def _words(qa: EngineAttempt, response: dict[str, Any] | None) -> str:
    if not response or qa.qtype.is_blank(response):
        return ""
    item = qa.item
    if item.type_name == "essay":
        text = response.get("text")
        return text if isinstance(text, str) and text.strip() else ""
    text = qa.qtype.summarise(item, qa.variant, response)
    unit = getattr(item, "unit", None)
    if item.type_name == "numeric" and unit and getattr(item, "units", None) is None and text:
        return f"{text} {unit}"  # the unit stood beside the box; the student typed only the number
    return text


def shown_response(qa: EngineAttempt) -> str:
    """The question's response as its student saw it, in words ("" when nothing was answered)."""
    return _words(qa, qa.response)


def right_answer(qa: EngineAttempt) -> str:
    """The right answer in the same words ("" for an essay, which has none)."""
    if qa.item.type_name == "essay":
        return ""
    return _words(qa, dict(qa.qtype.shown_response(qa.item, qa.variant)))
