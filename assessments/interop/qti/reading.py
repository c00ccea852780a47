"""What every interaction reader needs from a QTI item: its declarations, its processing, its feedback.

:class:`ItemContext` wraps one parsed item. ``score(value)`` runs the item's response processing
for a candidate response and returns the ``SCORE``; ``feedback(value)`` the feedback that response
shows (modal, block and inline feedback whose identifier the outcomes name); ``solution`` is the
feedback every response shows, which is what Assay calls the worked solution. Readers raise
:class:`ImportProblem` with the element at fault, so every message can name its line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from assessments.interop.qti.markup_in import MarkdownWriter
from assessments.interop.qti.processing import Processor, template_name, template_rules
from assessments.interop.qti.safexml import Document
from assessments.interop.qti.values import Container, Declaration, is_null
from engine.items.base import MAX_OPTIONS

__all__ = [
    "BLANK",
    "EPSILON",
    "FULL",
    "INLINE_INTERACTIONS",
    "Feedback",
    "ImportProblem",
    "ItemContext",
    "declarations_of",
    "misconception",
    "misconception_name",
]

FULL = 1 - 1e-9
"""A fraction at least this is full marks (scores are floats)."""
EPSILON = 1e-9
INLINE_INTERACTIONS = frozenset({"textEntryInteraction", "inlineChoiceInteraction"})
BLANK = "\\_\\_\\_\\_\\_"
"""Where an inline interaction stood in running text: a blank (escaped underscores)."""
_FEEDBACK_ELEMENTS = frozenset({"modalFeedback", "feedbackBlock", "feedbackInline"})
_SKIPPED = frozenset({"stylesheet", "templateBlock", "templateInline", "infoControl", "catalogInfo",
                      "companionMaterialsInfo", "apipAccessibility", "accessibilityInfo"})


def misconception_name(feedback: Feedback) -> str | None:
    """Assay's exports name a misconception's feedback ``misconception-<name>``; other items don't."""
    match = re.fullmatch(r"misconception-([a-z0-9]+(?:[-_.][a-z0-9]+)*)", feedback.identifier)
    return match.group(1) if match else None


def misconception(feedback: Feedback, name: str, **leads_to: str) -> dict[str, Any]:
    """A misconception read back from its feedback: the title says what the student believes."""
    says = feedback.title or name.replace("-", " ")
    found: dict[str, Any] = {"says": says}
    if feedback.text != says:
        found["feedback"] = feedback.text
    return {**found, **leads_to}


def declarations_of(root: Element) -> dict[str, Declaration]:
    """An item's response and outcome declarations by identifier."""
    return {d.get("identifier", ""): Declaration.read(d) for d in root
            if d.tag in {"responseDeclaration", "outcomeDeclaration"}}


class ImportProblem(ValueError):
    """An item that cannot become an Assay item, and the element that says why."""

    def __init__(self, message: str, element: Element | None = None) -> None:
        self.element = element
        super().__init__(message)


@dataclass(frozen=True)
class Feedback:
    """Feedback a response shows. Two feedbacks are the same when they say the same (authoring tools
    often write one text twice, once for right answers and once for wrong ones)."""

    identifier: str = field(compare=False)
    title: str = field(compare=False)
    text: str


