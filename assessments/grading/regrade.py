"""Regrading a quiz after an item is fixed: a whole quiz in one pass, in short transactions.

A regrade replays each finished attempt's question attempts whose item version is not the one the
quiz now pins (its instructors moved it: :func:`assessments.quizzes.service.update_pins`) against
that version, with the same seed (:meth:`engine.attempts.QuestionAttempt.replay`). Committing it
never touches a step: the old question attempt is marked ``replaced_at`` (kept for audit) and a
new one, on the pinned version, holds the replayed steps, with its row in the grade audit trail.

It is built to take a term's quiz at once rather than attempt by attempt:

* the quiz's pinned versions are read once; the stale question attempts, their steps (only the
  columns needed, with Core) and the other slots' last marks are read in batches
  (:mod:`assessments.grading.regrade_reading`, which reads; this module thinks and writes);
* the variants of each version are made with :func:`engine.variants.generate_batch`, one call per
  version, not one per student;
* a dry run grades the final responses of deferred-feedback questions with the vectorised grader
  (:func:`engine.grading.grade_responses`): for them, what the replay gives depends on that
  response alone. Wherever the history matters (interactive tries and their penalties, immediate
  feedback's submits, a person's grade, an item whose type changed) it replays step by step;
* a commit replays every stale question attempt (the stored steps carry each student's feedback,
  which the vectorised grader does not write) and writes in batches of
  :data:`ATTEMPTS_PER_TRANSACTION` attempts (:data:`ATTEMPTS_PER_TRANSACTION_POSTGRESQL` on
  PostgreSQL), each its own transaction on a request's session, so
  that SQLite's write lock is held for tens of milliseconds at a time and students' saves go
  between. Each batch checks under the lock that nothing moved since it was read (a grade given
  meanwhile) and replays again what did. A batch's rows go in a statement per table (on
  PostgreSQL, its steps and audit rows with ``COPY``: :func:`_insert`).

A commit with any question that cannot be replayed (a fixed item that no longer fits its stored
behaviour or responses) is refused whole, before anything is written. A question whose mark a
person pinned (a manual grade or an override) keeps it; the dry run lists those with the mark the
regrade would have given without the override, so that the instructor can clear it
(:func:`assessments.grading.overrides.clear`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Float, Integer, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from assessments import events
from assessments.audit.service import MANUALLY_GRADED_BEHAVIOUR
from assessments.bank.service import cached_variant, item_model
from assessments.bulk import collector_paused
from assessments.db import done_reading, reading, written
from assessments.deps import Principal
from assessments.errors import DomainError, Invalid
from assessments.grading.regrade_reading import (
    READ_BATCH,
    Head,
    Light,
    Stale,
    Target,
    chunks,
    heads,
    load_light_steps,
    load_steps,
    pinned_targets,
    stale_questions,
)
from assessments.grading.schemas import (
    PinnedMark,
    RegradedAttempt,
    RegradedQuestion,
    RegradedStudent,
    RegradeProblem,
    RegradeResult,
)
from assessments.grading.service import instructor_quiz
from assessments.models import (
    Attempt,
    AttemptState,
    GradeChange,
    GradeChangeKind,
    ItemVersion,
    QuestionAttempt,
    Step,
    User,
)
from engine.attempts import Action, AttemptError
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.attempts import Step as EngineStep
from engine.behaviours import behaviour_for
from engine.grading import grade_responses
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.states import QuestionState, graded_state_for
from engine.variants import VariantBatch, generate_batch

__all__ = ["ATTEMPTS_PER_TRANSACTION", "ATTEMPTS_PER_TRANSACTION_POSTGRESQL", "READ_BATCH", "Stale", "Target",
           "grade_final_responses", "regrade", "replay_all"]

ATTEMPTS_PER_TRANSACTION = 40
"""Attempts written per transaction by a commit on SQLite: a few tens of milliseconds of its write
lock, which every student's save waits for (about 15 ms at 40 on a quiet host)."""
ATTEMPTS_PER_TRANSACTION_POSTGRESQL = 100
"""The same on PostgreSQL, where a batch holds the row locks of its own finished attempts only
(nobody else writes them) and each of its dozen statements is a round trip: 100 a batch (about
70 ms) took a 2,000-attempt commit from 2.15-2.23 s to 1.83 s on a 2-core host."""
VECTORISED_BEHAVIOURS = frozenset({"deferredfeedback"})
"""Behaviours whose replayed outcome is the grade of the last saved response, when no person graded."""

