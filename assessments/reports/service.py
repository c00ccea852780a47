"""Quiz and item statistics from finished attempts, with flags for items that need a look.

Marks come from each slot's current question attempt (a committed regrade counts, the replaced
row does not); a slot awaiting manual grading is left out of that slot's figures (NaN) and the
attempt out of the test figures. Staff previews are never counted. Moodle's definitions are
computed by :mod:`engine.psychometrics`; this module gathers the data (one row per attempt, its
answer summaries packed: :mod:`assessments.reports.packed`, read by
:mod:`assessments.reports.repository` and decoded into numpy columns all at once; an attempt
without one is read from its answer summaries, :mod:`assessments.reports.summaries`) and reads
the results.

A slot with fewer than :data:`MIN_ATTEMPTS_FOR_FLAGS` graded answers raises no flag: its figures
are shown with "too few attempts (n = …)". With n answers the standard error of a facility near
one half is about 0.5/√n (0.16 at n = 10) and that of a correlation about 1/√(n − 3) (0.38 at
n = 10): below ten, "too hard" or "negative discrimination" would mostly be noise.

Computed statistics are kept in ``quiz_statistics`` with the fingerprint they were computed from
(:func:`assessments.reports.repository.fingerprint`: the counted attempts and the last grade
change); the next ask reads them back while the fingerprint holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from assessments.auth.access import require_instructor
from assessments.bank.banks import readable_current
from assessments.bank.service import item_model
from assessments.bulk import collector_paused
from assessments.deps import Principal
from assessments.jobs import enqueue, handler
from assessments.models import (
    AnswerSummary,
    Attempt,
    AttemptState,
    CourseRole,
    Enrolment,
    ItemVersion,
    Job,
    JobState,
    QuestionAttempt,
    Quiz,
    QuizStatisticsCache,
)
from assessments.quizzes.service import quiz_for
from assessments.reports import packed, repository, summaries
from assessments.reports.breakdown import Answers, breakdown, drawn_matrix, item_flags
from assessments.reports.schemas import Flag, ItemStatisticsOut, QuizStatistics, SlotStatistics, TestStatisticsOut
from engine.psychometrics import item_statistics, test_statistics

TOO_HARD, TOO_EASY = 0.1, 0.95
MIN_ATTEMPTS_FOR_FLAGS = 10
HISTOGRAM_BINS = 10


def _slot_flags(facility: float, discrimination: float) -> list[Flag]:
    flags = []
    if np.isfinite(discrimination) and discrimination < 0:
        flags.append(Flag(code="negative_discrimination",
                          message=f"students who did well overall did worse here (r = {discrimination:.2f})"))
    if np.isfinite(facility) and facility < TOO_HARD:
        flags.append(Flag(code="too_hard", message=f"facility {facility:.0%}: almost nobody got it"))
    if np.isfinite(facility) and facility > TOO_EASY:
        flags.append(Flag(code="too_easy", message=f"facility {facility:.0%}: almost everybody got it"))
    return flags


class _Read:
    """The current question attempts of some attempts, from their packed summaries
    (:mod:`assessments.reports.packed`), else their answer summaries (:mod:`assessments.reports.summaries`;
    one summarised in memory where it has none), as columns: per attempt and slot a mark (the
    ``marks`` matrix, NaN where not graded), and per (slot, item key) the answers as :class:`Answers`."""

    def __init__(self, session: Session, attempts: ColumnElement[bool]) -> None:
        summaries.write_due(session)
        self.attempt_ids: list[int] = []
        self.answers: dict[tuple[int, str], Answers] = {}
        self.titles: dict[str, str] = {}
        read = _columns(session, attempts)
        if read is None:
            return
        attempt_of, version_of = read.attempt, read.item_version_id
        # rows are in (attempt, slot) order: an attempt's rows are one run
        starts = np.flatnonzero(np.r_[True, attempt_of[1:] != attempt_of[:-1]])
        self.attempt_ids = attempt_of[starts].tolist()
        grid = _grid(read, len(starts))
        versions = repository.versions(session, np.unique(version_of[:grid] if grid else version_of).tolist())
        models = {vid: item_model(v) for vid, (v, _) in versions.items()}
        self.titles = {key: v.title for v, key in versions.values()}
        fractions, max_mark_of = read.fraction, read.max_mark  # fraction NaN: not graded
        graded = ~np.isnan(fractions)
        groups: list[tuple[int, str, np.ndarray | slice]] = []
        if grid is not None:  # as nearly always: every attempt answered the same versions in the same slots
            self.slots = read.slot[:grid].tolist()
            self.max_marks = np.maximum(max_mark_of.reshape(-1, grid).max(axis=0), -1.0)
            self.marks = np.where(graded, fractions * max_mark_of, np.nan).reshape(-1, grid)
            groups = [(s, versions[int(version_of[c])][1], slice(c, None, grid)) for c, s in enumerate(self.slots)]
        else:
            groups = self._general(read, starts, graded, versions)
        for s, key, at in groups:
            model = models[int(version_of[at][0])]
            self.answers[(s, key)] = Answers(
                key, model, fraction=fractions[at], misconception=read.misconception[at], chosen=read.chosen.taken(at),
                options=read.options[at], seeds=read.seed[at],
                drawn=drawn_matrix(model, read.drawn.taken(at)) if model.is_computed else None)

    def _general(self, read: packed.Columns, starts: np.ndarray, graded: np.ndarray,
                 versions: dict[int, tuple[ItemVersion, str]]) -> list[tuple[int, str, np.ndarray | slice]]:
        """The slots, max marks and marks of any rows (attempts with different slots or item
        versions), and the rows of each (slot, item key)."""
        slot_of, version_of, fractions, max_mark_of = read.slot, read.item_version_id, read.fraction, read.max_mark
        row_index = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(slot_of)]))
        slots, column = np.unique(slot_of, return_inverse=True)
        self.slots = [int(s) for s in slots]
        self.max_marks = np.full(len(slots), -1.0)
        np.maximum.at(self.max_marks, column, max_mark_of)
        self.marks = np.full((len(starts), len(slots)), np.nan)
        self.marks[row_index[graded], column[graded]] = fractions[graded] * max_mark_of[graded]
        # the answers of each (slot, item key), in (attempt, slot) order; an item answered in
        # several versions is one group, read with the model of the version answered first
        pairs, first, group_of = np.unique(column * (int(version_of.max()) + 1) + version_of,
                                           return_index=True, return_inverse=True)
        members: dict[tuple[int, str], list[int]] = {}
        for n in np.argsort(first, kind="stable"):
            row = int(first[n])
            members.setdefault((int(slot_of[row]), versions[int(version_of[row])][1]), []).append(n)
        by_group = np.argsort(group_of, kind="stable")
        bounds = np.searchsorted(group_of[by_group], np.arange(len(pairs) + 1))
        return [(s, key, np.sort(np.concatenate([by_group[bounds[g]:bounds[g + 1]] for g in groups])))
                for (s, key), groups in members.items()]


def _grid(read: packed.Columns, attempts: int) -> int | None:
    """How many slots each attempt has, if every one of the attempts (rows in (attempt, slot)
    order) has the same slots answered with the same item versions; else None."""
    if len(read) % attempts:
        return None
    width = len(read) // attempts
    slots, versions = read.slot.reshape(attempts, width), read.item_version_id.reshape(attempts, width)
    same = (np.diff(slots[0]) > 0).all() and (slots == slots[0]).all() and (versions == versions[0]).all()
    return width if bool(same) else None


UNPACKED_BY_ID = 1_000
"""Attempts without packed summaries up to this many are read by id; more (a database from before
them), by the attempts' condition."""


