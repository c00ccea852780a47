"""Typed numbers as students write them: what each form reads as, and what is refused and why."""

from __future__ import annotations

import pytest

from engine.qtypes.base import ResponseError
from engine.qtypes.number_text import plain_number, read_number


@pytest.mark.parametrize(("typed", "value"), [
    ("0.5", 0.5), ("0,5", 0.5), ("1/2", 0.5), ("-3/4", -0.75), ("1.5e-3", 0.0015), ("+2", 2.0),
    ("\u22121.4", -1.4), (" 7 ", 7.0), (".5", 0.5), ("12,345.6", 12345.6), ("12.345,6", 12345.6),
    ("12 345,6", 12345.6), ("1\u202f234", 1234.0), ("1'234.5", 1234.5), ("1,234,567", 1234567.0),
    ("0,052", 0.052), ("12,5", 12.5), ("1,2345", 1.2345),
])
def test_what_a_typed_number_reads_as(typed: str, value: float) -> None:
    assert read_number(typed) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize(("typed", "says"), [
    ("1,500", "write 1500 or 1.500"),
    ("two", "enter a number such as"),
    ("1/0", "denominator other than 0"),
    ("1,23,4", "enter a number such as"),
    ("1..2", "enter a number such as"),
    ("1,2,3", "enter a number such as"),
    ("", "enter a number"),
    ("1" * 41, "at most 40 characters"),
    ("1.5/2", "enter a number such as"),
])
def test_what_is_refused_says_why(typed: str, says: str) -> None:
    with pytest.raises(ResponseError, match=says):
        read_number(typed)


def test_plain_numbers_are_left_as_typed() -> None:
    assert plain_number(" 0.25 ") == "0.25"
    assert plain_number("0,25") == "0.25"
    assert plain_number("3/8") == "3/8"