_ATTEMPTS, _QUESTIONS, _STEPS, _USERS, _CHANGES = (
    cast("Table", m.__table__) for m in (Attempt, QuestionAttempt, Step, User, GradeChange))
_a, _q, _u = _ATTEMPTS.c, _QUESTIONS.c, _USERS.c
_NEW_MARKS = func.unnest(bindparam("ids", type_=postgresql.ARRAY(Integer)),
                         bindparam("marks", type_=postgresql.ARRAY(Float))).table_valued("aid", "m").render_derived(
                             name="new_marks")
"""A batch's attempts and their new marks as rows (PostgreSQL: :func:`_replace`)."""

# --- variants -----------------------------------------------------------------------------------


def _model(session: Session, target: Target, shuffle: bool) -> ItemBase:
    version = session.get(ItemVersion, target.id)
    assert version is not None
    model = item_model(version)
    if not shuffle and model.shuffle and model.type_name != "ordering":  # as variant_of does
        model = model.model_copy(update={"shuffle": False})
    return model


def _as_shown(batch: VariantBatch, rows: Sequence[Stale]) -> VariantBatch:
    """The batch with each row's option order as its student saw it, where the stored order is
    an order of as many options (the rule of :func:`assessments.bank.service.cached_variant`)."""
    if batch.order is None:
        return batch
    order = batch.order.copy()
    changed = False
    for n, question in enumerate(rows):
        shown = question.asked.shown
        if shown is not None and sorted(shown) == list(range(order.shape[1])) and tuple(shown) != tuple(order[n]):
            order[n] = shown
            changed = True
    return dataclasses.replace(batch, order=order) if changed else batch


def make_variants(session: Session, stale: Sequence[Stale], problems: list[RegradeProblem]) -> dict[
        tuple[int, bool], tuple[VariantBatch, list[Stale]]]:
    """Each stale question's variant of its target version, one :func:`generate_batch` per
    version (and shuffle setting). A batch that cannot be made is made seed by seed, so that the
    seeds that fail are named and the others still regrade."""
    groups: dict[tuple[int, bool], list[Stale]] = {}
    for question in stale:
        groups.setdefault((question.target.id, question.asked.shuffle), []).append(question)
    batches = {}
    for (_, shuffle), rows in groups.items():
        try:
            model = _model(session, rows[0].target, shuffle)
            batch = _as_shown(generate_batch(model, [q.asked.seed for q in rows]), rows)
        except (ValueError, DomainError):
            batch = None
        if batch is None:
            for question in rows:
                try:
                    question.variant = cached_variant(question.target.content_hash, question.asked.seed, shuffle,
                                                      functools.partial(_version, session, question),
                                                      question.asked.shown)
                except (ValueError, DomainError) as exc:
                    problems.append(_problem(question, str(getattr(exc, "message", exc))))
            continue
        for n, question in enumerate(rows):
            question.variant = batch[n]
        batches[(rows[0].target.id, shuffle)] = (batch, rows)
    return batches


def _version(session: Session, question: Stale) -> ItemVersion:
    found = session.get(ItemVersion, question.target.id)
    assert found is not None
    return found


def _problem(question: Stale, message: str) -> RegradeProblem:
    return RegradeProblem(attempt_id=question.asked.attempt_id, slot=question.asked.slot,
                          item=question.target.item_key, new_version=question.target.number, message=message)


# --- grading ------------------------------------------------------------------------------------


def _vectorised(question: Stale) -> bool:
    """Whether the replay's outcome is the grade of the last saved response: deferred feedback,
    finished by its finish step, graded by no person, on an item of the same automatically graded
    type."""
    steps = question.light or [Light(s.seq, s.action.value, s.state.value, s.fraction, s.response)
                               for s in question.steps]
    return (question.asked.behaviour in VECTORISED_BEHAVIOURS and question.old_type == question.target.type
            and question.target.type != "essay" and bool(steps) and steps[-1].action == Action.FINISH.value
            and all(s.action != Action.MANUAL_GRADE.value for s in steps))


