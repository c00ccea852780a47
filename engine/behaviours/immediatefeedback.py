"""Immediate feedback: one submit per question, graded and finished at once.

Moodle's ``qbehaviour_immediatefeedback``. Responses may be saved as in deferred feedback; a
``submit`` grades the response it carries (or the last saved one) and finishes the question, so
its feedback is visible straight away. A blank or invalid submission is kept as ``invalid`` and
costs nothing: the student fixes it and submits again. Finishing without a submit grades the last
saved response as deferred feedback does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from engine.attempts import Action, AttemptError, Decision
from engine.behaviours.base import Behaviour
from engine.states import QuestionState, graded_state_for

if TYPE_CHECKING:
    from engine.attempts import PendingStep, QuestionAttempt

__all__ = ["ImmediateFeedback"]


class ImmediateFeedback(Behaviour):
    """One try, graded on submit."""

    name: ClassVar[str] = "immediatefeedback"
    actions = Behaviour.actions | {Action.SUBMIT}

    def process_submit(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if pending.response is None:
            pending.response = qa.response
        if qa.state.is_finished():
            if self.same_response(qa, qa.response, pending.response):
                return Decision.DISCARD  # a repeated submit of what was graded
            raise AttemptError("the question is finished; a response can no longer be submitted")
        last = qa.last_step
        if last.action is Action.SUBMIT and self.same_response(qa, last.response, pending.response):
            return Decision.DISCARD
        found = self.assess(qa, pending.response)
        if found.grade is None:
            pending.state = QuestionState.INVALID
            pending.error = found.error or "Answer the question before submitting it."
            return Decision.KEEP
        pending.grade = found.grade
        pending.fraction = found.grade.fraction
        pending.state = graded_state_for(found.grade.fraction)
        pending.try_number = 1
        return Decision.KEEP