@dataclass
class ItemContext:
    """One QTI item being read: its parts, its processing run on demand, and the notes so far."""

    document: Document
    interaction: Element
    notes: list[str] = field(default_factory=list)
    declarations: dict[str, Declaration] = field(default_factory=dict)
    """The item's declarations; read from the document when not given (a template item gives them)."""

    def __post_init__(self) -> None:
        root = self.document.root
        if not self.declarations:
            self.declarations = declarations_of(root)
        self.response_id = self.interaction.get("responseIdentifier", "RESPONSE")
        declared = self.declarations.get(self.response_id)
        if declared is None:
            raise ImportProblem(f"the interaction's response {self.response_id!r} is not declared", self.interaction)
        self.response = declared
        self.processor = Processor(self.document, self.declarations, self._rules())
        self.body = next((e for e in root if e.tag == "itemBody"), Element("itemBody"))
        self._feedback = [e for e in root.iter() if e.tag in _FEEDBACK_ELEMENTS]
        self._cache: dict[Any, dict[str, Any]] = {}
        self._texts: dict[int, Feedback] = {}

    # --- processing ------------------------------------------------------------------------------
    def _rules(self) -> Element | None:
        processing = next((e for e in self.document.root if e.tag == "responseProcessing"), None)
        if processing is None or (not len(processing) and not processing.get("template")):
            if self.response.correct is None:
                return None
            self.notes.append("no response processing: the declared correct response is the key")
            return template_rules("match_correct")
        if len(processing):
            return processing
        name = template_name(processing.get("template", ""))
        rules = template_rules(name)
        if rules is None:
            raise ImportProblem(f"unknown response-processing template {processing.get('template')!r}", processing)
        return rules

    @property
    def scored(self) -> bool:
        return self.processor.rules is not None

    def outcomes(self, value: Any) -> dict[str, Any]:
        key = value if not isinstance(value, list) else tuple(value)
        if key not in self._cache:
            self._cache[key] = self.processor.run({self.response_id: value})
        return self._cache[key]

    @functools.cached_property
    def score_id(self) -> str:
        """``SCORE``, or (where an item scores into another outcome) the numeric outcome its processing sets."""
        if "SCORE" in self.declarations or self.processor.rules is None:
            return "SCORE"
        set_here = [r.get("identifier", "") for r in self.processor.rules.iter("setOutcomeValue")]
        numeric = [i for i in set_here if self.declarations.get(i) is not None
                   and self.declarations[i].base_type in {"float", "integer"}]
        return numeric[0] if numeric else "SCORE"

    def score(self, value: Any) -> float:
        score = self.outcomes(value).get(self.score_id)
        return 0.0 if score is None or is_null(score) else float(score)

    def full_marks(self, candidates: Iterable[Any]) -> float:
        """The marks of a right answer: the best any candidate (or the correct response) earns."""
        scores = [self.score(c) for c in candidates]
        if self.response.correct is not None:
            scores.append(self.score(self.response.correct))
        best = max(scores, default=0.0)
        if best <= 0:
            raise ImportProblem("no response earns any marks, so the item has no right answer "
                                "(a survey or an unscored item); Assay items need a key", self.interaction)
        # A sum of per-pair marks (seven pairs at 1/7 each) carries the float's rounding: marks are
        # never given to more than 12 significant digits, so 0.9999999999999998 is the 1 it means.
        return float(f"{best:.12g}")

    # --- feedback --------------------------------------------------------------------------------
    def feedback(self, value: Any) -> list[Feedback]:
        """The feedback shown after ``value`` is processed, in document order."""
        outcomes = self.outcomes(value)
        shown = []
        for element in self._feedback:
            current = outcomes.get(element.get("outcomeIdentifier", ""))
            identifier = element.get("identifier", "")
            named = identifier in current.items if isinstance(current, Container) else current == identifier
            if named == (element.get("showHide", "show") == "show"):
                shown.append(self._feedback_of(element))
        return [f for f in shown if f.text]

    def _feedback_of(self, element: Element) -> Feedback:
        if id(element) not in self._texts:
            text = self.writer().markdown(element)
            self._texts[id(element)] = Feedback(element.get("identifier", ""), element.get("title", ""), text)
        return self._texts[id(element)]

    def solution(self, candidates: Iterable[Any]) -> list[Feedback]:
        """Feedback that every candidate response shows: a worked solution or general feedback."""
        common: list[Feedback] | None = None
        for candidate in candidates:
            shown = self.feedback(candidate)
            common = shown if common is None else [f for f in common if f in shown]
        return common or []

    # --- content ---------------------------------------------------------------------------------
    def skip(self, element: Element) -> bool:
        """Elements that are not the question's text: feedback, scorer rubrics, styling."""
        tag = element.tag
        if tag in _FEEDBACK_ELEMENTS or tag in _SKIPPED:
            return True
        if tag == "rubricBlock":
            return "candidate" not in element.get("view", "candidate").split()
        return False

    def writer(self, replace: dict[int, str] | None = None, skip: Iterable[Element] = ()) -> MarkdownWriter:
        skipped = {id(e) for e in skip}
        return MarkdownWriter(lambda e: id(e) in skipped or self.skip(e), replace)

    def text(self, element: Element) -> str:
        """An option's text as one line of Markdown (its identifier when it has no text)."""
        text = self.writer().inline(element)
        return text or f"({element.get('identifier', 'option')})"

    def stem(self, skip: Iterable[Element] = ()) -> str:
        """The item body as Markdown: a block interaction gives way to its prompt, an inline one to a
        blank where it stands in running text."""
        skip = list(skip)
        replacement = BLANK if self._in_running_text(skip) else ""
        prompt = next((c for c in self.interaction if c.tag == "prompt"), None)
        if prompt is not None:
            replacement = "\n\n".join(b for b in (replacement, self.writer().markdown(prompt)) if b)
        return self.writer({id(self.interaction): replacement}, skip).markdown(self.body)

    def _in_running_text(self, skip: list[Element]) -> bool:
        if self.interaction.tag not in INLINE_INTERACTIONS:
            return False
        parent = next((p for p in self.body.iter() if self.interaction in list(p)), None)
        if parent is None:
            return False
        texts = [parent.text or ""]
        for child in parent:
            if child is not self.interaction and child not in skip:
                texts.extend(child.itertext())
            texts.append(child.tail or "")
        return any(t.strip() for t in texts)

    def line(self, element: Element | None) -> int:
        return self.document.line(element)

    def check_count(self, count: int, what: str = "choices") -> None:
        """An Assay item has 2 to ``MAX_OPTIONS`` options (which also bounds what the readers try)."""
        if not 2 <= count <= MAX_OPTIONS:
            noun = what if count != 1 else what.removesuffix("s")
            raise ImportProblem(f"the interaction offers {count} {noun}; an Assay item has 2 to {MAX_OPTIONS}",
                                self.interaction)
