"""Clearing a mark a person gave: the override (or manual grade) on one question withdrawn.

A person's fraction pins a question's mark: a regrade replays it as given, so a fixed key moves
nothing for that student. Clearing it appends a manual-grade step marked ``cleared`` (steps are
never removed): the question's state and fraction are the engine's own again, the attempt's
marks are summed again, and the change gets its row in the grade audit trail, as any grade
change does. Who may: as for grading (instructors of the quiz's course, ``grade`` scope).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from assessments.attempts.service import append_steps, grade_changed, totals
from assessments.audit.service import QuestionGrade, record_manual_grade
from assessments.deps import Principal
from assessments.errors import Conflict, NotFound
from assessments.grading.schemas import ClearGradeRequest, ManualGradeResult
from assessments.grading.service import _gradable_attempt as gradable_attempt
from assessments.grading.service import _questions as questions_of
from assessments.models import AttemptState
from engine.attempts import Action, AttemptError


def clear(session: Session, principal: Principal, attempt_id: int, slot: int, body: ClearGradeRequest,
          now: datetime) -> ManualGradeResult:
    """Withdraw the mark a person gave the slot's question: 409 ``nothing_to_clear`` when none
    stands (the engine's mark is the question's already)."""
    attempt = gradable_attempt(session, principal, attempt_id)
    if attempt.state != AttemptState.FINISHED:
        raise Conflict("the attempt is still in progress: nobody has graded it by hand yet",
                       code="attempt_in_progress")
    questions = [(q.row, q.qa) for q in questions_of(session, attempt)]
    found = next(((row, qa) for row, qa in questions if row.slot == slot), None)
    if found is None:
        raise NotFound(f"no slot {slot} in attempt {attempt_id}")
    row, qa = found
    before, old_marks = QuestionGrade.of(qa), attempt.marks
    try:
        outcome = qa.process(Action.MANUAL_GRADE, actor=str(principal.user.id), at=now, clear=True)
    except AttemptError as exc:
        raise Conflict(str(exc), code="nothing_to_clear") from exc
    assert outcome.step is not None
    append_steps(session, row, [outcome.step], principal.user.id)
    attempt.marks, waiting = totals(questions)
    record_manual_grade(session, principal.user, attempt, row, before, qa, outcome.step, old_marks=old_marks,
                        reason=(body.reason or "").strip() or None, now=now)
    grade_changed(session, attempt, now)
    return ManualGradeResult(
        attempt_id=attempt.id, slot=slot, seq=qa.last_step.seq, recorded=True, state=qa.state.value,
        fraction=qa.fraction, mark=qa.mark, max_mark=row.max_mark, marks=attempt.marks,
        max_marks=attempt.max_marks, needs_grading=waiting)
