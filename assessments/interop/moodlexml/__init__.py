"""Moodle XML (``<quiz><question type="...">``) in and out.

Reading follows Moodle's importer (question/format/xml/format.php) for ``multichoice`` (one or
several answers, fractions in percent), ``truefalse``, ``shortanswer`` (``*`` wildcards),
``numerical`` (absolute tolerances, partial credit, units with multipliers and the unit
penalty), ``matching``, ``essay``, ``category`` (the category of the questions after it, as
Assay's ``category`` tag) and ``description`` (skipped with a note).
Cloze (``multianswer``) and calculated questions are problems: Assay has no such types (a cloze
question is still checked, so a malformed one is reported for what is wrong with it). Answer
fractions must be among Moodle's grades, as Moodle's import insists.

The XML is parsed only by defusedxml's expat reader: a file declaring entities (an XXE payload, an
entity bomb) or reaching for external references is refused with a problem at its line, before
anything is read. Every problem carries the line of the question or answer it concerns, and one
problem rejects the whole file.

Writing prints each item's variant as Moodle's exporter does, texts in ``markdown`` format,
the item's id as the question's ``idnumber`` and its tags as ``facet:value`` tags, so that an
export imports back to the same items.

Reading is :mod:`.reader` (cloze questions diagnosed by :mod:`.cloze`), writing :mod:`.writer`;
this module holds the format object.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # only to write XML; all parsing goes through defusedxml

from assessments.interop.base import Exported, ExportItem, Imported, Problem
from assessments.interop.moodle.from_assay import question_of
from assessments.interop.moodle.model import Ids, category_value, slugify
from assessments.interop.moodle.to_assay import to_definition
from assessments.interop.moodlexml.reader import READS, Node, QuestionReader, XmlError, parse_xml, unsupported
from assessments.interop.moodlexml.writer import category_element, question_element

__all__ = ["MOODLE_XML", "MoodleXmlFormat", "parse_xml"]

_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 has no place for (ElementTree would write them and break the file)."""


class MoodleXmlFormat:
    """Moodle XML: ``import_items`` and ``export_items`` as :class:`~assessments.interop.base.Format`."""

    name = "moodlexml"

    def import_items(self, data: bytes, filename: str) -> Imported:
        result = Imported()
        root, problem = parse_xml(data, filename)
        if root is None:
            assert problem is not None
            result.problems.append(problem)
            return result
        if root.tag != "quiz":
            result.problems.append(Problem(filename, root.line, f"not Moodle XML: the root element is <{root.tag}>, "
                                           "not <quiz>"))
            return result
        ids, category, questions = Ids(), "", 0
        for node in root.all("question"):
            qtype = node.attrs.get("type", "").strip().lower()
            questions += qtype != "category"
            reader = QuestionReader(node, qtype, category)
            try:
                if qtype == "category":
                    category = self._category(node, result)
                    continue
                if qtype not in READS:
                    result.problems.append(Problem(filename, node.line, unsupported(node, qtype)))
                    continue
                question = reader.read()
            except XmlError as exc:
                result.problems.append(Problem(filename, exc.line, f"{reader.q.label}: {exc}"))
                continue
            outcome = to_definition(question, ids)
            result.notes.extend(outcome.notes)
            result.problems.extend(Problem(filename, line, message) for line, message in outcome.problems)
            if outcome.definition is not None:
                result.definitions.append(outcome.definition)
        if not questions and not result.problems:
            result.problems.append(Problem(filename, root.line, "no questions in the file"))
        if result.problems:
            result.definitions = []
        return result

    @staticmethod
    def _category(node: Node, result: Imported) -> str:
        path = node.value("category", "text") or node.value("category")  # very old files: text directly
        value = category_value(path)
        idnumber = node.value("idnumber")
        if idnumber:
            result.notes.append(f"category {value!r} (line {node.line}): its idnumber {idnumber!r} is not carried "
                                "(an Assay category is a tag)")
        return value

    def export_items(self, items: list[ExportItem], *, title: str) -> Exported:
        notes: list[str] = []
        quiz = ET.Element("quiz")
        comment = " ".join(title.split()).replace("--", "- -")  # '--' may not appear in an XML comment
        quiz.append(ET.Comment(f" {comment}: exported from Assay; texts are Markdown "))
        current = ""
        for entry in items:
            question, found = question_of(entry)
            notes.extend(found)
            if question is None:
                continue
            if question.category != current:
                current = question.category
                quiz.append(category_element(current))
            quiz.append(question_element(question, entry.key, notes))
        ET.indent(quiz, space="  ")
        body = ET.tostring(quiz, encoding="unicode", short_empty_elements=False)  # <text></text>, as Moodle writes
        body, dropped = _UNWRITABLE.subn("", body)
        if dropped:
            notes.append(f"{dropped} control character(s) that XML cannot hold were dropped")
        content = f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()
        return Exported(content=content, media_type="application/xml",
                        filename=f"{slugify(title) or 'assay'}.moodle.xml", notes=notes)


MOODLE_XML = MoodleXmlFormat()
"""The module-level format object (``?format=moodlexml``)."""
