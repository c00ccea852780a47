"""The next question of a practice: each rule in a situation where it must decide."""

from __future__ import annotations

import numpy as np
import pytest

from engine.adaptive import (
    REVIEW_DAYS,
    Answer,
    ConceptState,
    ItemPool,
    PracticeItem,
    Rule,
    StudentState,
    choose_next,
    concept_order,
    information,
    prior_difficulty,
    replay,
)
from engine.psychometrics import ability, concept_mastery, mastery_probability


def _pool() -> ItemPool:
    items = [
        PracticeItem("logits-easy", ("logits",), difficulty=-1.0, discrimination=1.0),
        PracticeItem("logits-hard", ("logits",), frozenset({"forgot-the-log"}), difficulty=1.0, discrimination=1.5),
        PracticeItem("loss-a", ("loss",), frozenset({"forgot-the-log"}), difficulty=0.0, discrimination=1.2),
        PracticeItem("loss-b", ("loss",), frozenset({"swapped"}), difficulty=0.2, discrimination=2.0),
        PracticeItem("loss-c", ("loss",), frozenset({"forgot-the-log"}), difficulty=2.5, discrimination=0.5),
        PracticeItem("dpo-new", ("dpo",), bloom="Evaluate"),
    ]
    return ItemPool.build(items, ["dpo", "loss", "logits"], {"loss": ["logits"], "dpo": ["loss"]})