def _columns(session: Session, attempts: ColumnElement[bool]) -> packed.Columns | None:
    """The current question attempts of the attempts, in (attempt, slot) order: from their packed
    summaries, and from their answer summaries for the attempts that have none."""
    rows = repository.packed_rows(session, attempts)
    if not rows:
        return None
    ids, numbers, texts, drawn, chosen = zip(*rows, strict=True)
    parts = []
    missing = [] if None not in numbers else [row.id for row in rows if row.numbers is None]
    if missing:
        rows = [row for row in rows if row.numbers is not None]
        ids, numbers, texts, drawn, chosen = zip(*rows, strict=True) if rows else ((),) * 5
    if ids:
        parts.append(packed.unpack(ids, numbers, texts, drawn, chosen))
    if missing:
        few = len(missing) <= UNPACKED_BY_ID
        part = _from_summaries(session, Attempt.id.in_(missing) if few else attempts)
        if part is not None:
            parts.append(part if few or not ids else part.taken(np.flatnonzero(np.isin(part.attempt, missing))))
    parts = [part for part in parts if len(part)]
    if not parts:
        return None
    read = packed.Columns.joined(parts)
    if len(read) > 1 and not _in_order(read.attempt, read.slot):
        read = read.taken(np.lexsort((read.slot, read.attempt)))
    return read


