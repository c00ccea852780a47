"""QTI items in: one item file or a content package, to Assay definitions, all or nothing.

Each item is parsed safely (:mod:`.safexml`), checked for what Assay can hold (one interaction of
a supported kind, no template processing) and read by the reader of its interaction into a plain
definition: fixed numbers, its identifier as a slug ``id``, its manifest keywords as tags. Every
definition is then validated exactly as the bank will (the item models, then its variant checks),
so a problem surfaces here with its file and line rather than later without them. Any problem
rejects the whole import: ``Imported`` then holds the problems and no definitions. A package's
items are read one at a time (:func:`~.package.read_package`): each item file's bytes and parse
are dropped once its definition is made, and a package problem found part-way drops what was read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from assessments.interop.base import Imported, Problem
from assessments.interop.qti.markup_in import escape
from assessments.interop.qti.package import PackageProblem, read_package
from assessments.interop.qti.read_choice import read_choice, read_inline_choice
from assessments.interop.qti.read_order import read_match, read_order
from assessments.interop.qti.read_text import read_extended_text, read_text_entry
from assessments.interop.qti.reading import ImportProblem, ItemContext, declarations_of
from assessments.interop.qti.safexml import Document, XmlProblem, parse
from assessments.interop.qti.templates import SEED, instantiate, printed
from assessments.interop.qti.values import Unsupported
from engine.content.checker import variant_problems
from engine.content.loader import definition_problems
from engine.items.metadata import SLUG

__all__ = ["READERS", "import_items", "read_document"]

READERS: dict[str, Callable[[ItemContext], dict[str, Any]]] = {
    "choiceInteraction": read_choice,
    "inlineChoiceInteraction": read_inline_choice,
    "textEntryInteraction": read_text_entry,
    "extendedTextInteraction": read_extended_text,
    "orderInteraction": read_order,
    "matchInteraction": read_match,
}
_ZIP_MAGIC = b"PK\x03\x04"
_FACET = re.compile(r"^([a-z][a-z0-9_]*)\s*:\s*(.+)$")


@dataclass
class Source:
    """One item file to read: where it is (for messages) and what the manifest says of it."""

    file: str
    data: bytes
    keywords: list[str] = field(default_factory=list)
    title: str | None = None
    listed: bool = True
    """False for a loose XML file in a zip without a manifest (skipped when it is not an item)."""


def slug(identifier: str) -> str:
    """A QTI identifier as an Assay id: lower case, runs of anything else as one ``-``."""
    text = re.sub(r"[^a-z0-9]+", "-", identifier.lower()).strip("-")
    return text if text and SLUG.match(text) else "qti-item"


def _interactions(body: Element) -> list[Element]:
    return [e for e in body.iter() if isinstance(e.tag, str) and e.tag.endswith("Interaction")]


def _metadata(definition: dict[str, Any], keywords: list[str], notes: list[str]) -> None:
    tags: dict[str, list[str]] = {}
    concepts: list[str] = []
    for keyword in keywords:
        match = _FACET.match(keyword)
        facet, value = (match.group(1), match.group(2).strip()) if match else ("keyword", keyword)
        if facet == "concept" and SLUG.match(value):
            concepts.append(value)
        elif any(not part.strip() for part in value.split(">")):
            notes.append(f"keyword {keyword!r} is not a tag value (an empty level) and was dropped")
        elif value not in tags.setdefault(facet, []):
            tags[facet].append(value)
    if tags:
        definition["tags"] = tags
    if concepts:
        definition["concepts"] = concepts


def read_document(document: Document, keywords: list[str], title: str | None) -> tuple[dict[str, Any], list[str]]:
    """One parsed item as a definition and notes; :class:`ImportProblem` when Assay cannot hold it."""
    root = document.root
    if root.tag != "assessmentItem":
        raise ImportProblem(f"not a QTI item: the document is a <{root.tag}>", root)
    if not document.version:
        raise ImportProblem("not a QTI 2.x or 3.0 item (unknown namespace)", root)
    body = next((e for e in root if e.tag == "itemBody"), None)
    found = _interactions(body) if body is not None else []
    if not found:
        raise ImportProblem("the item has no interaction", body if body is not None else root)
    unsupported = [e for e in found if e.tag not in READERS]
    if unsupported:
        first = unsupported[0]
        raise ImportProblem(f"the {first.tag} at line {document.line(first)} is not supported: Assay imports "
                            "choice, inline choice, text entry, extended text, order and match interactions", first)
    if len(found) > 1:
        names = ", ".join(f"{e.tag} (line {document.line(e)})" for e in found)
        raise ImportProblem(f"the item has {len(found)} interactions ({names}); an Assay item takes one "
                            "response", found[1])
    declarations = declarations_of(root)
    notes = []
    if any(e.tag == "templateProcessing" for e in root):
        drawn = instantiate(document, declarations)
        declarations.update(drawn.declarations)
        values = ", ".join(f"{k} = {printed(v)}" for k, v in drawn.values.items())
        notes.append(f"a QTI template item: imported as one fixed variant (drawn with seed {SEED}: {values})")
    context = ItemContext(document, found[0], notes, declarations)
    if root.get("adaptive") == "true":
        context.notes.append("an adaptive item: imported with its first attempt's scoring and feedback "
                             "(a quiz's interactive behaviour gives tries in Assay)")
    definition = READERS[found[0].tag](context)
    identifier = root.get("identifier", "")
    head: dict[str, Any] = {"id": slug(identifier),
                            "title": (root.get("title") or title or identifier or "QTI item").strip()[:300]}
    _metadata(head, keywords, context.notes)
    if not definition.get("stem", "").strip():
        definition["stem"] = escape(head["title"])
    return {**head, **definition}, context.notes


def _sources(data: bytes, filename: str) -> Iterator[Source]:
    """The item files to read, one at a time: the file itself, or a package's items."""
    if data[:4] != _ZIP_MAGIC:
        yield Source(filename, data)
        return
    for item in read_package(data, filename):
        yield Source(f"{filename}/{item.path}", item.data, item.keywords, item.title, item.listed)


