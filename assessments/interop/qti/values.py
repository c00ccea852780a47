"""QTI's variables as Python values, and the declarations that type them.

A QTI value is NULL (``None``), a single value (an identifier or string as ``str``, a number, a
boolean, a ``directedPair`` as a tuple, a ``pair`` as a frozenset), or a container
(:class:`Container`: a ``multiple`` bag or an ``ordered`` list). A :class:`Declaration` reads a
response, outcome or template declaration: base type, cardinality, default and correct values, and
the mapping ``mapResponse`` applies.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

__all__ = ["Container", "Declaration", "Mapping", "Unsupported", "Value", "is_null", "items_of", "parse_value"]

Value = Any


class Unsupported(ValueError):
    """Processing the importer cannot evaluate, and where it is."""

    def __init__(self, message: str, line: int = 0) -> None:
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class Container:
    """A multiple (a bag) or ordered (a list) value."""

    cardinality: str
    items: tuple[Any, ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Container) or self.cardinality != other.cardinality:
            return False
        if self.cardinality == "ordered":
            return self.items == other.items
        return Counter(self.items) == Counter(other.items)

    def __hash__(self) -> int:
        return hash((self.cardinality, tuple(sorted(map(repr, self.items)))))


def is_null(value: Value) -> bool:
    return value is None or value == "" or (isinstance(value, Container) and not value.items)


def _directed_pair(text: str) -> tuple[str, str]:
    first, second = text.split()
    return (first, second)


_PARSERS: dict[str, Any] = {
    "integer": lambda text: int(float(text)),
    "boolean": lambda text: text.strip().lower() in {"true", "1"},
    "directedPair": _directed_pair,
    "pair": lambda text: frozenset(text.split()),
    "point": lambda text: tuple(int(p) for p in text.split()),
}


def parse_value(text: str, base_type: str) -> Value:
    """A QTI value written as text, as Python: numbers, booleans, pairs as tuples."""
    text = text.strip() if base_type != "string" else text
    if base_type in {"float", "duration"}:
        return float(text)
    parser = _PARSERS.get(base_type)
    return text if parser is None else parser(text)


@dataclass
class Mapping:
    entries: list[tuple[Value, float, bool]]
    default: float = 0.0
    lower: float | None = None
    upper: float | None = None

    def lookup(self, value: Value) -> float:
        for key, mapped, case_sensitive in self.entries:
            if key == value or (not case_sensitive and isinstance(key, str) and isinstance(value, str)
                                and key.casefold() == value.casefold()):
                return mapped
        return self.default

    def apply(self, value: Value) -> float:
        if isinstance(value, Container):
            distinct = list(dict.fromkeys(value.items))
            total = sum(self.lookup(v) for v in distinct)
        else:
            total = self.lookup(value)
        if self.lower is not None:
            total = max(total, self.lower)
        if self.upper is not None:
            total = min(total, self.upper)
        return total


@dataclass
class Declaration:
    """A response or outcome declaration: what a variable holds and its correct and default values."""

    identifier: str
    cardinality: str
    base_type: str
    default: Value = None
    correct: Value = None
    mapping: Mapping | None = None
    kind: str = "response"
    attrs: dict[str, str] = field(default_factory=dict)
    """The declaration's attributes as written (normalMaximum, externalScored, ...)."""

    @property
    def initial(self) -> Value:
        """The value before processing: the default, and 0 for a numeric outcome that declares none."""
        if self.default is None and self.kind == "outcome" and self.cardinality == "single":
            return {"float": 0.0, "integer": 0}.get(self.base_type)
        return self.default

    def value_of(self, texts: list[str]) -> Value:
        values = [parse_value(t, self.base_type) for t in texts]
        if self.cardinality == "single":
            return values[0] if values else None
        return Container(self.cardinality, tuple(values)) if values else None

    @classmethod
    def read(cls, element: Element) -> Declaration:
        base_type = element.get("baseType", "identifier")
        kind = "response" if element.tag == "responseDeclaration" else "outcome"
        declared = cls(element.get("identifier", ""), element.get("cardinality", "single"), base_type,
                       kind=kind, attrs=dict(element.attrib))
        for child in element:
            values = [v.text or "" for v in child if v.tag == "value"]
            if child.tag == "defaultValue":
                declared.default = declared.value_of(values)
            elif child.tag == "correctResponse":
                declared.correct = declared.value_of(values)
            elif child.tag == "mapping":
                entries = [(parse_value(e.get("mapKey", ""), base_type), float(e.get("mappedValue", "0")),
                            e.get("caseSensitive", "false") == "true") for e in child if e.tag == "mapEntry"]
                declared.mapping = Mapping(entries, float(child.get("defaultValue", "0")),
                                           _optional_float(child.get("lowerBound")),
                                           _optional_float(child.get("upperBound")))
        return declared


def _optional_float(text: str | None) -> float | None:
    return None if text is None else float(text)


def items_of(value: Value) -> tuple[Any, ...]:
    """A container's items; a single value as a container of one."""
    return value.items if isinstance(value, Container) else (value,)