def _last_response(question: Stale) -> dict[str, Any] | None:
    steps: Sequence[Light | EngineStep] = question.light or question.steps
    return next((s.response for s in reversed(steps) if s.response is not None), None)


def grade_final_responses(batch: VariantBatch, rows: Sequence[Stale]) -> None:
    """A deferred-feedback question's replayed outcome, from its last saved response graded with
    the vectorised grader: blank or invalid gives up (fraction 0), as finishing does."""
    chosen = [(n, q) for n, q in enumerate(rows) if q.variant is not None and _vectorised(q)]
    if not chosen:
        return
    qtype = qtype_for(batch.item)
    gradable = []
    for n, question in chosen:
        response = _last_response(question)
        if response is None or qtype.is_blank(response):
            question.new_state, question.new_fraction = QuestionState.GAVEUP, 0.0
        else:
            gradable.append((n, question, response))
    if not gradable:
        return
    graded = grade_responses(batch, [r for _, _, r in gradable], np.array([n for n, _, _ in gradable]))
    for (_, question, _), fraction in zip(gradable, graded.fraction.tolist(), strict=True):
        if math.isnan(fraction):
            question.new_state, question.new_fraction = QuestionState.GAVEUP, 0.0
        else:
            question.new_state, question.new_fraction = graded_state_for(fraction), fraction


def replay(question: Stale, *, manual: bool = True) -> EngineAttempt:
    """The question's steps replayed against its variant of the target version."""
    assert question.variant is not None
    asked = question.asked
    return EngineAttempt.replay(question.steps, question.variant,
                                behaviour_for(asked.behaviour, **asked.behaviour_options),
                                max_mark=asked.max_mark, manual=manual)


def replay_all(questions: Sequence[Stale], problems: list[RegradeProblem], *, only_unknown: bool) -> None:
    """Replay step by step: every question, or (``only_unknown``) those the vectorised grader
    did not settle."""
    for question in questions:
        if question.variant is None or (only_unknown and question.new_state is not None):
            continue
        try:
            question.new = replay(question)
        except (AttemptError, DomainError, ValueError) as exc:
            problems.append(_problem(question, str(getattr(exc, "message", exc))))
            continue
        question.new_state, question.new_fraction = question.new.state, question.new.fraction


# --- the report ---------------------------------------------------------------------------------


def _new_marks(heads_of: Sequence[Head], replaced: dict[int, Stale]) -> float | None:
    """The attempt's marks with the replayed questions' new fractions (as
    :func:`assessments.attempts.service.totals` sums them: slot order, None while any question
    awaits a grader)."""
    states = [(replaced[h.id].new_state, replaced[h.id].new_fraction, h.max_mark) if h.id in replaced
              else (h.state, h.fraction, h.max_mark) for h in heads_of]
    if any(state == QuestionState.NEEDSGRADING for state, _, _ in states):
        return None
    return sum((fraction * max_mark if fraction is not None else None) or 0.0 for _, fraction, max_mark in states)


def _pinned(question: Stale) -> PinnedMark | None:
    """The question's row in the list of marks a person pinned, if one did (a fraction given
    as it is; a rubric's selections are scored against the new rubric, so they pin nothing)."""
    pin = next((s for s in reversed(question.steps) if s.manual is not None and (s.manual.cleared or (
        s.manual.fraction is not None))), None)
    if pin is None or pin.manual is None or pin.manual.cleared or pin.manual.rubric is not None:
        return None
    if question.variant is None:
        return None
    try:
        alone = replay(question, manual=False)
    except (AttemptError, DomainError, ValueError):
        return None
    kind = (GradeChangeKind.MANUAL_GRADE if question.asked.behaviour == MANUALLY_GRADED_BEHAVIOUR
            else GradeChangeKind.OVERRIDE)
    return PinnedMark(attempt_id=question.asked.attempt_id, number=question.attempt_number,
                      user_id=question.user_id, username="", display_name="", slot=question.asked.slot,
                      item=question.target.item_key, kind=kind.value, state=question.old_state.value,
                      mark=question.mark(question.old_fraction), would_be_state=alone.state.value,
                      would_be_mark=alone.mark, max_mark=question.asked.max_mark)


