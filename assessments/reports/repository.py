"""Every query of the reports: the few columns statistics need, read as rows (Core), never as objects.

A quiz of 2,000 attempts × 16 questions has 32,000 question attempts and some 100,000 steps.
Statistics read one row per counted attempt, its answer summaries packed (:func:`packed_rows`;
:mod:`assessments.reports.packed`), and for an attempt without one a narrow row per current
question attempt, its answer summary outer joined (:func:`summary_rows`;
:mod:`assessments.reports.summaries` writes them, and packs them from :func:`packing_rows`).
What a summary is made of is read from the steps by :func:`detail_rows`: the last step's state,
fraction and misconception (extracted by the database from the step's JSON), the last saved
response and the variant's option order and parameters as JSON *text*.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Row, Select, Text, and_, bindparam, case, cast, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from assessments.models import (
    AnswerSummary,
    Attempt,
    AttemptState,
    AttemptSummary,
    GradeChange,
    Item,
    ItemVersion,
    QuestionAttempt,
    Step,
)


def counted(quiz_id: int) -> ColumnElement[bool]:
    """The attempts statistics count: finished, and not a staff member's preview."""
    return and_(Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED, Attempt.preview.is_(False))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a quiz's statistics depend on, read cheaply: the counted attempts (how many, and which:
    the sum of their ids changes when one is deleted and another finishes) and the last grade
    change (a manual grade, an override or a committed regrade all write one)."""

    quiz_id: int
    attempts: int
    id_sum: int
    last_grade_change: int


def fingerprint(session: Session, quiz_id: int) -> Fingerprint:
    count, id_sum = session.execute(select(func.count(Attempt.id), func.coalesce(func.sum(Attempt.id), 0))
                                    .where(counted(quiz_id))).one()
    last = session.scalar(select(func.coalesce(func.max(GradeChange.id), 0)).where(GradeChange.quiz_id == quiz_id))
    return Fingerprint(quiz_id, int(count), int(id_sum), int(last or 0))


def counted_attempt_ids(session: Session, quiz_id: int) -> list[int]:
    return list(session.scalars(select(Attempt.id).where(counted(quiz_id)).order_by(Attempt.id)))


def _as_text(column: Any) -> ColumnElement[str]:
    """A JSON column as its text (PostgreSQL's ``jsonb::text``; SQLite stores text already)."""
    return cast(column, Text)


def detail_rows(session: Session, where: ColumnElement[bool]) -> list[Row[Any]]:
    """:func:`detail_query`'s rows."""
    return list(session.connection().execute(detail_query(where)).all())


@functools.cache
def _stale_query() -> Select[Any]:
    return detail_query(stale(bindparam("attempt_ids", expanding=True)))


def stale_rows(session: Session, attempt_ids: Sequence[int]) -> list[Row[Any]]:
    """:func:`detail_rows` of :func:`stale` (the statement built once: building it cost as much as running it)."""
    return list(session.connection().execute(_stale_query(), {"attempt_ids": list(attempt_ids)}).all())


def detail_query(where: ColumnElement[bool]) -> Select[Any]:
    """What a question attempt's summary is made of, for the question attempts ``where`` selects
    (a condition on :class:`QuestionAttempt`, :class:`Attempt` and :class:`AnswerSummary`, outer
    joined: None where the question attempt has none): its identity and variant's seed; its last
    step's seq, state, fraction and misconception (extracted by the database from the step's JSON);
    the variant's option ``order`` and drawn ``params`` and the last saved ``response``, as JSON
    text (None: never answered); its item version's type and whether it is computed.

    The last step and the last saved response are found per question attempt through the unique
    index on (question attempt, seq): correlated subqueries, which both databases answer with an
    index lookup each (window functions over every step, then joined, were 50 times slower on SQLite).
    """
    last = aliased(Step)
    saved = (select(_as_text(Step.response)).where(Step.question_attempt_id == QuestionAttempt.id,
                                                    _as_text(Step.response) != "null")
             .order_by(Step.seq.desc()).limit(1).correlate(QuestionAttempt).scalar_subquery())
    query = (
        select(QuestionAttempt.id, QuestionAttempt.attempt_id, QuestionAttempt.slot, QuestionAttempt.item_version_id,
               QuestionAttempt.max_mark, QuestionAttempt.seed, last.seq, last.state, last.fraction,
               last.data[("grade", "misconception")].as_string().label("misconception"),
               QuestionAttempt.variant["order"].as_string().label("order"),
               QuestionAttempt.variant["params"].as_string().label("params"), saved.label("response"),
               ItemVersion.type, ItemVersion.is_computed)
        .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
        .join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
        .join(last, and_(last.question_attempt_id == QuestionAttempt.id, last.seq == _last_seq()))
        .outerjoin(AnswerSummary, AnswerSummary.question_attempt_id == QuestionAttempt.id)
        .where(where)
        .order_by(QuestionAttempt.attempt_id, QuestionAttempt.slot)
    )
    return query


def _last_seq() -> Any:
    return (select(func.max(Step.seq)).where(Step.question_attempt_id == QuestionAttempt.id)
            .correlate(QuestionAttempt).scalar_subquery())


def stale(attempt_ids: Sequence[int] | BindParameter[Any]) -> ColumnElement[bool]:
    """For :func:`detail_rows`: the current question attempts of these attempts whose summary is
    missing or older than their last step."""
    return and_(QuestionAttempt.attempt_id.in_(attempt_ids), QuestionAttempt.replaced_at.is_(None),
                or_(AnswerSummary.question_attempt_id.is_(None), AnswerSummary.seq != _last_seq()))


SUMMARY_COLUMNS = ("attempt_id", "slot", "item_version_id", "max_mark", "seed", "fraction", "misconception",
                   "chosen", "options", "drawn")
"""What :func:`summary_rows` gives per current question attempt, in this order: the question
attempt's own columns, then its summary's (:class:`AnswerSummary`): ``fraction`` only where graded
(None while it awaits a grader), ``options`` None where the question attempt has no summary yet."""


def _summary_select() -> Select[Any]:
    """:data:`SUMMARY_COLUMNS` of current question attempts, their summaries outer joined."""
    s = AnswerSummary
    return (select(QuestionAttempt.attempt_id, QuestionAttempt.slot, QuestionAttempt.item_version_id,
                   QuestionAttempt.max_mark, QuestionAttempt.seed,
                   case((s.state == "needsgrading", None), else_=s.fraction).label("fraction"), s.misconception,
                   s.chosen, s.options, s.drawn)
            .outerjoin(s, s.question_attempt_id == QuestionAttempt.id)
            .where(QuestionAttempt.replaced_at.is_(None)))


def summary_rows(session: Session, attempts: ColumnElement[bool]) -> list[tuple[Any, ...]]:
    """Every current question attempt of the attempts (a condition on :class:`Attempt`): one narrow
    row each, its summary outer joined, as plain tuples, in no particular order (sorting them in
    the database cost a fifth of the read; the caller sorts them if they are not in order already)."""
    query = _summary_select().join(Attempt, Attempt.id == QuestionAttempt.attempt_id).where(attempts)
    return list(session.connection().execute(query).all())


@functools.cache
def _packing_query() -> Select[Any]:
    return _summary_select().where(QuestionAttempt.attempt_id.in_(bindparam("attempt_ids", expanding=True)))


def packing_rows(session: Session, attempt_ids: Sequence[int]) -> list[Row[Any]]:
    """:func:`summary_rows` of these attempts (by id, the statement built once), named by
    :data:`SUMMARY_COLUMNS`: what their :class:`AttemptSummary` rows are packed from."""
    return list(session.connection().execute(_packing_query(), {"attempt_ids": list(attempt_ids)}).all())


def packed_rows(session: Session, attempts: ColumnElement[bool]) -> list[Any]:
    """The attempts (a condition on :class:`Attempt`) by id, each with its packed summaries
    (:class:`AttemptSummary`: ``numbers``, ``texts``, ``drawn`` and ``chosen``, None where it has none)."""
    query = (select(Attempt.id, AttemptSummary.numbers, AttemptSummary.texts, AttemptSummary.drawn,
                    AttemptSummary.chosen)
             .outerjoin(AttemptSummary, AttemptSummary.attempt_id == Attempt.id)
             .where(attempts).order_by(Attempt.id))
    return list(session.connection().execute(query).all())


def versions(session: Session, ids: Iterable[int]) -> dict[int, tuple[ItemVersion, str]]:
    """The item versions (few: one per distinct item and version answered) with their item's key."""
    rows = session.execute(select(ItemVersion, Item.key).join(Item, Item.id == ItemVersion.item_id)
                           .where(ItemVersion.id.in_(set(ids))))
    return {version.id: (version, key) for version, key in rows}
