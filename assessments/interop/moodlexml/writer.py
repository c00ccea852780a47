"""Writing Moodle XML: one Moodle question as Moodle's XML exporter prints it.

Texts go out in ``markdown`` format (Assay's own), the item's id as ``idnumber``, its tags as
``facet:value`` tags; ElementTree writes the XML (writing needs no defusing) and escapes it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # only to write XML; all parsing goes through defusedxml

from assessments.interop.moodle.model import Answer, Question, category_path, percent

__all__ = ["category_element", "question_element"]


def _text(parent: ET.Element, tag: str, text: str, text_format: str | None = "markdown",
          **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, ({"format": text_format} if text_format else {}) | attributes)
    ET.SubElement(element, "text").text = text
    return element


def _value(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _number(value: float) -> str:
    """A float exactly, without a trailing ``.0`` (Moodle writes ``1``, not ``1.0``)."""
    text = repr(value)
    return text.removesuffix(".0")


def category_element(value: str) -> ET.Element:
    element = ET.Element("question", {"type": "category"})
    _text(element, "category", category_path(value) if value else "$course$/top", None)
    return element


def _answer(parent: ET.Element, answer: Answer, text_format: str) -> ET.Element:
    element = _text(parent, "answer", answer.text, text_format, fraction=percent(answer.fraction))
    _text(element, "feedback", answer.feedback)
    return element


def _multichoice(element: ET.Element, question: Question) -> None:
    _value(element, "single", "true" if question.single else "false")
    _value(element, "shuffleanswers", "true" if question.shuffle else "false")
    _value(element, "answernumbering", "abc")
    for answer in question.answers:
        _answer(element, answer, "markdown")


def _truefalse(element: ET.Element, question: Question) -> None:
    for word, feedback in (("true", question.feedback_true), ("false", question.feedback_false)):
        right = question.correct == (word == "true")
        answer = _text(element, "answer", word, "moodle_auto_format", fraction="100" if right else "0")
        _text(answer, "feedback", feedback)


def _shortanswer(element: ET.Element, question: Question) -> None:
    _value(element, "usecase", "1" if question.case_sensitive else "0")
    for answer in question.answers:
        _answer(element, answer, "moodle_auto_format")


def _numerical(element: ET.Element, question: Question) -> None:
    for answer in question.answers:
        node = _answer(element, answer, "moodle_auto_format")
        node.insert(1, ET.Element("tolerance"))
        node[1].text = repr(answer.tolerance)
    units = question.units
    if units.units:
        listed = ET.SubElement(element, "units")
        for name, multiplier in units.units:
            unit = ET.SubElement(listed, "unit")
            _value(unit, "multiplier", _number(multiplier))
            _value(unit, "unit_name", name)
    _value(element, "unitgradingtype", str(units.grading))
    _value(element, "unitpenalty", _number(units.penalty))
    _value(element, "showunits", str(units.show))
    _value(element, "unitsleft", "1" if units.left else "0")


def _matching(element: ET.Element, question: Question) -> None:
    _value(element, "shuffleanswers", "true" if question.shuffle else "false")
    for prompt, answer in question.pairs:
        sub = _text(element, "subquestion", prompt)
        ET.SubElement(ET.SubElement(sub, "answer"), "text").text = answer


def _essay(element: ET.Element, question: Question) -> None:
    for tag, text in (("responseformat", "editor"), ("responserequired", "1"), ("responsefieldlines", "15"),
                      ("minwordlimit", str(question.min_words or "")), ("maxwordlimit", str(question.max_words or "")),
                      ("attachments", "0"), ("attachmentsrequired", "0")):
        _value(element, tag, text)
    _text(element, "graderinfo", question.grader_info)
    _text(element, "responsetemplate", "", "html")


_WRITERS = {"multichoice": _multichoice, "truefalse": _truefalse, "shortanswer": _shortanswer,
            "numerical": _numerical, "match": _matching, "essay": _essay}


def question_element(question: Question, key: str, notes: list[str]) -> ET.Element:
    element = ET.Element("question", {"type": "matching" if question.qtype == "match" else question.qtype})
    ET.SubElement(ET.SubElement(element, "name"), "text").text = question.name
    _text(element, "questiontext", question.text)
    _text(element, "generalfeedback", question.general_feedback)
    _value(element, "defaultgrade", f"{question.default_mark:.7f}")
    _value(element, "penalty", "0.3333333")
    _value(element, "hidden", "0")
    _value(element, "idnumber", key)
    _WRITERS[question.qtype](element, question)
    if question.tags:
        tags = ET.SubElement(element, "tags")
        for tag in question.tags:
            ET.SubElement(ET.SubElement(tags, "tag"), "text").text = tag
        long = [tag for tag in question.tags if len(tag) > 50]
        if long:
            notes.append(f"item {key!r}: Moodle cuts tags to 50 characters ({', '.join(map(repr, long))})")
    if "$" in question.text:
        notes.append(f"item {key!r}: its LaTeX ($...$) shows in Moodle only where a filter reads dollar signs")
    return element
