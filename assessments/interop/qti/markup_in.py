"""QTI content (XHTML and MathML) as Assay's author text: Markdown with LaTeX.

The reverse of :mod:`.markup_out`, for any item: paragraphs, lists, tables, quotes, code and
headings become their Markdown; emphasis, links and images stay; MathML becomes ``$...$`` (its
``alttext`` or TeX annotation when it has one, which is how Assay's own exports carry the author's
LaTeX, else a conversion of its presentation markup). Plain text is escaped so that it reads back
as itself: Markdown's punctuation, ``$`` (math) and ``{{`` (a computed value) never take effect.
Elements the caller names (the interaction, feedback, scorer rubrics) are skipped or replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.etree.ElementTree import Element

from assessments.interop.qti.dialect import MATHML, local_name, namespace_of

__all__ = ["MarkdownWriter", "escape", "mathml_to_latex"]

_BLOCK = frozenset({
    "p", "div", "ul", "ol", "li", "blockquote", "pre", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "figure", "section", "article", "header", "footer", "aside", "nav", "dl", "dt", "dd", "details",
    "figcaption", "address", "object", "rubricBlock", "prompt", "contentBody", "itemBody",
})
_EMPHASIS = {"em": "*", "i": "*", "strong": "**", "b": "**"}
_CODE = frozenset({"code", "kbd", "samp", "tt"})
_ESCAPE = re.compile(r"([\\`*_\[\]<>$|&])")
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)])|\d+[.)])", re.MULTILINE)


def escape(text: str) -> str:
    """Plain text as Markdown that renders as itself (and holds no ``{{`` computed value)."""
    text = _ESCAPE.sub(r"\\\1", text)
    return text.replace("{{", "{\\{")


def _escape_line_starts(text: str) -> str:
    def guard(match: re.Match[str]) -> str:
        marker = match.group(2)
        if marker[0].isdigit():
            digits = re.match(r"\d+", marker)
            assert digits is not None
            return match.group(1) + digits.group(0) + ("\\" if len(marker) == len(digits.group(0)) else "")
        return match.group(1) + "\\" + marker
    return _LINE_START.sub(guard, text)


def _is_math(element: Element) -> bool:
    return namespace_of(element.tag) == MATHML


_LATEX_SPECIAL = re.compile(r"([#$%&_{}])")
_OPERATORS = {"−": "-", "×": r"\times ", "·": r"\cdot ", "÷": r"\div ", "≤": r"\leq ", "≥": r"\geq ",
              "≠": r"\neq ", "±": r"\pm ", "∞": r"\infty ", "→": r"\to "}


def _math_text(text: str) -> str:
    return _LATEX_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _group(element: Element) -> str:
    return "{" + _latex(element) + "}"


def _token(element: Element, name: str) -> str:
    text = _math_text(element.text or "")
    if name == "mo":
        return _OPERATORS.get(text, text)
    if name == "mtext":
        return rf"\text{{{text}}}"
    return text if len(text) <= 1 or name == "mn" else rf"\mathrm{{{text}}}"


_SCRIPTS: dict[str, tuple[int, Callable[[list[Element]], str]]] = {
    "msup": (2, lambda c: _group(c[0]) + "^" + _group(c[1])),
    "msub": (2, lambda c: _group(c[0]) + "_" + _group(c[1])),
    "msubsup": (3, lambda c: _group(c[0]) + "_" + _group(c[1]) + "^" + _group(c[2])),
    "mfrac": (2, lambda c: r"\frac" + _group(c[0]) + _group(c[1])),
    "mroot": (2, lambda c: r"\sqrt[" + _latex(c[1]) + "]" + _group(c[0])),
    "mover": (2, lambda c: r"\overset" + _group(c[1]) + _group(c[0])),
    "munder": (2, lambda c: r"\underset" + _group(c[1]) + _group(c[0])),
}
"""Layout elements with a fixed number of children, as LaTeX."""


def _table_latex(element: Element) -> str:
    rows = [" & ".join(_latex(cell) for cell in row) for row in element]
    return r"\begin{matrix}" + r" \\ ".join(rows) + r"\end{matrix}"


_LAYOUT: dict[str, Callable[[Element], str]] = {
    "mspace": lambda _: r"\ ",
    "msqrt": lambda e: r"\sqrt{" + "".join(_latex(c) for c in e) + "}",
    "mfenced": lambda e: e.get("open", "(") + ",".join(_latex(c) for c in e) + e.get("close", ")"),
    "mtable": _table_latex,
    "semantics": lambda e: _latex(e[0]) if len(e) else "",
    "annotation": lambda _: "",
    "annotation-xml": lambda _: "",
}


def _latex(element: Element) -> str:
    """Presentation MathML as LaTeX: tokens, scripts, fractions, roots, fences and tables."""
    name = local_name(element.tag)
    children = list(element)
    if name in {"mi", "mn", "mo", "mtext"}:
        return _token(element, name)
    script = _SCRIPTS.get(name)
    if script is not None and len(children) == script[0]:
        return script[1](children)
    if name in _LAYOUT:
        return _LAYOUT[name](element)
    return "".join(_latex(c) for c in children) if children else _math_text(element.text or "")


def mathml_to_latex(element: Element) -> str:
    """LaTeX for a ``math`` element: its ``alttext`` or TeX annotation, else converted."""
    alttext = element.get("alttext")
    if alttext:
        return alttext.strip()
    for annotation in element.iter(f"{{{MATHML}}}annotation"):
        if annotation.get("encoding", "").lower() in {"application/x-tex", "latex", "tex", "text/x-latex"}:
            return (annotation.text or "").strip()
    return " ".join("".join(_latex(c) for c in element).split())


_BREAK = "\x00"
"""Stands for a hard line break while white space is folded."""


def _join_inline(parts: list[str]) -> str:
    text = re.sub(r"[ \t\r\n]+", " ", "".join(parts))
    text = re.sub(f" ?{_BREAK} ?", _BREAK, text).strip(" " + _BREAK)
    return text.replace(_BREAK, "\\\n")


class MarkdownWriter:
    """Converts QTI content to Markdown; ``skip`` drops elements, ``replace`` substitutes Markdown."""

    def __init__(self, skip: Callable[[Element], bool] | None = None,
                 replace: dict[int, str] | None = None) -> None:
        self.skip = skip or (lambda _: False)
        self.replace = replace or {}

    # --- inline ------------------------------------------------------------------------------
    def inline(self, element: Element) -> str:
        """An element's content as one paragraph of Markdown (an option's text)."""
        blocks = self.blocks(element)
        return " ".join(blocks) if len(blocks) > 1 else (blocks[0] if blocks else "")

    def _inline_parts(self, element: Element, out: list[str]) -> None:
        if element.text:
            out.append(escape(element.text))
        for child in element:
            self._inline_child(child, out)
            if child.tail:
                out.append(escape(child.tail))

    def _inline_child(self, child: Element, out: list[str]) -> None:
        if id(child) in self.replace:
            out.append(self.replace[id(child)])
            return
        if self.skip(child):
            return
        if _is_math(child):
            latex = mathml_to_latex(child)
            block = child.get("display") == "block"
            out.append(f"$${latex}$$" if block else f"${latex}$")
            return
        tag = child.tag
        if tag == "br":
            out.append(_BREAK)
        elif tag in _EMPHASIS:
            inner = _join_inline(self._collect(child))
            if inner:
                out.append(f"{_EMPHASIS[tag]}{inner}{_EMPHASIS[tag]}")
        elif tag in _CODE:
            code = " ".join("".join(child.itertext()).split())
            fence = "``" if "`" in code else "`"
            out.append(f"{fence}{code}{fence}" if code else "")
        elif tag == "a" and child.get("href"):
            out.append(f"[{_join_inline(self._collect(child))}]({child.get('href')})")
        elif tag == "img":
            out.append(f"![{escape(child.get('alt', ''))}]({child.get('src', '')})")
        else:
            self._inline_parts(child, out)

    def _collect(self, element: Element) -> list[str]:
        out: list[str] = []
        self._inline_parts(element, out)
        return out

    # --- blocks ------------------------------------------------------------------------------
    def blocks(self, element: Element) -> list[str]:
        """An element's content as Markdown blocks."""
        blocks: list[str] = []
        run: list[str] = []

        def flush() -> None:
            text = _join_inline(run)
            if text:
                blocks.append(_escape_line_starts(text))
            run.clear()

        if element.text:
            run.append(escape(element.text))
        for child in element:
            if id(child) in self.replace and self._is_block(child):
                flush()
                blocks.extend(b for b in self.replace[id(child)].split("\n\n") if b)
            elif id(child) not in self.replace and not self.skip(child) and self._is_block(child):
                flush()
                blocks.extend(b for b in self._block(child) if b)
            else:
                self._inline_child(child, run)
            if child.tail:
                run.append(escape(child.tail))
        flush()
        return blocks

    def markdown(self, element: Element) -> str:
        return "\n\n".join(self.blocks(element))

    def _is_block(self, element: Element) -> bool:
        if _is_math(element):
            return False
        inline_interaction = element.tag in {"inlineChoiceInteraction", "textEntryInteraction"}
        return element.tag in _BLOCK or (element.tag.endswith("Interaction") and not inline_interaction) \
            or self._holds_block(element)

    def _holds_block(self, element: Element) -> bool:
        return any(not _is_math(c) and c.tag in _BLOCK for c in element)

    def _block(self, element: Element) -> list[str]:  # noqa: PLR0911 - one branch per block kind
        tag = element.tag
        if tag in {"ul", "ol"}:
            return [self._list(element, ordered=tag == "ol")]
        if tag == "blockquote":
            inner = "\n\n".join(self.blocks(element))
            return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))] if inner else []
        if tag == "pre":
            code = "".join(element.itertext()).strip("\n")
            fence = "~~~" if "```" in code else "```"
            return [f"{fence}\n{code}\n{fence}"]
        if re.fullmatch(r"h[1-6]", tag):
            text = _join_inline(self._collect(element))
            return [f"{'#' * int(tag[1])} {text}"] if text else []
        if tag == "hr":
            return ["---"]
        if tag == "table":
            return [self._table(element)]
        return self.blocks(element)

    def _list(self, element: Element, *, ordered: bool) -> str:
        lines = []
        number = int(element.get("start", "1") or 1)
        for item in element:
            if item.tag != "li" or self.skip(item):
                continue
            marker = f"{number}. " if ordered else "- "
            number += 1
            first, *rest = "\n\n".join(self.blocks(item)).split("\n")
            pad = " " * len(marker)  # continuation lines line up under the item's text
            lines.append(marker + first + "".join(f"\n{pad}{line}" if line else "\n" for line in rest))
        return "\n".join(lines)

    def _table(self, element: Element) -> str:
        cells = [[_join_inline(self._collect(cell)).replace("\n", " ") for cell in row if cell.tag in {"td", "th"}]
                 for row in element.iter("tr")]
        cells = [row for row in cells if row]
        if not cells:
            return ""
        width = max(len(row) for row in cells)
        cells = [row + [""] * (width - len(row)) for row in cells]
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        return "\n".join(lines)
