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

from assessments.deps import Principal
from assessments.errors import Conflict
from assessments.grading.schemas import ClearGradeRequest, ManualGradeResult
from assessments.grading.service import HandGraded
from engine.attempts import Action, AttemptError


def clear(session: Session, principal: Principal, attempt_id: int, slot: int, body: ClearGradeRequest,
          now: datetime) -> ManualGradeResult:
    """Withdraw the mark a person gave the slot's question: 409 ``nothing_to_clear`` when none
    stands (the engine's mark is the question's already)."""
    graded = HandGraded.find(session, principal, attempt_id, slot,
                             in_progress="the attempt is still in progress: nobody has graded it by hand yet")
    try:
        outcome = graded.qa.process(Action.MANUAL_GRADE, actor=str(principal.user.id), at=now, clear=True)
    except AttemptError as exc:
        raise Conflict(str(exc), code="nothing_to_clear") from exc
    assert outcome.step is not None
    return graded.settle(session, principal, outcome.step, reason=body.reason, now=now)
