"""Moodle's numerical questions as Assay numeric items: answers, partial credit and units.

Moodle grades a numerical response by its answers in the order listed (question.php
get_matching_answer): the first whose interval holds the number gives its grade. Assay's item has
one key, then ``partial_credit`` in order, then misconceptions, so the fully right answer becomes
the key, answers worth part of the mark become partial credit (GIFT's ``=%50%1822:2``), answers
worth nothing become misconceptions (their feedback, named after it), and where Moodle's order
would give a different grade where two intervals overlap, a note says so.

Units follow Moodle's options: ``showunits`` 3 (no units) leaves the unit of the answers as the
item's ``unit`` only, shown beside the box; otherwise the item's ``units`` reads a unit with the
number, converts by Moodle's multipliers and, when ``unitgradingtype`` is 1 or 2, takes the unit
penalty from the response's grade or the question's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from assessments.interop.moodle.model import (
    UNIT_INPUT,
    UNIT_NONE,
    UNIT_OPTIONAL,
    UNIT_PENALTY_OF_QUESTION,
    Answer,
    Question,
    number_text,
    parse_number,
    percent,
    slugify,
)
from assessments.interop.moodle.text import plain_words

__all__ = ["numeric_fields"]


class Reporter(Protocol):
    def problem(self, message: str, line: int = 0) -> Exception: ...

    def note(self, message: str) -> None: ...


def numeric_fields(q: Question, report: Reporter) -> dict[str, Any]:
    """The numeric item's own fields for ``q``; raises what ``report.problem`` returns when none can be made."""
    full = [a for a in q.answers if a.fraction >= 1]
    if not full:
        raise report.problem("no answer is fully right (100%)")
    if len(full) > 1:
        values = ", ".join(a.text for a in full)
        raise report.problem(f"Assay's numeric item has one right answer; this question has {len(full)} ({values})")
    key = full[0]
    value = parse_number(key.text)
    if value is None:
        raise report.problem(f"the right answer {key.text!r} is not a number (Assay cannot accept any number)",
                             key.line)
    if key.feedback:
        report.note(f"the right answer's feedback {key.feedback!r} is not carried")
    fields: dict[str, Any] = {"type": "numeric", "answer": number_text(value), "tolerance": {"absolute": key.tolerance}}
    partial = _partial_credit(q, value, report)
    if partial:
        fields["partial_credit"] = partial
    misconceptions = _misconceptions(q, float(value), key.tolerance, report)
    if misconceptions:
        fields["misconceptions"] = misconceptions
    _order_notes(q.answers, report)
    return fields | _unit_fields(q, report)


def _partial_credit(q: Question, key_value: Decimal, report: Reporter) -> list[dict[str, Any]]:
    found = []
    for a in q.answers:
        if not 0 < a.fraction < 1:
            continue
        value = parse_number(a.text)
        if value is None:
            report.note(f"any other number earning {percent(a.fraction)}% ('*') is not carried: an Assay numeric "
                        "item gives credit only within the ranges of its answers")
            continue
        same = value == key_value  # GIFT's =1822:0 =%50%1822:2: the answer again, with a wider range
        found.append(({} if same else {"value": number_text(value)})
                     | {"tolerance": {"absolute": a.tolerance}, "fraction": a.fraction}
                     | ({"feedback": a.feedback} if a.feedback else {}))
    return found


def _misconceptions(q: Question, key: float, tolerance: float, report: Reporter) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for a in q.answers:
        if a.fraction > 0:
            continue
        value = parse_number(a.text)
        if value is None:
            if a.feedback:
                report.note(f"the feedback for any other answer ({a.feedback!r}) is not carried")
            continue
        if a.fraction < 0:
            report.note(f"the answer {a.text} had {percent(a.fraction)}%; Assay gives it 0")
        if abs(float(value) - key) <= tolerance:
            report.note(f"the answer {a.text} ({percent(a.fraction)}%) is not carried: it lies within the right "
                        "answer's range")
            continue
        if a.tolerance != tolerance:
            report.note(f"the wrong answer {a.text} is matched with the key's tolerance, not its own")
        name = slugify(" ".join(a.feedback.split()[:6]), 40) or slugify(f"answers {a.text}", 40)
        while name in found or not name:
            name = f"{name or 'answer'}-{len(found) + 1}"
        says = plain_words(a.feedback, 200) or f"answers {a.text}"
        found[name] = {"says": says, "value": number_text(value)} | ({"feedback": a.feedback} if a.feedback else {})
    return found


def _rank(answer: Answer, partial: list[Answer]) -> int:
    """Where Assay tries ``answer``: the key first, then partial credit in order, then the rest."""
    if answer.fraction >= 1:
        return 0
    if answer in partial:
        return 1 + partial.index(answer)
    return 1 + len(partial)


def _order_notes(answers: list[Answer], report: Reporter) -> None:
    """Name each pair that Moodle tries in the other order where their ranges overlap."""
    numbers = [(a, parse_number(a.text)) for a in answers]
    ranged = [(a, float(v)) for a, v in numbers if v is not None]
    partial = [a for a, _ in ranged if 0 < a.fraction < 1]
    for n, (first, at) in enumerate(ranged):
        for later, there in ranged[n + 1:]:
            if _rank(later, partial) < _rank(first, partial) and abs(at - there) <= first.tolerance + later.tolerance \
                    and first.fraction != later.fraction:
                report.note(f"the answer {first.text} ({percent(first.fraction)}%) is listed before {later.text} "
                            f"({percent(later.fraction)}%) and their ranges overlap: where they do, Moodle gives "
                            f"{percent(first.fraction)}% and Assay {percent(max(later.fraction, 0))}%")


def _unit_fields(q: Question, report: Reporter) -> dict[str, Any]:
    units = q.units
    base = units.base
    if not units.units:
        return {}
    if units.show == UNIT_NONE:
        if len(units.units) > 1:
            report.note("its units other than the answers' own are not carried (Moodle does not use units here)")
        return {"unit": base} if base else {}
    if base is None:
        raise report.problem("no unit has the multiplier 1, so the unit of the answers is unknown")
    if units.show != UNIT_INPUT:
        report.note("its units are typed after the number (before it, for units on the left), not chosen from a list")
    others: dict[str, float] = {}
    for name, multiplier in units.units:
        others.setdefault(name, multiplier)  # Moodle keeps the first of two units of one name
    others.pop(base)
    block = _grading(units.grading, units.penalty, report) | ({"multipliers": others} if others else {})
    return {"unit": base, "units": block | ({"before": True} if units.left else {})}


def _grading(grading: int, penalty: float, report: Reporter) -> dict[str, Any]:
    """Moodle's ``unitgradingtype`` and ``unitpenalty`` as Assay's: optional units carry no penalty."""
    if grading == UNIT_OPTIONAL:
        return {}
    if not 0 <= penalty <= 1:
        raise report.problem(f"the unit penalty {penalty:g} is not a fraction between 0 and 1")
    return {"graded": True, "penalty": penalty,
            "penalty_of": "question" if grading == UNIT_PENALTY_OF_QUESTION else "response"}
