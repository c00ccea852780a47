"""The statistics as computed before answer summaries (Assay at the commit before them), kept to
test that the summaries change no figure: the last step and saved response of each question
attempt read from the steps, every answer added one by one, the breakdown computed from lists.
Not used by the application."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from sqlalchemy import Row, Text, and_, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from assessments.bank.service import item_model
from assessments.models import Attempt, QuestionAttempt, Step
from assessments.reports import repository
from assessments.reports.breakdown import item_flags
from assessments.reports.schemas import (
    ItemBreakdown,
    MisconceptionRate,
    OptionCount,
    ParameterBin,
    ParameterFacility,
    QuizStatistics,
    SlotStatistics,
    TestStatisticsOut,
)
from assessments.reports.service import HISTOGRAM_BINS, MIN_ATTEMPTS_FOR_FLAGS, _slot_flags
from engine.items import ItemBase
from engine.psychometrics import facility_by_range, item_statistics, misconception_rates, test_statistics
from engine.variants import VariantError, generate_batch

CHOICE_TYPES = ("single_choice", "multiple_response")
SHARED_MISCONCEPTION = 0.5
MIN_ANSWERS_FOR_ITEM_FLAGS = 5
"""An unused option or a shared misconception is flagged only from this many answers (wrong ones)."""
KEY_SAMPLE = 256
"""Variants regenerated to tell how often a computed option is right (the first answered seeds)."""
QUARTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class Answers:
    """Every answer to one item, column by column."""

    key: str
    item: ItemBase
    fraction: list[float | None] = field(default_factory=list)
    """None: not graded (awaiting a grader)."""
    misconception: list[str | None] = field(default_factory=list)
    chosen: list[list[int]] = field(default_factory=list)
    """Authored option indices chosen (choice items)."""
    options: list[int] = field(default_factory=list)
    """How many options the answer's variant showed."""
    seeds: list[int] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)

    def add(self, fraction: float | None, misconception: str | None, chosen: list[int], options: int,
            seed: int, params: dict[str, Any]) -> None:
        self.fraction.append(fraction)
        self.misconception.append(misconception)
        self.chosen.append(chosen)
        self.options.append(options)
        self.seeds.append(seed)
        self.params.append(params)

    def __len__(self) -> int:
        return len(self.fraction)


def chosen_options(item_type: str, order: Sequence[int] | None, response: Any) -> list[int]:
    """The authored indices of the options a choice response chose (responses name display positions)."""
    if not order or not isinstance(response, dict):
        return []
    if item_type == "single_choice" and isinstance(response.get("choice"), int):
        positions = [response["choice"]]
    elif item_type == "multiple_response":
        positions = [p for p in response.get("choices") or [] if isinstance(p, int)]
    else:
        return []
    return [order[p] for p in positions if 0 <= p < len(order)]


