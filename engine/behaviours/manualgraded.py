"""Manual grading: responses are saved, and a person grades them after the attempt is finished.

Moodle's ``qbehaviour_manualgraded``, for essays and case studies. Saving works as in deferred
feedback. Finishing leaves a non-blank response in ``needsgrading`` (even one outside the word
limits: a person reads it and decides) and a blank one in ``gaveup`` with fraction 0. A
``manual_grade`` step gives a fraction or rubric selections (points over the rubric's maximum)
and a comment; the shared rules in :mod:`engine.behaviours.base` set mangrright/partial/wrong.
The student sees no feedback but the person's comment, once the question is finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from engine.attempts import Decision
from engine.behaviours.base import Behaviour
from engine.states import QuestionState

if TYPE_CHECKING:
    from engine.attempts import PendingStep, QuestionAttempt

__all__ = ["ManualGraded"]


class ManualGraded(Behaviour):
    """Save now; a person grades after finishing."""

    name: ClassVar[str] = "manualgraded"
    grades_automatically: ClassVar[bool] = False

    def process_finish(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if qa.state.is_finished():
            return Decision.DISCARD
        if qa.qtype.is_blank(qa.response):
            pending.state, pending.fraction = QuestionState.GAVEUP, 0.0
        else:
            pending.state = QuestionState.NEEDSGRADING
        return Decision.KEEP
