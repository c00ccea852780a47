"""Quiz and item statistics from finished attempts, with flags for items that need a look.

Marks come from each slot's current question attempt (a committed regrade counts, the replaced
row does not); a slot awaiting manual grading is left out of that slot's figures (NaN) and the
attempt out of the test figures. Moodle's definitions are computed by
:mod:`engine.psychometrics`; this module gathers the data and reads the results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.auth.access import require_instructor
from assessments.bank.banks import readable_current
from assessments.deps import Principal
from assessments.jobs import enqueue, handler
from assessments.models import (
    Attempt,
    AttemptState,
    CourseRole,
    Enrolment,
    Item,
    ItemVersion,
    Job,
    JobState,
    QuestionAttempt,
    Quiz,
    Step,
)
from assessments.quizzes.service import quiz_for
from assessments.reports.schemas import Flag, ItemStatisticsOut, QuizStatistics, SlotStatistics, TestStatisticsOut
from engine.psychometrics import item_statistics, misconception_rates, test_statistics

TOO_HARD, TOO_EASY = 0.1, 0.95
SHARED_MISCONCEPTION = 0.5
MIN_WRONG_FOR_MISCONCEPTION_FLAG = 5
HISTOGRAM_BINS = 10


@dataclass
class Answer:
    """One finished question attempt, as statistics need it."""

    item_key: str
    item_type: str
    fraction: float | None
    mark: float | None
    max_mark: float
    misconception: str | None
    chosen: list[int]
    """Authored option indices the student chose (choice items)."""
    options: int
    wrong_options: list[int] = field(default_factory=list)


def _chosen(row: QuestionAttempt, response: dict[str, Any] | None, item_type: str) -> list[int]:
    order = row.variant.get("order") or []
    if not response or not order:
        return []
    if item_type == "single_choice" and isinstance(response.get("choice"), int):
        positions = [response["choice"]]
    elif item_type == "multiple_response":
        positions = [p for p in response.get("choices") or [] if isinstance(p, int)]
    else:
        return []
    return [order[p] for p in positions if 0 <= p < len(order)]


def _answers(session: Session, attempt_ids: list[int]) -> dict[tuple[int, int], Answer]:
    """(attempt id, slot) -> the slot's last graded state."""
    rows = list(session.scalars(select(QuestionAttempt).where(
        QuestionAttempt.attempt_id.in_(attempt_ids), QuestionAttempt.replaced_at.is_(None))))
    versions = {v.id: v for v in session.scalars(select(ItemVersion).where(
        ItemVersion.id.in_({r.item_version_id for r in rows})))}
    keys = dict(session.execute(select(Item.id, Item.key).where(
        Item.id.in_({v.item_id for v in versions.values()}))).all())
    last: dict[int, Step] = {}
    responses: dict[int, dict[str, Any]] = {}
    for step in session.scalars(select(Step).where(Step.question_attempt_id.in_([r.id for r in rows]))
                                .order_by(Step.question_attempt_id, Step.seq)):
        last[step.question_attempt_id] = step
        if step.response is not None:
            responses[step.question_attempt_id] = step.response
    answers = {}
    for row in rows:
        version = versions[row.item_version_id]
        step = last[row.id]
        grade = step.data.get("grade") or {}
        graded = step.fraction is not None and step.state != "needsgrading"
        response = responses.get(row.id)
        answers[(row.attempt_id, row.slot)] = Answer(
            item_key=keys[version.item_id], item_type=version.type,
            fraction=step.fraction if graded else None,
            mark=step.fraction * row.max_mark if graded and step.fraction is not None else None,
            max_mark=row.max_mark,
            misconception=grade.get("misconception"),
            chosen=_chosen(row, response, version.type),
            options=len(row.variant.get("order") or []),
        )
    return answers


def _flags(facility: float, discrimination: float, answers: list[Answer]) -> list[Flag]:
    flags = []
    if np.isfinite(discrimination) and discrimination < 0:
        flags.append(Flag(code="negative_discrimination",
                          message=f"students who did well overall did worse here (r = {discrimination:.2f})"))
    if np.isfinite(facility) and facility < TOO_HARD:
        flags.append(Flag(code="too_hard", message=f"facility {facility:.0%}: almost nobody got it"))
    if np.isfinite(facility) and facility > TOO_EASY:
        flags.append(Flag(code="too_easy", message=f"facility {facility:.0%}: almost everybody got it"))
    by_item: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_item[answer.item_key].append(answer)
    for key, group in by_item.items():
        flags.extend(_item_flags(key, group))
    return flags


def _item_flags(key: str, group: list[Answer]) -> list[Flag]:
    flags = []
    options = max((a.options for a in group), default=0)
    if options and group[0].item_type in ("single_choice", "multiple_response"):
        counts = np.zeros(options, dtype=int)
        for answer in group:
            for index in answer.chosen:
                counts[index] += 1
        unused = [int(i) for i in np.flatnonzero(counts == 0)]
        if unused and len(group) >= MIN_WRONG_FOR_MISCONCEPTION_FLAG:
            flags.append(Flag(code="unused_option", item=key,
                              message=f"{key}: option(s) {', '.join(str(i + 1) for i in unused)} (as authored) "
                                      f"chosen by nobody in {len(group)} answers"))
    names = sorted({a.misconception for a in group if a.misconception})
    wrong = np.array([a.fraction is not None and a.fraction < 1 for a in group])
    if names and wrong.sum() >= MIN_WRONG_FOR_MISCONCEPTION_FLAG:
        codes = np.array([names.index(a.misconception) if a.misconception in names else -1 for a in group])
        rates = misconception_rates(codes, names, wrong)
        for name, rate in zip(names, rates.rate, strict=True):
            if rate > SHARED_MISCONCEPTION:
                flags.append(Flag(code="shared_misconception", item=key,
                                  message=f"{key}: {rate:.0%} of wrong answers show '{name}'"))
    return flags


