"""Numeric and short-text answers as ``textEntryInteraction``; essays as ``extendedTextInteraction``.

A numeric item declares a float response whose correct value is the variant's key, and scores it
with QTI's ``equal`` under ``toleranceMode`` absolute or relative (QTI counts relative tolerance
in percent). Significant figures have no QTI mode: they leave as the absolute half-unit around
this variant's key, and the report says so. Each misconception is a further ``equal`` branch that
sets its feedback. Short text keeps Assay's rule, first matching answer wins, as a chain of
``stringMatch`` (literal answers, also listed in the mapping) and ``patternMatch`` (wildcards). An
essay carries its rubric to the scorer in a ``rubricBlock`` and has no response processing.
"""

from __future__ import annotations

import math
from xml.etree.ElementTree import Element, SubElement

from assessments.interop.qti import rp
from assessments.interop.qti.markup_out import append_blocks
from assessments.interop.qti.parts import (
    RESPONSE,
    Parts,
    add_feedback,
    declaration,
    mapping,
    misconception_id,
    set_score,
)
from engine.items import EssayItem, NumericItem, ShortTextItem
from engine.qtypes import qtype_for
from engine.qtypes.common import misconception_feedback, render_text
from engine.variants import Variant

__all__ = ["essay", "numeric", "regex_for_pattern", "short_text", "word_limits_text"]

UNIT_CLASS = "unit"
RUBRIC_CLASS = "assay-rubric"
WORD_LIMITS_CLASS = "assay-word-limits"
SOLUTION_CLASS = "assay-solution"
DEFAULT_MAX_WORDS = 2000


def _tolerance(item: NumericItem, value: float) -> tuple[str, float]:
    """QTI's toleranceMode and tolerance for Assay's tolerance around ``value``."""
    tolerance = item.tolerance
    if tolerance.absolute is not None:
        return "absolute", tolerance.absolute
    if tolerance.relative is not None:
        return "relative", tolerance.relative * 100  # QTI's relative tolerance is a percentage
    assert tolerance.sigfigs is not None
    if value == 0:
        return "absolute", 0.0
    exponent = math.floor(math.log10(abs(value)))
    return "absolute", float(f"{0.5 * 10.0 ** (exponent - tolerance.sigfigs + 1):.1g}")


def numeric(item: NumericItem, variant: Variant) -> Parts:
    key = float(variant.key["answer"][0])
    paragraph = Element("p")
    SubElement(paragraph, "textEntryInteraction", {"responseIdentifier": RESPONSE, "expectedLength": "12"})
    if item.unit:
        paragraph[-1].tail = " "
        SubElement(paragraph, "span", {"class": UNIT_CLASS}).text = item.unit
    mode, width = _tolerance(item, key)
    branches: list[rp.Branch] = [
        (rp.is_null(rp.variable(RESPONSE)), [set_score(0)]),
        (rp.equal(rp.variable(RESPONSE), rp.correct(RESPONSE), mode=mode, tolerance=width),
         [set_score(item.max_mark)]),
    ]
    feedback: dict[str, tuple[str, str]] = {}
    values = variant.key["misconception_values"][0]
    for m, name in enumerate(item.misconceptions):
        value = float(values[m])
        m_mode, m_width = _tolerance(item, value)
        feedback[misconception_id(name)] = misconception_feedback(item, name, variant)
        test = rp.equal(rp.variable(RESPONSE), rp.base("float", value), mode=m_mode, tolerance=m_width)
        branches.append((test, [set_score(0), add_feedback(misconception_id(name))]))
    notes = []
    if item.tolerance.sigfigs is not None:
        notes.append(f"{item.tolerance.sigfigs} significant figures exported as an absolute tolerance of "
                     f"±{rp.number(width)} (half a unit in the last figure of {rp.number(key)})")
    return Parts(declaration("single", "float", [rp.number(key)]), [paragraph],
                 [rp.condition(branches, otherwise=[set_score(0)])], None, feedback, notes=notes)


_REGEX_SPECIAL = set("\\|.?*+(){}-[]^")


def regex_for_pattern(pattern: str, *, case_sensitive: bool) -> str:
    """Assay's ``*`` pattern as an XML Schema regular expression (implicitly anchored).

    Spaces match any run of white space and the ends may carry white space, as Assay folds
    spaces before comparing; letters match either case (``[Bb]``, the authored case first) unless
    the item is case-sensitive.
    """
    out = []
    for part_index, part in enumerate(" ".join(pattern.split()).split("*")):
        if part_index:
            out.append(".*")
        for char in part:
            if char == " ":
                out.append("\\s+")
            elif char in _REGEX_SPECIAL:
                out.append("\\" + char)
            elif not case_sensitive and char.lower() != char.upper() and len(char.upper()) == 1:
                other = char.upper() if char == char.lower() else char.lower()
                out.append(f"[{char}{other}]")  # the authored case first, so an import can keep it
            else:
                out.append(char)
    return "\\s*" + "".join(out) + "\\s*"


