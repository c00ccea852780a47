"""Author text to safe HTML: Markdown, LaTeX as MathML (rendered here, no CDN), then sanitised.

Authors write Markdown with ``$inline$`` and ``$$display$$`` math, read by
:func:`engine.markup.markdown_reader` (the content checker reads formulas with the same reader):
markdown-it's one pass over the text, with mdit-py-plugins' dollar-math rule, ``$$`` as display
math inside its paragraph, and no placeholder for author text to collide with. The renderer's
own rules turn each formula into MathML with latex2mathml, its source as alternative text; nh3
then sanitises the whole with an allow-list that includes MathML.

Every text is bounded: past :data:`MAX_TEXT_CHARS` it is shown as escaped plain text, unparsed,
and formulas past :data:`MAX_FORMULAS` show as their source. Student text never comes here: it is
escaped by the templates.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it.renderer import RendererProtocol
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

from engine.markup import markdown_reader

MAX_TEXT_CHARS = 20_000
"""Longer author text is shown as escaped plain text, unparsed: a bound on the work one text can
ask of a request (the longest shipped text is under 2,500 characters; a grader's comment may be
20,000)."""
MAX_FORMULAS = 500
"""Formulas past this many in one text show as their LaTeX source (shipped texts hold at most 13;
each costs latex2mathml a fraction of a millisecond)."""
CACHE_CHARS = 16_000_000
"""Rendered texts are kept, most recently used first, while texts and their HTML total at most
this many characters (MathML is some thirty times the LaTeX it comes from)."""

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


def _source(latex: str) -> str:
    return f'<code class="latex">{escape(latex)}</code>'


def mathml(latex: str, *, display: bool) -> str:
    """One formula as MathML with its source as alternative text, or as its source in a
    ``<code>`` when latex2mathml cannot read it."""
    latex = latex.strip()
    try:
        converted = latex_to_mathml(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; an unreadable formula shows as its source
        return _source(latex)
    # the source as alternative text: what assistive technology reads where MathML is not
    return converted.replace("<math ", f'<math alttext="{escape(latex)}" ', 1)


def _math_rule(*, display: bool) -> Callable[[RendererProtocol, Sequence[Token], int, OptionsDict, EnvType], str]:
    """The renderer's rule for one kind of math token: MathML, up to :data:`MAX_FORMULAS` a text."""

    def rule(renderer: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict,  # noqa: ARG001 - markdown-it's rule signature
             env: EnvType) -> str:
        env["formulas"] = env.get("formulas", 0) + 1
        if env["formulas"] > MAX_FORMULAS:
            return _source(tokens[idx].content.strip())
        return mathml(tokens[idx].content, display=display)

    return rule


_MARKDOWN = markdown_reader()  # the reader the content checker reads formulas with
_MARKDOWN.add_render_rule("math_inline", _math_rule(display=False))
_MARKDOWN.add_render_rule("math_inline_double", _math_rule(display=True))


def _render(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        return f"<p>{escape(text)}</p>\n"
    return nh3.clean(
        _MARKDOWN.render(text, {"formulas": 0}),
        tags=HTML_TAGS | MATHML_TAGS,
        attributes={"*": {"class"}, "a": {"href", "title"}, "td": {"align"}, "th": {"align"},
                    **dict.fromkeys(MATHML_TAGS, MATHML_ATTRIBUTES)},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


class _RenderCache:
    """Rendered texts, least recently used dropped first, bounded by the characters held (an
    entry count alone would let long, formula-heavy texts hold gigabytes)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held = 0
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, text: str) -> str | None:
        with self.lock:
            html = self.entries.get(text)
            if html is not None:
                self.entries.move_to_end(text)
            return html

    def put(self, text: str, html: str) -> None:
        size = len(text) + len(html)
        if size > self.budget // 16:  # one text never crowds out the rest
            return
        with self.lock:
            if text in self.entries:
                return
            self.entries[text] = html
            self.held += size
            while self.held > self.budget:
                dropped, dropped_html = self.entries.popitem(last=False)
                self.held -= len(dropped) + len(dropped_html)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.held = 0


_CACHE = _RenderCache(CACHE_CHARS)


def render_markdown(text: str) -> Markup:
    """Author Markdown with LaTeX as safe HTML."""
    html = _CACHE.get(text)
    if html is None:
        html = _render(text)
        _CACHE.put(text, html)
    return Markup(html)  # noqa: S704 - sanitised by nh3 in _render, or escaped whole


_PLAIN = re.compile(r"\\([A-Za-z]+|.)?|[$*_`{}]", re.DOTALL)
_DROPPED = frozenset("*_`{}\\")


def _plain(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped is None:  # a math delimiter, markup or a backslash that ends the text
        return ""
    if escaped.isalpha() or escaped == "$":  # a LaTeX command as its name; \$ is a dollar sign
        return escaped
    return "" if escaped in _DROPPED else escaped


def plain_text(text: str) -> str:
    """Author text as plain words, for an ``aria-label``: math delimiters and markup dropped."""
    return " ".join(_PLAIN.sub(_plain, text).split())


def render_inline(text: str) -> Markup:
    """One line of author text (an option): Markdown without the wrapping paragraph."""
    html = str(render_markdown(text)).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # noqa: S704 - from render_markdown, sanitised
