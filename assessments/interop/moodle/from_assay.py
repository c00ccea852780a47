"""Assay items (one variant each) as Moodle questions, for the GIFT and Moodle XML writers.

Texts are the variant's displayed texts (the question type's ``render``), so a computed item leaves
as the fixed variant of its seed, and the report says so. Options keep their authored order (Moodle
shuffles them itself). What Moodle has no place for is noted here once; each writer adds notes for
what its own syntax cannot carry.

Scoring becomes Moodle fractions: a single-choice item's negative mark goes on every wrong option;
a multiple-response item's partial credit is 1/(number right) per right option and, with the
wrong-selection penalty, −1/(number wrong) per wrong one, which Moodle's multichoice adds up and
clamps to [0, 1] exactly as Assay does. A misconception's feedback joins the feedback of the answer
it leads to where Moodle has one (a choice option, true/false, a short-text answer, a numeric wrong
answer).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from assessments.interop.base import ExportItem
from assessments.interop.moodle.model import (
    UNIT_INPUT,
    UNIT_NONE,
    UNIT_OPTIONAL,
    UNIT_PENALTY_OF_QUESTION,
    UNIT_PENALTY_OF_RESPONSE,
    Answer,
    NumericalUnits,
    Question,
    moodle_grade,
    nearest_grade,
    percent,
)
from engine.items import (
    EssayItem,
    ItemBase,
    MatchingItem,
    MultipleResponseItem,
    NumericItem,
    ShortTextItem,
    SingleChoiceItem,
    Tolerance,
    TrueFalseItem,
)
from engine.qtypes import qtype_for
from engine.qtypes.common import first_true, misconception_feedback, render_text
from engine.variants import Variant

__all__ = ["absolute_width", "question_of"]


def absolute_width(tolerance: Tolerance, value: float) -> float:
    """The tolerance around ``value`` as Moodle's absolute error, rounded to 12 significant figures."""
    if tolerance.absolute is not None:
        return tolerance.absolute
    if value == 0:
        return 0.0
    if tolerance.relative is not None:
        width = tolerance.relative * abs(value)
    else:
        assert tolerance.sigfigs is not None
        width = 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - tolerance.sigfigs + 1)
    return float(f"{width:.12g}")


def _joined(*texts: str) -> str:
    return "\n\n".join(t.strip() for t in texts if t and t.strip())


