"""Answer summaries: what statistics read of each question attempt, written when it is graded.

Statistics need, per current question attempt of a counted attempt, its last step's state,
fraction and misconception, the options its last saved response chose and its drawn parameters.
Found from the steps, that is two index lookups per question attempt and JSON decoded for every
choice answer, on every ask. Here it is written once, as one narrow row of ``answer_summaries``
(:class:`assessments.models.AnswerSummary`), whenever a question attempt's grade may have moved:

* an attempt finished (submitted, or closed by the time-limit sweep): :class:`events.AttemptFinished`;
* a person graded a question, or cleared their grade, or a regrade was committed (a new question
  attempt replaces the old one): :class:`events.GradeChanged`.

The listener only notes the attempt (``session.info``); the summaries are written just before the
session commits, for every attempt noted in that transaction at once (a regrade's transaction of
25 attempts is one read and one insert, not 25), and only for question attempts whose summary is
missing or older than their last step. Then each noted attempt's summaries are packed into its
one row of ``attempt_summaries`` (:mod:`assessments.reports.packed`), which is what statistics
read at scale. Statistics read in a session with attempts still noted
write them first (:func:`write_due`), so they never read their own transaction's stale rows.

A question attempt without a summary (written before this table, restored from an old backup,
or copied in by SQL) is summarised when statistics read it, in memory
(:func:`assessments.reports.service`), and an attempt without a packed row is read from its
answer summaries, so a missing row costs time, never a wrong figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, delete, event, exists, insert, select
from sqlalchemy.orm import Session

from assessments import events
from assessments.models import AnswerSummary, Attempt, AttemptSummary, QuestionAttempt
from assessments.reports import packed, repository
from assessments.reports.breakdown import CHOICE_TYPES, chosen_options, drawn_text

DUE = "assay_answer_summaries_due"
"""``session.info`` key: the attempts whose summaries are written at the session's next commit."""
CHUNK = 500
"""Attempts summarised per query."""


@events.subscribe(events.AttemptFinished, events.GradeChanged)
def _grade_may_have_moved(session: Session, event_: events.AttemptFinished | events.GradeChanged,
                          now: datetime) -> None:  # noqa: ARG001 - a listener's signature
    session.info.setdefault(DUE, set()).add(event_.attempt_id)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(DUE):
        write_due(session)


def write_due(session: Session) -> None:
    """Write the summaries of the attempts noted in this session (nothing when none are), from
    what the session holds (flushed first: the commit flushes only after this)."""
    due = session.info.pop(DUE, None)
    if due:
        session.flush()
        write(session, sorted(due))


def summary(row: Any) -> dict[str, Any]:
    """A summary's values from a :func:`repository.detail_rows` row."""
    choice = row.type in CHOICE_TYPES
    order = json.loads(row.order) if choice and row.order else None
    response = json.loads(row.response) if choice and row.response else None
    chosen = chosen_options(row.type, order, response) if order and response else []
    return {"question_attempt_id": row.id, "attempt_id": row.attempt_id, "slot": row.slot,
            "item_version_id": row.item_version_id, "max_mark": row.max_mark, "seed": row.seed, "seq": row.seq,
            "state": row.state, "fraction": row.fraction, "misconception": row.misconception,
            "chosen": " ".join(str(c) for c in chosen) or None,
            "options": len(order) if isinstance(order, list) else 0,
            "drawn": drawn_text(params) if row.is_computed and isinstance(params := _loads(row.params), dict) else None}


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_DROP_REPLACED = delete(AnswerSummary).where(
    AnswerSummary.attempt_id.in_(_IDS),
    AnswerSummary.question_attempt_id.in_(select(QuestionAttempt.id).where(
        QuestionAttempt.attempt_id.in_(_IDS), QuestionAttempt.replaced_at.is_not(None)))
).returning(AnswerSummary.attempt_id)
_DROP = delete(AnswerSummary).where(AnswerSummary.question_attempt_id.in_(_IDS))
_INSERT = insert(AnswerSummary)
_UNPACKED = select(Attempt.id).where(Attempt.id.in_(_IDS), ~exists().where(AttemptSummary.attempt_id == Attempt.id))
_DROP_PACKED = delete(AttemptSummary).where(AttemptSummary.attempt_id.in_(_IDS))
_INSERT_PACKED = insert(AttemptSummary)
"""Statements built once, run on the session's connection (Core: building and the ORM's bulk
paths cost as much as the work)."""


def write(session: Session, attempt_ids: Iterable[int]) -> int:
    """(Re)write the summaries of these attempts' current question attempts that are missing or
    older than their last step, and drop those of question attempts a regrade replaced; then
    pack the summaries of each attempt that had one written or dropped, or has no packed row, into
    its :class:`AttemptSummary` (:mod:`assessments.reports.packed`); returns how many answer
    summaries were written."""
    ids = list(attempt_ids)
    connection = session.connection()
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        changed = set(connection.execute(_DROP_REPLACED, {"ids": chunk}).scalars())
        rows = [summary(row) for row in repository.stale_rows(session, chunk)]
        if rows:
            connection.execute(_DROP, {"ids": [r["question_attempt_id"] for r in rows]})
            connection.execute(_INSERT, rows)
        written += len(rows)
        repack = sorted(changed | {r["attempt_id"] for r in rows}
                        | set(connection.execute(_UNPACKED, {"ids": chunk}).scalars()))
        if repack:
            connection.execute(_DROP_PACKED, {"ids": repack})
            attempts = packed_rows(repository.packing_rows(session, repack))
            if attempts:
                connection.execute(_INSERT_PACKED, attempts)
    return written


def packed_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The :class:`AttemptSummary` rows of :func:`repository.packing_rows`: one per attempt whose
    current question attempts all have a summary (the others are read from their summaries)."""
    by_attempt: dict[int, list[Any]] = {}
    for row in rows:
        by_attempt.setdefault(row.attempt_id, []).append(row)
    out = []
    for attempt_id, answers in by_attempt.items():
        made = packed.pack(answers) if all(row.options is not None for row in answers) else None
        if made is not None:
            out.append({"attempt_id": attempt_id, "numbers": made[0], "texts": made[1], "drawn": made[2],
                        "chosen": made[3]})
    return out
