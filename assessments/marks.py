"""Marks and fractions as they leave Assay: a wrong answer is worth 0, never -0.

An item without negative marking scores a wrong answer ``0 − negative`` with ``negative = 0``,
which IEEE 754 writes -0.0; JSON then says ``-0.0`` and a page "-0". The engine keeps its numbers
exactly as it computed them (a stored attempt must replay to the same bits), so the sign is
dropped where a number leaves: every API field typed :data:`Mark` (on construction, on
assignment and when serialised) and the pages' ``marks`` filter.
"""

from __future__ import annotations

from typing import Annotated, overload

from pydantic import AfterValidator, PlainSerializer

__all__ = ["Mark", "unsigned"]


@overload
def unsigned(value: float) -> float: ...
@overload
def unsigned(value: None) -> None: ...
def unsigned(value: float | None) -> float | None:
    """``value`` with a negative zero made zero (``-0.0 + 0.0 == +0.0``); any other value as it is."""
    return None if value is None else value + 0.0


Mark = Annotated[float, AfterValidator(unsigned), PlainSerializer(unsigned, return_type=float)]
"""A mark or a fraction in a response model: never -0.0."""