def _from_summaries(session: Session, attempts: ColumnElement[bool]) -> packed.Columns | None:
    """:func:`_columns` of these attempts from their answer summaries (made from the steps where missing)."""
    rows = repository.summary_rows(session, attempts)
    if not rows:
        return None
    (attempt, slot, version, max_mark, seed, fraction, misconception, chosen, options, drawn) = (
        list(column) for column in zip(*rows, strict=True))
    missing = [n for n, count in enumerate(options) if count is None]
    if missing:
        _summarise_missing(session, attempts, missing, attempt, slot,
                           (fraction, misconception, chosen, options, drawn))
    return packed.Columns.of_lists(attempt, slot, version, seed, options, max_mark, fraction, misconception,
                                   chosen, drawn)


def _in_order(attempt: np.ndarray, slot: np.ndarray) -> bool:
    """Whether rows are sorted by (attempt, slot)."""
    step = np.diff(attempt)
    return bool((step >= 0).all() and ((step > 0) | (np.diff(slot) > 0)).all())


def _summarise_missing(session: Session, attempts: ColumnElement[bool], missing: list[int],
                       attempt: list[Any], slot: list[Any], columns: tuple[list[Any], ...]) -> None:
    """Fill in, in place, the rows at ``missing`` (question attempts without a summary) with what
    :mod:`assessments.reports.summaries` would write for them, made from their steps."""
    at = {(attempt[n], slot[n]): n for n in missing}
    for row in repository.detail_rows(session, and_(attempts, QuestionAttempt.replaced_at.is_(None),
                                                    AnswerSummary.question_attempt_id.is_(None))):
        n = at.get((row.attempt_id, row.slot))
        if n is None:
            continue
        made = summaries.summary(row)
        graded = made["fraction"] if made["state"] != "needsgrading" else None
        for column, value in zip(columns, (graded, made["misconception"], made["chosen"], made["options"],
                                           made["drawn"]), strict=True):
            column[n] = value


def compute_quiz_statistics(session: Session, quiz_id: int,
                            progress: Callable[[float], None] | None = None) -> QuizStatistics:
    """The statistics of a quiz's counted attempts (no access check, no cache: callers make them)."""
    report = progress or (lambda _fraction: None)
    with collector_paused():
        return _compute(session, quiz_id, report)


def _compute(session: Session, quiz_id: int, report: Callable[[float], None]) -> QuizStatistics:
    read = _Read(session, repository.counted(quiz_id))
    if not read.attempt_ids:
        return QuizStatistics(quiz_id=quiz_id, attempts=0, slots=[], test=None, histogram=[],
                              min_attempts_for_flags=MIN_ATTEMPTS_FOR_FLAGS)
    report(0.6)
    slots, max_marks, marks = read.slots, read.max_marks, read.marks
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
    report(1.0)
    return QuizStatistics(quiz_id=quiz_id, attempts=len(read.attempt_ids), slots=out, test=test,
                          histogram=[int(c) for c in counts], histogram_edges=[float(e) for e in edges],
                          min_attempts_for_flags=MIN_ATTEMPTS_FOR_FLAGS)


def finished_attempts(session: Session, quiz_id: int) -> int:
    return repository.fingerprint(session, quiz_id).attempts


def quiz_statistics(session: Session, principal: Principal, quiz_id: int) -> QuizStatistics:
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    return compute_quiz_statistics(session, quiz.id)


def _stamp(fingerprint: repository.Fingerprint) -> str:
    return f"{fingerprint.attempts}:{fingerprint.id_sum}:{fingerprint.last_grade_change}"


def _cached(session: Session, fingerprint: repository.Fingerprint) -> QuizStatistics | None:
    row = session.execute(select(QuizStatisticsCache.fingerprint, QuizStatisticsCache.statistics)
                          .where(QuizStatisticsCache.quiz_id == fingerprint.quiz_id)).first()
    if row is None or row.fingerprint != _stamp(fingerprint):
        return None
    try:
        return QuizStatistics.model_validate(row.statistics)
    except ValidationError:  # kept by an older version of Assay: computed again
        return None


KEEP_WAIT_MS = 100
"""How long an ask waits for SQLite's write lock to keep what it computed (it answers either way)."""