def _num(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _option_keys(answers: Answers, count: int) -> list[float | None]:
    """For each authored option, the share of answered variants in which it is right."""
    options = getattr(answers.item, "options", None)
    listed = getattr(options, "listed", None)
    if listed is not None and all(isinstance(o.correct, bool) for o in listed):
        return [float(o.correct) for o in listed][:count] + [None] * max(0, count - len(listed))
    try:
        batch = generate_batch(answers.item, np.asarray(answers.seeds[:KEY_SAMPLE], dtype=np.int64))
        correct = np.asarray(batch.key["correct"], dtype=float).reshape(len(batch), -1)
    except (VariantError, KeyError, ValueError):
        return [None] * count
    shares = [float(v) for v in correct.mean(axis=0)]
    return shares[:count] + [None] * max(0, count - len(shares))


def _options(answers: Answers) -> list[OptionCount]:
    if answers.item.type_name not in CHOICE_TYPES:
        return []
    expanded = answers.item.options.expand()  # type: ignore[attr-defined]
    count = max(max(answers.options, default=0), len(expanded))
    chosen = np.zeros(count, dtype=int)
    for indices in answers.chosen:
        for index in indices:
            chosen[index] += 1
    keys = _option_keys(answers, count)
    total = len(answers)
    return [OptionCount(index=n, text=expanded[n][0].text if n < len(expanded) else f"option {n + 1}",
                        chosen=int(chosen[n]), share=chosen[n] / total if total else None, key=keys[n])
            for n in range(count)]


def _parameters(answers: Answers, fractions: np.ndarray) -> list[ParameterFacility]:
    """Quartile bins of each drawn parameter (the mean, for one drawn as several numbers)."""
    out = []
    for name, spec in answers.item.params.items():
        if not spec.is_random:
            continue
        values = np.array([_scalar(p.get(name)) for p in answers.params], dtype=float)
        finite = values[np.isfinite(values) & np.isfinite(fractions)]
        if finite.size < 2:
            continue
        edges = np.unique(np.quantile(finite, QUARTILES))
        if edges.size < 2:
            continue
        by = facility_by_range(fractions, values, bins=edges)
        several = any(isinstance(p.get(name), list) for p in answers.params)
        out.append(ParameterFacility(name=name, summary="mean" if several else "value", bins=[
            ParameterBin(low=float(by.edges[n]), high=float(by.edges[n + 1]), count=int(by.count[n]),
                         facility=_num(by.facility[n]), se=_num(by.se[n])) for n in range(len(by.count))]))
    return out


def _scalar(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        return sum(value) / len(value)
    return float("nan")


def _declared_misconceptions(item: ItemBase) -> list[str]:
    """The item's named misconceptions, then those its options name, once each."""
    names = list(item.misconceptions)
    options = getattr(item, "options", None)
    for option, _, _ in options.expand() if options is not None else []:
        name = getattr(option, "misconception", None)
        if name and name not in names:
            names.append(name)
    return names


def breakdown(answers: Answers, title: str) -> ItemBreakdown:
    fractions = np.array([np.nan if f is None else f for f in answers.fraction], dtype=float)
    graded = np.isfinite(fractions)
    wrong = graded & (fractions < 1)
    declared = _declared_misconceptions(answers.item)
    names = declared + sorted({m for m in answers.misconception if m} - set(declared))
    codes = np.array([names.index(m) if m else -1 for m in answers.misconception], dtype=np.int64)
    rates = misconception_rates(codes, names, wrong)
    says = {name: m.says for name, m in answers.item.misconceptions.items()}
    return ItemBreakdown(
        key=answers.key, title=title, type=answers.item.type_name, answers=len(answers), graded=int(graded.sum()),
        facility=float(fractions[graded].mean()) if graded.any() else None,
        options=_options(answers), wrong=rates.wrong, unexplained=rates.unexplained,
        misconceptions=[MisconceptionRate(name=name, says=says.get(name), count=int(rates.count[n]),
                                          rate=_num(rates.rate[n])) for n, name in enumerate(names)],
        parameters=_parameters(answers, fractions) if answers.item.is_computed else [],
    )


def decode_all(texts: Sequence[str | None]) -> list[Any]:
    """Many JSON texts decoded at once (None stays None)."""
    return json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]") if texts else []


def _as_text(column: Any) -> ColumnElement[str]:
    """A JSON column as its text (PostgreSQL's ``jsonb::text``; SQLite stores text already)."""
    return sql_cast(column, Text)


ANSWER_COLUMNS = ("attempt_id", "slot", "item_version_id", "max_mark", "seed", "state", "fraction",
                  "misconception", "order", "params", "response")
"""What :func:`answer_rows` gives per current question attempt, in this order: its variant's seed;
its last step's state, fraction and misconception; the variant's option ``order`` and drawn
``params`` as JSON text (extracted by the database: the rest of the variant is not needed);
``response``, the last saved response's JSON text (None: never answered)."""


def answer_rows(session: Session, attempts: ColumnElement[bool] | Sequence[int]) -> list[Row[Any]]:
    """Every current question attempt of the attempts (a condition on :class:`Attempt`, or ids).

    The last step and the last saved response are found per question attempt through the unique
    index on (question attempt, seq): correlated subqueries, which both databases answer with an
    index lookup each (window functions over every step, then joined, were 50 times slower on SQLite).
    """
    where = Attempt.id.in_(attempts) if isinstance(attempts, Sequence) else attempts
    last = aliased(Step)
    last_seq = (select(func.max(Step.seq)).where(Step.question_attempt_id == QuestionAttempt.id)
                .correlate(QuestionAttempt).scalar_subquery())
    saved = (select(_as_text(Step.response)).where(Step.question_attempt_id == QuestionAttempt.id,
                                                    _as_text(Step.response) != "null")
             .order_by(Step.seq.desc()).limit(1).correlate(QuestionAttempt).scalar_subquery())
    query = (
        select(QuestionAttempt.attempt_id, QuestionAttempt.slot, QuestionAttempt.item_version_id,
               QuestionAttempt.max_mark, QuestionAttempt.seed, last.state, last.fraction,
               last.data[("grade", "misconception")].as_string().label("misconception"),
               QuestionAttempt.variant["order"].as_string().label("order"),
               QuestionAttempt.variant["params"].as_string().label("params"), saved.label("response"))
        .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
        .join(last, and_(last.question_attempt_id == QuestionAttempt.id, last.seq == last_seq))
        .where(where, QuestionAttempt.replaced_at.is_(None))
        .order_by(QuestionAttempt.attempt_id, QuestionAttempt.slot)
    )
    return list(session.execute(query).all())


class _Read:
    """The rows of some attempts, decoded where needed: per (attempt, slot) a mark, and per
    (slot, item key) the answers as :class:`Answers`."""

    def __init__(self, session: Session, attempts: Any) -> None:
        rows = answer_rows(session, attempts)
        versions = repository.versions(session, {r.item_version_id for r in rows})
        models = {vid: item_model(version) for vid, (version, _) in versions.items()}
        self.titles = {key: version.title for version, key in versions.values()}
        # only choice answers need their response and option order; only computed items their params
        choice = {vid: model.type_name in CHOICE_TYPES for vid, model in models.items()}
        computed = {vid: model.is_computed for vid, model in models.items()}
        orders = decode_all([r.order if choice[r.item_version_id] else None for r in rows])
        params = decode_all([r.params if computed[r.item_version_id] else None for r in rows])
        responses = decode_all([r.response if choice[r.item_version_id] else None for r in rows])
        self.attempt_ids: list[int] = []
        self.marks: dict[tuple[int, int], float] = {}
        self.max_marks: dict[int, float] = {}
        self.answers: dict[tuple[int, str], Answers] = {}
        groups: dict[tuple[int, int], Answers] = {}
        last_attempt = None
        plain = cast("list[tuple[Any, ...]]", rows)  # rows are tuples: unpacked as such
        for (attempt_id, slot, version_id, max_mark, seed, state, fraction, misconception, *_), order, drawn, response \
                in zip(plain, orders, params, responses, strict=True):
            if attempt_id != last_attempt:
                self.attempt_ids.append(attempt_id)
                last_attempt = attempt_id
            graded = fraction is not None and state != "needsgrading"
            if graded:
                self.marks[(attempt_id, slot)] = fraction * max_mark
            if max_mark > self.max_marks.get(slot, -1.0):
                self.max_marks[slot] = max_mark
            group = groups.get((slot, version_id))
            if group is None:
                key = versions[version_id][1]
                group = self.answers.get((slot, key)) or Answers(key, models[version_id])
                groups[(slot, version_id)] = self.answers[(slot, key)] = group
            group.add(fraction if graded else None, misconception,
                      chosen_options(group.item.type_name, order, response) if order and response else [],
                      len(order) if order else 0, seed, drawn or {})


def compute_before(session: Session, quiz_id: int) -> QuizStatistics:
    """A quiz's statistics as computed before answer summaries."""
    read = _Read(session, repository.counted(quiz_id))
    if not read.attempt_ids:
        return QuizStatistics(quiz_id=quiz_id, attempts=0, slots=[], test=None, histogram=[],
                              min_attempts_for_flags=MIN_ATTEMPTS_FOR_FLAGS)
    slots = sorted(read.max_marks)
    max_marks = np.array([read.max_marks[slot] for slot in slots])
    rows = {attempt_id: n for n, attempt_id in enumerate(read.attempt_ids)}
    columns = {slot: n for n, slot in enumerate(slots)}
    marks = np.full((len(read.attempt_ids), len(slots)), np.nan)
    for (attempt_id, slot), mark in read.marks.items():
        marks[rows[attempt_id], columns[slot]] = mark
    stats = item_statistics(marks, max_marks)
    complete = marks[~np.isnan(marks).any(axis=1)]
    test = None
    if len(complete) >= 2:
        t = test_statistics(complete, max_marks)
        test = TestStatisticsOut(attempts=int(t.attempts), mean=float(t.mean), median=float(t.median),
                                 sd=float(t.sd), skewness=_num(t.skewness), kurtosis=_num(t.kurtosis),
                                 cronbach_alpha=_num(t.cronbach_alpha), error_ratio=_num(t.error_ratio),
                                 standard_error=_num(t.standard_error), max_mark=float(t.max_mark))
    out = []
    for c, slot in enumerate(slots):
        items = [breakdown(group, read.titles[key]) for (s, key), group in sorted(read.answers.items())
                 if s == slot]
        facility, discrimination = float(stats.facility[c]), float(stats.discrimination_index[c])
        too_few = int(stats.attempts[c]) < MIN_ATTEMPTS_FOR_FLAGS
        flags = [] if too_few else _slot_flags(facility, discrimination) + [
            flag for item in items for flag in item_flags(item)]
        out.append(SlotStatistics(
            slot=slot, items=[item.key for item in items], attempts=int(stats.attempts[c]),
            facility=_num(facility), sd=_num(stats.sd[c]), discrimination_index=_num(discrimination),
            discriminative_efficiency=_num(stats.discriminative_efficiency[c]),
            intended_weight=_num(stats.intended_weight[c]), effective_weight=_num(stats.effective_weight[c]),
            flags=flags, too_few_attempts=too_few, breakdown=items,
        ))
    totals = complete.sum(axis=1) if len(complete) else np.array([])
    edges = np.linspace(0, float(max_marks.sum()), HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(totals, bins=edges)
    return QuizStatistics(quiz_id=quiz_id, attempts=len(read.attempt_ids), slots=out, test=test,
                          histogram=[int(c) for c in counts], histogram_edges=[float(e) for e in edges],
                          min_attempts_for_flags=MIN_ATTEMPTS_FOR_FLAGS)