def test_the_concepts_come_in_prerequisite_order_and_a_cycle_is_refused() -> None:
    assert _pool().concepts == ("logits", "loss", "dpo")
    assert concept_order(["a", "b", "c"], {"a": ["c"], "b": []}) == ("b", "c", "a")
    with pytest.raises(ValueError, match="cycle"):
        concept_order(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_an_uncalibrated_item_takes_its_prior_from_its_bloom_level() -> None:
    pool = _pool()
    row = pool.index("dpo-new")
    assert not pool.calibrated[row]
    assert pool.difficulty[row] == prior_difficulty("Evaluate") == 1.25
    assert pool.discrimination[row] == 1.0
    assert prior_difficulty("remember") < prior_difficulty("Apply") < prior_difficulty("Create")
    assert prior_difficulty(None) == prior_difficulty("unheard-of") == 0.0


def test_fisher_information_is_the_2pl_formula() -> None:
    info, p = information(_pool(), 0.0)
    # loss-b: a = 2, b = 0.2: P = 1 / (1 + e^{0.4}); I = a^2 P (1 - P)
    expected_p = 1 / (1 + np.exp(0.4))
    assert p[3] == pytest.approx(expected_p, rel=1e-12)
    assert info[3] == pytest.approx(4 * expected_p * (1 - expected_p), rel=1e-12)


def test_a_new_student_first_meets_the_most_informative_item_of_the_first_concept() -> None:
    pool = _pool()
    choice = choose_next(pool, StudentState.new(pool))
    assert choice is not None
    # only "logits" is ready (loss needs it, dpo needs loss); at theta = 0, a = 1.5, b = 1 gives
    # 2.25 * P(1-P) = 0.354 > a = 1, b = -1: 0.197
    assert (choice.key, choice.rule, choice.concept) == ("logits-hard", Rule.INFORMATION, "logits")


def test_a_matched_misconception_brings_an_item_with_the_same_mistake_at_once() -> None:
    pool = _pool()
    state = replay(pool, [Answer("loss-a", 0.0, "forgot-the-log")])
    choice = choose_next(pool, state)
    assert choice is not None
    # loss-c carries forgot-the-log and exercises loss; logits-hard carries it but not the concept
    assert (choice.key, choice.rule, choice.misconception) == ("loss-c", Rule.REMEDIATION, "forgot-the-log")
    without = choose_next(pool, state, remediation=False)
    assert without is not None and without.rule is Rule.INFORMATION


def test_an_answer_without_a_misconception_brings_no_remediation() -> None:
    pool = _pool()
    state = replay(pool, [Answer("loss-a", 0.0)])
    choice = choose_next(pool, state)
    assert choice is not None and choice.rule is Rule.INFORMATION


def test_mastery_is_the_beta_binomial_posterior_and_opens_the_next_concept() -> None:
    pool = _pool()
    answers = [Answer("logits-easy" if n % 2 else "logits-hard", 1.0) for n in range(10)]
    state = replay(pool, answers)
    # ten right answers: Beta(11, 1), P(mu >= 0.8) = 1 - 0.8^11
    assert state.mastery()[0] == pytest.approx(1 - 0.8**11, rel=1e-10)
    assert state.mastered().tolist() == [True, False, False]
    assert state.states(0.0) == [ConceptState.MASTERED, ConceptState.NOT_STARTED, ConceptState.NOT_STARTED]
    choice = choose_next(pool, state)
    assert choice is not None and choice.concept == "loss"
    nine = replay(pool, answers[:9])
    assert nine.mastered().tolist() == [False, False, False]  # 1 - 0.8^10 = 0.893 < 0.9


def test_the_state_agrees_with_engine_psychometrics() -> None:
    pool = _pool()
    answers = [Answer("loss-a", 1.0), Answer("loss-b", 0.5), Answer("logits-easy", 0.0), Answer("loss-c", 1.0)]
    state = replay(pool, answers)
    marks = np.array([[a.fraction for a in answers]])
    tags = {c: [n for n, a in enumerate(answers) if c in pool.concepts_of(pool.index(a.key))] for c in pool.concepts}
    reference = concept_mastery(marks, 1.0, tags)
    np.testing.assert_allclose(state.mastery(), mastery_probability(reference.alpha[0], reference.beta[0]), rtol=1e-12)
    rows = [pool.index(a.key) for a in answers if a.fraction in (0.0, 1.0)]
    eap = ability(marks[:, [0, 2, 3]], pool.difficulty[rows], pool.discrimination[rows], method="eap")
    whole = replay(pool, [a for a in answers if a.fraction in (0.0, 1.0)])
    assert whole.theta == pytest.approx(float(eap.theta[0]), abs=1e-3)
    assert whole.se == pytest.approx(float(eap.se[0]), abs=1e-3)


def test_a_mastered_concept_comes_back_after_one_three_seven_and_twenty_one_days() -> None:
    pool = ItemPool.build([PracticeItem("only", ("c",), difficulty=0.0, discrimination=1.0),
                           PracticeItem("other", ("c",), difficulty=0.5, discrimination=1.0)])
    state = replay(pool, [Answer("only" if n % 2 else "other", 1.0, at=0.0) for n in range(20)])
    assert state.mastered().all() and state.due[0] == REVIEW_DAYS[0]
    assert choose_next(pool, state, now=0.5) is None  # mastered, nothing due yet
    now = 0.0
    for days in REVIEW_DAYS[1:]:
        now = float(state.due[0])
        choice = choose_next(pool, state, now=now)
        assert choice is not None and choice.rule is Rule.REVIEW
        state.record(pool, choice.row, 1.0, now=now)
        assert state.due[0] == pytest.approx(now + days)
    now = float(state.due[0])
    state.record(pool, 0, 0.0, now=now)  # a review answered wrong starts again at one day (Beta(24, 2))
    assert state.mastered().all() and state.due[0] == pytest.approx(now + REVIEW_DAYS[0])


def test_a_recent_item_is_passed_over_while_another_will_do() -> None:
    pool = _pool()
    state = replay(pool, [Answer("logits-hard", 0.0)])
    choice = choose_next(pool, state)
    assert choice is not None and choice.key == "logits-easy"


def test_a_fraction_outside_zero_and_one_is_refused() -> None:
    pool = _pool()
    with pytest.raises(ValueError, match="between 0 and 1"):
        StudentState.new(pool).record(pool, 0, 1.5)


def test_choosing_among_ten_thousand_items_finds_the_most_informative() -> None:
    rng = np.random.default_rng(3)
    items = [PracticeItem(f"i{n}", (f"c{n % 20}",), difficulty=float(rng.normal()),
                          discrimination=float(rng.lognormal(0, 0.3))) for n in range(10_000)]
    pool = ItemPool.build(items)
    choice = choose_next(pool, StudentState.new(pool))
    info, _ = information(pool, 0.0)
    # no prerequisites: every concept is ready, and the best of all 10,000 items is chosen
    assert choice is not None and info[choice.row] == info.max()
