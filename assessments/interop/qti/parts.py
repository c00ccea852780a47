"""The pieces an exported item is built from, shared by the per-type builders.

Each builder (``export_choice``, ``export_text``, ``export_order``) returns the :class:`Parts` of an
item that depend on its type: the response declaration (with the correct response and any
mapping), the interaction, the response processing that scores like Assay (scores are marks:
fraction × ``max_mark``) and the feedback a response earns. :mod:`.export` assembles the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from assessments.interop.qti import rp
from assessments.interop.qti.markup_out import append_blocks, append_inline
from engine.variants import Variant

__all__ = [
    "FEEDBACK",
    "RESPONSE",
    "SCORE",
    "Parts",
    "add_feedback",
    "authored_texts",
    "choice",
    "declaration",
    "feedback_element",
    "flag",
    "mapping",
    "misconception_id",
    "option_ids",
    "set_score",
]

RESPONSE = "RESPONSE"
FEEDBACK = "FEEDBACK"
SCORE = "SCORE"


@dataclass
class Parts:
    """What an item's type contributes to its QTI document."""

    declaration: Element
    body: list[Element]
    rules: list[Element]
    template: str | None = None
    """A standard template that scores the same, used when there is no feedback to set."""
    feedback: dict[str, tuple[str, str]] = field(default_factory=dict)
    """modalFeedback identifier -> (title, Markdown)."""
    outcomes: list[Element] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scored: bool = True
    """False for essays: a person scores them."""


def misconception_id(name: str) -> str:
    return f"misconception-{name}"


def flag(value: bool) -> str:
    return "true" if value else "false"


def declaration(cardinality: str, base_type: str, correct: list[str] | None = None) -> Element:
    element = Element("responseDeclaration",
                      {"identifier": RESPONSE, "cardinality": cardinality, "baseType": base_type})
    if correct:
        values = SubElement(element, "correctResponse")
        for value in correct:
            SubElement(values, "value").text = value
    return element


def mapping(declared: Element, entries: list[tuple[str, float]], *, lower: float | None = None,
            upper: float | None = None, case_sensitive: bool | None = None) -> None:
    attrs = {"defaultValue": "0"}
    if lower is not None:
        attrs["lowerBound"] = rp.number(lower)
    if upper is not None:
        attrs["upperBound"] = rp.number(upper)
    element = SubElement(declared, "mapping", attrs)
    for key, value in entries:
        entry = {"mapKey": key, "mappedValue": rp.number(value)}
        if case_sensitive is not None:
            entry["caseSensitive"] = flag(case_sensitive)
        SubElement(element, "mapEntry", entry)


def set_score(value: float) -> Element:
    return rp.set_outcome(SCORE, rp.base("float", value))


def add_feedback(identifier: str) -> Element:
    """Add ``identifier`` to the FEEDBACK outcome (a multiple identifier)."""
    return rp.set_outcome(FEEDBACK, rp.multiple(rp.variable(FEEDBACK), rp.base("identifier", identifier)))


def choice(parent: Element, tag: str, identifier: str, text: str, **attrs: str) -> Element:
    element = SubElement(parent, tag, {"identifier": identifier, **attrs})
    append_inline(element, text)
    return element


def authored_texts(variant: Variant, shown: list[dict[str, Any]]) -> list[str]:
    """Texts a question type rendered in display order, back in authored order."""
    assert variant.order is not None
    texts = [""] * len(shown)
    for position, authored in enumerate(variant.order):
        texts[authored] = shown[position]["text"]
    return texts


def option_ids(count: int, prefix: str = "C") -> list[str]:
    return [f"{prefix}{n + 1}" for n in range(count)]


def feedback_element(identifier: str, title: str, text: str) -> Element:
    """A modalFeedback shown when ``identifier`` is among the FEEDBACK outcome's values."""
    attrs = {"outcomeIdentifier": FEEDBACK, "identifier": identifier, "showHide": "show"}
    if title:
        attrs["title"] = title
    element = Element("modalFeedback", attrs)
    append_blocks(element, text)
    return element
