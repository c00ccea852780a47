"""Author text to safe HTML: Markdown, LaTeX as MathML (rendered here, no CDN), then sanitised.

Authors write Markdown with ``$inline$`` and ``$$display$$`` math. The math is converted to
MathML by latex2mathml on the server; the Markdown by markdown-it (raw HTML off); the result is
sanitised by nh3 with an allow-list that includes MathML. Student text never comes here: it is
escaped by the templates.
"""

from __future__ import annotations

import functools
import re

import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\\\s])\$(?!\$)", re.DOTALL)
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

MATHML_TAGS = {
    "math", "mrow", "mi", "mo", "mn", "ms", "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot",
    "mtext", "mspace", "mtable", "mtr", "mtd", "munder", "mover", "munderover", "mstyle",
    "semantics", "annotation", "menclose", "mpadded", "mphantom", "mfenced",
}
MATHML_ATTRIBUTES = {
    "display", "xmlns", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
    "columnalign", "rowspacing", "columnspacing", "accent", "accentunder", "form", "minsize",
    "maxsize", "movablelimits", "linethickness", "displaystyle", "scriptlevel", "width",
    "notation", "encoding", "symmetric", "largeop", "open", "close", "separators", "alttext",
}
HTML_TAGS = {
    "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4",
    "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "span", "del", "sup", "sub",
}


def _math(match: re.Match[str], store: list[str]) -> str:
    display = match.group(1) is not None
    latex = (match.group(1) or match.group(2) or "").strip()
    try:
        mathml = latex_to_mathml(latex, display="block" if display else "inline")
        # the source as alternative text: what assistive technology reads where MathML is not
        mathml = mathml.replace("<math ", f'<math alttext="{escape(latex)}" ', 1)
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; an unreadable formula shows as its source
        mathml = f'<code class="latex">{escape(latex)}</code>'
    store.append(mathml)
    return f"ASSAYMATH{len(store) - 1}ASSAYMATH"


@functools.lru_cache(maxsize=4096)
def render_markdown(text: str) -> Markup:
    """Author Markdown with LaTeX as safe HTML."""
    store: list[str] = []
    protected = _MATH.sub(lambda m: _math(m, store), text)
    html = _MARKDOWN.render(protected)
    html = re.sub(r"ASSAYMATH(\d+)ASSAYMATH", lambda m: store[int(m.group(1))], html)
    clean = nh3.clean(
        html,
        tags=HTML_TAGS | MATHML_TAGS,
        attributes={"*": {"class"}, "a": {"href", "title"}, "td": {"align"}, "th": {"align"},
                    **dict.fromkeys(MATHML_TAGS, MATHML_ATTRIBUTES)},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)")


def plain_text(text: str) -> str:
    """Author text as plain words, for an ``aria-label``: math delimiters and markup dropped."""
    words = _LATEX_COMMAND.sub(r"\1", text.replace("$", ""))
    words = re.sub(r"[*_`{}\\]", "", words)
    return " ".join(words.split())


def render_inline(text: str) -> Markup:
    """One line of author text (an option): Markdown without the wrapping paragraph."""
    html = str(render_markdown(text)).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # noqa: S704 - from render_markdown, sanitised
