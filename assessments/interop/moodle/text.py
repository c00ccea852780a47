"""Moodle's texts as Assay's Markdown: the four text formats, HTML converted, math delimiters mapped.

Moodle stores each text with a format: ``html``, ``moodle_auto_format`` (text with optional HTML,
newlines kept), ``plain_text`` and ``markdown`` (GIFT writes them ``[html]``, ``[moodle]``,
``[plain]``, ``[markdown]``). Assay's texts are Markdown with raw HTML switched off, so HTML is
converted: emphasis, links, lists, headings, code and line breaks become Markdown; images and
embedded files cannot travel (their alternative text stays, and a note says so); other tags are
dropped and named in a note. MathJax's ``\\(...\\)`` and ``\\[...\\]`` become ``$...$`` and
``$$...$$``. Finally ``{{``, which opens a computed value in an Assay text, is written ``{ {``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import ClassVar

from assessments.interop.moodle.model import TRIM

__all__ = ["Converted", "plain_words", "template_safe", "to_markdown"]

FORMATS = {
    # Moodle XML's names and GIFT's short names, to one of four kinds
    "html": "html", "moodle_auto_format": "moodle", "moodle": "moodle", "plain_text": "plain",
    "plain": "plain", "markdown": "markdown", "wiki_like": "plain",
}

_BLOCK = {"p", "div", "section", "article", "header", "footer", "table", "tr", "center", "dl", "dt", "dd",
          "figure", "figcaption", "address", "form", "fieldset"}
_EMPHASIS = {"b": "**", "strong": "**", "i": "*", "em": "*"}
_HEADINGS = {f"h{n}": "#" * n for n in range(1, 7)}
_QUIET = _BLOCK | {"span", "font", "br", "a", "ul", "ol", "li", "code", "tt", "pre", "hr", "blockquote",
                   "img", "tbody", "thead", "th", "td", "u", "html", "body", "head", "title", "meta"}
_SKIPPED_CONTENT = {"script", "style", "head", "title"}
_HTML_HINT = re.compile(r"<[A-Za-z/!]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")
_MATH_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_MATH_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass
class Converted:
    """A text as Assay Markdown, and what could not come along."""

    text: str
    dropped: list[str] = field(default_factory=list)


class _MarkdownWriter(HTMLParser):
    """Walks HTML and writes Markdown: a small, forgiving converter for question texts."""

    def __init__(self, *, keep_newlines: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropped: list[str] = []
        self.keep_newlines = keep_newlines
        self.links: list[str | None] = []
        self.lists: list[list[int]] = []  # per open list: [next number] or [] for bullets
        self.pre = 0
        self.skip = 0

    def _drop(self, what: str) -> None:
        if what not in self.dropped:
            self.dropped.append(what)

    def _break(self, blank: bool = True) -> None:
        self.out.append("\n\n" if blank else "\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _SKIPPED_CONTENT:
            self.skip += 1
            if tag in {"script", "style"}:
                self._drop(f"<{tag}> content")
        elif tag in _BLOCK or tag in _HEADINGS:
            self._break()
            self.out.append(_HEADINGS[tag] + " " if tag in _HEADINGS else "")
        elif tag in _EMPHASIS:
            self.out.append(_EMPHASIS[tag])
        elif tag in self._OPENERS:
            self._OPENERS[tag](self, attributes)
        elif tag not in _QUIET:
            self._drop(f"<{tag}>")
        if tag in {"span", "font"} and attributes.get("style"):
            self._drop(f"<{tag}> styles")

    def _line_break(self, _: dict[str, str | None]) -> None:
        self._break(blank=False)

    def _rule(self, _: dict[str, str | None]) -> None:
        self._break()
        self.out.append("---")
        self._break()

    def _open_list(self, numbered: bool) -> None:
        self.lists.append([1] if numbered else [])
        self._break(blank=False)

    def _code(self, _: dict[str, str | None]) -> None:
        if not self.pre:
            self.out.append("`")

    def _open_pre(self, _: dict[str, str | None]) -> None:
        self.pre += 1
        self._break()
        self.out.append("```\n")

    def _quote(self, _: dict[str, str | None]) -> None:
        self._break()
        self.out.append("> ")

    def _cell(self, _: dict[str, str | None]) -> None:
        self.out.append(" | ")

    def _list_item(self, _: dict[str, str | None]) -> None:
        self._break(blank=False)
        numbers = self.lists[-1] if self.lists else []
        indent = "  " * max(len(self.lists) - 1, 0)
        if numbers:
            self.out.append(f"{indent}{numbers[0]}. ")
            numbers[0] += 1
        else:
            self.out.append(f"{indent}- ")

    def _open_link(self, attributes: dict[str, str | None]) -> None:
        href = attributes.get("href")
        safe = href if href and href.startswith(_SAFE_SCHEMES) else None
        if href and safe is None:
            self._drop(f"the link to {href!r}")
        self.links.append(safe)
        if safe:
            self.out.append("[")

    def _image(self, attributes: dict[str, str | None]) -> None:
        source = attributes.get("src") or ""
        name = source.rsplit("/", 1)[-1] or "an image"
        self._drop(f"the image {name!r}")
        alt = (attributes.get("alt") or "").strip()
        if alt:
            self.out.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_CONTENT:
            self.skip = max(self.skip - 1, 0)
        elif tag in _BLOCK or tag in _HEADINGS or tag == "blockquote":
            self._break()
        elif tag in _EMPHASIS:
            self.out.append(_EMPHASIS[tag])
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            self._break()
        elif tag in {"code", "tt"} and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self.out.append("\n```")
            self._break()
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.out.append(f"]({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
        elif self.keep_newlines:
            self.out.append(re.sub(r"[ \t\r\f\v]+", " ", data))
        else:
            self.out.append(re.sub(r"\s+", " ", data))

    _OPENERS: ClassVar[dict[str, Callable[[_MarkdownWriter, dict[str, str | None]], None]]] = {
        "br": _line_break, "hr": _rule, "ul": lambda w, _: w._open_list(numbered=False),
        "ol": lambda w, _: w._open_list(numbered=True), "li": _list_item, "code": _code, "tt": _code,
        "pre": _open_pre, "blockquote": _quote, "a": _open_link, "img": _image, "td": _cell, "th": _cell,
    }

    def result(self) -> str:
        lines: list[str] = []
        fenced = False
        for raw in "".join(self.out).split("\n"):
            if raw.strip().startswith("```"):
                fenced = not fenced
                lines.append(raw.strip())
            else:
                lines.append(raw.rstrip() if fenced else raw.strip())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _from_html(text: str, *, keep_newlines: bool) -> Converted:
    writer = _MarkdownWriter(keep_newlines=keep_newlines)
    writer.feed(text)
    writer.close()
    return Converted(writer.result(), writer.dropped)


def _math(text: str) -> str:
    text = _MATH_DISPLAY.sub(lambda m: f"$${m.group(1).strip()}$$", text)
    return _MATH_INLINE.sub(lambda m: f"${m.group(1).strip()}$", text)


def template_safe(text: str) -> str:
    """``{{`` opens a computed value in an Assay text; an imported text means two braces."""
    while "{{" in text:
        text = text.replace("{{", "{ {")
    return text


def to_markdown(text: str, text_format: str) -> Converted:
    """``text`` in Moodle's ``text_format`` as Assay Markdown (unknown formats read as HTML, as Moodle does)."""
    kind = FORMATS.get(text_format.strip().lower(), "html")
    if kind == "markdown":
        converted = Converted(text.strip(TRIM))
    elif kind == "plain" or (kind == "moodle" and not _HTML_HINT.search(text)):
        converted = Converted(_math(text.strip(TRIM)))
    else:
        converted = _from_html(text, keep_newlines=kind == "moodle")
        converted.text = _math(converted.text)
    converted.text = template_safe(converted.text)
    return converted


def plain_words(text: str, limit: int) -> str:
    """A text without Markdown emphasis, on one line and at most ``limit`` characters (cut at a word),
    as Moodle names a question that has no name."""
    words = " ".join(re.sub(r"[*`\\]|^#+ ", "", text).split())
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0] or words[:limit]