class _Exporter:
    def __init__(self, entry: ExportItem) -> None:
        self.entry, self.item, self.variant = entry, entry.item, entry.variant
        self.notes: list[str] = []
        self.shown = qtype_for(self.item).render(self.item, self.variant)

    def note(self, message: str) -> None:
        self.notes.append(f"item {self.entry.key!r}: {message}")

    def grade(self, fraction: float, what: str) -> float:
        if moodle_grade(fraction) is not None:
            return fraction
        nearest = nearest_grade(fraction)
        self.note(f"{what} {percent(fraction)}% is not one of Moodle's grades: written as {percent(nearest)}%")
        return nearest

    def misconception_text(self, name: str) -> str:
        return misconception_feedback(self.item, name, self.variant)[1]

    def base(self, qtype: str) -> Question:
        item = self.item
        question = Question(qtype=qtype, line=0, name=item.title, text=self.shown["stem"].strip(),
                            idnumber=self.entry.key, default_mark=item.max_mark, shuffle=item.shuffle)
        if item.solution:
            question.general_feedback = render_text(item.solution, self.variant).strip()
        categories = item.tags.values("category")
        if categories:
            question.category = categories[0]
            if len(categories) > 1:
                self.note(f"only the first category ({categories[0]!r}) is kept")
        question.tags = [f"{facet}:{value}" for facet, values in item.tags if facet != "category"
                         for value in values]
        question.tags += [f"concept:{c}" for c in item.concepts] + [f"related:{r}" for r in item.related]
        return question

    # --- per Assay type -------------------------------------------------------------------------
    def _authored_texts(self) -> list[str]:
        order = self.variant.order
        assert order is not None
        texts = [""] * len(order)
        for position, option in enumerate(self.shown["options"]):
            texts[order[position]] = option["text"].strip()
        return texts

    def choice(self) -> Question:
        item = self.item
        assert isinstance(item, SingleChoiceItem | MultipleResponseItem)
        single = isinstance(item, SingleChoiceItem)
        question = self.base("multichoice")
        question.single = single
        correct = [bool(c) for c in self.variant.key["correct"][0]]
        weights = self._choice_weights(correct, single)
        for k, (text, (option, binding, _)) in enumerate(zip(self._authored_texts(), item.options.expand(),
                                                          strict=True)):
            feedback = render_text(option.feedback, self.variant, binding)
            if single and not correct[k]:
                code = int(first_true(self.variant.key["misconceptions"][0, :, k]))
                if code >= 0:
                    feedback = _joined(feedback, self.misconception_text(list(item.misconceptions)[code]))
            question.answers.append(Answer(text, weights[k], feedback.strip()))
        if item.misconceptions and not single:
            self.note("misconceptions (whole selections) are not carried")
        if item.shuffle and any(option.fixed for option, _, _ in item.options.expand()):
            self.note("options fixed in place are shuffled with the others in Moodle")
        return question

    def _choice_weights(self, correct: list[bool], single: bool) -> list[float]:
        scoring = self.item.scoring
        if single:
            wrong = self.grade(-scoring.negative, "the negative mark") if scoring.negative else 0.0
            return [1.0 if c else wrong for c in correct]
        right, wrong_count = sum(correct), len(correct) - sum(correct)
        share = self.grade(round(1 / right, 7), "the share of a right option")
        cost = self.grade(-round(1 / wrong_count, 7), "the cost of a wrong option") if (
            scoring.wrong_selection_penalty and scoring.method != "all_or_nothing") else 0.0
        if scoring.method == "all_or_nothing":
            self.note("all-or-nothing scoring is not carried: Moodle gives partial credit per right option")
        if scoring.allow_negative:
            self.note("negative totals are not carried: Moodle clamps a multiple-response mark at 0")
        return [share if c else cost for c in correct]

    def true_false(self) -> Question:
        item = self.item
        assert isinstance(item, TrueFalseItem)
        question = self.base("truefalse")
        question.correct = bool(self.variant.key["answer"][0])
        question.feedback_true = render_text(item.feedback_true, self.variant).strip()
        question.feedback_false = render_text(item.feedback_false, self.variant).strip()
        code = int(first_true(self.variant.key["misconception_answers"][0] != question.correct))
        if code >= 0:
            text = self.misconception_text(list(item.misconceptions)[code])
            if question.correct:
                question.feedback_false = _joined(question.feedback_false, text)
            else:
                question.feedback_true = _joined(question.feedback_true, text)
        return question

    def numeric(self) -> Question:
        """Answers in the order Assay tries them (Moodle tries its answers in the order listed):
        the key, the partial credit, the misconceptions at 0%; and the units with their options."""
        item = self.item
        assert isinstance(item, NumericItem)
        question = self.base("numerical")
        key = float(self.variant.key["answer"][0])
        question.answers.append(Answer(repr(key), 1.0, tolerance=absolute_width(item.tolerance, key)))
        if item.tolerance.absolute is None:
            self.note(f"the {item.tolerance.mode} tolerance is written as the absolute error "
                      f"{question.answers[0].tolerance:g} around this variant's answer")
        for n, partial in enumerate(item.partial_credit):
            value = float(self.variant.key["partial_values"][0, n])
            tolerance = partial.tolerance or item.tolerance
            fraction = self.grade(partial.fraction, f"the credit of partial answer {n + 1}")
            question.answers.append(Answer(repr(value), fraction, render_text(partial.feedback, self.variant).strip(),
                                           tolerance=absolute_width(tolerance, value)))
        values = self.variant.key["misconception_values"][0]
        for m, name in enumerate(item.misconceptions):
            value = float(values[m])
            # Moodle gives the first answer a number matches: in this variant a misconception that
            # coincides with an answer above could never show its feedback, so it is left out.
            earlier = next((a for a in question.answers if abs(float(a.text) - value) <= a.tolerance), None)
            if earlier is not None:
                self.note(f"misconception '{name}' gives {value:g} in this variant, as an answer written before "
                          "it does: it is not carried")
                continue
            question.answers.append(Answer(repr(value), 0.0, self.misconception_text(name),
                                           tolerance=absolute_width(item.tolerance, value)))
        question.units = _units(item)
        return question

    def short_text(self) -> Question:
        item = self.item
        assert isinstance(item, ShortTextItem)
        question = self.base("shortanswer")
        question.case_sensitive = item.case_sensitive
        for answer in item.answers:
            feedback = render_text(answer.feedback, self.variant)
            if answer.misconception:
                feedback = _joined(feedback, self.misconception_text(answer.misconception))
            fraction = self.grade(answer.fraction, "the credit")
            question.answers.append(Answer(render_text(answer.match, self.variant).strip(), fraction,
                                           feedback.strip()))
        return question

    def matching(self) -> Question:
        item = self.item
        assert isinstance(item, MatchingItem)
        question = self.base("match")
        pool = self.shown["answers"]
        order = self.variant.order
        assert order is not None
        by_authored = {order[position]: entry["text"].strip() for position, entry in enumerate(pool)}
        prompts = [p["text"].strip() for p in self.shown["prompts"]]
        question.pairs = [(prompt, by_authored[n]) for n, prompt in enumerate(prompts)]
        question.pairs += [("", by_authored[n]) for n in range(len(prompts), len(pool))]
        if item.misconceptions:
            self.note("misconceptions on distractors are not carried")
        return question

    def essay(self) -> Question:
        item = self.item
        assert isinstance(item, EssayItem)
        question = self.base("essay")
        lines = []
        for criterion in item.rubric.criteria:
            described = f": {criterion.description}" if criterion.description else ""
            lines.append(f"**{criterion.title}** ({criterion.max_points:g} points){described}")
            lines.extend(f"- {level.points:g}: {level.label}" + (f" ({level.description})" if level.description
                                                                  else "") for level in criterion.levels)
        question.grader_info = "\n".join(lines)
        question.min_words = item.response.min_words or None
        question.max_words = item.response.max_words
        return question


