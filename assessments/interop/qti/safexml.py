"""Reading untrusted XML: defusedxml only, with line numbers, in 2.2 names.

Every byte the importer reads goes through :func:`parse`. It uses defusedxml's parser, which
refuses entity declarations (so neither an external entity that reads a local file nor a
billion-laughs bomb is ever expanded) and external references; a refusal or a malformed document
becomes a :class:`XmlProblem` that names the line. Elements are then respelt in QTI 2.2 names
without namespace (``qti-choice-interaction`` and ``choiceInteraction`` both read as
``choiceInteraction``), so one importer serves both versions; MathML keeps its ``{namespace}name``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from assessments.interop.qti.dialect import MATHML, QTI_NAMESPACES, XML_NS, camel, local_name, namespace_of

__all__ = ["MAX_DEPTH", "MAX_XML_BYTES", "Document", "XmlProblem", "parse"]

MAX_XML_BYTES = 5_000_000
"""One item file; a QTI item is rarely over 100 kB, and a bigger one is refused unread."""
MAX_DEPTH = 200
"""Nesting deeper than this is refused (the readers walk trees recursively)."""


class XmlProblem(ValueError):
    """A document that cannot be read, and the line where that became clear."""

    def __init__(self, message: str, line: int = 0) -> None:
        self.line = line
        super().__init__(message)


@dataclass
class Document:
    """A parsed document: its root, its QTI version ('' when not QTI) and every element's line."""

    root: Element
    version: str
    lines: dict[int, int] = field(default_factory=dict)

    def line(self, element: Element | None) -> int:
        return 0 if element is None else self.lines.get(id(element), 0)


class _LineTreeBuilder:
    """A tree builder that notes the line each element starts on."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[int, int] = {}
        self.elements: list[Element] = []  # keeps ids stable while the tree is built
        self.parser: Any = None
        self.depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        line = self.parser.CurrentLineNumber if self.parser is not None else 0
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise XmlProblem(f"elements nest more than {MAX_DEPTH} deep, which no item needs; nothing was read", line)
        element = self.builder.start(tag, attrs)
        self.lines[id(element)] = line
        self.elements.append(element)
        return element

    def end(self, tag: str) -> Element:
        self.depth -= 1
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        self.builder.data(data)

    def close(self) -> Element:
        return self.builder.close()


def _refusal(exc: DefusedXmlException) -> str:
    if isinstance(exc, EntitiesForbidden):
        return (f"the document declares the XML entity {exc.name!r}: entity declarations are refused "
                "(they can read local files or expand without bound), so nothing was read")
    if isinstance(exc, ExternalReferenceForbidden):
        return (f"the document refers to an external resource ({exc.sysid or exc.pubid!r}): external "
                "references are refused, so nothing was read")
    if isinstance(exc, DTDForbidden):
        return "the document has a document type declaration, which is refused"
    return f"the document was refused: {exc}"


def parse(data: bytes) -> Document:
    """Parse ``data`` safely; :class:`XmlProblem` (with a line) when it cannot be read."""
    if len(data) > MAX_XML_BYTES:
        raise XmlProblem(f"the document is over {MAX_XML_BYTES // 1_000_000} MB and was not read", 1)
    target = _LineTreeBuilder()
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    target.parser = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise XmlProblem(_refusal(exc), parser.parser.CurrentLineNumber) from None
    except XmlProblem:
        raise
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 0
        message = str(exc).split(": line", 1)[0]
        raise XmlProblem(f"not well-formed XML: {message}", line) from None
    finally:
        # the builder and the parser refer to each other: unlinked, expat's copy of the document
        # goes with this call, not at the next garbage collection (an import reads many documents)
        target.parser = None
    version = QTI_NAMESPACES.get(namespace_of(root.tag), "")
    _normalise(root)
    return Document(root, version, target.lines)


def _normalise(element: Element) -> None:
    """Every element to its plain local name (QTI 3.0 respelt in 2.2 names); MathML keeps its namespace."""
    tag = element.tag
    if isinstance(tag, str) and namespace_of(tag) != MATHML:
        name = local_name(tag)
        if name.startswith("qti-"):
            element.tag = camel(name[4:])
            element.attrib = {_attribute(k): v for k, v in element.attrib.items()}
        else:
            element.tag = name
    for child in element:
        _normalise(child)


def _attribute(key: str) -> str:
    if key.startswith("{"):
        return "xml:" + local_name(key) if namespace_of(key) == XML_NS else key
    return key if key.startswith("data-") else camel(key)