def _keep(session: Session, fingerprint: repository.Fingerprint, stats: QuizStatistics, now: datetime) -> None:
    """Store (or replace) the quiz's statistics, if that can be done at once.

    Two asks that race both write the same thing (an upsert). On SQLite a GET reads a snapshot
    without the write lock (:mod:`assessments.db`), so this write may find the lock taken (a
    regrade committing, students saving): it waits :data:`KEEP_WAIT_MS` at most, then gives up
    and the statistics are computed again at the next ask, rather than the instructor waiting
    behind the writers or being refused."""
    values = {"quiz_id": fingerprint.quiz_id, "fingerprint": _stamp(fingerprint),
              "statistics": stats.model_dump(mode="json"), "computed_at": now}
    connection = session.connection()
    on_sqlite = connection.dialect.name == "sqlite"
    insert = (sqlite if on_sqlite else postgresql).insert(QuizStatisticsCache.__table__).values(**values)
    upsert = insert.on_conflict_do_update(index_elements=["quiz_id"], set_={
        "fingerprint": insert.excluded.fingerprint, "statistics": insert.excluded.statistics,
        "computed_at": insert.excluded.computed_at})
    wait = connection.exec_driver_sql("PRAGMA busy_timeout").scalar() if on_sqlite else None
    try:
        if on_sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={KEEP_WAIT_MS}")
        with session.begin_nested():
            session.execute(upsert)
    except OperationalError:  # "database is locked": kept next time
        pass
    finally:
        if on_sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(wait or 0)}")


STATISTICS_JOB = "quiz_statistics"


@handler(STATISTICS_JOB)
def _statistics_job(session: Session, payload: dict[str, Any], progress: Callable[[float], None]) -> dict[str, Any]:
    stats = compute_quiz_statistics(session, int(payload["quiz_id"]), progress)
    return {"statistics": stats.model_dump(mode="json")}


def statistics_or_job(session: Session, principal: Principal, quiz_id: int, *, inline_limit: int,
                      now: datetime) -> QuizStatistics | Job:
    """The quiz's statistics: kept ones while nothing they depend on changed; else computed at
    once for a quiz of up to ``inline_limit`` attempts, or by a background job for a larger one
    (the job is keyed by the fingerprint, so its result serves until another attempt finishes
    or a grade changes)."""
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    fingerprint = repository.fingerprint(session, quiz.id)
    cached = _cached(session, fingerprint)
    if cached is not None:
        return cached
    if fingerprint.attempts <= inline_limit:
        stats = compute_quiz_statistics(session, quiz.id)
        _keep(session, fingerprint, stats, now)
        return stats
    key = f"{STATISTICS_JOB}:{quiz.id}:{_stamp(fingerprint)}"
    done = session.scalars(select(Job).where(Job.key == key, Job.state == JobState.DONE)
                           .order_by(Job.id.desc())).first()
    if done is not None and done.result:
        stats = QuizStatistics.model_validate(done.result["statistics"])
        _keep(session, fingerprint, stats, now)
        return stats
    return enqueue(session, STATISTICS_JOB, {"quiz_id": quiz.id}, key=key, now=now)


def item_statistics_for(session: Session, principal: Principal, key: str) -> ItemStatisticsOut:
    """An item across the quizzes of the courses the caller teaches (every quiz, for an
    administrator): how often it was answered and right, and its misconceptions. Refused as the
    item itself is (:func:`assessments.bank.banks.readable_current`)."""
    item, _, _ = readable_current(session, principal, key)
    query = (select(QuestionAttempt.attempt_id).join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
             .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
             .where(ItemVersion.item_id == item.id, Attempt.state == AttemptState.FINISHED,
                    Attempt.preview.is_(False), QuestionAttempt.replaced_at.is_(None)))
    if not principal.is_admin:
        teaching = select(Enrolment.course_id).where(Enrolment.user_id == principal.user.id,
                                                     Enrolment.role == CourseRole.INSTRUCTOR)
        query = query.join(Quiz, Quiz.id == Attempt.quiz_id).where(Quiz.course_id.in_(teaching))
    with collector_paused():
        read = _Read(session, Attempt.id.in_(query))
    groups = [group for (_, group_key), group in read.answers.items() if group_key == key]
    if not groups:
        return ItemStatisticsOut(key=key, answers=0, graded=0, facility=None, misconception_rates={}, flags=[])
    merged = Answers.joined(groups)  # the item in several slots or quizzes: one set of answers
    out = breakdown(merged, read.titles[key])
    seen = {m for m in merged.misconception if m}
    return ItemStatisticsOut(key=key, answers=out.answers, graded=out.graded, facility=out.facility,
                             misconception_rates={m.name: m.rate for m in out.misconceptions
                                                  if m.name in seen and m.rate is not None},
                             flags=item_flags(out), breakdown=out)


def _num(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
