"""Reading Moodle XML: defusedxml's expat reader builds a tree with lines; each question becomes a
Moodle question record.

Only defusedxml parses: a document that declares entities (an XXE payload, an entity bomb) or
reaches for an external reference is refused at its line before any of it is read. The reader
then follows Moodle's importer (question/format/xml/format.php) field by field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from xml.sax import SAXParseException  # the exception type only; the parser is defusedxml's
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, InputSource, Locator

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.sax import make_parser

from assessments.interop.base import Problem
from assessments.interop.moodle.model import TRIM, UNIT_INPUT, UNIT_NONE, UNIT_OPTIONAL, Answer, Question
from assessments.interop.moodle.text import to_markdown
from assessments.interop.moodlexml.cloze import cloze_faults

__all__ = ["READS", "Node", "QuestionReader", "XmlError", "parse_xml", "unsupported"]

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
        return "".join(node.parts).strip(TRIM)


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


class QuestionReader:
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
        """Answers with tolerances, then the units and their options, read with Moodle's
        defaults (format/xml import_numerical): grading 0, penalty 0.1, units shown for typing
        when there are any, else none."""
        self._answers(rich=False)
        for answer, node in zip(self.q.answers, self.node.all("answer"), strict=True):
            answer.text = answer.text or "*"
            answer.tolerance = abs(self.number(node.value("tolerance", default="0") or "0", "the tolerance", node.line))
        units = self.q.units
        for unit in (self.node.first("units") or Node("", {}, 0)).all("unit"):
            name = unit.value("unit_name")
            multiplier = self.number(unit.value("multiplier") or "1", "the multiplier", unit.line)
            if name and multiplier != 0:  # Moodle's save_units discards a unit without either
                units.units.append((name, multiplier))
        units.grading = self._option("unitgradingtype", UNIT_OPTIONAL, (0, 1, 2))
        units.penalty = self.number(self.node.value("unitpenalty") or "0.1", "the unit penalty", self.node.line)
        units.show = self._option("showunits", UNIT_INPUT if units.units else UNIT_NONE, (0, 1, 2, 3))
        units.left = _is_true(self.node.value("unitsleft", default="0"))
        base = units.base
        if base and units.show != UNIT_NONE:  # Moodle strips the unit from an answer written with it
            for answer in self.q.answers:
                if answer.text != base and answer.text.endswith(base):
                    answer.text = answer.text[: -len(base)].strip(TRIM)

    def _option(self, tag: str, default: int, allowed: tuple[int, ...]) -> int:
        text = self.node.value(tag)
        if not text:
            return default
        try:
            value = int(float(text))
        except ValueError:
            value = -1
        if value not in allowed or float(text) != value:
            raise XmlError(f"<{tag}> is {text!r}; Moodle reads one of {', '.join(map(str, allowed))}",
                           (self.node.first(tag) or self.node).line)
        return value

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


READS = frozenset({"multichoice", "truefalse", "shortanswer", "numerical", "matching", "match", "essay",
                    "description"})


def unsupported(node: Node, qtype: str) -> str:
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
