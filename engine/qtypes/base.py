"""The question-type interface: what makes a response right, in five phases.

A question type knows, for one item and one variant, how to

1. **prepare** the key for a batch of variants (``prepare``), from computed values;
2. **render** what a student sees (``render``): never the key or any correctness flag;
3. **parse** a raw response into its canonical form (``parse``): a format error raises
   :class:`ResponseError`, which blocks grading but not saving;
4. **grade** a parsed response (``grade``): a fraction, feedback with computed values and the
   misconception it matches; and many responses at once (``grade_many``), equal to one by one;
5. **summarise** a response in one line, and **self-test** with a right, a wrong and an invalid
   response.

A behaviour (:mod:`engine.behaviours`) decides *when* these are called; a type never knows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

if TYPE_CHECKING:
    from engine.items import ItemBase
    from engine.variants import Variant

__all__ = [
    "Grade",
    "GradeBatch",
    "QuestionType",
    "ResponseError",
    "SelfTestCase",
    "Verdict",
]

ItemT = TypeVar("ItemT", bound="ItemBase")
Names = Mapping[str, np.ndarray]
Raw = Mapping[str, Any]

FRACTION_EPSILON = 1e-9


class ResponseError(ValueError):
    """A response that cannot be graded as it stands (a format error, not a wrong answer).

    The message speaks to the student ("enter a number") and never reveals the key.
    """


class Verdict:
    RIGHT = "right"
    PARTIAL = "partial"
    WRONG = "wrong"
    NOT_RIGHT = "not_right"
    """What a self-test's wrong response must be: partly right or wrong, but not right."""

    @staticmethod
    def of(fraction: float) -> str:
        if fraction >= 1 - FRACTION_EPSILON:
            return Verdict.RIGHT
        if fraction <= FRACTION_EPSILON:
            return Verdict.WRONG
        return Verdict.PARTIAL


@dataclass(frozen=True, slots=True)
class Grade:
    """The outcome of grading one response: stored with the step that graded it."""

    fraction: float
    feedback: tuple[str, ...] = ()
    misconception: str | None = None
    misconception_says: str | None = None

    @property
    def verdict(self) -> str:
        return Verdict.of(self.fraction)

    def to_json(self) -> dict[str, Any]:
        return {
            "fraction": self.fraction,
            "feedback": list(self.feedback),
            "misconception": self.misconception,
            "misconception_says": self.misconception_says,
        }


@dataclass(frozen=True, slots=True)
class GradeBatch:
    """Many responses graded at once. ``misconception`` holds indices into ``names`` (-1: none)."""

    fraction: np.ndarray
    misconception: np.ndarray
    names: tuple[str, ...] = ()

    def misconception_name(self, n: int) -> str | None:
        code = int(self.misconception[n])
        return None if code < 0 else self.names[code]


@dataclass(frozen=True, slots=True)
class SelfTestCase:
    label: str
    response: Raw
    expect: str  # Verdict.RIGHT, Verdict.NOT_RIGHT or "invalid"


@dataclass(frozen=True, slots=True)
class SelfTestResult:
    case: SelfTestCase
    outcome: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == self.case.expect


@dataclass
class Responses:
    """Many parsed responses to one item, as arrays, with the variant row each answers."""

    data: dict[str, np.ndarray] = field(default_factory=dict)
    variant_index: np.ndarray | None = None


class QuestionType(ABC, Generic[ItemT]):
    """One question type. Instances are stateless; one module-level instance serves every item."""

    name: ClassVar[str]
    has_options: ClassVar[bool] = False
    always_shuffles: ClassVar[bool] = False
    """Options are shuffled whatever the item's ``shuffle`` says (their authored order is the key)."""
    parse_reads_variant: ClassVar[bool] = True
    """:meth:`parse` looks at the variant. A type whose format checks are the same for every
    variant says False, and many responses are parsed without making each one's variant
    (:func:`engine.grading.parse_responses`: most of the time of grading a million)."""

    # --- phase 1: the key ---------------------------------------------------------------------
    @abstractmethod
    def prepare(self, item: ItemT, names: Names, batch: int) -> dict[str, np.ndarray]:
        """The key for ``batch`` variants as arrays with axis 0 the variant (never shown)."""

    def option_count(self, item: ItemT) -> int:
        """How many options a variant shuffles (0 when the type has none)."""
        return 0

    def fixed_positions(self, item: ItemT) -> tuple[int, ...]:
        """Options that keep their place when shuffling."""
        return ()

    # --- phase 2: what a student sees ---------------------------------------------------------
    @abstractmethod
    def render(self, item: ItemT, variant: Variant) -> dict[str, Any]:
        """Display data: the stem and the options in display order. No key, ever."""

    # --- phase 3 and 4 ------------------------------------------------------------------------
    def is_blank(self, raw: Raw | None) -> bool:
        """True when nothing has been answered yet (a blank response is not a format error)."""
        return not raw or all(v in (None, "", [], {}) for v in raw.values())

    @abstractmethod
    def parse(self, item: ItemT, variant: Variant, raw: Raw) -> Any:
        """The canonical response, or :class:`ResponseError`."""

    @abstractmethod
    def grade(self, item: ItemT, variant: Variant, response: Any) -> Grade:
        """Grade a parsed response."""

    def grade_many(
        self, item: ItemT, key: Mapping[str, np.ndarray], responses: Responses
    ) -> GradeBatch:
        """Grade many parsed responses at once with numpy; equal to :meth:`grade` one by one.

        ``key`` is a batch from :meth:`prepare` (plus ``order``); ``responses.variant_index``
        says which key row each response answers.
        """
        raise NotImplementedError(f"{self.name} has no vectorised grader")

    def stack(self, item: ItemT, parsed: list[Any]) -> Responses:
        """Parsed responses as the arrays :meth:`grade_many` reads."""
        raise NotImplementedError(f"{self.name} has no vectorised grader")

    # --- phase 5 ------------------------------------------------------------------------------
    @abstractmethod
    def summarise(self, item: ItemT, variant: Variant, response: Raw) -> str:
        """One line for a teacher's report (a raw response; it may be invalid)."""

    @abstractmethod
    def correct_response(self, item: ItemT, variant: Variant) -> Raw:
        """A raw response that earns full marks (for self-tests and review)."""

    def shown_response(self, item: ItemT, variant: Variant) -> Raw:
        """The right answer as a review shows it to a student: :meth:`correct_response` unless
        the type writes it as the question asks (a number at the precision the stem asks for)."""
        return self.correct_response(item, variant)

    @abstractmethod
    def self_test_cases(self, item: ItemT, variant: Variant) -> list[SelfTestCase]:
        """A right, a wrong and an invalid response, at least."""

    def self_test(self, item: ItemT, variant: Variant) -> list[SelfTestResult]:
        results = []
        for case in self.self_test_cases(item, variant):
            try:
                outcome = self.grade(item, variant, self.parse(item, variant, case.response))
            except ResponseError as exc:
                results.append(SelfTestResult(case, "invalid", str(exc)))
            else:
                verdict = outcome.verdict
                label = verdict if verdict == Verdict.RIGHT else Verdict.NOT_RIGHT
                results.append(SelfTestResult(case, label, f"fraction {outcome.fraction}"))
        return results

    # --- shared helpers -----------------------------------------------------------------------
    @staticmethod
    def same_response(a: Raw | None, b: Raw | None) -> bool:
        """Whether two raw responses are the same answer (a behaviour then keeps no new step)."""
        return dict(a or {}) == dict(b or {})