def _validated(definition: dict[str, Any], file: str, line: int) -> list[Problem]:
    item, found = definition_problems(definition)
    if item is not None:
        found, _ = variant_problems(item)
    return [Problem(file, line, f"the imported item does not check: {'.'.join(map(str, path))}: {message}"
                    if path else f"the imported item does not check: {message}") for path, message in found]


def _read(source: Source, ids: dict[str, str], notes: list[str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One source as a checked definition (or None, for a loose file that is not an item), or problems."""
    try:
        document = parse(source.data)
    except XmlProblem as exc:
        return None, [Problem(source.file, exc.line, str(exc))]
    if not source.listed and document.root.tag != "assessmentItem":
        notes.append(f"{source.file}: skipped (a <{document.root.tag}>, not an item)")
        return None, []
    try:
        definition, item_notes = read_document(document, source.keywords, source.title)
    except ImportProblem as exc:
        return None, [Problem(source.file, document.line(exc.element) or 1, str(exc))]
    except Unsupported as exc:
        return None, [Problem(source.file, exc.line or 1, str(exc))]
    except (ValueError, TypeError, ArithmeticError) as exc:  # a value the item writes that cannot be read
        return None, [Problem(source.file, 1, f"the item could not be read: {exc}")]
    identifier = definition["id"]
    if identifier in ids:
        n = 2
        while f"{identifier}-{n}" in ids:
            n += 1
        definition["id"] = f"{identifier}-{n}"
        item_notes.append(f"id {identifier!r} is taken by {ids[identifier]}; this item is {definition['id']!r}")
    ids[definition["id"]] = source.file
    notes.extend(f"{source.file}: {note}" for note in item_notes)
    return definition, _validated(definition, source.file, document.line(document.root) or 1)


def import_items(data: bytes, filename: str) -> Imported:
    """Definitions from a QTI item file or package; no definitions at all if anything is wrong."""
    definitions: list[dict[str, Any]] = []
    problems: list[Problem] = []
    notes: list[str] = []
    ids: dict[str, str] = {}
    try:
        for source in _sources(data, filename):
            definition, found = _read(source, ids, notes)
            problems.extend(found)
            if definition is not None:
                definitions.append(definition)
    except PackageProblem as exc:
        problems.append(Problem(exc.file or filename, exc.line, str(exc)))
    if not definitions and not problems:
        problems.append(Problem(filename, 0, "the package holds no QTI items"))
    if problems:
        return Imported(problems=problems, notes=notes)
    return Imported(definitions=definitions, notes=notes)
