"""Items' 2PL calibrations, fitted from students' answers, for practice to choose items by.

Practice picks the item most informative at a student's current ability, which needs each item's
difficulty and discrimination under the two-parameter logistic model. Until an item has enough
answers, practice takes a prior from its Bloom level (``engine.adaptive``); :func:`calibrate` fits
the items that have, by marginal maximum likelihood (``engine.psychometrics.fit_2pl``), over
every student's first answer to each item:

- from quizzes: the final mark of each question in a finished attempt that is not a preview;
- from practice: each answered practice question (where no quiz answer to that item exists).

An answer is right when it earned at least half the question's marks. An item is calibrated
when it has at least :data:`MIN_RESPONSES` answers, some right and some wrong, and its fit is
sensible (a discrimination above 0 and at most :data:`MAX_DISCRIMINATION`, a difficulty within
±:data:`MAX_DIFFICULTY` logits, finite standard errors); the others keep their prior. Each
calibration replaces the last, in one transaction. The work is bounded: at most
:data:`MAX_PERSONS` students (the most recent) and :data:`MAX_ITEMS` items (the most answered).

Run it with ``assay practice calibrate`` (nightly, say), or as the ``practice.calibrate`` job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Row, delete, func, select
from sqlalchemy.orm import Session

from assessments import jobs
from assessments.models import (
    Attempt,
    AttemptState,
    ItemCalibration,
    ItemVersion,
    PracticeQuestion,
    QuestionAttempt,
    Step,
    utcnow,
)
from engine.psychometrics import fit_2pl

MIN_RESPONSES = 30
"""Answers an item needs before its fit is trusted over the Bloom prior."""
MAX_PERSONS = 20_000
MAX_ITEMS = 1_000
MAX_DISCRIMINATION = 4.0
MAX_DIFFICULTY = 6.0
RIGHT_AT = 0.5
"""The share of a question's marks from which an answer counts as right."""


@dataclass(frozen=True)
class CalibrationReport:
    """What one calibration did."""

    students: int
    answers: int
    calibrated: int
    """Items whose parameters were stored."""
    too_few: int
    """Items answered, but fewer than MIN_RESPONSES times or never both right and wrong."""
    misfit: int
    """Items fitted, whose parameters were not sensible (kept on their prior)."""


def _quiz_answers(session: Session) -> Iterable[Row[int, int, float | None]]:
    """(student, item, fraction) of each question's final mark in finished attempts, not previews,
    oldest attempt first."""
    final = (select(Step.question_attempt_id, func.max(Step.seq).label("seq"))
             .where(Step.fraction.is_not(None)).group_by(Step.question_attempt_id).subquery())
    return session.execute(
        select(Attempt.user_id, ItemVersion.item_id, Step.fraction)
        .join(QuestionAttempt, QuestionAttempt.attempt_id == Attempt.id)
        .join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
        .join(final, final.c.question_attempt_id == QuestionAttempt.id)
        .join(Step, (Step.question_attempt_id == QuestionAttempt.id) & (Step.seq == final.c.seq))
        .where(Attempt.state == AttemptState.FINISHED, Attempt.preview.is_(False),
               QuestionAttempt.replaced_at.is_(None))
        .order_by(Attempt.id, QuestionAttempt.slot))


def _practice_answers(session: Session) -> Iterable[Row[int, int, float | None]]:
    return session.execute(
        select(PracticeQuestion.user_id, PracticeQuestion.item_id, PracticeQuestion.fraction)
        .where(PracticeQuestion.fraction.is_not(None)).order_by(PracticeQuestion.id))


def first_answers(session: Session) -> dict[tuple[int, int], bool]:
    """Each (student, item)'s first answer, right or not: a quiz's, else a practice's."""
    first: dict[tuple[int, int], bool] = {}
    for source in (_quiz_answers(session), _practice_answers(session)):
        for user_id, item_id, fraction in source:
            if fraction is not None:  # (the queries ask only for marked answers)
                first.setdefault((user_id, item_id), fraction >= RIGHT_AT)
    return first


def calibrate(session: Session, now: datetime) -> CalibrationReport:
    """Fit every item with enough answers and store the sensible fits, replacing the last."""
    answers = first_answers(session)
    persons = sorted({user for user, _ in answers})[-MAX_PERSONS:]
    kept = set(persons)
    counts: dict[int, list[int]] = {}
    for (user, item), right in answers.items():
        if user in kept:
            seen = counts.setdefault(item, [0, 0])
            seen[0 if right else 1] += 1
    enough = [item for item, (rights, wrongs) in counts.items()
              if rights + wrongs >= MIN_RESPONSES and rights and wrongs]
    enough = sorted(enough, key=lambda item: -sum(counts[item]))[:MAX_ITEMS]
    too_few = len(counts) - len(enough)
    stored: list[ItemCalibration] = []
    misfit = 0
    if len(enough) >= 2:
        row = {user: n for n, user in enumerate(persons)}
        column = {item: n for n, item in enumerate(enough)}
        matrix = np.full((len(persons), len(enough)), np.nan)
        for (user, item), right in answers.items():
            if user in row and item in column:
                matrix[row[user], column[item]] = 1.0 if right else 0.0
        answered = ~np.isnan(matrix).all(axis=1)
        fit = fit_2pl(matrix[answered])
        for item, n in column.items():
            a, b, se = fit.discrimination[n], fit.difficulty[n], fit.difficulty_se[n]
            if (fit.converged and 0 < a <= MAX_DISCRIMINATION and abs(b) <= MAX_DIFFICULTY
                    and np.isfinite(se)):
                stored.append(ItemCalibration(item_id=item, difficulty=float(b), discrimination=float(a),
                                              difficulty_se=float(se), responses=sum(counts[item]),
                                              fitted_at=now))
            else:
                misfit += 1
    else:
        too_few += len(enough)
    session.execute(delete(ItemCalibration))
    session.add_all(stored)
    session.flush()
    return CalibrationReport(students=len(persons), answers=sum(sum(c) for c in counts.values()),
                             calibrated=len(stored), too_few=too_few, misfit=misfit)


def calibrations(session: Session, item_ids: Iterable[int]) -> dict[int, tuple[float, float]]:
    """(difficulty, discrimination) of the calibrated items among ``item_ids``."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = session.execute(select(ItemCalibration.item_id, ItemCalibration.difficulty,
                                  ItemCalibration.discrimination).where(ItemCalibration.item_id.in_(ids)))
    return {item_id: (b, a) for item_id, b, a in rows}


@jobs.handler("practice.calibrate")
def _calibrate_job(session: Session, _payload: dict[str, object], _progress: jobs.Progress) -> dict[str, object]:
    report = calibrate(session, utcnow())
    return {"calibrated": report.calibrated, "students": report.students, "answers": report.answers,
            "too_few": report.too_few, "misfit": report.misfit}