def _units(item: NumericItem) -> NumericalUnits:
    """Moodle's unit options for the item: a unit only shown is Moodle's "no units" (a response
    is a bare number in both); units read with the number are typed with it (``showunits`` 0),
    graded with the penalty of the response's grade (1) or the question's (2), or not (0)."""
    if item.unit is None:
        return NumericalUnits()
    units = item.units
    if units is None:
        return NumericalUnits(units=[(item.unit, 1.0)], show=UNIT_NONE)
    grading = UNIT_OPTIONAL
    if units.graded:
        grading = UNIT_PENALTY_OF_QUESTION if units.penalty_of == "question" else UNIT_PENALTY_OF_RESPONSE
    return NumericalUnits(units=[(item.unit, 1.0), *units.multipliers.items()], grading=grading,
                          penalty=units.penalty, show=UNIT_INPUT, left=units.before)


_TYPES: dict[str, Callable[[_Exporter], Question]] = {
    "single_choice": _Exporter.choice,
    "multiple_response": _Exporter.choice,
    "true_false": _Exporter.true_false,
    "numeric": _Exporter.numeric,
    "short_text": _Exporter.short_text,
    "matching": _Exporter.matching,
    "essay": _Exporter.essay,
}


def question_of(entry: ExportItem) -> tuple[Question | None, list[str]]:
    """The Moodle question for one item and its variant (None for a type Moodle's formats lack)."""
    item: ItemBase = entry.item
    variant: Variant = entry.variant
    build = _TYPES.get(item.type_name)
    if build is None:
        reason = (f"item {entry.key!r}: {item.type_name} items have no GIFT or Moodle XML form "
                  "(Moodle's ordering question is a plugin): skipped")
        return None, [reason]
    exporter = _Exporter(entry)
    if item.is_computed:
        exporter.note(f"computed: exported as its variant of seed {variant.seed}")
    question = build(exporter)
    return question, exporter.notes
