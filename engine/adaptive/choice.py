r"""The next question of a practice, by three rules in order.

1. **Remediation.** The last answer matched a named misconception: the next item exercises a
   concept of the last one and carries a distractor or misconception of the same name, so the
   student meets the mistake again at once, with its feedback fresh.
2. **Information.** Otherwise, among the concepts not yet mastered whose prerequisites are
   mastered (the concept graph's frontier, in its order; all the unmastered ones if none is
   ready), the item with the most 2PL Fisher information
   :math:`I_j(\hat\theta) = a_j^2 P_j(\hat\theta)(1 - P_j(\hat\theta))` at the student's EAP
   ability. While the ability is uncertain (posterior SD above :data:`SETTLED_SE`) that is the
   whole rule, which measures the student fastest; once it is known, only items the student is
   predicted to answer right with probability at least :data:`SUCCESS_TARGET` compete (the
   easiest item if none is), because mastery is a success rate of 0.8 and an item the student
   answers right half the time can never show it.
3. **Spaced review.** When every concept is mastered, a concept whose review is due.

An item among the last few answered is passed over while another qualifies (a fresh variant of
the same item is what "New variant" is for). Each choice is a handful of vector operations over
the pool: under a millisecond for 10,000 items (bench/practice.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from engine.adaptive.pool import ItemPool
from engine.adaptive.state import StudentState
from engine.psychometrics.quadrature import logistic

__all__ = ["SETTLED_SE", "SUCCESS_TARGET", "Choice", "Rule", "choose_next", "information"]

SETTLED_SE = 0.5
"""The ability's posterior SD below which the choice aims at success rather than measurement."""
SUCCESS_TARGET = 0.9
"""Once the ability is settled, the least predicted chance of a right answer an item must offer."""


class Rule(StrEnum):
    REMEDIATION = "remediation"
    INFORMATION = "information"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Choice:
    """The item chosen (its row and key), the rule that chose it and the concept it serves."""

    row: int
    key: str
    rule: Rule
    concept: str
    misconception: str | None = None


def information(pool: ItemPool, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Each item's Fisher information at ``theta`` and its predicted chance of a right answer."""
    p = logistic(pool.discrimination * (theta - pool.difficulty))
    return pool.discrimination**2 * p * (1.0 - p), p


def _fresh(candidates: np.ndarray, state: StudentState) -> np.ndarray:
    if state.recent:
        fresh = candidates.copy()
        fresh[state.recent] = False
        if fresh.any():
            return fresh
    return candidates


def _best(candidates: np.ndarray, info: np.ndarray, p: np.ndarray, *, aim_for_success: bool) -> int:
    if aim_for_success:
        likely = candidates & (p >= SUCCESS_TARGET)
        if not likely.any():
            return int(np.argmax(np.where(candidates, p, -np.inf)))
        candidates = likely
    return int(np.argmax(np.where(candidates, info, -np.inf)))


def _concept_served(pool: ItemPool, row: int, wanted: np.ndarray) -> str:
    served = np.flatnonzero(pool.covers[row] & wanted)
    return pool.concepts[int(served[0])] if served.size else pool.concepts_of(row)[0]


def choose_next(pool: ItemPool, state: StudentState, now: float = 0.0, *, remediation: bool = True) -> Choice | None:
    """The next item for the student, or None when every concept is mastered and none is due."""
    if not len(pool) or not pool.concepts:
        return None
    theta, se = state.ability()
    info, p = information(pool, theta)
    settled = se <= SETTLED_SE
    if remediation and state.last_misconception is not None and state.last_item is not None:
        last = pool.covers[state.last_item]
        candidates = pool.carrying(state.last_misconception) & (pool.covers[:, last].any(axis=1))
        candidates[state.last_item] = False
        if candidates.any():
            row = _best(_fresh(candidates, state), info, p, aim_for_success=False)
            return Choice(row, pool.keys[row], Rule.REMEDIATION, _concept_served(pool, row, last),
                          state.last_misconception)
    mastered = state.mastered()
    unmastered = ~mastered
    if unmastered.any():
        ready = unmastered & ~(pool.needs & ~mastered).any(axis=1)
        for wanted in (ready, unmastered):
            serving = np.asarray(pool.covers[:, wanted].any(axis=1))
            if serving.any():
                # Every item of the frontier's concepts competes: an item that serves two of them
                # is as good as one that serves the first.
                row = _best(_fresh(serving, state), info, p, aim_for_success=settled)
                return Choice(row, pool.keys[row], Rule.INFORMATION, _concept_served(pool, row, wanted))
    due = mastered & (state.due <= now)
    if due.any():
        first = int(np.argmin(np.where(due, state.due, np.inf)))
        candidates = pool.covers[:, first]
        if candidates.any():
            row = _best(_fresh(candidates, state), info, p, aim_for_success=settled)
            return Choice(row, pool.keys[row], Rule.REVIEW, pool.concepts[first])
    return None
