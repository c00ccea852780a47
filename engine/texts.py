"""Text templates: Markdown with LaTeX, and computed values in ``{{ expression:format }}``.

Double braces keep LaTeX's own braces (``\\mathcal{L}``, even ``D_{\\mathrm{KL}}``) untouched: only
``{{`` opens a field, so a ``}}`` that closes two LaTeX groups is plain text (write ``{ {`` for
two opening LaTeX braces). The optional format after the
last top-level ``:`` is Python's format mini-language applied to each number (``{{ loss[i]:.3f }}``);
without one, whole numbers print as integers and others with up to six significant digits. A
vector prints as its elements joined by ", ".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator

from engine.expressions import Expression, ExpressionError, compile_expression, evaluate

__all__ = ["Template", "TemplateText", "format_number", "format_value", "parse_template", "render"]

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FORMAT_SPEC = re.compile(r"^[<>=^]?[+\- ]?#?0?\d*[,_]?(?:\.\d+)?[eEfFgG%]?$")


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
        if not _FORMAT_SPEC.match(spec):
            raise ExpressionError(f"bad number format {spec!r}", match.group(0))
        parts.append(Field(compile_expression(expression_text), spec))
        cursor = match.end()
    tail = source[cursor:]
    parts.append(tail)
    if "{{" in tail:
        raise ExpressionError("'{{' opens a computed value that no '}}' closes", source)
    return Template(source, tuple(p for p in parts if p != ""))


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
    arr = np.asarray(value)
    if arr.ndim == 0:
        return format_number(arr.item(), spec)
    return ", ".join(format_value(v, spec) for v in arr)


def render(template: Template | str, names: Mapping[str, Any], row: int = 0) -> str:
    """Fill ``template`` for variant ``row`` of the batched ``names``."""
    parsed = parse_template(template) if isinstance(template, str) else template
    out: list[str] = []
    for part in parsed.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = evaluate(part.expression, names)
        out.append(format_value(value[row if value.shape[0] > 1 else 0], part.spec))
    return "".join(out)
