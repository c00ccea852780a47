r"""What a practice knows about one student: their ability, each concept's mastery and review schedule.

* **Ability** is the EAP (posterior mean) under the pool's 2PL parameters and a N(0, 1) prior,
  kept as a log posterior on a fixed grid of abilities, so each answer adds one vector and the
  estimate is a weighted mean (Bock & Mislevy's fixed-quadrature EAP [1]_).
* **Mastery** of a concept is engine.psychometrics' Beta–Binomial posterior over the student's
  answers to its items, each answer one observation (a fraction for partial credit): mastered
  when :math:`P(\mu \ge 0.8) \ge 0.9`.
* **Spaced review**: a concept mastered comes due after 1 day, then (each review answered right)
  3, 7 and 21 days; a review answered wrong starts the schedule again.

Times are in days, on whatever clock the caller keeps (the service passes days since the epoch).

References
----------
.. [1] Bock, R. D. & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a
   microcomputer environment. *Applied Psychological Measurement* 6(4), 431-444.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from engine.adaptive.pool import ItemPool
from engine.psychometrics import mastery_probability
from engine.psychometrics.quadrature import log_logistic

__all__ = [
    "MASTERY_CONFIDENCE",
    "MASTERY_LEVEL",
    "REVIEW_DAYS",
    "Answer",
    "ConceptState",
    "StudentState",
    "replay",
]

MASTERY_LEVEL = 0.8
"""The success rate that counts as mastery."""
MASTERY_CONFIDENCE = 0.9
"""How sure the posterior must be that the success rate is at least MASTERY_LEVEL."""
REVIEW_DAYS = (1.0, 3.0, 7.0, 21.0)
"""Days from mastery to the first review, then between reviews answered right."""
CORRECT = 0.5
"""A fraction at or above this counts as a review answered right."""
GRID = np.linspace(-5.0, 5.0, 121)
"""Abilities the posterior is kept on (N(0, 1) students; the tails carry no weight)."""


class ConceptState(StrEnum):
    NOT_STARTED = "not_started"
    LEARNING = "learning"
    MASTERED = "mastered"
    REVIEW_DUE = "review_due"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer in a practice: the item (its key), the fraction earned, the misconception the
    answer matched (if any) and when (days)."""

    key: str
    fraction: float
    misconception: str | None = None
    at: float = 0.0


@dataclass
class StudentState:
    """A student's practice so far, updated answer by answer (see :func:`replay`)."""

    log_posterior: np.ndarray
    successes: np.ndarray
    evidence: np.ndarray
    stage: np.ndarray
    """Per concept: -1 until mastered, then the index into REVIEW_DAYS of the current interval."""
    due: np.ndarray
    """Per concept: when its next review is due (inf when not mastered)."""
    recent: list[int] = field(default_factory=list)
    last_item: int | None = None
    last_misconception: str | None = None
    answered: int = 0
    _mastery: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def new(cls, pool: ItemPool, *, prior_mean: float = 0.0, prior_sd: float = 1.0) -> StudentState:
        concepts = len(pool.concepts)
        return cls(log_posterior=-((GRID - prior_mean) ** 2) / (2 * prior_sd**2),
                   successes=np.zeros(concepts), evidence=np.zeros(concepts),
                   stage=np.full(concepts, -1, dtype=np.int64), due=np.full(concepts, np.inf))

    # -- ability ------------------------------------------------------------------------------
    def _weights(self) -> np.ndarray:
        w = np.exp(self.log_posterior - self.log_posterior.max())
        return w / w.sum()

    def ability(self) -> tuple[float, float]:
        """The EAP ability estimate and its posterior SD."""
        w = self._weights()
        mean = float(w @ GRID)
        return mean, float(np.sqrt(w @ (GRID - mean) ** 2))

    @property
    def theta(self) -> float:
        """The EAP ability estimate."""
        return self.ability()[0]

    @property
    def se(self) -> float:
        """The posterior SD of the ability."""
        return self.ability()[1]

    # -- mastery ------------------------------------------------------------------------------
    def mastery(self) -> np.ndarray:
        r""":math:`P(\mu \ge 0.8)` per concept under the Beta(1 + s, 1 + n − s) posterior."""
        if self._mastery is None:
            self._mastery = mastery_probability(1.0 + self.successes, 1.0 + self.evidence - self.successes,
                                                MASTERY_LEVEL)
        return self._mastery

    def mastered(self) -> np.ndarray:
        return self.mastery() >= MASTERY_CONFIDENCE

    def states(self, now: float) -> list[ConceptState]:
        mastered = self.mastered()
        out = []
        for n, is_mastered in enumerate(mastered):
            if is_mastered:
                out.append(ConceptState.REVIEW_DUE if self.due[n] <= now else ConceptState.MASTERED)
            else:
                out.append(ConceptState.LEARNING if self.evidence[n] > 0 else ConceptState.NOT_STARTED)
        return out

    # -- an answer ----------------------------------------------------------------------------
    def record(self, pool: ItemPool, row: int, fraction: float, misconception: str | None = None,
               now: float = 0.0) -> None:
        """Add the answer to item ``row`` (``fraction`` in [0, 1]) given at ``now`` (days)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("an answer's fraction must lie between 0 and 1")
        eta = pool.discrimination[row] * (GRID - pool.difficulty[row])
        self.log_posterior = self.log_posterior + fraction * log_logistic(eta) + (1 - fraction) * log_logistic(-eta)
        columns = pool.covers[row]
        was_mastered = self.mastered()
        was_due = columns & was_mastered & (self.due <= now)
        self.successes[columns] += fraction
        self.evidence[columns] += 1.0
        self._mastery = None
        mastered = self.mastered()
        right = fraction >= CORRECT
        for n in np.flatnonzero(columns):
            if mastered[n] and not was_mastered[n]:
                self.stage[n], self.due[n] = 0, now + REVIEW_DAYS[0]
            elif was_due[n] and mastered[n]:
                self.stage[n] = min(self.stage[n] + 1, len(REVIEW_DAYS) - 1) if right else 0
                self.due[n] = now + REVIEW_DAYS[self.stage[n]]
            elif not mastered[n]:
                self.stage[n], self.due[n] = -1, np.inf
        self.recent = [*self.recent[-(RECENT - 1):], row]
        self.last_item = row
        self.last_misconception = misconception
        self.answered += 1


RECENT = 3
"""An item answered in the last RECENT questions is not chosen again while another will do."""


def replay(pool: ItemPool, answers: Iterable[Answer], *, prior_mean: float = 0.0,
           prior_sd: float = 1.0) -> StudentState:
    """The state after ``answers`` in order; answers to items no longer in the pool are skipped."""
    state = StudentState.new(pool, prior_mean=prior_mean, prior_sd=prior_sd)
    rows = {key: n for n, key in enumerate(pool.keys)}
    for answer in answers:
        row = rows.get(answer.key)
        if row is not None:
            state.record(pool, row, answer.fraction, answer.misconception, answer.at)
    return state
