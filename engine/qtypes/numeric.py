"""Numeric answers, right within a tolerance of the computed key.

The tolerance is a half-width around the key, worked out once per variant:

- ``absolute: t``: |x − key| ≤ t;
- ``relative: r``: |x − key| ≤ r·|key|;
- ``sigfigs: n``: |x − key| ≤ ½·10^(⌊log10|key|⌋ − n + 1), half a unit in the n-th significant
  digit (PrairieLearn's ``sigfig`` comparison), so 0.693 is right for log 2 at 3 figures.

A misconception is matched when the answer falls within the same kind of tolerance of the
misconception's value (and not of the key). Responses parse strictly: a decimal or scientific
number, with ``.`` as the decimal point; anything else is a format error, not a wrong answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.items.types import NumericItem, Tolerance
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
    response_rows,
)
from engine.texts import format_number
from engine.variants import Variant

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
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


def parse_number(raw: Any) -> float:
    """A finite float from a typed answer or a JSON number; :class:`ResponseError` otherwise."""
    if isinstance(raw, bool) or raw is None:
        raise ResponseError("enter a number")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip().replace("\u2212", "-").replace(" ", "")
        if len(text) > _MAX_INPUT or not _NUMBER.match(text):
            raise ResponseError("enter a number such as 0.25, -3 or 1.5e-3")
        value = float(text)
    else:
        raise ResponseError("enter a number")
    if not math.isfinite(value):
        raise ResponseError("enter a finite number")
    return value


class Numeric(QuestionType[NumericItem]):
    name = "numeric"

    def prepare(self, item: NumericItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        answer = batch_value(item.answer, names, batch)
        values = np.stack(
            [batch_value(m.value or "0", names, batch) for m in item.misconceptions.values()],
            axis=1,
        ) if item.misconceptions else np.zeros((batch, 0))
        return {
            "answer": answer,
            "width": half_width(item.tolerance, answer),
            "misconception_values": values,
            "misconception_widths": half_width(item.tolerance, values),
        }

    def render(self, item: NumericItem, variant: Variant) -> dict[str, Any]:
        data = render_common(item, variant)
        data["unit"] = item.unit
        return data

    def parse(self, item: NumericItem, variant: Variant, raw: Raw) -> float:
        return parse_number(raw.get("answer"))

    def grade(self, item: NumericItem, variant: Variant, response: float) -> Grade:
        key = variant.key
        right = abs(response - float(key["answer"][0])) <= float(key["width"][0])
        if right:
            return Grade(1.0)
        near = np.abs(response - key["misconception_values"][0]) <= key["misconception_widths"][0]
        code = int(first_true(near))
        if code < 0:
            return Grade(0.0)
        name = list(item.misconceptions)[code]
        says, text = misconception_feedback(item, name, variant)
        return Grade(0.0, (text,), name, says)

    def stack(self, item: NumericItem, parsed: list[Any]) -> Responses:
        return Responses({"answer": np.asarray(parsed, dtype=np.float64)})

    def grade_many(self, item: NumericItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        x = responses.data["answer"]
        rows = response_rows(responses, len(x))
        right = np.abs(x - key["answer"][rows]) <= key["width"][rows]
        near = (
            np.abs(x[:, np.newaxis] - key["misconception_values"][rows])
            <= key["misconception_widths"][rows]
        )
        code = np.where(right, -1, first_true(near))
        return GradeBatch(right.astype(np.float64), code, tuple(item.misconceptions))

    def summarise(self, item: NumericItem, variant: Variant, response: Raw) -> str:
        answer = response.get("answer")
        return "" if answer is None else str(answer)

    def correct_response(self, item: NumericItem, variant: Variant) -> Raw:
        """The key with as few significant figures as keep it right (well inside the tolerance)."""
        key = float(variant.key["answer"][0])
        width = float(variant.key["width"][0])
        for figures in range(3, 16):
            text = format_number(key, f".{figures}g")
            if abs(float(text) - key) <= width / 4:
                return {"answer": text}
        return {"answer": repr(key)}

    def self_test_cases(self, item: NumericItem, variant: Variant) -> list[SelfTestCase]:
        key = float(variant.key["answer"][0])
        width = float(variant.key["width"][0])
        wrong = key + max(10 * width, 1.0)
        return [
            SelfTestCase("right", self.correct_response(item, variant), Verdict.RIGHT),
            SelfTestCase("wrong", {"answer": format_number(wrong, ".12g")}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"answer": "about a half"}, "invalid"),
        ]
