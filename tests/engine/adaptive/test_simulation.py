"""The proof by simulation (bench/practice.py prints the figures for 1,000 students)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.adaptive.simulation import Ordering, Population, simulate, simulated_pool


@pytest.fixture(scope="module")
def pool():
    return simulated_pool(np.random.default_rng(7))


def test_the_adaptive_path_masters_every_concept_in_fewer_questions_and_measures_better(pool) -> None:
    population = Population(students=40)
    runs = {o: simulate(pool, o, population, seed=11, limit=250)
            for o in (Ordering.ADAPTIVE, Ordering.RANDOM, Ordering.FIXED)}
    adaptive = runs[Ordering.ADAPTIVE]
    assert adaptive.mastered_all.mean() > runs[Ordering.RANDOM].mastered_all.mean()
    for other in (Ordering.RANDOM, Ordering.FIXED):
        assert adaptive.questions.mean() < runs[other].questions.mean()
    for after in (10, 20):
        assert adaptive.rmse(after) < runs[Ordering.RANDOM].rmse(after)


def test_remediation_clears_a_misconception_in_fewer_questions(pool) -> None:
    population = Population(students=60, misconception_rate=1.0)
    cleared = [np.nanmean(simulate(pool, o, population, seed=5, limit=150).cleared_after)
               for o in (Ordering.ADAPTIVE, Ordering.WITHOUT_REMEDIATION)]
    assert cleared[0] < cleared[1]


def test_the_same_seed_gives_the_same_students(pool) -> None:
    population = Population(students=3)
    one, two = (simulate(pool, Ordering.ADAPTIVE, population, seed=2, limit=40) for _ in range(2))
    np.testing.assert_array_equal(one.theta, two.theta)
    np.testing.assert_array_equal(one.questions, two.questions)
