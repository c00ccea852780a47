"""Every query of attempts.

Most return ORM objects. The queries of a save (the request students make most) read and write
plain rows through the session's connection instead: :class:`Answering` and :class:`Asked` carry
what acting on one question needs, and nothing the ORM would have to track.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from assessments.models import Attempt, AttemptState, ItemVersion, QuestionAttempt, Step

_ATTEMPTS = cast("Table", Attempt.__table__)
_QUESTIONS = cast("Table", QuestionAttempt.__table__)
_STEPS = cast("Table", Step.__table__)
_VERSIONS = cast("Table", ItemVersion.__table__)


def attempt(session: Session, attempt_id: int, *, lock: bool = False) -> Attempt | None:
    query = select(Attempt).where(Attempt.id == attempt_id)
    if lock:
        # Serialises saves and submits of one attempt (PostgreSQL; SQLite writes one at a time).
        query = query.with_for_update()
    return session.scalars(query).first()


def open_attempt(session: Session, quiz_id: int, user_id: int) -> Attempt | None:
    return session.scalars(select(Attempt).where(
        Attempt.quiz_id == quiz_id, Attempt.user_id == user_id,
        Attempt.state == AttemptState.IN_PROGRESS)).first()


_ATTEMPTS_OF = select(Attempt).where(Attempt.quiz_id == bindparam("quiz_id"),
                                     Attempt.user_id == bindparam("user_id")).order_by(Attempt.number)


def attempts_of(session: Session, quiz_id: int, user_id: int) -> list[Attempt]:
    return list(session.scalars(_ATTEMPTS_OF, {"quiz_id": quiz_id, "user_id": user_id}))


def last_number(session: Session, quiz_id: int, user_id: int) -> int:
    return session.scalar(select(func.max(Attempt.number)).where(
        Attempt.quiz_id == quiz_id, Attempt.user_id == user_id)) or 0


def question_attempts(session: Session, attempt_id: int) -> list[QuestionAttempt]:
    return list(session.scalars(select(QuestionAttempt).where(
        QuestionAttempt.attempt_id == attempt_id, QuestionAttempt.replaced_at.is_(None))
        .order_by(QuestionAttempt.slot)))


def steps_of(session: Session, qa_ids: list[int]) -> dict[int, list[Step]]:
    out: dict[int, list[Step]] = {i: [] for i in qa_ids}
    for step in session.scalars(select(Step).where(Step.question_attempt_id.in_(qa_ids))
                                .order_by(Step.question_attempt_id, Step.seq)):
        out[step.question_attempt_id].append(step)
    return out


def step_data(session: Session, qa_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each question attempt's steps as the engine stores them (``data``), in order: what
    rebuilding a question needs, read as plain rows."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in qa_ids}
    if qa_ids:
        for qa_id, data in session.connection().execute(_STEPS_OF, {"qa_ids": qa_ids}):
            out[qa_id].append(data)
    return out


def overdue(session: Session, before: object) -> list[int]:
    return list(session.scalars(select(Attempt.id).where(
        Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline_at.is_not(None),
        Attempt.deadline_at < before)))


# --- a save's queries, as plain rows ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asked:
    """How a question attempt is asked: what rebuilding the engine's view of it needs."""

    id: int
    attempt_id: int
    slot: int
    item_version_id: int
    seed: int
    shuffle: bool
    behaviour: str
    behaviour_options: dict[str, Any]
    max_mark: float
    shown: tuple[int, ...] | None = None
    """The option order stored with it: the one its student saw."""
    flagged: bool = False

    @classmethod
    def of(cls, row: QuestionAttempt) -> Asked:
        return cls(row.id, row.attempt_id, row.slot, row.item_version_id, row.seed,
                   bool(row.variant.get("shuffle", True)), row.behaviour, row.behaviour_options, row.max_mark,
                   _shown(row.variant), bool(row.flagged))

    @classmethod
    def from_row(cls, row: Any) -> Asked:
        """From a row of ``question_attempts`` columns (its id as ``qa_id``)."""
        return cls(row.qa_id, row.attempt_id, row.slot, row.item_version_id, row.seed,
                   bool(row.variant.get("shuffle", True)), row.behaviour, row.behaviour_options, row.max_mark,
                   _shown(row.variant), bool(row.flagged))


def _shown(variant: dict[str, Any]) -> tuple[int, ...] | None:
    order = variant.get("order")
    return tuple(order) if order is not None else None


@dataclass(frozen=True, slots=True)
class Answering:
    """An attempt as answering one of its questions sees it: whose it is, whether it is open, its
    deadline, and the question at the slot asked for (with its version's content hash) if any."""

    id: int
    user_id: int
    state: AttemptState
    deadline_at: datetime | None
    question: Asked | None
    content_hash: str | None


_a, _q, _s, _v = _ATTEMPTS.c, _QUESTIONS.c, _STEPS.c, _VERSIONS.c
_ASKED_COLUMNS = (_q.id.label("qa_id"), _q.attempt_id, _q.slot, _q.item_version_id, _q.seed, _q.variant,
                  _q.behaviour, _q.behaviour_options, _q.max_mark, _q.flagged)