def _report(session: Session, quiz_id: int, stale: Sequence[Stale], marks: dict[int, float | None], *,
            dry_run: bool, now: datetime, problems: list[RegradeProblem]) -> RegradeResult:
    done = [q for q in stale if q.new_state is not None]
    users = {row.id: row for row in session.connection().execute(
        select(_u.id, _u.username, _u.display_name).where(_u.id.in_({q.user_id for q in done})))}
    students: dict[int, RegradedStudent] = {}
    attempts: dict[int, RegradedAttempt] = {}
    pinned = []
    for question in done:
        user = users[question.user_id]
        aid = question.asked.attempt_id
        if aid not in attempts:
            student = students.setdefault(user.id, RegradedStudent(
                user_id=user.id, username=user.username, display_name=user.display_name, attempts=[]))
            attempts[aid] = RegradedAttempt(attempt_id=aid, number=question.attempt_number, preview=question.preview,
                                            old_marks=question.old_marks, new_marks=marks.get(aid),
                                            max_marks=question.max_marks, questions=[])
            student.attempts.append(attempts[aid])
        attempts[aid].questions.append(RegradedQuestion(
            slot=question.asked.slot, item=question.target.item_key, old_version=question.old_version,
            new_version=question.target.number, old_state=question.old_state.value,
            new_state=question.new_state.value if question.new_state else "", old_fraction=question.old_fraction,
            new_fraction=question.new_fraction, old_mark=question.mark(question.old_fraction),
            new_mark=question.mark(question.new_fraction)))
        row = _pinned(question)
        if row is not None:
            pinned.append(row.model_copy(update={"username": user.username, "display_name": user.display_name}))
    for student in students.values():
        student.attempts.sort(key=lambda a: a.number)
    in_progress = session.connection().execute(select(func.count(_a.id)).where(
        _a.quiz_id == quiz_id, _a.state == AttemptState.IN_PROGRESS)).scalar_one()
    return RegradeResult(
        quiz_id=quiz_id, dry_run=dry_run, committed=not dry_run and bool(done), at=now, questions=len(done),
        skipped_in_progress=in_progress, students=sorted(students.values(), key=lambda s: s.username),
        problems=problems, pinned=sorted(pinned, key=lambda p: (p.username, p.number, p.slot)))


# --- writing ------------------------------------------------------------------------------------


