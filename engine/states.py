"""The states a question attempt can be in, as values that answer questions about themselves.

After every step a question attempt is in exactly one :class:`QuestionState` (Moodle's
``question_state``, minus its internal ``notstarted``/``unprocessed``). Code asks a state what it
means (``is_active``, ``is_finished``, ``is_graded``, ``is_gave_up``, ``is_commented``) instead of
testing membership in hand-written lists, so a new state changes one table here and nowhere else.
:func:`graded_state_for` and :func:`manually_graded_state_for` turn a fraction into the
right/partial/wrong state with the same tolerance as :class:`engine.qtypes.base.Verdict`, and
:meth:`QuestionState.commented` says where a manual grade or comment leads from each state.
"""

from __future__ import annotations

from enum import StrEnum

from engine.qtypes.base import FRACTION_EPSILON

__all__ = ["QuestionState", "graded_state_for", "manually_graded_state_for"]


class QuestionState(StrEnum):
    """One state of a question attempt; the string value is what storage holds."""

    TODO = "todo"
    """Started, nothing (or nothing since a try was cleared) answered yet."""
    INVALID = "invalid"
    """The response cannot be graded as it stands (a format error); it is saved nonetheless."""
    COMPLETE = "complete"
    """A gradable response is saved; nothing is graded yet."""
    NEEDSGRADING = "needsgrading"
    """Finished; waiting for a person to grade it."""
    FINISHED = "finished"
    """Finished and never to be graded (an ungraded item)."""
    GAVEUP = "gaveup"
    """Finished with nothing gradable to grade."""
    GRADEDWRONG = "gradedwrong"
    GRADEDPARTIAL = "gradedpartial"
    GRADEDRIGHT = "gradedright"
    MANFINISHED = "manfinished"
    """An ungraded item that a person has commented on."""
    MANGAVEUP = "mangaveup"
    """Gave up, and a person has commented without giving a mark."""
    MANGRWRONG = "mangrwrong"
    MANGRPARTIAL = "mangrpartial"
    MANGRRIGHT = "mangrright"

    # --- predicates -----------------------------------------------------------------------------

    def is_active(self) -> bool:
        """In progress: the student may still change the response."""
        return self in _ACTIVE

    def is_finished(self) -> bool:
        """No further interaction by the student; only manual grading and comments remain."""
        return self not in _ACTIVE

    def is_graded(self) -> bool:
        """Carries a mark from grading (automatic or manual)."""
        return self in _GRADED

    def is_gave_up(self) -> bool:
        return self in (QuestionState.GAVEUP, QuestionState.MANGAVEUP)

    def is_commented(self) -> bool:
        """A person has graded or commented on it."""
        return self in _COMMENTED

    def is_manually_graded(self) -> bool:
        """A person has set the mark (a comment alone does not count)."""
        return self in _MANUALLY_GRADED

    def is_correct(self) -> bool:
        return self in (QuestionState.GRADEDRIGHT, QuestionState.MANGRRIGHT)

    def is_partially_correct(self) -> bool:
        return self in (QuestionState.GRADEDPARTIAL, QuestionState.MANGRPARTIAL)

    def is_incorrect(self) -> bool:
        return self in (QuestionState.GRADEDWRONG, QuestionState.MANGRWRONG)

    @property
    def summary(self) -> str:
        """Moodle's summary: inprogress, needsgrading, manuallygraded or autograded."""
        if self.is_active():
            return "inprogress"
        if self is QuestionState.NEEDSGRADING:
            return "needsgrading"
        if self.is_commented():
            return "manuallygraded"
        return "autograded"

    def commented(self, fraction: float | None) -> QuestionState:
        """The state after a person comments on this one and, when ``fraction`` is given, marks it.

        Only finished states can be commented on; asking an active state raises ``ValueError``.
        """
        if self.is_active():
            raise ValueError(f"a question in state {self.value!r} cannot be graded by hand yet")
        if self in (QuestionState.FINISHED, QuestionState.MANFINISHED):
            return QuestionState.MANFINISHED
        if self.is_gave_up() and fraction is None:
            return QuestionState.MANGAVEUP
        return manually_graded_state_for(fraction)


_ACTIVE = frozenset({QuestionState.TODO, QuestionState.INVALID, QuestionState.COMPLETE})
_MANUALLY_GRADED = frozenset(
    {QuestionState.MANGRWRONG, QuestionState.MANGRPARTIAL, QuestionState.MANGRRIGHT}
)
_GRADED = frozenset(
    {QuestionState.GRADEDWRONG, QuestionState.GRADEDPARTIAL, QuestionState.GRADEDRIGHT}
) | _MANUALLY_GRADED
_COMMENTED = _MANUALLY_GRADED | {QuestionState.MANFINISHED, QuestionState.MANGAVEUP}


def graded_state_for(fraction: float) -> QuestionState:
    """gradedwrong at or below 0, gradedright at 1, gradedpartial between (within a tolerance)."""
    if fraction <= FRACTION_EPSILON:
        return QuestionState.GRADEDWRONG
    if fraction >= 1 - FRACTION_EPSILON:
        return QuestionState.GRADEDRIGHT
    return QuestionState.GRADEDPARTIAL


def manually_graded_state_for(fraction: float | None) -> QuestionState:
    """As :func:`graded_state_for` for a person's mark; no mark yet means needsgrading."""
    if fraction is None:
        return QuestionState.NEEDSGRADING
    if fraction <= FRACTION_EPSILON:
        return QuestionState.MANGRWRONG
    if fraction >= 1 - FRACTION_EPSILON:
        return QuestionState.MANGRRIGHT
    return QuestionState.MANGRPARTIAL
