"""One Assay item, at one fixed variant, as a QTI ``assessmentItem`` document.

The type-specific parts come from the builders in ``export_choice``, ``export_text`` and
``export_order``; this module adds what every item shares: the identifier and title, the
``SCORE`` (in marks, with the item's ``max_mark`` as its normal maximum), ``MAXSCORE`` and
``FEEDBACK`` outcomes, the stem as XHTML, the worked solution as a modal feedback shown after any
response, and response processing (a standard template when it says everything, else explicit).
The tree is built in 2.2 names and respelt for 3.0 by the dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from assessments.interop.base import ExportItem
from assessments.interop.qti import rp
from assessments.interop.qti.dialect import HTML_ELEMENTS, XSI, Dialect
from assessments.interop.qti.export_choice import multiple_response, single_choice
from assessments.interop.qti.export_order import matching, ordering
from assessments.interop.qti.export_text import essay, numeric, short_text
from assessments.interop.qti.markup_out import append_blocks
from assessments.interop.qti.parts import FEEDBACK, SCORE, Parts, feedback_element
from engine.qtypes import qtype_for
from engine.qtypes.common import render_text
from engine.variants import Variant

__all__ = ["BUILDERS", "MAXSCORE", "SOLUTION", "ItemDocument", "build_item", "qti_identifier"]

SOLUTION = "SOLUTION"
MAXSCORE = "MAXSCORE"

BUILDERS: dict[str, Callable[[Any, Variant], Parts]] = {
    "single_choice": single_choice,
    "true_false": single_choice,
    "multiple_response": multiple_response,
    "numeric": numeric,
    "short_text": short_text,
    "essay": essay,
    "ordering": ordering,
    "matching": matching,
}

_INLINE_CONTENT = frozenset({"simpleChoice", "simpleAssociableChoice", "inlineChoice", "prompt", "math"})


@dataclass
class ItemDocument:
    """An exported item: its identifier, its XML, the interaction it uses and what the report says."""

    identifier: str
    xml: bytes
    interaction: str
    notes: list[str]


def qti_identifier(key: str) -> str:
    """A bank key as a QTI identifier (an XML name: it may not start with a digit)."""
    return key if re.match(r"[A-Za-z_]", key) else f"item-{key}"


def _outcome(identifier: str, base_type: str, cardinality: str = "single", default: str | None = None,
             **attrs: str) -> Element:
    element = Element("outcomeDeclaration",
                      {"identifier": identifier, "cardinality": cardinality, "baseType": base_type, **attrs})
    if default is not None:
        SubElement(SubElement(element, "defaultValue"), "value").text = default
    return element


def _indent(element: Element, level: int = 0) -> None:
    """Indent QTI's structure for people who read the file; content (XHTML, MathML) is left alone."""
    if element.tag in HTML_ELEMENTS or element.tag in _INLINE_CONTENT or not len(element):
        return
    if element.text and element.text.strip():
        return  # mixed content
    pad = "\n" + "  " * (level + 1)
    element.text = pad
    for child in element:
        if child.tail and child.tail.strip():
            return
    for child in element:
        _indent(child, level + 1)
        child.tail = pad
    element[-1].tail = "\n" + "  " * level


def _score_outcome(export: ExportItem, parts: Parts) -> Element:
    item = export.item
    attrs = {"normalMaximum": rp.number(item.max_mark)}
    lowest = -item.scoring.negative * item.max_mark if item.type_name in {"single_choice", "true_false"} else 0.0
    if item.scoring.allow_negative:
        lowest = -item.max_mark
    if lowest:
        attrs["normalMinimum"] = rp.number(lowest)
    if not parts.scored:
        attrs["externalScored"] = "human"
    return _outcome(SCORE, "float", default="0", **attrs)


def build_item(export: ExportItem, dialect: Dialect) -> ItemDocument:
    """``export`` as a QTI item document in ``dialect``."""
    item, variant = export.item, export.variant
    parts = BUILDERS[item.type_name](item, variant)
    identifier = qti_identifier(export.key)
    notes = [f"item {export.key}: {note}" for note in parts.notes]
    if item.is_computed:
        notes.insert(0, f"item {export.key} is computed: exported as the variant of seed {variant.seed}")
    if identifier != export.key:
        notes.append(f"item {export.key}: exported with the identifier {identifier} (an XML name)")
    root = Element("assessmentItem", {
        "xmlns": dialect.namespace, "xmlns:xsi": XSI,
        "xsi:schemaLocation": f"{dialect.namespace} {dialect.schema_location}",
        "identifier": identifier, "title": item.title, "adaptive": "false", "timeDependent": "false",
        "toolName": "Assay", "toolVersion": "0.1",
    })
    root.append(parts.declaration)
    root.append(_score_outcome(export, parts))
    root.append(_outcome(MAXSCORE, "float", default=rp.number(item.max_mark)))
    solution = render_text(item.solution, variant) if item.solution and parts.scored else ""
    feedback = dict(parts.feedback)
    if solution:
        feedback[SOLUTION] = ("Solution", solution)
    if feedback:
        root.append(_outcome(FEEDBACK, "identifier", "multiple"))
    root.extend(parts.outcomes)
    body = SubElement(root, "itemBody")
    append_blocks(body, qtype_for(item).render(item, variant)["stem"])
    body.extend(parts.body)
    if parts.scored:
        if parts.template and not feedback and item.max_mark == 1:
            SubElement(root, "responseProcessing", {"template": dialect.template(parts.template)})
        else:
            processing = SubElement(root, "responseProcessing")
            processing.extend(parts.rules)
            if solution:
                processing.append(rp.set_outcome(FEEDBACK, rp.multiple(rp.variable(FEEDBACK),
                                                                        rp.base("identifier", SOLUTION))))
    for name, (title, text) in feedback.items():
        root.append(feedback_element(name, title, text))
    _indent(root)
    dialect.spell(root)
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)
    interaction = next(e.tag for e in body.iter() if e.tag.endswith("Interaction") or e.tag.endswith("-interaction"))
    return ItemDocument(identifier, xml, interaction, notes)