def _replay_moved(session: Session, moved: Sequence[Stale]) -> None:
    """Read and replay again the questions a person graded since the regrade read them."""
    if not moved:
        return
    for question in moved:
        question.steps, question.actors = [], {}
    load_steps(session, moved)
    problems: list[RegradeProblem] = []
    replay_all(moved, problems, only_unknown=False)
    if problems:
        raise Invalid("the regrade was refused part-way: a question changed meanwhile and can no "
                      "longer be replayed", details=[p.model_dump() for p in problems], code="regrade_impossible")


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows (all with the same keys). On PostgreSQL with ``COPY ... FROM STDIN``: psycopg's
    executemany sends an ``INSERT`` per row (pipelined, but each one bound, executed and checked on
    its own), which took about twice as long for a batch's steps; each value is first made what
    SQLAlchemy would bind for its column (JSON, enums, aware times), so the rows are the same."""
    dialect = connection.dialect
    if dialect.name != "postgresql" or not rows:
        connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    quote = dialect.identifier_preparer
    columns = ", ".join(quote.quote(table.c[name].name) for name in names)  # the table's own columns only
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {quote.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] if process is None else process(row[name])
                            for name, process in zip(names, processors, strict=True)])


def _replace(connection: Connection, old_ids: list[int], rows: list[dict[str, Any]], marks: dict[int, float | None],
             now: datetime) -> dict[tuple[int, int], int]:
    """Mark the old question attempts replaced, insert the new ones (``rows``) and set the
    attempts' new marks; (attempt id, slot) → the new question attempt's id.

    On PostgreSQL the first two and the ids of the new rows are one statement (the updates as
    ``WITH`` clauses of the ``SELECT`` that draws the ids from the table's sequence; the marks
    from ``unnest(ids, marks)``, the same statement every batch), then the rows go in with
    ``COPY`` (:func:`_insert`): under load each round trip waited milliseconds for PostgreSQL,
    and an ``INSERT ... RETURNING`` of 40 question attempts took 4.5-9 ms against 2.5 ms."""
    replaced = update(_QUESTIONS).where(_q.id.in_(old_ids)).values(replaced_at=now)
    if connection.dialect.name != "postgresql":
        connection.execute(replaced)
        new_ids = {(aid, slot): qa_id for aid, slot, qa_id in connection.execute(
            insert(_QUESTIONS).returning(_q.attempt_id, _q.slot, _q.id), rows).all()}
        connection.execute(update(_ATTEMPTS).where(_a.id == bindparam("aid")).values(marks=bindparam("m")),
                           [{"aid": aid, "m": m} for aid, m in marks.items()])
        return new_ids
    new = _NEW_MARKS.c
    marked = update(_ATTEMPTS).where(_a.id == new.aid).values(marks=new.m)
    sequence = func.pg_get_serial_sequence(_QUESTIONS.name, _q.id.name)
    ids = connection.execute(
        select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
        .add_cte(replaced.returning(_q.id).cte("replaced"), marked.returning(_a.id).cte("marked")),
        {"ids": list(marks), "marks": list(marks.values())}).scalars().all()
    rows = [{"id": qa_id, **row} for qa_id, row in zip(ids, rows, strict=True)]
    _insert(connection, _QUESTIONS, rows)
    return {(row["attempt_id"], row["slot"]): row["id"] for row in rows}


def _write(session: Session, principal: Principal, quiz_id: int, course_id: int, batch: Sequence[Stale],
           now: datetime) -> dict[int, float | None]:
    """Replace a batch's question attempts, under the lock: what moved since it was read (a grade
    given meanwhile) is read and replayed again; what a regrade replaced meanwhile is left. Returns
    the attempts' new marks."""
    attempt_ids = sorted({q.asked.attempt_id for q in batch})
    connection = session.connection()
    if connection.dialect.name != "sqlite":  # SQLite's writer holds the whole database already
        connection.execute(select(_a.id).where(_a.id.in_(attempt_ids)).with_for_update())
    found = heads(session, attempt_ids, [q.asked.id for q in batch])
    by_id = {h.id: h for h in found}
    _replay_moved(session, [q for q in batch if by_id[q.asked.id].seq != q.last_seq])
    writing = [q for q in batch if not by_id[q.asked.id].replaced and q.new is not None]
    current: dict[int, list[Head]] = {}
    for head in found:
        if not head.replaced:
            current.setdefault(head.attempt_id, []).append(head)
    replaced = {q.asked.id: q for q in writing}
    marks = {aid: _new_marks(current[aid], replaced) for aid in {q.asked.attempt_id for q in writing}}
    if not writing:
        return marks
    rows = [{"attempt_id": q.asked.attempt_id, "slot": q.asked.slot, "item_version_id": q.target.id,
             "seed": q.asked.seed, "variant": {**q.variant.to_json(), "shuffle": q.asked.shuffle},  # type: ignore[union-attr]
             "behaviour": q.asked.behaviour, "behaviour_options": q.asked.behaviour_options,
             "max_mark": q.asked.max_mark, "flagged": q.asked.flagged, "replaced_at": None} for q in writing]
    new_ids = _replace(connection, [q.asked.id for q in writing], rows, marks, now)
    steps, changes = [], []
    actor = principal.user
    for question in writing:
        new = question.new
        assert new is not None
        qa_id = new_ids[(question.asked.attempt_id, question.asked.slot)]
        steps += [{"question_attempt_id": qa_id, "seq": s.seq, "action": s.action.value, "state": s.state.value,
                   "fraction": s.fraction, "response": s.response, "data": s.to_json(),
                   "actor_id": question.actors.get(s.actor), "created_at": s.at} for s in new.steps]
        old_head = by_id[question.asked.id]
        aid = question.asked.attempt_id
        changes.append({
            "at": now, "kind": GradeChangeKind.REGRADE, "actor_id": actor.id, "actor_username": actor.username,
            "course_id": course_id, "quiz_id": quiz_id, "attempt_id": aid, "student_id": question.user_id,
            "slot": question.asked.slot, "question_attempt_id": qa_id, "step_seq": new.last_step.seq,
            "item_key": question.target.item_key, "old_version": question.old_version,
            "new_version": question.target.number, "old_state": old_head.state, "new_state": new.state.value,
            "old_fraction": old_head.fraction, "new_fraction": new.fraction,
            "old_mark": question.mark(old_head.fraction), "new_mark": new.mark, "max_mark": question.asked.max_mark,
            "old_marks": question.old_marks, "new_marks": marks[aid], "max_marks": question.max_marks,
            "comment": None, "reason": None})
    _insert(connection, _STEPS, steps)
    _insert(connection, _CHANGES, changes)
    for question in {q.asked.attempt_id: q for q in writing}.values():
        if not question.preview:  # a preview is counted nowhere: no passback, no grade moves
            events.publish(session, events.GradeChanged(question.asked.attempt_id, quiz_id, question.user_id), now)
    return marks


