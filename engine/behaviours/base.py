"""The behaviour interface: what happens when, for one question attempt.

A behaviour (Moodle's ``question_behaviour``) is told about each pending step of a
:class:`~engine.attempts.QuestionAttempt`, sets the state, fraction and grade the step leads to,
and answers KEEP or DISCARD. It calls the question type to parse and grade but never knows what
makes an answer right; the type never knows when it is asked. This module holds what the
behaviours share: dispatch by action, saving (the same response twice keeps no step), assessing a
response (blank, invalid or graded), and manual grading with a fraction or a rubric, which every
behaviour accepts on a finished attempt as an instructor's override or comment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from engine.attempts import Action, AttemptError, Decision, ManualGrade, PendingStep
from engine.qtypes.base import FRACTION_EPSILON, Grade, ResponseError
from engine.states import QuestionState, graded_state_for

if TYPE_CHECKING:
    from engine.attempts import QuestionAttempt, Step
    from engine.items import ItemBase

__all__ = [
    "MANUALLY_GRADED_TYPES",
    "Assessment",
    "Behaviour",
    "Decision",
    "min_fraction",
    "rubric_grade",
]

Handler = Callable[["QuestionAttempt", PendingStep], Decision]

MANUALLY_GRADED_TYPES = frozenset({"essay"})
"""Question types whose responses only a person can grade."""

_DATA_FIELDS = {Action.MANUAL_GRADE: frozenset({"fraction", "rubric", "comment", "clear"})}
"""The extra fields an action takes; the others take none."""


def min_fraction(item: ItemBase) -> float:
    """The lowest fraction the item can earn: 0, or below with negative marking."""
    scoring = item.scoring
    return -1.0 if scoring.allow_negative else 0.0 - scoring.negative


def rubric_grade(item: ItemBase, selections: Mapping[str, Any]) -> Grade:
    """The rubric's grade for one level index per criterion (the essay type's arithmetic),
    with a bad selection as an :class:`AttemptError`."""
    from engine.items import EssayItem
    from engine.qtypes.essay import grade_rubric

    if not isinstance(item, EssayItem):
        raise AttemptError(f"item {item.id!r} has no rubric; give a fraction instead")
    try:
        return grade_rubric(item, selections)
    except ValueError as exc:
        raise AttemptError(f"rubric: {exc}") from None


@dataclass(frozen=True, slots=True)
class Assessment:
    """A raw response as a behaviour sees it: blank, invalid (with the reason) or gradable,
    with its grade when one was asked for."""

    blank: bool = False
    error: str | None = None
    grade: Grade | None = None

    @property
    def saved_state(self) -> QuestionState:
        """todo when blank, invalid on a format error, else complete."""
        if self.blank:
            return QuestionState.TODO
        return QuestionState.INVALID if self.error is not None else QuestionState.COMPLETE


class Behaviour:
    """How a question attempt proceeds. Instances hold only their options; one serves many.

    An action ``a`` in :attr:`actions` is handled by ``process_a(qa, pending)``.
    """

    name: ClassVar[str]
    actions: ClassVar[frozenset[Action]] = frozenset(
        {Action.START, Action.SAVE, Action.FINISH, Action.MANUAL_GRADE}
    )
    grades_automatically: ClassVar[bool] = True
    """Whether finishing asks the question type for a grade (Moodle's ``question_automatically_
    gradable`` requirement); such behaviours refuse to start on an essay."""

    def options(self) -> dict[str, Any]:
        """The options :func:`engine.behaviours.behaviour_for` needs to rebuild this behaviour."""
        return {}

    # --- the interface ------------------------------------------------------------------------

    def process(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        """Decide ``pending``: set its state (and fraction, grade) and say KEEP or DISCARD."""
        if pending.action not in self.actions:
            raise AttemptError(f"a {self.name} question does not accept {pending.action.value!r}")
        allowed = _DATA_FIELDS.get(pending.action, frozenset())
        extra = sorted(set(pending.data) - allowed)
        if extra:
            raise AttemptError(f"{pending.action.value!r} takes no {extra[0]!r}")
        if pending.response is not None and pending.action not in (Action.SAVE, Action.SUBMIT):
            raise AttemptError(f"{pending.action.value!r} takes no response; save it first")
        handler: Handler = getattr(self, f"process_{pending.action.value}")
        return handler(qa, pending)

    def process_start(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if self.grades_automatically and qa.item.type_name in MANUALLY_GRADED_TYPES:
            raise AttemptError(
                f"a {qa.item.type_name} item is graded by a person: use 'manualgraded', "
                f"not {self.name!r}"
            )
        pending.state = QuestionState.TODO
        return Decision.KEEP

    def can_finish(self, qa: QuestionAttempt) -> bool:
        """Whether a finish now would be kept (the attempt is still in progress)."""
        return qa.state.is_active()

    def feedback_visible(self, step: Step) -> bool:
        """Whether a student at ``step`` may see the grade's feedback (the review policy may
        still hide it). By default: once the question is finished."""
        return step.state.is_finished()

    def tries_left(self, qa: QuestionAttempt) -> int:
        return 1 if qa.state.is_active() else 0

    # --- actions most behaviours share --------------------------------------------------------

    def process_save(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        if not qa.state.is_active():
            raise AttemptError("the question is finished; a response can no longer be saved")
        if self.same_response(qa, qa.response, pending.response):
            return Decision.DISCARD
        found = self.assess(qa, pending.response, grade=False)
        pending.state, pending.error = found.saved_state, found.error
        return Decision.KEEP

    def process_finish(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        """Grade the last saved response; gave up when there is nothing gradable (Moodle)."""
        if qa.state.is_finished():
            return Decision.DISCARD
        self.grade_on_finish(qa, pending, qa.response)
        return Decision.KEEP

    def process_manual_grade(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        """A person's fraction, rubric selections and/or comment on a finished question."""
        if not qa.state.is_finished():
            raise AttemptError("a question cannot be graded by hand before it is finished")
        if pending.data.get("clear"):
            return self._clear_manual_grade(qa, pending)
        given_fraction = pending.data.get("fraction")
        selections = pending.data.get("rubric")
        comment = pending.data.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise AttemptError("a comment is text")
        if given_fraction is None and selections is None and not comment:
            raise AttemptError("a manual grade needs a fraction, rubric selections or a comment")
        fraction = None if given_fraction is None else self._checked_fraction(qa, given_fraction)
        rubric = None
        if selections is not None:
            if not isinstance(selections, Mapping):
                raise AttemptError("rubric selections map criterion ids to level indices")
            rubric = dict(selections)
            pending.grade = rubric_grade(qa.item, rubric)
            scored = pending.grade.fraction
            if fraction is not None and abs(fraction - scored) > FRACTION_EPSILON:
                raise AttemptError(
                    f"the fraction {fraction} disagrees with the rubric selections ({scored:.4g})"
                )
            fraction = scored
        manual = ManualGrade(fraction, rubric, comment or None)
        last = qa.last_step
        if last.action is Action.MANUAL_GRADE and last.manual == manual:
            return Decision.DISCARD
        kept = fraction if fraction is not None else qa.fraction
        pending.manual = manual
        pending.fraction = kept
        pending.state = qa.state.commented(kept if qa.state.is_graded() else fraction)
        return Decision.KEEP

    def _clear_manual_grade(self, qa: QuestionAttempt, pending: PendingStep) -> Decision:
        """Withdraw the mark a person gave: the question is as the engine left it (its last step
        that no person made), and a regrade moves its mark again."""
        if set(pending.data) - {"clear"} and any(v is not None for k, v in pending.data.items() if k != "clear"):
            raise AttemptError("clearing a grade given by hand takes nothing else")
        if qa.pinned_by_hand is None:
            raise AttemptError("no mark given by hand stands on this question: there is nothing to clear")
        automatic = next(s for s in reversed(qa.steps) if s.manual is None)
        pending.data = {}
        pending.manual = ManualGrade(cleared=True)
        pending.state, pending.fraction = automatic.state, automatic.fraction
        return Decision.KEEP

    # --- helpers for subclasses ---------------------------------------------------------------

    def assess(self, qa: QuestionAttempt, raw: Mapping[str, Any] | None, *,
               grade: bool = True) -> Assessment:
        """Parse ``raw`` and, when ``grade``, grade it: a format error is recorded, not raised."""
        if raw is None or qa.qtype.is_blank(raw):
            return Assessment(blank=True)
        try:
            parsed = qa.qtype.parse(qa.item, qa.variant, raw)
        except ResponseError as exc:
            return Assessment(error=str(exc))
        return Assessment(grade=qa.qtype.grade(qa.item, qa.variant, parsed) if grade else None)

    def same_response(self, qa: QuestionAttempt, a: Mapping[str, Any] | None,
                      b: Mapping[str, Any] | None) -> bool:
        blank = qa.qtype.is_blank
        return (blank(a) and blank(b)) or qa.qtype.same_response(a, b)

    def grade_on_finish(self, qa: QuestionAttempt, pending: PendingStep,
                        raw: Mapping[str, Any] | None) -> None:
        """Set ``pending`` to the graded state of ``raw``, or gave up (fraction 0) when ``raw``
        is blank or invalid: a response that cannot be graded earns nothing and costs nothing."""
        found = self.assess(qa, raw)
        pending.error = found.error
        if found.grade is None:
            pending.state, pending.fraction = QuestionState.GAVEUP, 0.0
            return
        pending.grade = found.grade
        pending.fraction = found.grade.fraction
        pending.state = graded_state_for(found.grade.fraction)
        pending.try_number = 1

    def _checked_fraction(self, qa: QuestionAttempt, value: Any) -> float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise AttemptError(f"a fraction is a number, not {value!r}")
        low = min_fraction(qa.item)
        if not low - FRACTION_EPSILON <= value <= 1 + FRACTION_EPSILON:
            raise AttemptError(f"the fraction must be between {low:g} and 1, not {value:g}")
        return float(value)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"
