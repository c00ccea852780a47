"""What a regrade reads: the quiz's pinned versions, its stale question attempts and their steps,
and its attempts' current question attempts, with Core, a statement per batch of rows.

A regrade (:mod:`assessments.grading.regrade`) reads a term's quiz at once: the question attempts
it replays and their steps are read a bounded ``IN`` list (:data:`READ_BATCH`) at a time, only the
columns it needs, and each result is fetched whole (``.all()``: row by row, PostgreSQL's driver
asks for each row on its own). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Table, func, select, true
from sqlalchemy.orm import Session

from assessments.attempts.repository import Asked
from assessments.models import Attempt, AttemptState, Item, ItemVersion, QuestionAttempt, QuizItem, Step
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.attempts import Step as EngineStep
from engine.states import QuestionState
from engine.variants import Variant

__all__ = ["READ_BATCH", "Head", "Light", "Stale", "Target", "chunks", "heads", "load_light_steps", "load_steps",
           "pinned_targets", "stale_questions"]

READ_BATCH = 500
"""Question attempts whose steps are read per statement (bounded ``IN`` lists)."""

_ATTEMPTS, _QUESTIONS, _STEPS = (cast("Table", m.__table__) for m in (Attempt, QuestionAttempt, Step))
_VERSIONS, _ITEMS, _QUIZ_ITEMS = (cast("Table", m.__table__) for m in (ItemVersion, Item, QuizItem))
_a, _q, _s = _ATTEMPTS.c, _QUESTIONS.c, _STEPS.c
_v, _i, _qi = _VERSIONS.c, _ITEMS.c, _QUIZ_ITEMS.c

T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass(frozen=True, slots=True)
class Target:
    """The version a quiz pins for one of its items."""

    id: int
    number: int
    content_hash: str
    type: str
    item_key: str


@dataclass(frozen=True, slots=True)
class Light:
    """A step as its columns give it: enough to tell whether the vectorised grader settles it."""

    seq: int
    action: str
    state: str
    fraction: float | None
    response: dict[str, Any] | None


@dataclass(slots=True)
class Stale:
    """A finished attempt's current question attempt on a version the quiz no longer pins."""

    asked: Asked
    user_id: int
    attempt_number: int
    old_marks: float | None
    max_marks: float
    preview: bool
    old_version: int
    old_type: str
    target: Target
    steps: list[EngineStep] = field(default_factory=list)
    actors: dict[str, int | None] = field(default_factory=dict)
    """A step's engine actor (the user id as text) → its ``actor_id`` (kept by the replay)."""
    variant: Variant | None = None
    new: EngineAttempt | None = None
    """The replay (a commit, or a dry run where the history matters)."""
    new_state: QuestionState | None = None
    new_fraction: float | None = None

    light: list[Light] = field(default_factory=list)
    """The steps' columns without their engine data (what a dry run reads first)."""

    @property
    def old_state(self) -> QuestionState:
        return self.steps[-1].state if self.steps else QuestionState(self.light[-1].state)

    @property
    def old_fraction(self) -> float | None:
        return self.steps[-1].fraction if self.steps else self.light[-1].fraction

    @property
    def last_seq(self) -> int:
        return self.steps[-1].seq if self.steps else self.light[-1].seq

    def mark(self, fraction: float | None) -> float | None:
        return None if fraction is None else fraction * self.asked.max_mark


def pinned_targets(session: Session, quiz_id: int) -> dict[int, Target]:
    """Item id → the version the quiz pins for it (the newest, if two sections differ)."""
    rows = session.connection().execute(
        select(_v.id, _v.item_id, _v.number, _v.content_hash, _v.type, _i.key)
        .join(_QUIZ_ITEMS, _qi.item_version_id == _v.id).join(_ITEMS, _i.id == _v.item_id)
        .where(_qi.quiz_id == quiz_id).order_by(_v.number)).all()
    return {row.item_id: Target(row.id, row.number, row.content_hash, row.type, row.key) for row in rows}


