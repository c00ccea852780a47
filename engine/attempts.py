"""The question attempt: one student's history with one item, as an append-only list of steps.

A :class:`QuestionAttempt` mirrors a ``question_attempts`` row and its ``steps`` rows. Every action
(start, save, submit, try again, finish, a manual grade) becomes a :class:`PendingStep`; the
attempt's behaviour (:mod:`engine.behaviours`) fills in the state and fraction it leads to and
answers :attr:`Decision.KEEP` or :attr:`Decision.DISCARD`. Kept steps are appended; nothing ever
changes or removes one. The current state, fraction and response are read off the history, so
"review as it was" is a prefix of the steps, and a regrade is a replay of the same actions against
a fixed item version. The engine has no clock and no users: the caller passes ``at`` and ``actor``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from engine.qtypes.base import Grade
from engine.states import QuestionState

if TYPE_CHECKING:
    from engine.behaviours.base import Behaviour
    from engine.items import ItemBase
    from engine.qtypes.base import QuestionType
    from engine.variants import Variant

__all__ = [
    "Action",
    "AttemptError",
    "Decision",
    "ManualGrade",
    "Outcome",
    "PendingStep",
    "QuestionAttempt",
    "Step",
]


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, tuples of numbers and text), as
    ``copy.deepcopy`` makes it but without its memo: anything else is deep-copied as usual."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    if kind is tuple:
        return tuple(_copy_json(item) for item in value)
    return copy.deepcopy(value)


class AttemptError(Exception):
    """An action that the attempt refuses in its current state, with a message that says why.

    It never names a key or a correctness flag: the message may reach the student.
    """


class Action(StrEnum):
    START = "start"
    SAVE = "save"
    SUBMIT = "submit"
    TRY_AGAIN = "try_again"
    FINISH = "finish"
    MANUAL_GRADE = "manual_grade"


class Decision(Enum):
    """A behaviour's answer for a pending step (Moodle's ``question_attempt::KEEP``/``DISCARD``)."""

    KEEP = "keep"
    DISCARD = "discard"


@dataclass(frozen=True, slots=True)
class ManualGrade:
    """What a person gave in a manual-grade step: a fraction, rubric selections
    (criterion id → level index) or neither, and a comment; or, ``cleared``, the withdrawal of the
    mark given by hand before (the question's mark is the automatic one again)."""

    fraction: float | None = None
    rubric: dict[str, int] | None = None
    comment: str | None = None
    cleared: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One kept step: a ``steps`` row. ``fraction`` is the question's fraction as of this step
    (None while ungraded); ``grade`` is the outcome of grading a response at this step, whose own
    fraction is the raw one (before an interactive penalty)."""

    seq: int
    action: Action
    state: QuestionState
    actor: str
    at: datetime
    response: dict[str, Any] | None = None
    fraction: float | None = None
    grade: Grade | None = None
    error: str | None = None
    try_number: int | None = None
    manual: ManualGrade | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: enums as their values, the time as an ISO 8601 string; the response and
        the rubric are copies. (The fields in declaration order, as ``dataclasses.asdict`` gives
        them, without its generic deep copy of every field.)"""
        manual = self.manual
        return {
            "seq": self.seq,
            "action": self.action.value,
            "state": self.state.value,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "response": _copy_json(self.response),
            "fraction": self.fraction,
            "grade": None if self.grade is None else self.grade.to_json(),
            "error": self.error,
            "try_number": self.try_number,
            "manual": None if manual is None else {
                "fraction": manual.fraction, "rubric": _copy_json(manual.rubric), "comment": manual.comment,
                **({"cleared": True} if manual.cleared else {})},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        grade, manual = values["grade"], values["manual"]
        values.update(
            action=Action(data["action"]), state=QuestionState(data["state"]),
            at=datetime.fromisoformat(data["at"]),
            grade=None if grade is None else Grade(
                grade["fraction"], tuple(grade["feedback"]), grade["misconception"],
                grade["misconception_says"]),
            manual=None if manual is None else ManualGrade(**manual),
        )
        return cls(**values)


@dataclass(slots=True)
class PendingStep:
    """A step being decided: the action as asked, and what the behaviour makes of it."""

    action: Action
    actor: str
    at: datetime
    response: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    state: QuestionState | None = None
    fraction: float | None = None
    grade: Grade | None = None
    error: str | None = None
    try_number: int | None = None
    manual: ManualGrade | None = None

    def kept_as(self, seq: int) -> Step:
        if self.state is None:
            raise AssertionError(f"the behaviour kept a {self.action} step without a state")
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(Step)[1:]}
        return Step(seq=seq, **values)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What :meth:`QuestionAttempt.process` did: the step it appended, or none (discarded)."""

    kept: bool
    step: Step | None = None


class QuestionAttempt:
    """One student's attempt at one item version and variant, under one behaviour.

    Mirrors a ``question_attempts`` row (item version, variant seed, behaviour, max mark) with its
    ``steps``. Create one with :meth:`start` (or :meth:`from_json` for a stored one); change it
    only through :meth:`process`, which appends.
    """

    def __init__(self, variant: Variant, behaviour: Behaviour, *, max_mark: float | None = None,
                 qtype: QuestionType[Any] | None = None) -> None:
        if qtype is None:
            from engine.qtypes import qtype_for

            qtype = qtype_for(variant.item)
        self.variant = variant
        self.behaviour = behaviour
        self.qtype: QuestionType[Any] = qtype
        self.max_mark = float(variant.item.max_mark if max_mark is None else max_mark)
        if not (math.isfinite(self.max_mark) and self.max_mark > 0):
            raise AttemptError(f"max_mark must be a positive number, not {max_mark!r}")
        self._steps: list[Step] = []

    @classmethod
    def start(cls, variant: Variant, behaviour: Behaviour, *, actor: str, at: datetime,
              max_mark: float | None = None, qtype: QuestionType[Any] | None = None,
              ) -> QuestionAttempt:
        """A new attempt with its first step (state todo)."""
        qa = cls(variant, behaviour, max_mark=max_mark, qtype=qtype)
        qa.process(Action.START, actor=actor, at=at)
        return qa

    # --- reading the history ------------------------------------------------------------------

    @property
    def item(self) -> ItemBase:
        return self.variant.item

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(self._steps)

    @property
    def last_step(self) -> Step:
        if not self._steps:
            raise AttemptError("the question attempt has not been started")
        return self._steps[-1]

    @property
    def state(self) -> QuestionState:
        return self.last_step.state

    @property
    def fraction(self) -> float | None:
        return self.last_step.fraction

    @property
    def mark(self) -> float | None:
        """fraction × max mark; None while ungraded."""
        fraction = self.fraction
        return None if fraction is None else fraction * self.max_mark

    @property
    def response(self) -> dict[str, Any] | None:
        """The last response saved or submitted (None before the first); a copy."""
        last = next((s.response for s in reversed(self._steps) if s.response is not None), None)
        return _copy_json(last)

    @property
    def tries_left(self) -> int:
        return self.behaviour.tries_left(self)

    @property
    def feedback_visible(self) -> bool:
        """Whether the behaviour lets the student see the latest grade's feedback now."""
        return self.behaviour.feedback_visible(self.last_step)

    @property
    def latest_grade(self) -> Grade | None:
        """The most recent automatic grade (for review; check :attr:`feedback_visible` first)."""
        return next((s.grade for s in reversed(self._steps) if s.grade is not None), None)

    @property
    def pinned_by_hand(self) -> Step | None:
        """The manual-grade step whose mark stands (a person's fraction or rubric score that no
        later step cleared), or None when the mark is the engine's own."""
        pinned = None
        for step in self._steps:
            if step.manual is not None:
                if step.manual.cleared:
                    pinned = None
                elif step.manual.fraction is not None:
                    pinned = step
        return pinned

    @property
    def manual_comment(self) -> str | None:
        return next((s.manual.comment for s in reversed(self._steps)
                     if s.manual is not None and s.manual.comment is not None), None)

    # --- acting -------------------------------------------------------------------------------

    def process(self, action: Action | str, response: Mapping[str, Any] | None = None, *,
                actor: str, at: datetime, **data: Any) -> Outcome:
        """Ask the behaviour about ``action``; append the step if it is kept.

        ``data`` carries an action's own fields (``fraction``, ``rubric``, ``comment`` for a manual
        grade). Raises :class:`AttemptError` when the action is refused in this state.
        """
        try:
            action = Action(action)
        except ValueError:
            raise AttemptError(f"unknown action {action!r}") from None
        if at.tzinfo is None:
            raise AttemptError("step times must be timezone-aware (say which zone `at` is in)")
        if response is not None and not isinstance(response, Mapping):
            raise AttemptError("a response is a mapping of field names to values")
        if (action is Action.START) != (not self._steps):
            raise AttemptError("an attempt starts exactly once, before any other action")
        # A deep copy: the caller's dict may change later; the history must not.
        raw = None if response is None else _copy_json(dict(response))
        pending = PendingStep(action, actor, at, raw, dict(data))
        decision = self.behaviour.process(self, pending)
        if decision is Decision.DISCARD:
            return Outcome(kept=False)
        step = pending.kept_as(len(self._steps))
        self._steps.append(step)
        return Outcome(kept=True, step=step)

    def regrade(self, new: ItemBase | Variant, *, qtype: QuestionType[Any] | None = None,
                ) -> QuestionAttempt:
        """A new attempt that replays every step against ``new`` (a fixed item version, or a
        variant of one, with this attempt's seed). This attempt is left as it was; see
        :meth:`replay` for how the steps are replayed."""
        from engine.variants import Variant as VariantType
        from engine.variants import generate

        variant = new if isinstance(new, VariantType) else generate(new, self.variant.seed)
        if variant.seed != self.variant.seed:
            raise AttemptError(
                f"a regrade keeps the variant's seed ({self.variant.seed}), not {variant.seed}"
            )
        if qtype is None and variant.item.type_name == self.item.type_name:
            qtype = self.qtype
        return QuestionAttempt.replay(self._steps, variant, self.behaviour, max_mark=self.max_mark, qtype=qtype)

    @classmethod
    def replay(cls, steps: Sequence[Step], variant: Variant, behaviour: Behaviour, *, max_mark: float,
               qtype: QuestionType[Any] | None = None, manual: bool = True) -> QuestionAttempt:
        """A new attempt at ``variant`` that replays ``steps`` (another attempt's history, with
        the same seed): what a regrade is, without the old variant at hand.

        Actions are replayed in order with their original responses, actors and times. A step that
        the new version makes moot (a second interactive try after the first is now right) is
        dropped, as Moodle's replay discards it. Where the original was finished and the replay is
        not (a right first try that the fix makes wrong), a finish step is added with that step's
        actor and time, as Moodle's ``regrade(..., $finished)`` does. Manual grades are re-applied
        as given: a fraction as it was, rubric selections scored against the new rubric, a
        cleared mark cleared again. ``manual=False`` leaves them out: the mark the engine alone
        would give (what a regrade would give if no person had graded the question).
        """
        replay = cls(variant, behaviour, max_mark=max_mark, qtype=qtype)
        for step in steps:
            if step.manual is not None:
                if not manual:
                    continue
                given = step.manual
                data: dict[str, Any] = {"clear": True} if given.cleared else {
                    "comment": given.comment, "rubric": given.rubric}
                if given.rubric is None and not given.cleared:
                    data["fraction"] = given.fraction
                replay.process(step.action, actor=step.actor, at=step.at, **data)
                continue
            try:
                replay.process(step.action, step.response, actor=step.actor, at=step.at)
            except AttemptError:
                if step.action is Action.START:
                    raise
            if step.state.is_finished() and replay.state.is_active():
                replay.process(Action.FINISH, actor=step.actor, at=step.at)
        return replay

    # --- storage ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for storage: the behaviour, max mark, seed and every step."""
        return {
            "behaviour": {"name": self.behaviour.name, "options": self.behaviour.options()},
            "max_mark": self.max_mark,
            "seed": self.variant.seed,
            "steps": [s.to_json() for s in self._steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], variant: Variant, *,
                  qtype: QuestionType[Any] | None = None) -> QuestionAttempt:
        """Rebuild a stored attempt for ``variant`` (rebuilt by the caller from the pinned item
        version and the stored seed). The steps are restored as stored, not replayed."""
        from engine.behaviours import behaviour_for

        if int(data["seed"]) != variant.seed:
            raise AttemptError(f"stored seed {data['seed']} does not match variant {variant.seed}")
        spec = data["behaviour"]
        qa = cls(variant, behaviour_for(spec["name"], **spec.get("options", {})),
                 max_mark=data["max_mark"], qtype=qtype)
        for n, raw in enumerate(data["steps"]):
            step = Step.from_json(raw)
            if step.seq != n or (step.action is Action.START) != (n == 0):
                raise AttemptError(f"stored steps are out of order at step {n}")
            qa._steps.append(step)
        if not qa._steps:
            raise AttemptError("a stored attempt has at least its start step")
        return qa

    def __repr__(self) -> str:
        state = self._steps[-1].state.value if self._steps else "not started"
        return (f"QuestionAttempt({self.item.id!r}, seed={self.variant.seed}, "
                f"{self.behaviour.name}, {state}, steps={len(self._steps)})")
