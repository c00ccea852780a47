"""Interactive with several tries: submit, see feedback, try again for a reduced mark.

Moodle's ``qbehaviour_interactive``. A ``submit`` grades the response as try *k*. A right answer,
or the last allowed try, finishes the question. Otherwise the question stays active in the
*try-again* state: the try's feedback is visible and the response is read-only until a
``try_again`` step clears the feedback. A blank or invalid submission is kept as ``invalid`` and
uses no try; submitting the same response as the previous try is discarded and uses no try.

Scoring (the choices, and why):

* try *k* is worth ``max(0, fraction_k − (k − 1) × penalty)``, Moodle's ``adjust_fraction``;
  the floor at 0 means negative marking does not compound with the penalty;
* the question's fraction is the **best** adjusted fraction over the graded tries. Right on try
  *k* after worse tries is exactly ``1 − (k − 1) × penalty``; a later, worse try never lowers the
  mark, so trying again is never a risk (Moodle's adaptive behaviour takes the same maximum;
  Moodle's interactive takes the last try, which can punish a student for trying again);
* the state says how the *last graded response* was judged (gradedright when it was right, even
  if the penalty made the fraction partial), as in Moodle;
* finishing while active grades the last saved response as one more try when it is gradable and
  differs from the last try; otherwise the best try stands, and with no graded try it is gaveup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engine.attempts import Action, AttemptError, Decision
from engine.behaviours.base import Behaviour
from engine.qtypes.base import Verdict
from engine.states import QuestionState, graded_state_for

if TYPE_CHECKING:
    from engine.attempts import PendingStep, QuestionAttempt, Step
    from engine.qtypes.base import Grade

__all__ = ["DEFAULT_PENALTY", "DEFAULT_TRIES", "Interactive"]

DEFAULT_TRIES = 3
DEFAULT_PENALTY = 1 / 3


class Interactive(Behaviour):
    """Several tries, each graded on submit, with a penalty per extra try."""

    name: ClassVar[str] = "interactive"
    actions = Behaviour.actions | {Action.SUBMIT, Action.TRY_AGAIN}

    def __init__(self, tries: int = DEFAULT_TRIES, penalty: float = DEFAULT_PENALTY) -> None:
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ValueError(f"tries must be a whole number of at least 1, not {tries!r}")
        number = isinstance(penalty, int | float) and not isinstance(penalty, bool)
        if not number or not 0 <= penalty <= 1:
            raise ValueError(f"penalty must be a fraction between 0 and 1, not {penalty!r}")
        self.tries = tries
        self.penalty = float(penalty)

    def options(self) -> dict[str, Any]:
        return {"tries": self.tries, "penalty": self.penalty}

    # --- reading the history ------------------------------------------------------------------

    @staticmethod
    def graded_tries(qa: QuestionAttempt) -> list[Step]:
        return [s for s in qa.steps if s.try_number is not None and s.grade is not None]

    def adjusted(self, grade: Grade, try_number: int) -> float:
        return max(0.0, grade.fraction - (try_number - 1) * self.penalty)

    def best(self, tries: list[Step]) -> float | None:
        scores = [self.adjusted(s.grade, s.try_number) for s in tries
                  if s.grade is not None and s.try_number is not None]
        return max(scores, default=None)

    @staticmethod
    def in_try_again(qa: QuestionAttempt) -> bool:
        last = qa.last_step
        return last.state.is_active() and last.action is Action.SUBMIT and last.grade is not None

    def tries_left(self, qa: QuestionAttempt) -> int:
        return self.tries - len(self.graded_tries(qa)) if qa.state.is_active() else 0

    def feedback_visible(self, step: Step) -> bool:
        return step.state.is_finished() or (step.action is Action.SUBMIT and step.grade is not None)

    # --- actions ------------------------------------------------------------------------------

    def process_save(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if self.in_try_again(qa):
            return self._read_only(qa, pending)
        return super().process_save(qa, pending)

    def process_submit(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if pending.response is None:
            pending.response = qa.response
        if qa.state.is_finished():
            if self.same_response(qa, qa.response, pending.response):
                return Decision.DISCARD
            raise AttemptError("the question is finished; a response can no longer be submitted")
        if self.in_try_again(qa):
            return self._read_only(qa, pending)
        graded = self.graded_tries(qa)
        last = qa.last_step
        previous = [s for s in (*graded[-1:], last) if s.action is Action.SUBMIT]
        if any(self.same_response(qa, s.response, pending.response) for s in previous):
            return Decision.DISCARD  # the same answer again: no new step, no try used
        found = self.assess(qa, pending.response)
        if found.grade is None:
            pending.state = QuestionState.INVALID
            pending.error = found.error or "Answer the question before submitting it."
            return Decision.KEEP
        self._grade_try(pending, found.grade, graded)
        if pending.state is not None and pending.state.is_active():
            pending.fraction = None  # a wrong try with tries left: no mark yet
        return Decision.KEEP

    def process_try_again(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if not self.in_try_again(qa):
            raise AttemptError("there is no graded try to clear; submit a response first")
        pending.state = QuestionState.TODO
        return Decision.KEEP

    def process_finish(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if qa.state.is_finished():
            return Decision.DISCARD
        graded = self.graded_tries(qa)
        raw = qa.response
        repeats_last_try = bool(graded) and self.same_response(qa, graded[-1].response, raw)
        found = self.assess(qa, raw)
        pending.error = found.error
        if found.grade is not None and not repeats_last_try:
            self._grade_try(pending, found.grade, graded, finishing=True)
        elif graded and graded[-1].grade is not None:
            pending.fraction = self.best(graded)
            pending.state = graded_state_for(graded[-1].grade.fraction)
        else:
            pending.state, pending.fraction = QuestionState.GAVEUP, 0.0
        return Decision.KEEP

    # --- helpers ------------------------------------------------------------------------------

    def _grade_try(self, pending: PendingStep, grade: Grade, graded: list[Step],
                   *, finishing: bool = False) -> None:
        """Record ``grade`` as the next try; finish when right, out of tries, or finishing."""
        number = len(graded) + 1
        pending.grade, pending.try_number = grade, number
        # Adjusted fractions are never below 0, so 0 stands in for "no earlier try".
        pending.fraction = max(self.adjusted(grade, number), self.best(graded) or 0.0)
        last_chance = finishing or number >= self.tries
        if grade.verdict == Verdict.RIGHT or last_chance:
            pending.state = graded_state_for(grade.fraction)
        else:
            pending.state = QuestionState.TODO

    def _read_only(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if self.same_response(qa, qa.response, pending.response):
            return Decision.DISCARD
        raise AttemptError("this try has been graded; choose 'try again' to change the response")
