"""Author text to safe HTML: Markdown, LaTeX as MathML (rendered here, no CDN), then sanitised.

Authors write Markdown with ``$inline$`` and ``$$display$$`` math, read by
:func:`engine.markup.markdown_reader` (the content checker reads formulas with the same reader):
markdown-it's one pass over the text, with mdit-py-plugins' dollar-math rule, ``$$`` as display
math inside its paragraph, and no placeholder for author text to collide with. The renderer's
own rules turn each formula into MathML with latex2mathml, its source as alternative text, and
:func:`typeset_like_mathjax` adds what MathJax would and latex2mathml does not (function
application, prefix signs); nh3 then sanitises the whole with an allow-list that includes MathML.

Every text is bounded: past :data:`MAX_TEXT_CHARS` it is shown as escaped plain text, unparsed,
and formulas past :data:`MAX_FORMULAS` show as their source. Student text never comes here: it is
escaped by the templates.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from xml.etree.ElementTree import Element, tostring
from xml.sax.saxutils import unescape

import nh3
from latex2mathml.converter import convert_to_element
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


FUNCTION_NAMES = frozenset((
    "arccos", "arcsin", "arctan", "arg", "cos", "cosh", "cot", "coth", "csc", "deg", "det", "dim",
    "exp", "gcd", "hom", "inf", "ker", "lg", "lim", "liminf", "limsup", "ln", "log", "max", "min",
    "Pr", "sec", "sin", "sinh", "sup", "tan", "tanh"))
"""LaTeX's named functions (``\\log`` and its kin): MathJax applies each to what follows."""
APPLIED_SYMBOLS = frozenset("σ")
"""Symbols read as a function when a parenthesis follows (the logistic sigmoid ``σ(x)``)."""
OPENING = frozenset("([{⟨")
CLOSING = frozenset(")]}⟩|‖")
SIGNS = frozenset("−-+±∓")
ROWS = frozenset(("math", "mrow", "mstyle", "mtd", "msqrt", "mpadded", "mphantom", "menclose"))
"""Elements whose children are a row, one after another (in the others a child's place has a
meaning: base, script, numerator)."""
SCRIPTED = frozenset(("msub", "msup", "msubsup", "munder", "mover", "munderover"))
APPLY = "\u2061"  # FUNCTION APPLICATION, invisible
THIN = "0.1667em"  # TeX's thin space (3mu): MathJax's space after log before an operand


def _text(element: Element) -> str:
    return html.unescape(element.text or "").strip()


def _core(element: Element) -> Element:
    """The operator or identifier an element is built on (``log`` in ``\\log_2``)."""
    while element.tag in SCRIPTED and len(element):
        element = element[0]
    return element


def _is_function(element: Element) -> bool:
    core = _core(element)
    text = _text(core)
    # \operatorname{softmax} and \max come as <mo>; \log and \sin as <mi>
    return core.tag in ("mi", "mo") and (text in FUNCTION_NAMES or (
        core.tag == "mo" and len(text) > 1 and text.isalpha()))


def _opens(element: Element) -> bool:
    """An opening fence, alone or first in a row (``\\left(``)."""
    while element.tag == "mrow" and len(element):
        element = element[0]
    return element.tag == "mo" and _text(element) in OPENING


def _applied_to(element: Element) -> bool:
    """Whether a function name followed by ``element`` is applied to it: not before a binary
    operator or a relation (``\\log = ...``), as MathJax decides."""
    if element.tag == "mo":
        return _opens(element) or _is_function(element)
    return element.tag != "mspace"


def _prefix(before: Element | None) -> bool:
    """Whether a sign after ``before`` (None: first in its row) is a prefix operator: first, or
    after an operator or an opening fence, not after an operand or a closing fence."""
    return before is None or (before.tag == "mo" and _text(before) not in CLOSING)


def typeset_like_mathjax(math: Element) -> Element:
    """latex2mathml's MathML with what MathJax does and latex2mathml does not (#15), in place:

    - a function applied to its argument gets ``<mo>&#x2061;</mo>`` (FUNCTION APPLICATION)
      after its name, with MathJax's thin space before an operand (``log σ(x)``, not ``logσ(x)``:
      MathML Core gives U+2061 no space of its own) and none before a parenthesis (``exp(x)``);
      σ followed by a parenthesis is applied too;
    - a sign first in a row or after an operator or an opening fence is a prefix operator with
      no space around it (``−1.4``, not ``− 1.4``); a binary minus (``a − b``) is unchanged.
    """
    for element in math.iter():
        if element.tag not in ROWS or not len(element):
            continue
        kids = list(element)
        row: list[Element] = []
        for n, kid in enumerate(kids):
            before = kids[n - 1] if n else None
            following = kids[n + 1] if n + 1 < len(kids) else None
            if (kid.tag == "mo" and _text(kid) in SIGNS and following is not None
                    and _prefix(before) and "form" not in kid.attrib):
                kid.attrib.update({"form": "prefix", "lspace": "0em", "rspace": "0em"})
            row.append(kid)
            if following is None or (following.tag == "mo" and _text(following) == APPLY):
                continue
            if _is_function(kid) and _applied_to(following):
                apply = Element("mo")
                apply.text = APPLY
                if not _opens(following):
                    apply.attrib.update({"lspace": "0em", "rspace": THIN})
                row.append(apply)
            elif _text(_core(kid)) in APPLIED_SYMBOLS and _core(kid).tag == "mi" and _opens(following):
                apply = Element("mo")
                apply.text = APPLY
                row.append(apply)
        element[:] = row
    return math


def _source(latex: str) -> str:
    return f'<code class="latex">{escape(latex)}</code>'


def mathml(latex: str, *, display: bool) -> str:
    """One formula as MathML with its source as alternative text, or as its source in a
    ``<code>`` when latex2mathml cannot read it."""
    latex = latex.strip()
    try:
        element = convert_to_element(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; an unreadable formula shows as its source
        return _source(latex)
    # as latex2mathml's convert writes it: its texts hold entity references, kept as written
    converted = unescape(tostring(typeset_like_mathjax(element), encoding="unicode"))
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
