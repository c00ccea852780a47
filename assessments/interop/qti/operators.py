"""The QTI expression operators the importer evaluates, one function each.

Each operator takes the evaluator (to evaluate its children and look up declarations), its
element and the current variable values, and returns a QTI value. NULL propagates as QTI says:
most operators are NULL when an operand is; ``and`` is false as soon as one operand is false and
``or`` true as soon as one is true. :data:`OPERATORS` maps element names (in 2.2 spelling) to them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol
from xml.etree.ElementTree import Element

from assessments.interop.qti.values import Container, Declaration, Unsupported, Value, is_null, items_of, parse_value

__all__ = ["OPERATORS", "Evaluator", "Operator", "Scope", "numbers", "xsd_regex"]

Scope = dict[str, Value]


class Evaluator(Protocol):
    def evaluate(self, element: Element, values: Scope) -> Value: ...

    def args(self, element: Element, values: Scope) -> list[Value]: ...

    def declared(self, element: Element) -> Declaration: ...

    def line(self, element: Element) -> int: ...


Operator = Callable[[Evaluator, Element, Scope], Value]


def numbers(values: list[Value]) -> list[float] | None:
    """The numbers among QTI values (containers flattened), or None if any is NULL."""
    flat: list[Any] = []
    for value in values:
        if is_null(value):
            return None
        flat.extend(value.items if isinstance(value, Container) else [value])
    return [float(v) for v in flat]


def _base(_ev: Evaluator, e: Element, _v: Scope) -> Value:
    return parse_value(e.text or "", e.get("baseType", "string"))


def _variable(_ev: Evaluator, e: Element, v: Scope) -> Value:
    return v.get(e.get("identifier", ""))


def _container(cardinality: str) -> Operator:
    def build(ev: Evaluator, e: Element, v: Scope) -> Value:
        items: list[Any] = []
        for value in ev.args(e, v):
            if isinstance(value, Container):
                items.extend(value.items)
            elif not is_null(value):
                items.append(value)
        return Container(cardinality, tuple(items)) if items else None
    return build


def _match(ev: Evaluator, e: Element, v: Scope) -> Value:
    a, b = ev.args(e, v)
    if is_null(a) or is_null(b):
        return None
    if isinstance(a, float | int) and isinstance(b, float | int):
        return float(a) == float(b)
    return a == b


def _logic(kind: str) -> Operator:
    def evaluate(ev: Evaluator, e: Element, v: Scope) -> Value:
        args = ev.args(e, v)
        if kind == "not":
            return None if args[0] is None else not args[0]
        decisive = kind == "or"  # True decides an or, False decides an and
        if any(a is decisive for a in args):
            return decisive
        return None if any(a is None for a in args) else not decisive
    return evaluate


def _equal(ev: Evaluator, e: Element, v: Scope) -> Value:
    found = numbers(ev.args(e, v))
    if found is None:
        return None
    a, b = found
    mode = e.get("toleranceMode", "exact")
    if mode == "exact":
        return a == b
    tolerances = [float(t) for t in e.get("tolerance", "0").split()]
    low, high = tolerances[0], tolerances[-1]
    if mode == "relative":
        lower, upper = b * (1 - low / 100), b * (1 + high / 100)
        lower, upper = min(lower, upper), max(lower, upper)
    else:
        lower, upper = b - low, b + high
    above = a >= lower if e.get("includeLowerBound", "true") == "true" else a > lower
    below = a <= upper if e.get("includeUpperBound", "true") == "true" else a < upper
    return above and below


def _equal_rounded(ev: Evaluator, e: Element, v: Scope) -> Value:
    found = numbers(ev.args(e, v))
    if found is None:
        return None
    figures = int(e.get("figures", "1"))
    if e.get("roundingMode", "significantFigures") == "decimalPlaces":
        return round(found[0], figures) == round(found[1], figures)
    return math.isclose(float(f"{found[0]:.{figures}g}"), float(f"{found[1]:.{figures}g}"))


def _compare(test: Callable[[float, float], bool]) -> Operator:
    def evaluate(ev: Evaluator, e: Element, v: Scope) -> Value:
        found = numbers(ev.args(e, v))
        return None if found is None else test(found[0], found[1])
    return evaluate


def _arithmetic(combine: Callable[[list[float]], float | None]) -> Operator:
    def evaluate(ev: Evaluator, e: Element, v: Scope) -> Value:
        found = numbers(ev.args(e, v))
        if found is None:
            return None
        try:
            return combine(found)
        except (ArithmeticError, ValueError):  # overflow or a domain error: QTI's NULL
            return None
    return evaluate


def _divide(n: list[float]) -> float | None:
    return None if n[1] == 0 else n[0] / n[1]


def _member(ev: Evaluator, e: Element, v: Scope) -> Value:
    a, b = ev.args(e, v)
    if is_null(a) or is_null(b):
        return None
    return a in items_of(b)


def _contains(ev: Evaluator, e: Element, v: Scope) -> Value:
    a, b = ev.args(e, v)
    if is_null(a) or is_null(b):
        return None
    if isinstance(a, Container) and a.cardinality == "ordered":
        n = len(items_of(b))
        return any(a.items[i:i + n] == items_of(b) for i in range(len(a.items) - n + 1))
    have, want = Counter(items_of(a)), Counter(items_of(b))
    return all(have[k] >= c for k, c in want.items())


def _delete(ev: Evaluator, e: Element, v: Scope) -> Value:
    a, b = ev.args(e, v)
    if is_null(a) or is_null(b):
        return None
    kept = tuple(x for x in items_of(b) if x != a)
    return Container(b.cardinality if isinstance(b, Container) else "multiple", kept) if kept else None


def _index(ev: Evaluator, e: Element, v: Scope) -> Value:
    (container,) = ev.args(e, v)
    n_text = e.get("n", "1")
    n = int(v.get(n_text, 0) if not n_text.lstrip("-").isdigit() else n_text)
    if is_null(container) or not 1 <= n <= len(items_of(container)):
        return None
    return items_of(container)[n - 1]


def _string_match(ev: Evaluator, e: Element, v: Scope) -> Value:
    a, b = ev.args(e, v)
    if is_null(a) or is_null(b):
        return None
    if e.get("caseSensitive", "true") == "false":
        return str(a).casefold() == str(b).casefold()
    return str(a) == str(b)


def _substring(ev: Evaluator, e: Element, v: Scope) -> Value:
    a, b = ev.args(e, v)
    if is_null(a) or is_null(b):
        return None
    if e.get("caseSensitive", "true") == "false":
        return str(a).casefold() in str(b).casefold()
    return str(a) in str(b)


def xsd_regex(pattern: str) -> re.Pattern[str]:
    """An XML Schema regular expression (anchored, no ``^``/``$`` anchors) as a Python pattern."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            out.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char in "^$" and not in_class:
            out.append("\\" + char)
        else:
            out.append(char)
    return re.compile("".join(out), re.DOTALL)