# --- the operation --------------------------------------------------------------------------------


def regrade(session: Session, principal: Principal, quiz_id: int, *, dry_run: bool,
            now: datetime) -> RegradeResult:
    """Replay every finished attempt's questions whose item version is not the one the quiz pins.

    A dry run changes nothing and reports what a commit would do, with the marks a person pinned.
    A commit with any question that cannot be replayed is refused whole, before anything is
    written; otherwise it writes in short transactions (see the module's documentation). The
    cyclic garbage collector is paused meanwhile (:func:`assessments.bulk.collector_paused`): the
    steps' data, the replays and the rows to write are hundreds of thousands of containers alive
    until the end, and each full collection walked them and the app's own; four of them took 0.6 s
    of a 2,000-attempt regrade's 2 s of CPU.
    """
    with collector_paused():
        return _regrade(session, principal, quiz_id, dry_run=dry_run, now=now)


def _regrade(session: Session, principal: Principal, quiz_id: int, *, dry_run: bool,
             now: datetime) -> RegradeResult:
    reading(session)
    quiz, course = instructor_quiz(session, principal, quiz_id)
    problems: list[RegradeProblem] = []
    targets = pinned_targets(session, quiz.id)
    stale = stale_questions(session, quiz.id, targets)
    batches = make_variants(session, stale, problems)
    if dry_run:  # the engine's data of the steps only where the vectorised grader does not settle them
        load_light_steps(session, stale)
        for variants, rows in batches.values():
            grade_final_responses(variants, rows)
        load_steps(session, [q for q in stale if q.new_state is None])
    else:
        load_steps(session, stale)
    replay_all(stale, problems, only_unknown=dry_run)
    if problems and not dry_run:
        raise Invalid("the regrade was refused; nothing was changed",
                      details=[p.model_dump() for p in problems], code="regrade_impossible")
    stale = [q for q in stale if q.new_state is not None]
    by_attempt: dict[int, list[Stale]] = {}
    for question in stale:
        by_attempt.setdefault(question.asked.attempt_id, []).append(question)
    marks: dict[int, float | None] = {}
    attempt_ids = list(by_attempt)
    if dry_run:
        for chunk in chunks(attempt_ids, READ_BATCH):
            found = heads(session, chunk, [])
            current: dict[int, list[Head]] = {}
            for head in found:
                current.setdefault(head.attempt_id, []).append(head)
            for aid in chunk:
                marks[aid] = _new_marks(current[aid], {q.asked.id: q for q in by_attempt[aid]})
        return _report(session, quiz.id, stale, marks, dry_run=True, now=now, problems=problems)
    per_transaction = (ATTEMPTS_PER_TRANSACTION_POSTGRESQL if session.get_bind().dialect.name == "postgresql"
                       else ATTEMPTS_PER_TRANSACTION)
    for chunk in chunks(attempt_ids, per_transaction):
        # Each batch a writer's transaction: written() leaves the session reading, and a batch
        # begun as a reader would write without SQLite's write lock, and fail ("database is
        # locked") when a student's save commits between its reads and its writes.
        done_reading(session)
        batch = [q for aid in chunk for q in by_attempt[aid]]
        marks.update(_write(session, principal, quiz.id, course.id, batch, now))
        written(session)
    reading(session)
    return _report(session, quiz.id, stale, marks, dry_run=False, now=now, problems=problems)
