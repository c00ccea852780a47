"""The LaTeX in author text, read and converted as the pages do, with what they would show wrong.

The pages read author Markdown with :func:`engine.markup.markdown_reader` and convert each
formula with latex2mathml; a formula latex2mathml cannot convert shows as its source. The
checker reads every text the same way (a ``{{ field }}`` stands in as a number) and reports:

- a formula latex2mathml rejects (``\\left(`` without ``\\right)``, ``x^`` with nothing raised);
- a command latex2mathml does not know (it would print ``\\foo`` as a letter string);
- braces that do not balance (latex2mathml quietly closes or drops them);
- a ``$`` that opens a formula (a non-space follows it) that is never closed: the page shows a
  dollar sign and the formula as plain text; write ``\\$`` for a dollar sign.
"""

from __future__ import annotations

import functools
import re

from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt

from engine.markup import markdown_reader
from engine.texts import parse_template

__all__ = ["latex_problems"]

_ESCAPED_DOLLAR = "\ue000"  # a private-use character: \$ while the dollars are read
_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")
_OPENER = re.compile(r"\$(?=\S)")
_PLACEHOLDER = "0"
_REASONS = {
    "ExtraLeftOrMissingRightError": "a \\left without its \\right",
    "MissingSuperScriptOrSubscriptError": "a ^ or _ with nothing after it",
    "NoAvailableTokensError": "a command without its argument",
    "MissingEndError": "a \\begin without its \\end",
    "DenominatorNotFoundError": "a \\frac without its denominator",
    "NumeratorNotFoundError": "a \\frac without its numerator",
    "DoubleSubscriptsError": "two subscripts in a row",
    "DoubleSuperscriptsError": "two superscripts in a row",
    "InvalidStyleForGenfracError": "a \\genfrac with an invalid style",
    "InvalidWidthError": "an invalid width",
    "InvalidAlignmentError": "an invalid alignment",
}


@functools.cache
def _reader() -> MarkdownIt:
    return markdown_reader()


def _braces(formula: str) -> str | None:
    depth = 0
    position = 0
    while position < len(formula):
        char = formula[position]
        if char == "\\":
            position += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return "a '}' that closes no '{'"
        position += 1
    return "a '{' that is never closed" if depth else None


@functools.lru_cache(maxsize=8192)
def _formula_problem(formula: str, *, display: bool) -> str | None:
    latex = formula.replace(_ESCAPED_DOLLAR, "\\$").strip()
    unbalanced = _braces(latex)
    if unbalanced:
        return f"the formula ${latex}$ has {unbalanced}"
    try:
        converted = latex_to_mathml(latex, display="block" if display else "inline")
    except Exception as exc:  # noqa: BLE001 - latex2mathml raises many kinds; each is a formula the page cannot show
        reason = _REASONS.get(type(exc).__name__, f"LaTeX the converter rejects ({type(exc).__name__})")
        return f"the formula ${latex}$ has {reason}"
    unknown = _UNKNOWN_COMMAND.search(converted)
    if unknown:
        return f"the formula ${latex}$ uses {unknown.group(1)}, a LaTeX command the pages cannot show"
    return None


@functools.lru_cache(maxsize=4096)
def latex_problems(text: str) -> tuple[tuple[str, str], ...]:
    """Problems with the LaTeX of one author text, as (message, text near the problem)."""
    if "$" not in text:
        return ()
    template = parse_template(text)
    source = "".join(p if isinstance(p, str) else _PLACEHOLDER for p in template.parts)
    read = source.replace("\\$", _ESCAPED_DOLLAR)
    found: list[tuple[str, str]] = []
    for token in _reader().parse(read):
        for child in token.children or ():
            if child.type in {"math_inline", "math_inline_double"}:
                problem = _formula_problem(child.content, display=child.type == "math_inline_double")
                if problem:
                    found.append((problem, child.content.strip().replace(_ESCAPED_DOLLAR, "\\$")))
            elif child.type == "text" and (opener := _OPENER.search(child.content)):
                # a $ before a space or at the end is a dollar sign on the page; one before
                # anything else opens a formula, which here was never closed
                stray = child.content[opener.start():]
                message = (f"a $ that opens a formula that is never closed, near "
                           f"{stray[:30].strip()!r} (write \\$ for a dollar sign)")
                found.append((message, stray.replace(_ESCAPED_DOLLAR, "\\$")))
    return tuple(found)
