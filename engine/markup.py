"""Author Markdown as the pages read it: one reader for the pages and the content checker.

Authors write Markdown with ``$inline$`` and ``$$display$$`` math. markdown-it reads both in its
one pass over the text (raw HTML off), with mdit-py-plugins' dollar-math rule: a ``$`` followed
by a non-space opens a formula, the next unescaped ``$`` closes it if a non-space comes before it
(so ``$5 and $10`` is no formula), ``$$`` pairs are display math wherever they stand in a
paragraph, ``\\$`` is a dollar sign, and code spans hold no math. A formula stays within its
paragraph, and a line inside one never starts a list, a heading or a quote (:func:`_paragraph`),
as when formulas were cut out before Markdown read the text (a line of only ``-`` or ``=`` still
underlines the text before it); in a table, a ``|`` inside a formula is written ``\\|``, as in
GitHub's Markdown. Reading is linear in the text.

The pages (``assessments/web/rendering.py``) turn each formula into MathML with latex2mathml; the
content checker reads the same formulas with the same reader, so what it proves is what a page
shows.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.rules_block import StateBlock
from mdit_py_plugins.dollarmath import dollarmath_plugin

__all__ = ["markdown_reader"]


_DOLLAR_OR_ESCAPE = re.compile(r"[$\\]")


def _scan(line: str, formula: str) -> tuple[str, bool | None]:
    """One line of a paragraph read as the dollar-math rule reads it: the formula (``""``, ``"$"``
    or ``"$$"``) open after the line, given the one open before it; and whether that earlier one
    closed on this line (True), was given up (False: the next ``$`` follows a space, so it opens
    rather than closes) or is still open (None). A ``$`` followed by a non-space opens, ``$$``
    opens and closes display math, and a backslash escapes the next character. One pass."""
    fate: bool | None = None if formula else True
    found = _DOLLAR_OR_ESCAPE.search(line)
    while found:
        i = found.start()
        double = line.startswith("$$", i)
        if line[i] == "\\":
            i += 2
        elif formula == "$$":
            if double:
                formula = ""
                fate = True if fate is None else fate
            i += 2 if double else 1
        elif formula == "$" and i > 0 and not line[i - 1].isspace():
            formula = ""
            fate = True if fate is None else fate
            i += 1
        else:  # an opening (after a space, a ``$`` cannot close the formula before it: it gives it up)
            fate = False if fate is None else fate
            opens = "$$" if double else "$" if line[i + 1 : i + 2].strip() else ""
            formula = opens
            i += len(opens) or 1
        found = _DOLLAR_OR_ESCAPE.search(line, i)
    return formula, fate


def _line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _closing_line(state: StateBlock, line: int, endLine: int, formula: str) -> int:
    """The line on which the formula open before ``line`` closes, or -1 if the paragraph's lines
    (up to a blank one) never close it."""
    while line < endLine and not state.isEmpty(line):
        _, fate = _scan(_line(state, line), formula)
        if fate is not None:
            return line if fate else -1
        line += 1
    return -1


def _paragraph(state: StateBlock, startLine: int, endLine: int, silent: bool) -> bool:  # noqa: ARG001 - a block rule's signature
    """markdown-it's paragraph rule, except that a line inside a formula that closes further on
    continues the paragraph: ``+ (x)``, ``- y`` or ``# z`` wrapped onto a line of its own is part
    of the formula, never a list or a heading, as when Assay took formulas out before Markdown.
    Each line is read once, and once more by the look for the closing ``$``."""
    nextLine = startLine + 1
    terminators = state.md.block.ruler.getRules("paragraph")
    asking = True  # the rules that may end a paragraph are asked, in their silent mode
    endLine = state.lineMax
    oldParentType, state.parentType = state.parentType, "paragraph"
    formula, _ = _scan(_line(state, startLine), "")
    closes_at = -1  # where the open formula is known to close
    while nextLine < endLine and not state.isEmpty(nextLine):
        lazy = state.sCount[nextLine] - state.blkIndent > 3 or state.sCount[nextLine] < 0
        if not lazy and any(rule(state, nextLine, endLine, asking) for rule in terminators):
            if not formula:
                break
            if nextLine > closes_at:
                closes_at = _closing_line(state, nextLine, endLine, formula)
                if closes_at < 0:
                    break
        formula, _ = _scan(_line(state, nextLine), formula)
        nextLine += 1
    state.line = nextLine
    token = state.push("paragraph_open", "p", 1)
    token.map = [startLine, state.line]
    token = state.push("inline", "", 0)
    token.content = mdTrim(state.getLines(startLine, nextLine, state.blkIndent, keepLastLF=False))
    token.map = [startLine, state.line]
    token.children = []
    state.push("paragraph_close", "p", -1)
    state.parentType = oldParentType
    return True


def markdown_reader() -> MarkdownIt:
    """A Markdown reader as the pages read author text: CommonMark (raw HTML off) with tables and
    dollar math, ``$$`` as display math inside its paragraph. Each caller gets its own instance
    (the pages add their render rules to theirs)."""
    reader = (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        .enable("table")
        # ``$5 and $10`` is no formula (a space before the second ``$``); a digit beside a ``$`` is
        # allowed, as before: ``allow_digits=False`` would read the last character of the text as the
        # one before an opening ``$`` at its start
        .use(dollarmath_plugin, allow_space=False, allow_digits=True, double_inline=True, allow_labels=False)
    )
    # ``$$`` is display math inside the paragraph it is written in, as it always was in Assay:
    # the plugin's block rule would take a ``$$`` line that starts a paragraph out of it
    reader.block.ruler.disable("math_block")
    reader.block.ruler.at("paragraph", _paragraph)
    return reader
