"""QTI 2.2 and 3.0: one vocabulary, two spellings.

QTI 3.0 renamed every QTI element and attribute of 2.2 in a regular way (``choiceInteraction``
becomes ``qti-choice-interaction``, ``responseIdentifier`` becomes ``response-identifier``) and
left the XHTML and MathML content alone. So the exporter builds one tree in 2.2 names and
:meth:`Dialect.spell` respells it for 3.0, and the importer respells 3.0 back to 2.2 names
(:func:`to_v2_names`) before reading either. A :class:`Dialect` also holds what differs beyond
spelling: namespaces, schema locations, manifest vocabulary and template URIs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

__all__ = [
    "HTML_ELEMENTS",
    "MATHML",
    "QTI_NAMESPACES",
    "V2",
    "V3",
    "XSI",
    "Dialect",
    "camel",
    "kebab",
    "local_name",
    "namespace_of",
]

MATHML = "http://www.w3.org/1998/Math/MathML"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"

HTML_ELEMENTS = frozenset({
    "a", "abbr", "acronym", "address", "article", "aside", "audio", "b", "bdi", "bdo", "big",
    "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "details", "dfn", "div",
    "dl", "dt", "em", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "i", "img", "kbd", "label", "li", "nav", "object", "ol", "p", "param", "picture", "pre",
    "q", "rb", "rp", "rt", "rtc", "ruby", "samp", "section", "small", "source", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "track", "tt",
    "ul", "var", "video", "wbr", "s", "u", "mark", "del", "ins",
})
"""Content elements that keep their names in both versions (everything else is QTI's own)."""

_UPPER = re.compile(r"[A-Z]")


def kebab(name: str) -> str:
    """``responseIdentifier`` -> ``response-identifier``."""
    return _UPPER.sub(lambda m: "-" + m.group(0).lower(), name)


def camel(name: str) -> str:
    """``response-identifier`` -> ``responseIdentifier``."""
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace_of(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


@dataclass(frozen=True)
class Dialect:
    """What one QTI version writes: namespace, schema, manifest and template vocabulary."""

    version: str
    """'2.2' or '3.0'."""
    namespace: str
    schema_location: str
    resource_type: str
    manifest_namespace: str
    manifest_schema: str
    manifest_schema_version: str
    template_base: str
    template_suffix: str

    @property
    def is_v3(self) -> bool:
        return self.version.startswith("3")

    @property
    def name(self) -> str:
        return "qti3" if self.is_v3 else "qti2"

    def template(self, name: str) -> str:
        """The URI of a standard response-processing template (``match_correct``, ...)."""
        return f"{self.template_base}{name}{self.template_suffix}"

    def spell(self, element: Element) -> Element:
        """A tree built in 2.2 names, spelt for this version (in place; returns the root)."""
        if self.is_v3:
            _respell_v3(element)
        return element


def _is_qti(tag: str) -> bool:
    return not tag.startswith("{") and tag not in HTML_ELEMENTS and tag != "math"


def _respell_v3(element: Element) -> None:
    tag = element.tag
    if isinstance(tag, str) and _is_qti(tag):
        wrap = tag in _V3_CONTENT_BODY
        element.tag = "qti-" + kebab(tag)
        renamed = {}
        for key, value in element.attrib.items():
            if key.startswith(("xmlns", "xsi:", "xml:", "data-")):
                renamed[key] = value
            else:
                renamed[kebab(key)] = value
        if tag == "rubricBlock":  # 3.0 says what a rubric is for
            renamed.setdefault("use", "scoring" if renamed.get("view") == "scorer" else "instructions")
        element.attrib.clear()
        element.attrib.update(renamed)
        if wrap:
            _wrap_content_body(element)
    if isinstance(tag, str) and tag == "math":
        return  # MathML keeps its own names
    for child in element:
        _respell_v3(child)


_V3_CONTENT_BODY = frozenset({"modalFeedback", "rubricBlock", "feedbackBlock"})
"""3.0 puts the content of these elements inside a ``qti-content-body``."""


def _wrap_content_body(element: Element) -> None:
    body = Element("contentBody")
    body.text, element.text = element.text, None
    for child in list(element):
        element.remove(child)
        body.append(child)
    element.append(body)


V2 = Dialect(
    version="2.2",
    namespace="http://www.imsglobal.org/xsd/imsqti_v2p2",
    schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p2/imsqti_v2p2p2.xsd",
    resource_type="imsqti_item_xmlv2p2",
    manifest_namespace="http://www.imsglobal.org/xsd/imscp_v1p1",
    manifest_schema="QTIv2.2 Package",
    manifest_schema_version="1.0.0",
    template_base="http://www.imsglobal.org/question/qti_v2p2/rptemplates/",
    template_suffix="",
)

V3 = Dialect(
    version="3.0",
    namespace="http://www.imsglobal.org/xsd/imsqtiasi_v3p0",
    schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd",
    resource_type="imsqti_item_xmlv3p0",
    manifest_namespace="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1",
    manifest_schema="QTI Package",
    manifest_schema_version="3.0.0",
    template_base="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/",
    template_suffix=".xml",
)

QTI_NAMESPACES = {
    "http://www.imsglobal.org/xsd/imsqti_v2p0": "2.0",
    "http://www.imsglobal.org/xsd/imsqti_v2p1": "2.1",
    V2.namespace: "2.2",
    V3.namespace: "3.0",
}
"""Item namespaces the importer reads (2.0 and 2.1 share 2.2's vocabulary for what Assay reads)."""
