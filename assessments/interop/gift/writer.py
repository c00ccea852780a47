"""Writing GIFT: one Moodle question as Moodle's GIFT exporter prints it.

The question text is marked ``[markdown]`` (Assay's texts are Markdown; answers and feedback
inherit the format), control characters are escaped and new lines written ``\\n``, so every
question is a few lines with no blank line inside. What GIFT has no syntax for is noted.
"""

from __future__ import annotations

import re

from assessments.interop.moodle.model import UNIT_NONE, Question, percent

__all__ = ["one_line", "write_question"]

_FORMAT_PREFIX = re.compile(r"^\[(moodle|html|plain|markdown)\]")


def _escape(text: str) -> str:
    """Moodle's repchar: control characters escaped, new lines as \\n."""
    out = text.replace("\\", "\\\\")
    for char in "#=~{}:":
        out = out.replace(char, "\\" + char)
    return out.replace("\r", "").replace("\n", "\\n")


def _rich(text: str) -> str:
    """A text GIFT reads with a format (options, prompts, feedback): one that itself starts like a
    format marker gets an explicit ``[markdown]`` first, so its own stays text."""
    return ("[markdown]" if _FORMAT_PREFIX.match(text) else "") + _escape(text)


def one_line(text: str) -> str:
    return " ".join(text.split())


def _feedback(text: str) -> str:
    return f"#{_rich(text)}" if text else ""


def _general(question: Question) -> str:
    return f"\t####{_rich(question.general_feedback)}\n" if question.general_feedback else ""


def _choices(question: Question) -> str:
    lines = []
    for answer in question.answers:
        weight = f"%{percent(answer.fraction)}%" if answer.text.startswith("%") else ""  # not read as a weight
        if answer.fraction == 1 and question.single:
            marker = "=" + weight
        elif answer.fraction == 0:
            marker = "~" + weight
        else:
            marker = f"~%{percent(answer.fraction)}%"
        lines.append(f"\t{marker}{_rich(answer.text)}{_feedback(answer.feedback)}\n")
    return "{\n" + "".join(lines) + _general(question) + "}"


def _true_false(question: Question) -> str:
    right, wrong = ((question.feedback_true, question.feedback_false) if question.correct
                    else (question.feedback_false, question.feedback_true))
    body = "TRUE" if question.correct else "FALSE"
    if wrong or right:
        body += _feedback(wrong) or "#"
    if right:
        body += _feedback(right)
    general = f"####{_rich(question.general_feedback)}" if question.general_feedback else ""
    return "{" + body + general + "}"


def _numbers(question: Question) -> str:
    lines = [f"\t=%{percent(a.fraction)}%{a.text}:{a.tolerance!r}{_feedback(a.feedback)}\n" for a in question.answers]
    return "{#\n" + "".join(lines) + _general(question) + "}"


def _short_answers(question: Question) -> str:
    lines = [f"\t=%{percent(a.fraction)}%{_escape(a.text)}{_feedback(a.feedback)}\n" for a in question.answers]
    return "{\n" + "".join(lines) + _general(question) + "}"


def _pairs(question: Question) -> str:
    lines = [f"\t={_rich(prompt)} -> {_escape(answer)}\n" for prompt, answer in question.pairs]
    return "{\n" + "".join(lines) + _general(question) + "}"


def _essay(question: Question) -> str:
    general = f"####{_rich(question.general_feedback)}" if question.general_feedback else ""
    return "{" + general + "}"


_BLOCKS = {"multichoice": _choices, "truefalse": _true_false, "numerical": _numbers,
           "shortanswer": _short_answers, "match": _pairs, "essay": _essay}


def _lost(question: Question) -> list[str]:
    """What the question holds that GIFT has no syntax for."""
    lost = []
    if question.default_mark != 1:
        lost.append(f"its mark ({question.default_mark:g})")
    if not question.shuffle and question.qtype in {"multichoice", "match"}:
        lost.append("its fixed option order")
    if question.tags:
        lost.append("its tags, concepts and related items")
    if question.units.units:
        names = ", ".join(repr(name) for name, _ in question.units.units)
        graded = " (Moodle reads a GIFT numerical question's response as a bare number)" if (
            question.units.show != UNIT_NONE) else ""
        lost.append(f"its units ({names}){graded}")
    if question.case_sensitive:
        lost.append("case-sensitive matching")
    if question.qtype == "essay":
        lost.append("its rubric and word limits")
    return lost


def write_question(question: Question, key: str, notes: list[str]) -> str | None:
    if question.qtype == "match" and any("->" in prompt for prompt, _ in question.pairs):
        notes.append(f"item {key!r}: a matching prompt contains '->', which GIFT cannot write: skipped")
        return None
    lost = _lost(question)
    if lost:
        notes.append(f"item {key!r}: GIFT does not carry {', '.join(lost)}")
    header = f"// question: {key}  name: {one_line(question.name)}\n"
    text = f"::{_escape(question.name)}::[markdown]{_escape(question.text)}"
    return header + text + _BLOCKS[question.qtype](question) + "\n"
