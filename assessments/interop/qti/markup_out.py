"""Assay's author text (Markdown with LaTeX) as QTI content: XHTML elements and MathML.

markdown-it parses the Markdown with raw HTML off, as the web pages do, and the syntax tree is
built straight into elements, so the output is well-formed by construction and holds only the
XHTML that QTI's content model allows. LaTeX becomes MathML through latex2mathml (QTI allows
MathML in content), with the LaTeX kept as the ``alttext``: assistive technology reads it, and
Assay's importer turns it back into the same ``$...$``. Elements carry plain 2.2 names with no
namespace; the item's root declares the QTI namespace and each ``math`` its own.
"""

from __future__ import annotations

import functools
import html
import re
from xml.etree.ElementTree import Element, SubElement

from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from assessments.interop.qti.dialect import MATHML
from assessments.rendering import typeset_like_mathjax

__all__ = ["append_blocks", "append_inline", "append_text", "math_element"]

_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\\\s])\$(?!\$)", re.DOTALL)
_PLACEHOLDER = re.compile(r"ASSAYMATH(\d+)ASSAYMATH")
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_BLOCKS = {"paragraph", "heading", "bullet_list", "ordered_list", "list_item", "blockquote", "table",
           "thead", "tbody", "tr", "th", "td", "hr"}
_INLINES = {"em", "strong", "link"}


def append_text(parent: Element, text: str) -> None:
    """Add ``text`` after ``parent``'s last child (or as its text)."""
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def math_element(latex: str, *, display: bool) -> Element | None:
    """MathML for ``latex`` with the LaTeX as alternative text; None if latex2mathml cannot read it."""
    try:
        element = _converted(latex, display)
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; the caller keeps the source
        return None
    return _copy(element)


@functools.lru_cache(maxsize=2048)
def _converted(latex: str, display: bool) -> Element:
    element = convert_to_element(latex, display="block" if display else "inline")
    _unescape(element)
    typeset_like_mathjax(element)  # function application and prefix signs, as the web pages have
    alttext = " ".join(latex.split())  # an attribute keeps no line breaks
    element.attrib = {"xmlns": MATHML, "alttext": alttext, **({"display": "block"} if display else {})}
    return element


def _copy(element: Element) -> Element:
    clone = Element(element.tag, dict(element.attrib))
    clone.text, clone.tail = element.text, None
    for child in element:
        copied = _copy(child)
        copied.tail = child.tail
        clone.append(copied)
    return clone


_NAMED_SPACES = {name: n / 18 for n, name in enumerate(
    ("veryverythin", "verythin", "thin", "medium", "thick", "verythick", "veryverythick"), start=1)}
r"""MathML's named spaces in ems (MathML 3, 3.3.4.2): QTI 2.2's MathML 2 schema refuses the names
latex2mathml writes for ``\!`` and its kin (``negativethinmathspace``), so they are written as lengths."""


def _length(value: str) -> str:
    name = value.removesuffix("mathspace")
    sign = -1 if name.startswith("negative") else 1
    ems = _NAMED_SPACES.get(name.removeprefix("negative"))
    return value if ems is None or not value.endswith("mathspace") else f"{sign * ems:.4f}em"


def _unescape(element: Element) -> None:
    """latex2mathml writes characters as entity references in text; make them characters (and
    named spaces lengths)."""
    for attribute in ("width", "lspace", "rspace"):
        if attribute in element.attrib:
            element.attrib[attribute] = _length(element.attrib[attribute])
    if element.text:
        element.text = html.unescape(element.text)
    if element.tail:
        element.tail = html.unescape(element.tail)
    for child in element:
        _unescape(child)


def _protect(text: str) -> tuple[str, list[tuple[str, bool]]]:
    store: list[tuple[str, bool]] = []

    def keep(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        store.append(((match.group(1) or match.group(2) or "").strip(), display))
        return f"ASSAYMATH{len(store) - 1}ASSAYMATH"

    return _MATH.sub(keep, text), store


def _restore_source(text: str, store: list[tuple[str, bool]]) -> str:
    """Inside code, a formula stays as its source."""
    def source(m: re.Match[str]) -> str:
        latex, display = store[int(m.group(1))]
        return f"$${latex}$$" if display else f"${latex}$"
    return _PLACEHOLDER.sub(source, text)


def _text(parent: Element, text: str, store: list[tuple[str, bool]]) -> None:
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        append_text(parent, text[position:match.start()])
        latex, display = store[int(match.group(1))]
        math = math_element(latex, display=display)
        if math is None:
            code = SubElement(parent, "code")
            code.text = latex
        else:
            parent.append(math)
        position = match.end()
    append_text(parent, text[position:])


def _inline(parent: Element, node: SyntaxTreeNode, store: list[tuple[str, bool]]) -> None:
    for child in node.children:
        kind = child.type
        if kind == "text":
            _text(parent, child.content, store)
        elif kind == "softbreak":
            append_text(parent, "\n")
        elif kind == "hardbreak":
            SubElement(parent, "br")
        elif kind == "code_inline":
            SubElement(parent, "code").text = _restore_source(child.content, store)
        elif kind == "image":
            alt = "".join(c.content for c in child.children if c.type == "text")
            SubElement(parent, "img", {"src": str(child.attrs.get("src", "")), "alt": alt})
        elif kind in _INLINES:
            attrs = {"href": str(child.attrs["href"])} if kind == "link" else {}
            _inline(SubElement(parent, child.tag, attrs), child, store)
        else:  # anything else markdown-it may add: its text
            _inline(parent, child, store)


def _give_body(table: Element) -> None:
    """QTI 2.2 wants a table body: a table that is only a header row makes that row its body."""
    head = table.find("thead")
    if head is not None and table.find("tbody") is None:
        head.tag = "tbody"


def _block(parent: Element, node: SyntaxTreeNode, store: list[tuple[str, bool]]) -> None:
    kind = node.type
    if kind == "inline":
        _inline(parent, node, store)
    elif kind == "paragraph" and node.hidden:  # a tight list's item: no <p>
        for child in node.children:
            _block(parent, child, store)
    elif kind in {"fence", "code_block"}:
        pre = SubElement(parent, "pre")
        pre.text = _restore_source(node.content, store)
    elif kind in _BLOCKS:
        attrs = {}
        if kind == "ordered_list" and node.attrs.get("start") not in (None, 1):
            attrs["start"] = str(node.attrs["start"])
        element = SubElement(parent, node.tag, attrs)
        for child in node.children:
            _block(element, child, store)
        if kind == "table":
            _give_body(element)
    else:
        for child in node.children:
            _block(parent, child, store)


@functools.lru_cache(maxsize=4096)
def _tree(text: str) -> tuple[SyntaxTreeNode, tuple[tuple[str, bool], ...]]:
    protected, store = _protect(text)
    return SyntaxTreeNode(_MARKDOWN.parse(protected)), tuple(store)


def append_blocks(parent: Element, text: str) -> None:
    """``text`` as block content (paragraphs, lists, tables) appended to ``parent``."""
    tree, store = _tree(text)
    for child in tree.children:
        _block(parent, child, list(store))


def append_inline(parent: Element, text: str) -> None:
    """``text`` as inline content when it is one paragraph (an option), else as blocks."""
    tree, store = _tree(text)
    children = tree.children
    if len(children) == 1 and children[0].type == "paragraph":
        _inline(parent, children[0].children[0], list(store))
    else:
        append_blocks(parent, text)
