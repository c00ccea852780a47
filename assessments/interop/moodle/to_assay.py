"""Moodle questions (read from GIFT or Moodle XML) as Assay item definitions.

One converter for both formats. Each question type maps to its Assay type (numerical questions
through :mod:`.numerical`); what Moodle can say and Assay cannot (partial credit on a
single-choice option, weights that differ from Assay's 1/n rule) becomes a note, or a problem
where the item would grade differently in a way that matters (two fully right options). Every
definition made here is then validated as the bank would
(:func:`engine.content.loader.definition_problems` and the variant checker), so an import never
hands the bank a definition it would refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assessments.interop.moodle.model import (
    Answer,
    Ids,
    Question,
    moodle_grade,
    percent,
)
from assessments.interop.moodle.numerical import numeric_fields
from assessments.interop.moodle.text import plain_words
from engine.content.checker import variant_problems
from engine.content.loader import definition_problems
from engine.items.metadata import split_path
from engine.items.types import MAX_OPTIONS

__all__ = ["Outcome", "to_definition"]

GRADED = frozenset({"multichoice", "shortanswer", "numerical"})
"""Moodle checks these types' answer fractions against its list of grades."""
DEFAULT_RUBRIC_LEVELS = (
    {"points": 0, "label": "Not met"},
    {"points": 1, "label": "Partly met"},
    {"points": 2, "label": "Met"},
)
_FACET = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_PATTERN = 200


@dataclass
class Outcome:
    """One question's definition, or its problems as (line, message); notes either way."""

    definition: dict[str, Any] | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Skip(Exception):
    """The question cannot become an item; the problem is already recorded."""


class _Builder:
    """Turns one question into its type's fields, recording problems and notes as it goes."""

    def __init__(self, question: Question) -> None:
        self.q = question
        self.outcome = Outcome(notes=[f"{question.label}: {n}" for n in question.notes])

    def problem(self, message: str, line: int = 0) -> _Skip:
        self.outcome.problems.append((line or self.q.line, f"{self.q.label}: {message}"))
        return _Skip()

    def note(self, message: str) -> None:
        self.outcome.notes.append(f"{self.q.label}: {message}")

    # --- per Moodle type -----------------------------------------------------------------------
    def multichoice(self) -> dict[str, Any]:
        answers = [a for a in self.q.answers if a.text.strip()]
        if not 2 <= len(answers) <= MAX_OPTIONS:
            raise self.problem(f"a multiple-choice question needs 2 to {MAX_OPTIONS} options, not {len(answers)}")
        return self._single(answers) if self.q.single else self._multiple(answers)

    def _options(self, answers: list[Answer], right: list[Answer]) -> list[dict[str, Any]]:
        return [{"text": a.text, "correct": any(a is r for r in right)}
                | ({"feedback": a.feedback} if a.feedback else {}) for a in answers]

    def _single(self, answers: list[Answer]) -> dict[str, Any]:
        right = [a for a in answers if a.fraction >= 1]
        if not right:
            raise self.problem("no option is fully right (100%); Assay's single choice needs exactly one")
        if len(right) > 1:
            raise self.problem(f"{len(right)} options are fully right; Assay's single choice needs exactly one "
                               "(or make it a multiple-response question)")
        partial = [a for a in answers if 0 < a.fraction < 1]
        if partial:
            listed = ", ".join(f"{a.text!r} ({percent(a.fraction)}%)" for a in partial)
            self.note(f"partial credit on {listed} is not carried: in Assay only the right option earns marks")
        scoring: dict[str, Any] = {}
        wrong = {a.fraction for a in answers if a.fraction < 1}
        if any(f < 0 for f in wrong):
            if len(wrong) == 1:
                scoring = {"scoring": {"negative": -next(iter(wrong))}}
            else:
                marks = ", ".join(f"{percent(f)}%" for f in sorted(wrong))
                self.note(f"the negative marks are not carried: the other options earn {marks}, and Assay takes "
                          "one mark away for any of them")
        return {"type": "single_choice", "options": self._options(answers, right), "shuffle": self.q.shuffle,
                **scoring}

    def _multiple(self, answers: list[Answer]) -> dict[str, Any]:
        right = [a for a in answers if a.fraction > 0]
        wrong = [a for a in answers if a.fraction <= 0]
        if not right:
            raise self.problem("no option earns credit")
        if not wrong:
            raise self.problem("every option earns credit; Assay's multiple response needs a wrong option")
        penalty = any(a.fraction < 0 for a in wrong)
        share, cost = 1 / len(right), (-1 / len(wrong) if penalty else 0.0)
        exact = all(abs(a.fraction - share) < 1e-5 for a in right) and all(
            abs(a.fraction - cost) < 1e-5 for a in wrong)
        if not exact:
            weights = ", ".join(f"{percent(a.fraction)}%" for a in answers)
            rule = f"each wrong one costs 1/{len(wrong)}" if penalty else "wrong ones cost nothing"
            self.note(f"Moodle's weights ({weights}) become Assay's partial credit (each right option earns "
                      f"1/{len(right)}, {rule}): some selections mark differently")
        return {"type": "multiple_response", "options": self._options(answers, right), "shuffle": self.q.shuffle,
                "scoring": {"method": "partial", "wrong_selection_penalty": penalty}}

    def truefalse(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"type": "true_false", "answer": self.q.correct}
        for name in ("feedback_true", "feedback_false"):
            if getattr(self.q, name):
                fields[name] = getattr(self.q, name)
        return fields

    def shortanswer(self) -> dict[str, Any]:
        answers = []
        for a in self.q.answers:
            if not a.text.strip():
                continue
            if len(a.text) > MAX_PATTERN:
                raise self.problem(f"the answer {a.text[:40]!r}... is over {MAX_PATTERN} characters", a.line)
            fraction = max(a.fraction, 0.0)
            if a.fraction < 0:
                self.note(f"the answer {a.text!r} had {percent(a.fraction)}%; Assay gives it 0")
            answers.append({"match": a.text} | ({"fraction": fraction} if fraction < 1 else {})
                           | ({"feedback": a.feedback} if a.feedback else {}))
        if not any(float(a.get("fraction", 1.0)) >= 1 for a in answers):
            raise self.problem("no answer is fully right")
        return {"type": "short_text", "answers": answers, "case_sensitive": self.q.case_sensitive}

    def numerical(self) -> dict[str, Any]:
        return numeric_fields(self.q, self)

    def match(self) -> dict[str, Any]:
        pairs = [(p, a) for p, a in self.q.pairs if p.strip()]
        answers = [a for _, a in pairs]
        for n, answer in enumerate(answers):
            if answer in answers[:n]:
                raise self.problem(f"two prompts share the answer {answer!r}; Assay's matching needs one answer "
                                   "per prompt")
        if not 2 <= len(pairs) <= MAX_OPTIONS:
            raise self.problem(f"a matching question needs 2 to {MAX_OPTIONS} prompts, not {len(pairs)}")
        distractors: list[str] = []
        for prompt, answer in self.q.pairs:
            if not prompt.strip() and answer.strip() and answer not in answers + distractors:
                distractors.append(answer)
        fields: dict[str, Any] = {"type": "matching", "pairs": [{"prompt": p, "answer": a} for p, a in pairs],
                                  "shuffle": self.q.shuffle}
        return fields | ({"distractors": distractors} if distractors else {})

    def essay(self) -> dict[str, Any]:
        criterion: dict[str, Any] = {"id": "response", "title": "Response", "levels": list(DEFAULT_RUBRIC_LEVELS)}
        if self.q.grader_info:
            criterion["description"] = self.q.grader_info
        self.note("graded by a one-criterion default rubric (Not met, Partly met, Met"
                  + ("; the information for graders is its description" if self.q.grader_info else "")
                  + "): write the real criteria")
        limits = {k: v for k, v in (("min_words", self.q.min_words), ("max_words", self.q.max_words)) if v}
        return {"type": "essay", "rubric": {"criteria": [criterion]}} | ({"response": limits} if limits else {})

    # --- common ----------------------------------------------------------------------------------
    def check_grades(self) -> None:
        if self.q.qtype not in GRADED:
            return
        for a in self.q.answers:
            grade = moodle_grade(a.fraction)
            if grade is not None:
                a.fraction = grade
            else:
                self.problem(f"the grade {percent(a.fraction)}% of answer {a.text!r} is not one of Moodle's "
                             "grades (100%, 90%, 83.33333%, 80%, 75%, 70%, 66.66667%, 60%, 50%, 40%, 33.33333%, "
                             "30%, 25%, 20%, 16.66667%, 14.28571%, 12.5%, 11.11111%, 10%, 5%, 0% and their "
                             "negatives)", a.line)

    def tags(self) -> dict[str, list[str]]:
        tags: dict[str, list[str]] = {}
        if self.q.category:
            tags["category"] = [self.q.category]
        for text in self.q.tags:
            facet, sep, value = text.partition(":")
            facet, value = (facet.strip(), value.strip()) if sep else ("tag", text.strip())
            if not _FACET.match(facet):
                facet, value = "tag", text.strip()
            try:
                split_path(value)
            except ValueError:
                self.note(f"the tag {text!r} is not carried (an empty level around '>')")
                continue
            if value and value not in tags.setdefault(facet, []):
                tags[facet].append(value)
        return {facet: values for facet, values in tags.items() if values}