def finished_attempts(session: Session, quiz_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED, Attempt.preview.is_(False))) or 0)


def quiz_statistics(session: Session, principal: Principal, quiz_id: int) -> QuizStatistics:
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    return compute_quiz_statistics(session, quiz.id)


STATISTICS_JOB = "quiz_statistics"


@handler(STATISTICS_JOB)
def _statistics_job(session: Session, payload: dict[str, Any], progress: Callable[[float], None]) -> dict[str, Any]:
    stats = compute_quiz_statistics(session, int(payload["quiz_id"]), progress)
    return {"statistics": stats.model_dump(mode="json")}


def statistics_or_job(session: Session, principal: Principal, quiz_id: int, *, inline_limit: int,
                      now: datetime) -> QuizStatistics | Job:
    """Small quizzes are computed at once; a large one by a background job, whose result is kept
    until another attempt finishes (the job is keyed by the number of finished attempts)."""
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    count = finished_attempts(session, quiz.id)
    if count <= inline_limit:
        return compute_quiz_statistics(session, quiz.id)
    key = f"{STATISTICS_JOB}:{quiz.id}:{count}"
    done = session.scalars(select(Job).where(Job.key == key, Job.state == JobState.DONE)
                           .order_by(Job.id.desc())).first()
    if done is not None and done.result:
        return QuizStatistics.model_validate(done.result["statistics"])
    return enqueue(session, STATISTICS_JOB, {"quiz_id": quiz.id}, key=key, now=now)

def compute_quiz_statistics(session: Session, quiz_id: int,
                            progress: Callable[[float], None] | None = None) -> QuizStatistics:
    """The statistics of a quiz's finished attempts (no access check: callers make it)."""
    report = progress or (lambda _fraction: None)
    attempts = list(session.scalars(select(Attempt).where(
        Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED,
        Attempt.preview.is_(False)).order_by(Attempt.id)))
    if not attempts:
        return QuizStatistics(quiz_id=quiz_id, attempts=0, slots=[], test=None, histogram=[])
    answers = _answers(session, [a.id for a in attempts])
    report(0.6)
    slots = sorted({slot for _, slot in answers})
    # each slot's maximum from the rows already read (one query, not one per slot)
    max_marks = np.array([max(a.max_mark for (_, s), a in answers.items() if s == slot) for slot in slots])
    marks = np.full((len(attempts), len(slots)), np.nan)
    for r, attempt in enumerate(attempts):
        for c, slot in enumerate(slots):
            answer = answers.get((attempt.id, slot))
            if answer is not None and answer.mark is not None:
                marks[r, c] = answer.mark
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
        group = [answers[(a.id, slot)] for a in attempts if (a.id, slot) in answers]
        facility, discrimination = float(stats.facility[c]), float(stats.discrimination_index[c])
        out.append(SlotStatistics(
            slot=slot, items=sorted({a.item_key for a in group}), attempts=int(stats.attempts[c]),
            facility=_num(facility), sd=_num(stats.sd[c]), discrimination_index=_num(discrimination),
            discriminative_efficiency=_num(stats.discriminative_efficiency[c]),
            intended_weight=_num(stats.intended_weight[c]), effective_weight=_num(stats.effective_weight[c]),
            flags=_flags(facility, discrimination, group),
        ))
    totals = complete.sum(axis=1) if len(complete) else np.array([])
    edges = np.linspace(0, float(max_marks.sum()), HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(totals, bins=edges)
    report(1.0)
    return QuizStatistics(quiz_id=quiz_id, attempts=len(attempts), slots=out, test=test,
                          histogram=[int(c) for c in counts], histogram_edges=[float(e) for e in edges])


def item_statistics_for(session: Session, principal: Principal, key: str) -> ItemStatisticsOut:
    """An item across the quizzes of the courses the caller teaches (every quiz, for an
    administrator): how often it was answered and right, and its misconceptions. Refused as the
    item itself is (:func:`assessments.bank.banks.readable_current`)."""
    item, _, _ = readable_current(session, principal, key)
    query = (select(QuestionAttempt.attempt_id).join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
             .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
             .where(ItemVersion.item_id == item.id, Attempt.state == AttemptState.FINISHED,
                    Attempt.preview.is_(False), QuestionAttempt.replaced_at.is_(None)).distinct())
    if not principal.is_admin:
        teaching = select(Enrolment.course_id).where(Enrolment.user_id == principal.user.id,
                                                     Enrolment.role == CourseRole.INSTRUCTOR)
        query = query.join(Quiz, Quiz.id == Attempt.quiz_id).where(Quiz.course_id.in_(teaching))
    attempt_ids = list(session.scalars(query))
    group = [a for a in _answers(session, attempt_ids).values() if a.item_key == key] if attempt_ids else []
    graded = [a.fraction for a in group if a.fraction is not None]
    names = sorted({a.misconception for a in group if a.misconception})
    wrong = [a for a in group if a.fraction is not None and a.fraction < 1]
    rates = {name: sum(a.misconception == name for a in wrong) / len(wrong) for name in names} if wrong else {}
    return ItemStatisticsOut(key=key, answers=len(group), graded=len(graded),
                             facility=float(np.mean(graded)) if graded else None,
                             misconception_rates=rates, flags=_item_flags(key, group))


def _num(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
