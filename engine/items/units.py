"""Units of a numeric item's answer: which a response may carry, and what a wrong one costs.

As Moodle's numerical question type has them (question/type/numerical), so that a Moodle question
imports into an item that grades as Moodle grades it: the item's ``unit`` is the unit of its
answer; ``multipliers`` says what each other unit is worth against it (``cm: 100`` when the answer
is 1.25 m, so 125 cm); and when units are graded, a missing or wrong unit costs Moodle's unit
penalty, taken from the response's credit or from the full mark.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = ["MAX_UNITS", "Units", "unit_key", "unit_name_problem"]

MAX_UNITS = 20
MAX_UNIT_NAME = 40
_SPACE = re.compile(r"\s+")


def unit_key(name: str) -> str:
    """A unit as responses are compared: without white space (``m / s`` is ``m/s``), case kept
    (``mm`` is not ``Mm``)."""
    return _SPACE.sub("", name)


def unit_name_problem(name: str, *, before: bool) -> str | None:
    """Why ``name`` cannot be read beside a number, or None. A unit after the number may not
    start like more of the number (a digit, a sign, a point, an exponent such as ``e3``); one
    before it may not end like the start of one."""
    key = unit_key(name)
    if not key:
        return "a unit needs a name"
    if len(name) > MAX_UNIT_NAME:
        return f"a unit's name is at most {MAX_UNIT_NAME} characters"
    if before and re.search(r"[\d.+\-]$", key):
        return f"the unit {name!r} goes before the number, so it may not end with a digit, a point or a sign"
    if not before and re.match(r"[\d.+\-]|[eE][+\-]?\d", key):
        return (f"the unit {name!r} goes after the number, so it may not start with a digit, a point, "
                "a sign or an exponent")
    return None


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError("a multiplier must be above 0")
    return value


Multiplier = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_positive)]


class Units(BaseModel):
    """How a unit typed with the number is read and graded. The item's ``unit`` is the unit of
    its answer (multiplier 1); ``multipliers`` names the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    graded: bool = False
    """False: units are optional (Moodle's "Units are optional"): a known unit converts the number,
    and nothing is lost without one. True: "The unit must be given, and will be graded": a
    response without a known unit, or whose number is right only in another unit, loses
    ``penalty``."""
    penalty: float = Field(default=0.1, ge=0, le=1)
    """Moodle's unit penalty (its default is 0.1)."""
    penalty_of: Literal["response", "question"] = "response"
    """``response``: the penalty is a fraction of the response's credit (a right answer without
    its unit earns 1 − penalty, a half-right one ½ × (1 − penalty)); ``question``: of the full
    mark (credit − penalty, never below 0). Moodle's "as a fraction of the response grade" and
    "of the question grade"."""
    multipliers: dict[str, Multiplier] = Field(default_factory=dict, max_length=MAX_UNITS)
    """Other units and how many of each make one of the item's unit (Moodle's multiplier: the
    answer in this unit is the answer × multiplier)."""
    before: bool = False
    """True for a unit written before the number (``$ 100``; Moodle's "units go on the left")."""

    @model_validator(mode="after")
    def _readable(self) -> Self:
        if not self.graded and {"penalty", "penalty_of"} & self.model_fields_set:
            raise ValueError("a unit penalty applies only when units are graded (graded: true)")
        seen: set[str] = set()
        for name in self.multipliers:
            problem = unit_name_problem(name, before=self.before)
            if problem:
                raise ValueError(problem)
            if unit_key(name) in seen:
                raise ValueError(f"the unit {name!r} is listed twice (white space does not count)")
            seen.add(unit_key(name))
        return self

    def multiplier_of(self, base: str, typed: str) -> float | None:
        """The multiplier of the unit a student typed (1 for the item's own), None when unknown."""
        key = unit_key(typed)
        if key and key == unit_key(base):
            return 1.0
        return next((m for name, m in self.multipliers.items() if unit_key(name) == key), None)

    def credit(self, fraction: np.ndarray, unit_right: np.ndarray) -> np.ndarray:
        """The credit of responses whose numbers earn ``fraction``, elementwise: Moodle's
        apply_unit_penalty (nothing lost with the right unit, or when units are not graded)."""
        if not self.graded:
            return np.asarray(fraction, dtype=np.float64)
        if self.penalty_of == "response":
            penalised = fraction - self.penalty * fraction
        else:
            penalised = np.maximum(fraction - self.penalty, 0.0)
        return np.where(unit_right, fraction, penalised)