def _common(builder: _Builder, ids: Ids) -> dict[str, Any]:
    q = builder.q
    title = " ".join(q.name.split())[:300] or plain_words(q.text, 80) or "Untitled question"
    definition: dict[str, Any] = {"id": ids.take(q.idnumber, q.name, title), "title": title, "stem": q.text}
    if q.idnumber and definition["id"] != q.idnumber:
        builder.note(f"the idnumber {q.idnumber!r} is not an Assay id; the item's id is {definition['id']!r}")
    tags = builder.tags()
    concepts = tags.pop("concept", [])
    related = tags.pop("related", [])
    if tags:
        definition["tags"] = tags
    definition.update({name: values for name, values in (("concepts", concepts), ("related", related)) if values})
    if q.general_feedback:
        definition["solution"] = q.general_feedback
    if q.default_mark != 1:
        definition["max_mark"] = q.default_mark
    return definition


def to_definition(question: Question, ids: Ids) -> Outcome:
    """An Assay definition for ``question``, or the problems that stop it."""
    builder = _Builder(question)
    if question.qtype == "description":
        builder.note("a description (no answer) is not an item: skipped")
        return builder.outcome
    builder.check_grades()
    if not question.text.strip():
        builder.problem("the question has no text")
    if not 0 < question.default_mark <= 1000:
        builder.problem(f"the default mark {question.default_mark:g} must be above 0 and at most 1000")
    if builder.outcome.problems:
        return builder.outcome
    try:
        fields = getattr(builder, question.qtype)()
    except _Skip:
        return builder.outcome
    definition = {**_common(builder, ids), **fields}
    item, found = definition_problems(definition)
    if item is not None:
        found, _ = variant_problems(item)
    for path, message in found:
        where = ".".join(map(str, path))
        builder.problem(f"{where}: {message}" if where else message)
    if not builder.outcome.problems:
        builder.outcome.definition = definition
    return builder.outcome
