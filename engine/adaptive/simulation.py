"""Simulated students, to show what the choice of the next question buys.

A simulated student has a known ability and answers by the 2PL model; for the remediation rule
they may also hold one named misconception: on an item that carries it they fall for it with a
known probability, which drops by :attr:`Population.unlearning` each time they see its feedback
(each time they fall for it). The same students (the same seed) meet each ordering:

* ``adaptive``: :func:`~engine.adaptive.choice.choose_next`, all three rules;
* ``adaptive-without-remediation``: the same without rule 1;
* ``random``: any item of the practice, uniformly;
* ``random-among-unmastered``: any item of a concept not yet mastered, uniformly (what the
  concept graph and mastery alone buy, without choosing the item);
* ``fixed``: the items in the concept graph's order, round and round.

Each run stops when the practice's own mastery rule says every concept is mastered, or at
``limit`` questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from engine.adaptive.choice import choose_next
from engine.adaptive.pool import ItemPool, PracticeItem
from engine.adaptive.state import StudentState
from engine.psychometrics.quadrature import logistic

__all__ = ["Ordering", "Population", "Run", "simulate", "simulated_pool"]


class Ordering(StrEnum):
    ADAPTIVE = "adaptive"
    WITHOUT_REMEDIATION = "adaptive-without-remediation"
    RANDOM = "random"
    RANDOM_UNMASTERED = "random-among-unmastered"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Population:
    """Who the simulated students are."""

    students: int = 1000
    misconception_rate: float = 0.0
    """Chance that a student holds a misconception (0: pure 2PL students)."""
    initial_strength: float = 0.9
    """How likely a student who holds it falls for it on an item carrying it, at first."""
    unlearning: float = 0.5
    """The factor its strength is multiplied by each time the student sees its feedback."""
    cleared_below: float = 0.3
    """A misconception whose strength is below this is cleared."""


@dataclass(frozen=True)
class Run:
    """Per simulated student (arrays of length ``students``)."""

    ordering: Ordering
    theta: np.ndarray
    questions: np.ndarray
    """Questions until every concept was mastered (``limit`` when not reached)."""
    mastered_all: np.ndarray
    estimates: dict[int, np.ndarray]
    """After n questions (n in ``checkpoints``): the EAP ability estimate."""
    cleared_after: np.ndarray
    """Questions from the first time the student fell for their misconception until it was cleared,
    both counted (NaN: held none or never met it; not cleared by ``limit``: counted to ``limit``)."""

    def rmse(self, after: int) -> float:
        return float(np.sqrt(np.mean((self.estimates[after] - self.theta) ** 2)))


def simulated_pool(rng: np.random.Generator, *, concepts: int = 6, items_per_concept: int = 30,
                   misconceptions: int = 4, carry_rate: float = 0.3) -> ItemPool:
    """A calibrated bank over a chain-and-branch concept graph: concept k needs concept (k-1)//2
    (a binary tree), each item exercises one concept and sometimes its prerequisite too, and each
    misconception name is carried by a share of the items of two neighbouring concepts."""
    names = [f"concept-{k}" for k in range(concepts)]
    needs = {names[k]: [names[(k - 1) // 2]] for k in range(1, concepts)}
    mistakes = [f"mistake-{m}" for m in range(misconceptions)]
    items = []
    for k, concept in enumerate(names):
        for n in range(items_per_concept):
            covered = [concept]
            if k and rng.random() < 0.3:
                covered.append(names[(k - 1) // 2])
            carried = frozenset(m for j, m in enumerate(mistakes)
                                if k in {j % concepts, (j + 1) % concepts} and rng.random() < carry_rate)
            items.append(PracticeItem(key=f"{concept}-item-{n}", concepts=tuple(covered), misconceptions=carried,
                                      difficulty=float(rng.normal(0.0, 1.3)),
                                      discrimination=float(rng.lognormal(0.2, 0.3))))
    return ItemPool.build(items, names, needs)


def _fixed_order(pool: ItemPool) -> np.ndarray:
    first = np.argmax(pool.covers, axis=1)
    return np.argsort(first, kind="stable")


def _next_row(pool: ItemPool, ordering: Ordering, state: StudentState, question: int, order: np.ndarray,
              rng: np.random.Generator) -> int | None:
    if ordering is Ordering.RANDOM:
        return int(rng.integers(len(pool)))
    if ordering is Ordering.RANDOM_UNMASTERED:
        open_items = np.flatnonzero(pool.covers[:, ~state.mastered()].any(axis=1))
        return int(open_items[rng.integers(open_items.size)])
    if ordering is Ordering.FIXED:
        return int(order[question % len(order)])
    choice = choose_next(pool, state, remediation=ordering is Ordering.ADAPTIVE)
    return None if choice is None else choice.row


def _answer(pool: ItemPool, row: int, theta: float, misconception: str | None, strength: float,
            rng: np.random.Generator) -> tuple[float, str | None]:
    """The student's fraction, and the misconception they fell for (if they did)."""
    if misconception and pool.carrying(misconception)[row] and rng.random() < strength:
        return 0.0, misconception
    p = logistic(pool.discrimination[row] * (theta - pool.difficulty[row]))
    return float(rng.random() < p), None


def simulate(pool: ItemPool, ordering: Ordering, population: Population, *, seed: int = 0, limit: int = 300,
             checkpoints: tuple[int, ...] = (10, 20)) -> Run:
    """Each student of ``population`` (drawn from ``seed``, the same for every ordering) practises
    under ``ordering`` until every concept is mastered or ``limit`` questions."""
    students = np.random.default_rng(seed)
    theta = students.normal(0.0, 1.0, population.students)
    holds = students.random(population.students) < population.misconception_rate
    names = sorted(pool.misconceptions)
    held = students.integers(0, max(len(names), 1), population.students)
    answers = np.random.default_rng([seed, 1])  # the answers' randomness, apart from who the students are
    order = _fixed_order(pool)
    questions = np.full(population.students, limit)
    cleared = np.full(population.students, np.nan)
    estimates = {n: np.full(population.students, np.nan) for n in checkpoints}
    for s in range(population.students):
        state = StudentState.new(pool)
        name = names[held[s]] if holds[s] and names else None
        strength = population.initial_strength if name else 0.0
        first_fall: int | None = None
        for q in range(limit):
            row = _next_row(pool, ordering, state, q, order, answers)
            if row is None:
                break
            fraction, mistaken = _answer(pool, row, theta[s], name, strength, answers)
            if mistaken:
                strength *= population.unlearning
                first_fall = q if first_fall is None else first_fall
                if strength < population.cleared_below and np.isnan(cleared[s]):
                    cleared[s] = q + 1 - first_fall
            state.record(pool, row, fraction, mistaken)
            if q + 1 in estimates:
                estimates[q + 1][s] = state.theta
            if state.mastered().all():
                questions[s] = q + 1
                break
        if first_fall is not None and np.isnan(cleared[s]):
            cleared[s] = limit - first_fall
        for found in estimates.values():  # a student done before a checkpoint keeps their estimate
            found[s] = state.theta if np.isnan(found[s]) else found[s]
    return Run(ordering=ordering, theta=theta, questions=questions, mastered_all=questions < limit,
               estimates=estimates, cleared_after=cleared)