def _pattern_match(ev: Evaluator, e: Element, v: Scope) -> Value:
    (a,) = ev.args(e, v)
    if is_null(a):
        return None
    try:
        regex = xsd_regex(e.get("pattern", ""))
    except re.error as exc:
        raise Unsupported(f"the pattern {e.get('pattern')!r} cannot be read: {exc}", ev.line(e)) from None
    return regex.fullmatch(str(a)) is not None


def _map_response(ev: Evaluator, e: Element, v: Scope) -> Value:
    declared = ev.declared(e)
    if declared.mapping is None:
        raise Unsupported(f"mapResponse on {declared.identifier!r}, which declares no mapping", ev.line(e))
    return declared.mapping.apply(v.get(declared.identifier))


def _correct(ev: Evaluator, e: Element, _v: Scope) -> Value:
    return ev.declared(e).correct


def _default(ev: Evaluator, e: Element, _v: Scope) -> Value:
    return ev.declared(e).default


def _round(n: list[float]) -> float:
    return float(math.floor(n[0] + 0.5))


def _container_size(ev: Evaluator, e: Element, v: Scope) -> Value:
    (a,) = ev.args(e, v)
    return 0 if is_null(a) else len(items_of(a))


OPERATORS: dict[str, Operator] = {
    "baseValue": _base,
    "variable": _variable,
    "correct": _correct,
    "default": _default,
    "null": lambda _ev, _e, _v: None,
    "isNull": lambda ev, e, v: is_null(ev.evaluate(e[0], v)),
    "mapResponse": _map_response,
    "multiple": _container("multiple"),
    "ordered": _container("ordered"),
    "match": _match,
    "and": _logic("and"),
    "or": _logic("or"),
    "not": _logic("not"),
    "equal": _equal,
    "equalRounded": _equal_rounded,
    "lt": _compare(lambda a, b: a < b),
    "gt": _compare(lambda a, b: a > b),
    "lte": _compare(lambda a, b: a <= b),
    "gte": _compare(lambda a, b: a >= b),
    "sum": _arithmetic(sum),
    "product": _arithmetic(math.prod),
    "subtract": _arithmetic(lambda n: n[0] - n[1]),
    "divide": _arithmetic(_divide),
    "power": _arithmetic(lambda n: n[0] ** n[1]),
    "min": _arithmetic(min),
    "max": _arithmetic(max),
    "round": _arithmetic(_round),
    "truncate": _arithmetic(lambda n: float(math.trunc(n[0]))),
    "integerDivide": _arithmetic(lambda n: None if n[1] == 0 else float(n[0] // n[1])),
    "integerModulus": _arithmetic(lambda n: None if n[1] == 0 else float(n[0] % n[1])),
    "integerToFloat": _arithmetic(lambda n: n[0]),
    "member": _member,
    "contains": _contains,
    "delete": _delete,
    "index": _index,
    "containerSize": _container_size,
    "stringMatch": _string_match,
    "substring": _substring,
    "patternMatch": _pattern_match,
}
