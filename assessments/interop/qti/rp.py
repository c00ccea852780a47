"""Small builders for QTI response processing, in 2.2 names.

The exporter writes explicit response processing wherever a standard template cannot say what
Assay means (feedback, tolerances, negative marks, partial orders); these functions keep that code
close to how the rules read: ``condition([(is_null(RESPONSE), [set_score(0)])], otherwise=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from xml.etree.ElementTree import Element, SubElement

__all__ = [
    "and_",
    "base",
    "condition",
    "correct",
    "divide",
    "equal",
    "index",
    "is_null",
    "map_response",
    "match",
    "member",
    "multiple",
    "not_",
    "number",
    "or_",
    "ordered",
    "pattern_match",
    "product",
    "set_outcome",
    "string_match",
    "sum_",
    "variable",
]

Rule = Element
Branch = tuple[Element, Sequence[Rule]]


def number(value: float) -> str:
    """A float as QTI writes it: whole numbers without the point, others exactly."""
    value = float(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _op(name: str, *children: Element, **attrs: str) -> Element:
    element = Element(name, attrs)
    element.extend(children)
    return element


def base(base_type: str, value: str | float) -> Element:
    element = Element("baseValue", {"baseType": base_type})
    element.text = number(value) if isinstance(value, float | int) and not isinstance(value, bool) else str(value)
    return element


def variable(identifier: str) -> Element:
    return Element("variable", {"identifier": identifier})


def correct(identifier: str) -> Element:
    return Element("correct", {"identifier": identifier})


def map_response(identifier: str) -> Element:
    return Element("mapResponse", {"identifier": identifier})


def is_null(expression: Element) -> Element:
    return _op("isNull", expression)


def not_(expression: Element) -> Element:
    return _op("not", expression)


def and_(*expressions: Element) -> Element:
    return _op("and", *expressions)


def or_(*expressions: Element) -> Element:
    return _op("or", *expressions)


def match(a: Element, b: Element) -> Element:
    return _op("match", a, b)


def member(a: Element, b: Element) -> Element:
    return _op("member", a, b)


def multiple(*expressions: Element) -> Element:
    return _op("multiple", *expressions)


def ordered(*expressions: Element) -> Element:
    return _op("ordered", *expressions)


def sum_(*expressions: Element) -> Element:
    return _op("sum", *expressions)


def product(*expressions: Element) -> Element:
    return _op("product", *expressions)


def divide(a: Element, b: Element) -> Element:
    return _op("divide", a, b)


def index(expression: Element, n: int) -> Element:
    return _op("index", expression, n=str(n))


def equal(a: Element, b: Element, *, mode: str, tolerance: float) -> Element:
    attrs = {"toleranceMode": mode}
    if mode != "exact":
        attrs["tolerance"] = number(tolerance)
    return _op("equal", a, b, **attrs)


def string_match(a: Element, b: Element, *, case_sensitive: bool) -> Element:
    return _op("stringMatch", a, b, caseSensitive="true" if case_sensitive else "false")


def pattern_match(expression: Element, pattern: str) -> Element:
    return _op("patternMatch", expression, pattern=pattern)


def set_outcome(identifier: str, expression: Element) -> Rule:
    return _op("setOutcomeValue", expression, identifier=identifier)


def condition(branches: Sequence[Branch], otherwise: Iterable[Rule] | None = None) -> Rule:
    """``responseCondition``: the first branch whose expression is true runs its rules."""
    element = Element("responseCondition")
    for n, (expression, rules) in enumerate(branches):
        branch = SubElement(element, "responseIf" if n == 0 else "responseElseIf")
        branch.append(expression)
        branch.extend(rules)
    if otherwise is not None:
        SubElement(element, "responseElse").extend(otherwise)
    return element
