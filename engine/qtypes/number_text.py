"""Numbers as students write them: ``0.5``, ``0,5`` (a decimal comma), ``1/2``, ``1.5e-3``, ``+2``,
``12,345.6`` or ``12.345,6`` or ``12 345,6`` (thousands separators), ``−1.4`` (a real minus sign).

One rule decides what a comma means, the same for everyone, so that a grade never depends on the
browser's language: with both a comma and a point, the last of them is the decimal separator and
the other separates thousands; a lone comma is a decimal comma unless it is followed by exactly
three digits after 1 to 3 leading digits (``1,500`` could be either: the student is asked to
write it without the comma). Thousands groups must have three digits, so a typo such as
``1,23,4`` is refused rather than guessed at.
"""

from __future__ import annotations

import re

from engine.qtypes.base import ResponseError

MAX_TEXT = 40
"""Characters of a typed number, separators included (bounded before any pattern runs)."""

_PLAIN = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_FRACTION = re.compile(r"^([+-]?\d{1,15})/(\d{1,15})$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?$")
_AMBIGUOUS = re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f']")
_SWAP = str.maketrans(",.", ".,")
EXAMPLE = "enter a number such as 0.25, -3, 1/2 or 1.5e-3"


def _swap(text: str) -> str:
    """Decimal comma and point-separated thousands to the plain form (``12.345,6`` -> ``12,345.6``)."""
    return text.translate(_SWAP)


def plain_number(typed: str) -> str:
    """The typed number rewritten plainly (``0,5`` -> ``0.5``, ``1,234.5`` -> ``1234.5``); a
    fraction stays ``a/b``. :class:`ResponseError` saying what is wrong when it is no number."""
    text = _SPACES.sub("", typed.strip().replace("\u2212", "-"))
    if not text:
        raise ResponseError("enter a number")
    if len(text) > MAX_TEXT:
        raise ResponseError(f"a number has at most {MAX_TEXT} characters")
    if _PLAIN.match(text) or _FRACTION.match(text):
        return text
    if "," in text and "." in text and text.rfind(",") > text.rfind("."):
        text = _swap(text)  # 12.345,6: the comma is the decimal separator
    elif "," in text and "." not in text:
        if _AMBIGUOUS.match(text):
            raise ResponseError(f"write {text.replace(',', '')} or {text.replace(',', '.')}: "
                                "a comma may separate thousands or decimals")
        if text.count(",") == 1:
            text = text.replace(",", ".")  # 0,5
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if _PLAIN.match(text):
        return text
    raise ResponseError(EXAMPLE)


def read_number(typed: str) -> float:
    """The value of a typed number (see :func:`plain_number`); not checked for finiteness."""
    text = plain_number(typed)
    fraction = _FRACTION.match(text)
    if fraction is None:
        return float(text)
    numerator, denominator = int(fraction.group(1)), int(fraction.group(2))
    if denominator == 0:
        raise ResponseError("a fraction needs a denominator other than 0")
    return numerator / denominator
