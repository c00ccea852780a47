"""Numeric answers, right within a tolerance of the computed key.

The tolerance is a half-width around the key, worked out once per variant:

- ``absolute: t``: |x − key| ≤ t;
- ``relative: r``: |x − key| ≤ r·|key|;
- ``sigfigs: n``: |x − key| ≤ ½·10^(⌊log10|key|⌋ − n + 1), half a unit in the n-th significant
  digit (PrairieLearn's ``sigfig`` comparison), so 0.693 is right for log 2 at 3 figures.

A response earns the credit of the first range that holds it, as Moodle's numerical type matches
its answers in order: the key's (full marks), then each ``partial_credit`` answer's (its fraction
and feedback), then each misconception's (nothing, with its feedback); a misconception's range is
the same kind of tolerance around its value.

Responses parse strictly: a decimal or scientific number, with ``.`` as the decimal point; anything
else is a format error, not a wrong answer. An item with ``units`` also reads a unit typed after
the number (before it, for units written first), as Moodle's answer processor does: white space
dropped, the unit compared as written. The number is converted by its unit's multiplier, and a
range matches the converted number (the unit was right) or else the number as typed (the unit was
missing, unknown or wrong); when units are graded the latter loses the unit penalty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.items.types import NumericItem, Tolerance
from engine.items.units import MAX_UNIT_NAME, Units
from engine.qtypes.base import (
    Grade,
    GradeBatch,
    QuestionType,
    Raw,
    ResponseError,
    Responses,
    SelfTestCase,
    Verdict,
)
from engine.qtypes.common import (
    Names,
    batch_value,
    first_true,
    misconception_feedback,
    render_common,
    render_text,
    response_rows,
)
from engine.qtypes.number_text import plain_number, read_number
from engine.texts import format_number
from engine.variants import Variant

_NUMBER_TEXT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(f"^{_NUMBER_TEXT}$")
_WRITTEN_NUMBER = r"[+-]?(?:\d|\.\d)[\d.,/']*(?:[eE][+-]?\d+)?"
"""A number as students write it beside a unit: digits with decimal commas or points, thousands
separators and a fraction's slash (read by :func:`read_number`), then an exponent. A unit begins
at the first character that cannot belong to the number."""
_NUMBER_THEN_UNIT = re.compile(f"^({_WRITTEN_NUMBER})(.*)$", re.DOTALL)
_UNIT_THEN_NUMBER = re.compile(f"^(.*?)({_WRITTEN_NUMBER})$", re.DOTALL)
_SPACE = re.compile(r"\s+")
_MAX_INPUT = 40
# Float slack so that a student's typed key is never rejected by the last bit of rounding.
_ULP_SLACK = 1e-12


def half_width(tolerance: Tolerance, value: np.ndarray) -> np.ndarray:
    """The tolerance around ``value`` as an absolute half-width, elementwise."""
    magnitude = np.abs(value)
    if tolerance.absolute is not None:
        width = np.full_like(magnitude, tolerance.absolute)
    elif tolerance.relative is not None:
        width = tolerance.relative * magnitude
    else:
        assert tolerance.sigfigs is not None
        with np.errstate(divide="ignore"):
            exponent = np.floor(np.log10(np.where(magnitude > 0, magnitude, 1.0)))
        width = 0.5 * 10.0 ** (exponent - tolerance.sigfigs + 1)
        width = np.where(magnitude > 0, width, 0.0)
    return width + _ULP_SLACK * np.maximum(magnitude, 1.0)


def at_precision(value: float, *, sigfigs: int | None = None, decimals: int | None = None) -> str:
    """``value`` written to ``decimals`` decimal places or ``sigfigs`` significant figures, trailing
    zeros kept (0.0500 at three figures), in positional notation, without a negative zero."""
    if sigfigs is not None:
        rounded = float(f"{value:.{sigfigs - 1}e}")  # rounding may carry: 0.09996 → 0.1000
        exponent = math.floor(math.log10(abs(rounded))) if rounded else 0
        decimals = sigfigs - 1 - exponent
        if decimals < 0:  # 12345 at three figures is 12300
            value, decimals = round(rounded, decimals), 0
    assert decimals is not None
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def parse_number(raw: Any) -> float:
    """A finite float from a typed answer or a JSON number; :class:`ResponseError` otherwise."""
    if isinstance(raw, bool) or raw is None:
        raise ResponseError("enter a number")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        value = read_number(raw)
    else:
        raise ResponseError("enter a number")
    if not math.isfinite(value):
        raise ResponseError("enter a finite number")
    return value


@dataclass(frozen=True, slots=True)
class WithUnit:
    """A number as typed with the unit beside it: the multiplier of that unit (1 for the item's
    own), or None when there was none or the item does not know it (then ``unit`` says what was
    typed)."""

    value: float
    multiplier: float | None
    unit: str = ""


def _example(unit: str, units: Units) -> str:
    return f"{unit} 0.25" if units.before else f"0.25 {unit}"


def split_unit(typed: str, unit: str, units: Units) -> tuple[str, str]:
    """(the number as typed, the unit as typed: "" when there is none) of a typed answer to an
    item with units; :class:`ResponseError` when no number stands where the number goes."""
    text = _SPACE.sub("", typed.replace("\u2212", "-"))
    found = None
    if len(text) <= _MAX_INPUT + MAX_UNIT_NAME:  # bounded before any pattern runs
        found = (_UNIT_THEN_NUMBER if units.before else _NUMBER_THEN_UNIT).match(text)
    if found is None:
        raise ResponseError(f"enter a number such as {_example(unit, units)}")
    number, written = (found.group(2), found.group(1)) if units.before else (found.group(1), found.group(2))
    if len(number) > _MAX_INPUT:
        raise ResponseError(f"enter a number such as {_example(unit, units)}")
    return number, written


def parse_with_unit(raw: Any, unit: str, units: Units) -> WithUnit:
    """A number and its unit from a typed answer (a JSON number has none); :class:`ResponseError`
    when no number can be read where the number goes. The number is read as students write it
    (``0,5 m``, ``1/2 m``, ``1,234.5 m``: see :mod:`engine.qtypes.number_text`)."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return WithUnit(parse_number(raw), None)
    if not isinstance(raw, str):
        raise ResponseError("enter a number")
    number, typed = split_unit(raw, unit, units)
    return WithUnit(parse_number(number), units.multiplier_of(unit, typed) if typed else None, typed)


