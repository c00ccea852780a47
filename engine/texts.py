"""Text templates: Markdown with LaTeX, and computed values in ``{{ expression:format }}``.

Double braces keep LaTeX's own braces (``\\mathcal{L}``, even ``D_{\\mathrm{KL}}``) untouched: only
``{{`` opens a field, so a ``}}`` that closes two LaTeX groups is plain text (write ``{ {`` for
two opening LaTeX braces). The optional format after the
last top-level ``:`` is Python's format mini-language applied to each number (``{{ loss[i]:.3f }}``);
without one, whole numbers print as integers and others with up to six significant digits. A
vector prints as its elements joined by ", ".

Texts are bounded: a format's width is at most :data:`MAX_FORMAT_WIDTH` and its precision at
most :data:`MAX_FORMAT_PRECISION` (refused when the text is parsed, so when its item loads), and
a text once filled in is at most :data:`MAX_RENDERED_LENGTH` characters: rendering stops with an
:class:`~engine.expressions.ExpressionError` as soon as it would pass that, before formatting the
rest. Filling a text in is charged to the work budget in force, like any evaluation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator

from engine.expressions import (
    MAX_TEXT_WORK,
    OPERATION_COST,
    Expression,
    ExpressionError,
    charge,
    compile_expression,
    evaluate,
    work_budget,
)

__all__ = [
    "MAX_FORMAT_PRECISION",
    "MAX_FORMAT_WIDTH",
    "MAX_RENDERED_LENGTH",
    "Template",
    "TemplateText",
    "format_number",
    "format_value",
    "parse_template",
    "render",
    "render_rows",
]

MAX_FORMAT_WIDTH = 50
"""Widest field a number format may ask for (``{{ x:>12.3f }}``)."""
MAX_FORMAT_PRECISION = 20
"""Most digits a number format may ask for after the point (float64 holds about 17)."""
MAX_RENDERED_LENGTH = 20_000
"""Longest text once its values are filled in, in characters (a stem may be 10,000 as written)."""
FORMAT_COST = 2_000
"""Work units to format one number (Python's ``format`` and the text around it)."""

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FORMAT_SPEC = re.compile(r"^[<>=^]?[+\- ]?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d+))?[eEfFgG%]?$")


@dataclass(frozen=True, slots=True)
class Field:
    expression: Expression
    spec: str


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and fields, alternating."""

    source: str
    parts: tuple[str | Field, ...]

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(p.expression for p in self.parts if isinstance(p, Field))


def _split_spec(body: str) -> tuple[str, str]:
    depth = 0
    for position in range(len(body) - 1, -1, -1):
        char = body[position]
        if char in ")]":
            depth += 1
        elif char in "([":
            depth -= 1
        elif char == ":" and depth == 0:
            return body[:position], body[position + 1 :].strip()
    return body, ""


@functools.lru_cache(maxsize=8192)
def parse_template(source: str) -> Template:
    """Parse ``source``; raise :class:`ExpressionError` for a bad field or format."""
    parts: list[str | Field] = []
    cursor = 0
    for match in _PLACEHOLDER.finditer(source):
        parts.append(source[cursor : match.start()])
        expression_text, spec = _split_spec(match.group(1))
        _check_spec(spec, match.group(0))
        parts.append(Field(compile_expression(expression_text), spec))
        cursor = match.end()
    tail = source[cursor:]
    parts.append(tail)
    if "{{" in tail:
        raise ExpressionError("'{{' opens a computed value that no '}}' closes", source)
    return Template(source, tuple(p for p in parts if p != ""))


def _check_spec(spec: str, field: str) -> None:
    """A number format of Python's mini-language, with a bounded width and precision."""
    form = _FORMAT_SPEC.match(spec)
    if not form:
        raise ExpressionError(f"bad number format {spec!r}", field)
    for name, digits, most in (("width", form["width"], MAX_FORMAT_WIDTH),
                               ("precision", form["precision"], MAX_FORMAT_PRECISION)):
        # a long run of digits is too large without reading it as a number
        if digits and (len(digits.lstrip("0")) > len(str(most)) or int(digits) > most):
            raise ExpressionError(f"number format {spec!r}: the {name} is at most {most}", field)


def _check_template(source: str) -> str:
    parse_template(source)
    return source


TemplateText = Annotated[str, AfterValidator(_check_template)]
"""A pydantic field type: text whose ``{{ }}`` fields are checked expressions."""


def format_number(x: float | bool | np.generic, spec: str = "") -> str:
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    value = float(x)
    if spec:
        if spec[-1:] in "dxobc":
            return format(round(value), spec)
        return format(value, spec)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".6g")


def format_value(value: Any, spec: str = "") -> str:
    return "".join(_pieces(np.asarray(value), spec))


def _pieces(arr: np.ndarray, spec: str) -> Iterator[str]:
    """A value's text piece by piece (a number, a separator), so a caller can stop early."""
    if arr.ndim == 0:
        charge(FORMAT_COST)
        yield format_number(arr.item(), spec)
        return
    for n, v in enumerate(arr):
        if n:
            yield ", "
        yield from _pieces(v, spec)


def render(template: Template | str, names: Mapping[str, Any], row: int = 0) -> str:
    """Fill ``template`` for variant ``row`` of the batched ``names``.

    Raises :class:`ExpressionError` when the text would pass :data:`MAX_RENDERED_LENGTH`
    characters (before formatting the rest), and when the work budget in force (its own, outside
    one) runs out.
    """
    return render_rows(template, names, (row,))[0]


def render_rows(template: Template | str, names: Mapping[str, Any], rows: Iterable[int]) -> list[str]:
    """:func:`render` for each of ``rows``, every field evaluated once over the whole batch."""
    parsed = parse_template(template) if isinstance(template, str) else template
    with work_budget(MAX_TEXT_WORK, "this text"):
        parts: list[str | tuple[np.ndarray, str]] = []
        for part in parsed.parts:
            if isinstance(part, str):
                parts.append(part)
            else:
                charge(OPERATION_COST)
                parts.append((evaluate(part.expression, names), part.spec))
        return [_fill(parts, row) for row in rows]


def _fill(parts: list[str | tuple[np.ndarray, str]], row: int) -> str:
    out: list[str] = []
    length = 0
    for part in parts:
        if isinstance(part, str):
            pieces: Iterator[str] = iter((part,))
        else:
            value, spec = part
            pieces = _pieces(value[row if value.shape[0] > 1 else 0], spec)
        for piece in pieces:
            length += len(piece)
            if length > MAX_RENDERED_LENGTH:
                raise ExpressionError(f"the text would be longer than {MAX_RENDERED_LENGTH:,} "
                                      "characters once its values are filled in")
            out.append(piece)
    return "".join(out)
