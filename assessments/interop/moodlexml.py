"""Moodle XML (``<quiz><question type="...">``) in and out.

Reading follows Moodle's importer (question/format/xml/format.php) for ``multichoice`` (one or
several answers, fractions in percent), ``truefalse``, ``shortanswer`` (``*`` wildcards),
``numerical`` (absolute tolerance, a unit), ``matching``, ``essay``, ``category`` (the category
of the questions after it, as Assay's ``category`` tag) and ``description`` (skipped with a note).
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
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET  # only to write XML; all parsing goes through defusedxml
from dataclasses import dataclass, field
from xml.sax import SAXParseException  # the exception type only; the parser is defusedxml's
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, InputSource, Locator

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.sax import make_parser

from assessments.interop._moodle_cloze import cloze_faults
from assessments.interop._moodle_export import question_of
from assessments.interop._moodle_import import to_definition
from assessments.interop._moodle_model import (
    Answer,
    Ids,
    Question,
    category_path,
    category_value,
    percent,
    slugify,
)
from assessments.interop._moodle_text import to_markdown
from assessments.interop.base import Exported, ExportItem, Imported, Problem

__all__ = ["MOODLE_XML", "MoodleXmlFormat"]

MAX_BYTES = 50_000_000
_STANDARD_FEEDBACK = {"", "Your answer is correct.", "Your answer is partially correct.", "Your answer is incorrect."}
_CALCULATED = {"calculated", "calculatedsimple", "calculatedmulti"}


class XmlError(Exception):
    """A question the reader cannot take: the message and the 1-based line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Node:
    """An XML element with the line its start tag is on."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def first(self, tag: str) -> Node | None:
        return next((child for child in self.children if child.tag == tag), None)

    def all(self, tag: str) -> list[Node]:
        return [child for child in self.children if child.tag == tag]

    def value(self, *path: str, default: str = "") -> str:
        """The trimmed text at ``path`` (as Moodle's getpath), or ``default`` when it is absent."""
        node: Node | None = self
        for tag in path:
            node = node.first(tag) if node else None
        if node is None:
            return default
        if node.children and node.tag == "text":
            raise XmlError(f"<{node.children[0].tag}> inside <text>: write HTML escaped or inside <![CDATA[ ]]>",
                           node.children[0].line)
        return "".join(node.parts).strip()


class _TreeBuilder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.locator: Locator | None = None
        self.stack: list[Node] = []
        self.root: Node | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    @property
    def line(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator else 0

    def startElement(self, name: str, attrs: AttributesImpl[str]) -> None:
        node = Node(name, dict(attrs), self.line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def endElement(self, name: str) -> None:
        self.stack.pop()

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(content)


def _refusal(exc: DefusedXmlException) -> str:
    if isinstance(exc, EntitiesForbidden):
        where = f" (an external entity: {exc.sysid})" if exc.sysid else ""
        return (f"the XML declares the entity {exc.name!r}{where}; entity declarations are refused "
                "(no entity expansion, no external entities), and Moodle XML never needs them")
    if isinstance(exc, ExternalReferenceForbidden):
        return f"the XML refers to an external resource ({exc.sysid}); external references are refused"
    if isinstance(exc, DTDForbidden):  # pragma: no cover - DTDs are allowed, their entities are not
        return "the XML declares a document type; it is refused"
    return f"the XML is refused: {exc}"  # pragma: no cover - the three above are all defusedxml raises


def parse_xml(data: bytes, filename: str) -> tuple[Node | None, Problem | None]:
    """The element tree of ``data`` with lines, or the problem that stops it (defusedxml only)."""
    if len(data) > MAX_BYTES:
        return None, Problem(filename, 0, f"the file is over {MAX_BYTES // 1_000_000} MB")
    builder = _TreeBuilder()
    parser = make_parser()
    parser.setContentHandler(builder)
    source = InputSource(filename)
    source.setByteStream(io.BytesIO(data))
    try:
        parser.parse(source)
    except DefusedXmlException as exc:
        return None, Problem(filename, builder.line, _refusal(exc))
    except SAXParseException as exc:
        return None, Problem(filename, exc.getLineNumber() or 0, f"the XML is not well formed: {exc.getMessage()}")
    if builder.root is None:  # pragma: no cover - expat refuses a document without an element
        return None, Problem(filename, 0, "the file holds no XML element")
    return builder.root, None


# --- reading questions -----------------------------------------------------------------------------

def _is_true(text: str) -> bool:
    """Moodle's trans_single: 'false', '0' and nothing are false, anything else true."""
    return text.strip().lower() not in {"", "false", "0"}


class _QuestionReader:
    """One ``<question>`` element as a :class:`Question`."""

    def __init__(self, node: Node, qtype: str, category: str) -> None:
        self.node = node
        self.q = Question(qtype=qtype, line=node.line, category=category)
        text = node.first("questiontext")
        self.format = text.attrs.get("format", "html") if text else "html"

    def markdown(self, holder: Node | None, default: str | None = None) -> str:
        """The text of a ``<tag format=...><text>...</text><file/></tag>`` element as Markdown."""
        if holder is None:
            return ""
        for file in holder.all("file"):
            self.q.notes.append(f"the embedded file {file.attrs.get('name', '')!r} dropped")
        converted = to_markdown(holder.value("text"), holder.attrs.get("format", default or self.format))
        self.q.notes.extend(f"{what} dropped" for what in converted.dropped)
        return converted.text

    def number(self, text: str, what: str, line: int) -> float:
        try:
            return float(text)
        except ValueError:
            raise XmlError(f"{what} {text!r} is not a number", line) from None

    def fraction(self, answer: Node) -> float:
        deprecated = answer.value("fraction")  # Moodle once wrote <fraction>0.5</fraction>
        if deprecated:
            return self.number(deprecated, "the fraction", answer.line)
        return self.number(answer.attrs.get("fraction", "0"), "the fraction", answer.line) / 100

    def read(self) -> Question:
        node, q = self.node, self.q
        q.name = " ".join(node.value("name", "text").split())
        q.text = self.markdown(node.first("questiontext"))
        q.general_feedback = self.markdown(node.first("generalfeedback"))
        q.idnumber = node.value("idnumber")
        q.default_mark = self.number(node.value("defaultgrade", default="1"), "the default grade", node.line)
        q.tags = [tag.value("text") for tag in (node.first("tags") or Node("", {}, 0)).all("tag")]
        image = node.value("image")
        if image:
            q.notes.append(f"the image {image!r} (Moodle 1.9's <image> field) dropped")
        if node.all("hint"):
            q.notes.append("its hints dropped (Assay's interactive behaviour has none)")
        for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
            if node.value(tag, "text") not in _STANDARD_FEEDBACK:
                q.notes.append(f"the {tag} dropped (Assay has no overall feedback by outcome)")
        getattr(self, q.qtype)()
        return q

    def _answers(self, *, rich: bool) -> None:
        for answer in self.node.all("answer"):
            text = self.markdown(answer) if rich else answer.value("text")
            self.q.answers.append(Answer(text, self.fraction(answer), self.markdown(answer.first("feedback")),
                                         line=answer.line))

    def multichoice(self) -> None:
        self.q.single = _is_true(self.node.value("single", default="true"))
        self.q.shuffle = _is_true(self.node.value("shuffleanswers", default="true"))
        self._answers(rich=True)

    def truefalse(self) -> None:
        right: bool | None = None
        for n, answer in enumerate(self.node.all("answer")):
            word = answer.value("text").lower()
            if word not in {"true", "false"}:  # old files: true first, then false
                word = "true" if n == 0 else "false"
                self.q.notes.append("answers not named true/false: read as true first, then false")
            feedback = self.markdown(answer.first("feedback"))
            setattr(self.q, f"feedback_{word}", feedback)
            if self.fraction(answer) >= 1:
                right = word == "true"
        if right is None:
            raise XmlError("neither true nor false is the right answer", self.node.line)
        self.q.correct = right

    def shortanswer(self) -> None:
        self.q.case_sensitive = _is_true(self.node.value("usecase", default="0"))
        self._answers(rich=False)

    def numerical(self) -> None:
        self._answers(rich=False)
        for answer, node in zip(self.q.answers, self.node.all("answer"), strict=True):
            answer.text = answer.text or "*"
            answer.tolerance = abs(self.number(node.value("tolerance", default="0") or "0", "the tolerance", node.line))
        units = (self.node.first("units") or Node("", {}, 0)).all("unit")
        base = [u.value("unit_name") for u in units if self.number(u.value("multiplier", default="1"), "the unit "
                                                                   "multiplier", u.line) == 1]
        if base:
            self.q.unit = base[0]
        if len(units) > len(base[:1]):
            self.q.notes.append("units other than the base unit dropped")

    def matching(self) -> None:
        self.q.qtype = "match"
        self.q.shuffle = _is_true(self.node.value("shuffleanswers", default="true"))
        for sub in self.node.all("subquestion"):
            self.q.pairs.append((self.markdown(sub), sub.value("answer", "text")))

    match = matching

    def essay(self) -> None:
        node = self.node
        self.q.grader_info = self.markdown(node.first("graderinfo"))
        if node.value("responsetemplate", "text"):
            self.q.notes.append("the response template dropped")
        if node.value("attachments", default="0") not in {"", "0"} or node.value("responseformat") == "noinline":
            self.q.notes.append("attachments dropped (Assay's essays are typed)")
        for tag, name in (("minwordlimit", "min_words"), ("maxwordlimit", "max_words")):
            value = node.value(tag)
            if value.isdigit() and int(value) > 0:
                setattr(self.q, name, int(value))

    def description(self) -> None:
        """A text with no answer: nothing more to read."""


_READS = frozenset({"multichoice", "truefalse", "shortanswer", "numerical", "matching", "match", "essay",
                    "description"})


def _unsupported(node: Node, qtype: str) -> str:
    name = node.value("name", "text")
    label = f"question {name!r}" if name else "a question"
    if qtype in {"cloze", "multianswer"}:
        faults = cloze_faults(node.value("questiontext", "text"))
        if faults:
            return f"{label} is a cloze question and is malformed: {'; '.join(faults)} (Assay has no cloze type)"
        return f"{label} is a cloze (embedded answers) question, which Assay does not support"
    if qtype in _CALCULATED:
        return (f"{label} is a {qtype} question, which Assay does not import: write it as an Assay computed "
                "item (params and compute)")
    return f"{label} has the question type {qtype!r}, which Assay does not support"


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
            reader = _QuestionReader(node, qtype, category)
            try:
                if qtype == "category":
                    category = self._category(node, result)
                    continue
                if qtype not in _READS:
                    result.problems.append(Problem(filename, node.line, _unsupported(node, qtype)))
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
        quiz.append(ET.Comment(f" {' '.join(title.split())}: exported from Assay; texts are Markdown "))
        current = ""
        for entry in items:
            question, found = question_of(entry)
            notes.extend(found)
            if question is None:
                continue
            if question.category != current:
                current = question.category
                quiz.append(_category_element(current))
            quiz.append(_question_element(question, entry.key, notes))
        ET.indent(quiz, space="  ")
        body = ET.tostring(quiz, encoding="unicode", short_empty_elements=False)  # <text></text>, as Moodle writes
        content = f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()
        return Exported(content=content, media_type="application/xml",
                        filename=f"{slugify(title) or 'assay'}.moodle.xml", notes=notes)


# --- writing ---------------------------------------------------------------------------------------

def _text(parent: ET.Element, tag: str, text: str, text_format: str | None = "markdown",
          **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, ({"format": text_format} if text_format else {}) | attributes)
    ET.SubElement(element, "text").text = text
    return element


def _value(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _category_element(value: str) -> ET.Element:
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
    if question.unit:
        unit = ET.SubElement(ET.SubElement(element, "units"), "unit")
        _value(unit, "multiplier", "1")
        _value(unit, "unit_name", question.unit)
    _value(element, "showunits", "3")  # units are not graded; the base unit is shown beside the answer


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


def _question_element(question: Question, key: str, notes: list[str]) -> ET.Element:
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


MOODLE_XML = MoodleXmlFormat()
"""The module-level format object (``?format=moodlexml``)."""