def short_text(item: ShortTextItem, variant: Variant) -> Parts:
    rendered = [" ".join(render_text(a.match, variant).split()) for a in item.answers]
    literal = [r for r, a in zip(rendered, item.answers, strict=True) if "*" not in r and a.fraction == 1]
    key = literal[0] if literal else str(qtype_for(item).correct_response(item, variant)["answer"])
    declared = declaration("single", "string", [key])
    entries, seen = [], set()
    for text, answer in zip(rendered, item.answers, strict=True):
        folded = text if item.case_sensitive else text.casefold()
        if "*" not in text and folded not in seen and answer.fraction > 0:
            seen.add(folded)
            entries.append((text, answer.fraction * item.max_mark))
    if entries:
        mapping(declared, entries, case_sensitive=item.case_sensitive)
    paragraph = Element("p")
    SubElement(paragraph, "textEntryInteraction", {"responseIdentifier": RESPONSE, "expectedLength": "30"})
    branches: list[rp.Branch] = [(rp.is_null(rp.variable(RESPONSE)), [set_score(0)])]
    feedback: dict[str, tuple[str, str]] = {}
    notes = []
    for n, (text, answer) in enumerate(zip(rendered, item.answers, strict=True)):
        if "*" in text:
            test = rp.pattern_match(rp.variable(RESPONSE),
                                    regex_for_pattern(text, case_sensitive=item.case_sensitive))
            notes.append(f"the answer pattern {text!r} is exported as a patternMatch regular expression "
                         "(systems that read only the mapping see the literal answers)")
        else:
            test = rp.string_match(rp.variable(RESPONSE), rp.base("string", text),
                                   case_sensitive=item.case_sensitive)
        rules = [set_score(answer.fraction * item.max_mark)]
        if answer.feedback:
            feedback[f"A{n + 1}"] = ("", render_text(answer.feedback, variant))
            rules.append(add_feedback(f"A{n + 1}"))
        if answer.misconception:  # its own feedback, titled with what the student believes
            feedback[misconception_id(answer.misconception)] = misconception_feedback(item, answer.misconception,
                                                                                      variant)
            rules.append(add_feedback(misconception_id(answer.misconception)))
        branches.append((test, rules))
    template = "map_response" if not notes else None
    return Parts(declared, [paragraph], [rp.condition(branches, otherwise=[set_score(0)])], template,
                 feedback, notes=notes)


def word_limits_text(min_words: int, max_words: int) -> str | None:
    """What a candidate is told about the length; None for Assay's defaults."""
    if min_words and max_words != DEFAULT_MAX_WORDS:
        return f"Write between {min_words} and {max_words} words."
    if min_words:
        return f"Write at least {min_words} words."
    if max_words != DEFAULT_MAX_WORDS:
        return f"Write at most {max_words} words."
    return None


def _rubric_table(item: EssayItem) -> Element:
    table = Element("table", {"class": RUBRIC_CLASS})
    head = SubElement(SubElement(table, "thead"), "tr")
    for title in ("Level", "Points", "Description"):
        SubElement(head, "th").text = title
    for criterion in item.rubric.criteria:
        body = SubElement(table, "tbody", {"id": f"criterion-{criterion.id}"})
        row = SubElement(body, "tr", {"class": "assay-criterion"})
        SubElement(row, "th", {"colspan": "3"}).text = criterion.title
        if criterion.description:
            row = SubElement(body, "tr", {"class": "assay-criterion-description"})
            SubElement(row, "td", {"colspan": "3"}).text = criterion.description
        for level in criterion.levels:
            row = SubElement(body, "tr", {"class": "assay-level"})
            for text in (level.label, rp.number(level.points), level.description):
                SubElement(row, "td").text = text
    return table


def essay(item: EssayItem, variant: Variant) -> Parts:
    interaction = Element("extendedTextInteraction", {"responseIdentifier": RESPONSE})
    body = [interaction]
    limits = word_limits_text(item.response.min_words, item.response.max_words)
    if limits:
        block = Element("rubricBlock", {"view": "candidate"})
        append_blocks(block, limits)
        block[0].set("class", WORD_LIMITS_CLASS)
        body.insert(0, block)
    scorer = Element("rubricBlock", {"view": "scorer"})
    scorer.append(_rubric_table(item))
    if item.solution:  # no response processing shows feedback: the model answer is the scorer's
        append_blocks(SubElement(scorer, "div", {"class": SOLUTION_CLASS}), render_text(item.solution, variant))
    body.append(scorer)
    notes = ["an essay: scored by a person against its rubric, which travels in a scorer rubricBlock"]
    return Parts(declaration("single", "string"), body, [], None, {}, notes=notes, scored=False)