def read_as(item: NumericItem, typed: str) -> str | None:
    """How a number typed in another form than the plain one was read, to tell the student
    ("0,5 m" -> "0.5 m", "3/8" -> "0.375"); None when it was plain or cannot be read."""
    units, unit = item.units, item.unit
    try:
        number, written = (typed.strip(), "") if units is None or unit is None else split_unit(typed, unit, units)
        plain = plain_number(number)
        value = read_number(number)
    except ResponseError:
        return None
    if plain == number.strip() and "/" not in plain:
        return None
    shown = f"{value:.12g}"
    if not written:
        return shown
    return f"{written} {shown}" if units is not None and units.before else f"{shown} {written}"


def _as_read(response: float | WithUnit) -> tuple[float, float]:
    """(the number as typed, its unit's multiplier or NaN)."""
    if isinstance(response, WithUnit):
        return response.value, math.nan if response.multiplier is None else response.multiplier
    return float(response), math.nan


@dataclass(frozen=True, slots=True)
class _Matched:
    """Which range each response fell in (-1: none), whether through its unit, and its credit."""

    chosen: np.ndarray
    unit_right: np.ndarray
    earned: np.ndarray
    """The credit of the range (before any unit penalty)."""
    fraction: np.ndarray


class Numeric(QuestionType[NumericItem]):
    name = "numeric"
    parse_reads_variant = False

    def prepare(self, item: NumericItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        answer = batch_value(item.answer, names, batch)
        values = np.stack(
            [batch_value(m.value or "0", names, batch) for m in item.misconceptions.values()],
            axis=1,
        ) if item.misconceptions else np.zeros((batch, 0))
        key = {
            "answer": answer,
            "width": half_width(item.tolerance, answer),
            "misconception_values": values,
            "misconception_widths": half_width(item.tolerance, values),
        }
        if item.partial_credit:  # only then: an item without keeps the key it always had
            partial = [batch_value(p.value or item.answer, names, batch) for p in item.partial_credit]
            key["partial_values"] = np.stack(partial, axis=1)
            key["partial_widths"] = np.stack(
                [half_width(p.tolerance or item.tolerance, v) for p, v in zip(item.partial_credit, partial,
                                                                                strict=True)], axis=1)
        return key

    def render(self, item: NumericItem, variant: Variant) -> dict[str, Any]:
        data = render_common(item, variant)
        data["unit"] = item.unit
        if item.units is not None:  # the student types the unit too: say which (an item without keeps its render)
            data["units"] = [item.unit, *item.units.multipliers]
            data["unit_before"] = item.units.before
        return data

    def parse(self, item: NumericItem, variant: Variant, raw: Raw) -> float | WithUnit:
        if item.units is None or item.unit is None:
            return parse_number(raw.get("answer"))
        return parse_with_unit(raw.get("answer"), item.unit, item.units)

    # --- matching a number against the ranges, in order ----------------------------------------
    @staticmethod
    def _match(item: NumericItem, key: Mapping[str, np.ndarray], rows: np.ndarray, typed: np.ndarray,
               multiplier: np.ndarray) -> _Matched:
        centres = [key["answer"][rows][:, np.newaxis]]
        widths = [key["width"][rows][:, np.newaxis]]
        if item.partial_credit:
            centres.append(key["partial_values"][rows])
            widths.append(key["partial_widths"][rows])
        centres.append(key["misconception_values"][rows])
        widths.append(key["misconception_widths"][rows])
        centre, width = np.concatenate(centres, axis=1), np.concatenate(widths, axis=1)
        credit = np.array([1.0, *(p.fraction for p in item.partial_credit), *([0.0] * len(item.misconceptions))])
        known = ~np.isnan(multiplier)
        converted = np.where(known, typed / np.where(known, multiplier, 1.0), typed)
        by_unit = np.abs(converted[:, np.newaxis] - centre) <= width
        as_typed = np.abs(typed[:, np.newaxis] - centre) <= width
        chosen = first_true(by_unit | as_typed)
        picked = np.maximum(chosen, 0)
        unit_right = known & np.take_along_axis(by_unit, picked[:, np.newaxis], axis=1)[:, 0] & (chosen >= 0)
        earned = np.where(chosen >= 0, credit[picked], 0.0)
        fraction = earned if item.units is None else item.units.credit(earned, unit_right)
        return _Matched(chosen, unit_right, earned, fraction)

    def grade(self, item: NumericItem, variant: Variant, response: float | WithUnit) -> Grade:
        typed, multiplier = _as_read(response)
        matched = self._match(item, variant.key, np.zeros(1, dtype=np.int64), np.array([typed]),
                              np.array([multiplier]))
        chosen, fraction = int(matched.chosen[0]), float(matched.fraction[0])
        partials = len(item.partial_credit)
        feedback: list[str] = []
        name = says = None
        if 1 <= chosen <= partials:
            text = render_text(item.partial_credit[chosen - 1].feedback, variant)
            feedback += [text] if text else []
        elif chosen > partials:
            name = list(item.misconceptions)[chosen - 1 - partials]
            says, text = misconception_feedback(item, name, variant)
            feedback.append(text)
        lost = float(matched.earned[0]) - fraction
        if lost > 0:  # units are graded, and the number was right only without its unit
            feedback.append(f"The unit is missing or wrong: {format_number(lost * 100, '.3g')}% of the mark "
                            "is taken off.")
        return Grade(fraction, tuple(feedback), name, says)

    def stack(self, item: NumericItem, parsed: list[Any]) -> Responses:
        if item.units is None:
            return Responses({"answer": np.asarray(parsed, dtype=np.float64)})
        read = [_as_read(p) for p in parsed]
        return Responses({"answer": np.array([t for t, _ in read], dtype=np.float64).reshape(len(read)),
                          "multiplier": np.array([m for _, m in read], dtype=np.float64).reshape(len(read))})

    def grade_many(self, item: NumericItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        typed = responses.data["answer"]
        rows = response_rows(responses, len(typed))
        multiplier = responses.data.get("multiplier", np.full(len(typed), np.nan))
        matched = self._match(item, key, rows, typed, multiplier)
        first_misconception = 1 + len(item.partial_credit)
        code = np.where(matched.chosen >= first_misconception, matched.chosen - first_misconception, -1)
        return GradeBatch(np.asarray(matched.fraction, dtype=np.float64), code, tuple(item.misconceptions))

    def summarise(self, item: NumericItem, variant: Variant, response: Raw) -> str:
        answer = response.get("answer")
        return "" if answer is None else str(answer)

    @staticmethod
    def _key_text(variant: Variant) -> str:
        """The key with as few significant figures as keep it right (well inside the tolerance)."""
        key = float(variant.key["answer"][0])
        width = float(variant.key["width"][0])
        for figures in range(3, 16):
            text = format_number(key, f".{figures}g")
            if abs(float(text) - key) <= width / 4:
                return text
        return repr(key)

    @staticmethod
    def _with_unit(item: NumericItem, text: str) -> Raw:
        if item.units is None or item.unit is None:
            return {"answer": text}
        return {"answer": f"{item.unit} {text}" if item.units.before else f"{text} {item.unit}"}

    def correct_response(self, item: NumericItem, variant: Variant) -> Raw:
        """The key, short (see :meth:`_key_text`), with its unit where responses carry units."""
        return self._with_unit(item, self._key_text(variant))

    def shown_response(self, item: NumericItem, variant: Variant) -> Raw:
        """The key at the precision a student types to (:meth:`NumericItem.typed_precision`:
        "three decimal places" shows 0.052, not 0.0522), if that rounding is right; else as
        :meth:`correct_response` writes it."""
        precision = item.typed_precision()
        key = float(variant.key["answer"][0])
        if precision is None or not math.isfinite(key):
            return self.correct_response(item, variant)
        text = at_precision(key, sigfigs=precision.sigfigs, decimals=precision.decimals)
        if abs(float(text) - key) > float(variant.key["width"][0]):
            return self.correct_response(item, variant)
        return self._with_unit(item, text)

    def self_test_cases(self, item: NumericItem, variant: Variant) -> list[SelfTestCase]:
        key = float(variant.key["answer"][0])
        width = float(variant.key["width"][0])
        wrong = key + max(10 * width, 1.0)
        cases = [
            SelfTestCase("right", self.correct_response(item, variant), Verdict.RIGHT),
            SelfTestCase("wrong", {"answer": format_number(wrong, ".12g")}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"answer": "about a half"}, "invalid"),
        ]
        if item.units is not None and item.units.graded and item.units.penalty > 0:
            cases.append(SelfTestCase("without its unit", {"answer": self._key_text(variant)}, Verdict.NOT_RIGHT))
        return cases