def stale_questions(session: Session, quiz_id: int, targets: dict[int, Target]) -> list[Stale]:
    """Every stale question attempt of the quiz's finished attempts, by attempt and slot."""
    if not targets:
        return []
    rows = session.connection().execute(
        select(_q.id.label("qa_id"), _q.attempt_id, _q.slot, _q.item_version_id, _q.seed, _q.variant,
               _q.behaviour, _q.behaviour_options, _q.max_mark, _q.flagged, _v.item_id,
               _v.number.label("old_version"), _v.type.label("old_type"), _a.user_id,
               _a.number.label("attempt_number"), _a.marks, _a.max_marks, _a.preview)
        .select_from(_QUESTIONS).join(_ATTEMPTS, _a.id == _q.attempt_id).join(_VERSIONS, _v.id == _q.item_version_id)
        .where(_a.quiz_id == quiz_id, _a.state == AttemptState.FINISHED, _q.replaced_at.is_(None),
               _v.item_id.in_(list(targets)), _q.item_version_id.not_in([t.id for t in targets.values()]))
        .order_by(_q.attempt_id, _q.slot)).all()
    return [Stale(Asked.from_row(row), row.user_id, row.attempt_number, row.marks, row.max_marks,
                  bool(row.preview), row.old_version, row.old_type, targets[row.item_id]) for row in rows]


def load_light_steps(session: Session, stale: Sequence[Stale]) -> None:
    """Each stale question attempt's steps as their columns give them (not the engine's data)."""
    by_id = {s.asked.id: s for s in stale}
    for chunk in chunks(list(by_id), READ_BATCH):
        for qa_id, seq, action, state, fraction, response in session.connection().execute(
                select(_s.question_attempt_id, _s.seq, _s.action, _s.state, _s.fraction, _s.response)
                .where(_s.question_attempt_id.in_(chunk)).order_by(_s.question_attempt_id, _s.seq)).all():
            by_id[qa_id].light.append(Light(seq, action, state, fraction, response))


def load_steps(session: Session, stale: Sequence[Stale]) -> None:
    """Each stale question attempt's steps, as the engine's, with the actors' ids."""
    by_id = {s.asked.id: s for s in stale}
    for chunk in chunks(list(by_id), READ_BATCH):
        for qa_id, data, actor_id in session.connection().execute(
                select(_s.question_attempt_id, _s.data, _s.actor_id)
                .where(_s.question_attempt_id.in_(chunk)).order_by(_s.question_attempt_id, _s.seq)).all():
            question = by_id[qa_id]
            step = EngineStep.from_json(data)
            question.steps.append(step)
            question.actors.setdefault(step.actor, actor_id)


class Head(NamedTuple):
    """A current question attempt of an attempt as a batch's write finds it (a tuple: a batch
    reads one for every slot of its attempts)."""

    id: int
    attempt_id: int
    max_mark: float
    replaced: bool
    seq: int
    state: str
    """Its last step's state (a :class:`~engine.states.QuestionState` value)."""
    fraction: float | None


def heads(session: Session, attempt_ids: Sequence[int], stale_ids: Sequence[int]) -> list[Head]:
    """The attempts' current question attempts (and the stale ones, replaced meanwhile or not),
    with their last steps, by attempt and slot.

    On PostgreSQL the last step is a ``LATERAL`` read of one index entry per question attempt
    (the correlated ``max(seq)`` then the step took two, and a third of the time); SQLite has no
    ``LATERAL`` and plans the ``max`` as well."""
    connection = session.connection()
    current = _q.replaced_at.is_(None) | _q.id.in_(list(stale_ids)) if stale_ids else _q.replaced_at.is_(None)
    if connection.dialect.name == "postgresql":
        last = (select(_s.seq, _s.state, _s.fraction).where(_s.question_attempt_id == _q.id)
                .order_by(_s.seq.desc()).limit(1).lateral("last_step"))
        query = (select(_q.id, _q.attempt_id, _q.max_mark, _q.replaced_at, last.c.seq, last.c.state, last.c.fraction)
                 .select_from(_QUESTIONS).join(last, true()))
    else:
        latest = _STEPS.alias("last_step")
        query = (select(_q.id, _q.attempt_id, _q.max_mark, _q.replaced_at, _s.seq, _s.state, _s.fraction)
                 .join(_STEPS, _s.question_attempt_id == _q.id)
                 .where(_s.seq == select(func.max(latest.c.seq))
                        .where(latest.c.question_attempt_id == _q.id).scalar_subquery()))
    rows = connection.execute(query.where(_q.attempt_id.in_(list(attempt_ids)), current)
                              .order_by(_q.attempt_id, _q.slot)).all()
    return [Head(qa_id, attempt_id, max_mark, replaced_at is not None, seq, state, fraction)
            for qa_id, attempt_id, max_mark, replaced_at, seq, state, fraction in rows]