_ANSWERING = (
    select(_a.id, _a.user_id, _a.state, _a.deadline_at, *_ASKED_COLUMNS, _v.content_hash)
    .select_from(_ATTEMPTS)
    .outerjoin(_QUESTIONS, and_(_q.attempt_id == _a.id, _q.slot == bindparam("slot"), _q.replaced_at.is_(None)))
    .outerjoin(_VERSIONS, _v.id == _q.item_version_id)
    .where(_a.id == bindparam("attempt_id"))
)
_ASKED = (select(*_ASKED_COLUMNS, _v.content_hash).join(_VERSIONS, _v.id == _q.item_version_id)
          .where(_q.attempt_id == bindparam("attempt_id"), _q.replaced_at.is_(None)).order_by(_q.slot))
_STEPS_OF = (select(_s.question_attempt_id, _s.data)
             .where(_s.question_attempt_id.in_(bindparam("qa_ids", expanding=True)))
             .order_by(_s.question_attempt_id, _s.seq))
_STEP_DATA = select(_s.data).where(_s.question_attempt_id == bindparam("qa_id")).order_by(_s.seq)
_LAST_SEQ = select(func.max(_s.seq)).where(_s.question_attempt_id == _q.id).scalar_subquery()
_HEAD = (select(_a.state, _q.replaced_at, _LAST_SEQ.label("seq"))
         .select_from(_ATTEMPTS).join(_QUESTIONS, _q.id == bindparam("qa_id"))
         .where(_a.id == bindparam("attempt_id")))
_LOCK = select(_a.id).where(_a.id == bindparam("attempt_id")).with_for_update()
_INSERT_STEP = insert(_STEPS)
_INSERT_QUESTIONS = insert(_QUESTIONS).returning(_q.slot, _q.id)


def answering(session: Session, attempt_id: int, slot: int) -> tuple[Answering, list[dict[str, Any]]] | None:
    """The attempt and its current question at ``slot``, with that question's steps (the
    engine's ``data`` of each, in order); None when there is no such attempt."""
    connection = session.connection()
    found = connection.execute(_ANSWERING, {"attempt_id": attempt_id, "slot": slot}).first()
    if found is None:
        return None
    asked = None
    steps: list[dict[str, Any]] = []
    if found.qa_id is not None:
        asked = Asked.from_row(found)
        steps = list(connection.execute(_STEP_DATA, {"qa_id": found.qa_id}).scalars())
    return Answering(found.id, found.user_id, found.state, found.deadline_at, asked, found.content_hash), steps


def asked(session: Session, attempt_id: int) -> list[tuple[Asked, str]]:
    """The attempt's current question attempts in slot order, each with its item version's
    content hash (what the variant cache is keyed by: the version's definition is read only on
    a miss)."""
    rows = session.connection().execute(_ASKED, {"attempt_id": attempt_id})
    return [(Asked.from_row(row), row.content_hash) for row in rows]


def head(session: Session, attempt_id: int, qa_id: int, *, lock: bool = False,
         ) -> tuple[AttemptState, bool, int] | None:
    """The attempt's state (its row locked for update first, if asked), whether the question
    attempt has been replaced (by a regrade), and its last step's seq.

    Locked, it takes two statements where rows are locked (PostgreSQL): a statement that waited
    for the lock still reads from the snapshot it started with, so the head is read by a second
    one, which sees what the lock's previous holder committed. SQLite's writer holds the whole
    database from ``BEGIN IMMEDIATE``: one statement does.
    """
    connection = session.connection()
    if lock and connection.dialect.name != "sqlite":
        connection.execute(_LOCK, {"attempt_id": attempt_id})
    found = connection.execute(_HEAD, {"attempt_id": attempt_id, "qa_id": qa_id}).first()
    return None if found is None else (found.state, found.replaced_at is not None, int(found.seq))


_INSERT_ATTEMPT = insert(Attempt).returning(Attempt.id)


def insert_attempt(session: Session, values: dict[str, Any]) -> int:
    """Insert an attempt (an ``attempts`` row as a dict); its id."""
    return int(session.connection().execute(_INSERT_ATTEMPT, values).scalar_one())


def insert_questions(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert an attempt's question attempts (``question_attempts`` rows as dicts, one per slot)
    in one statement; their ids, in the order of ``rows``. (Rows inserted together may come back
    in any order: each is matched by its slot.)"""
    if not rows:
        return []
    ids: dict[int, int] = dict(session.connection().execute(_INSERT_QUESTIONS, rows).all())
    return [ids[row["slot"]] for row in rows]


def set_flag(session: Session, attempt_id: int, slot: int, flagged: bool) -> bool:
    """Flag or unflag the current question attempt at ``slot``; whether there is one."""
    done = session.connection().execute(
        update(_QUESTIONS).where(_q.attempt_id == attempt_id, _q.slot == slot, _q.replaced_at.is_(None))
        .values(flagged=flagged))
    return bool(done.rowcount)


def insert_steps(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append steps (``question_attempt_steps`` rows as dicts) in one statement."""
    if rows:  # (no rows would be one row of defaults)
        session.connection().execute(_INSERT_STEP, rows)
