"""Self-consistency voting and retrieval metrics (Ch.3 Prompting).

References, each named where it is used: exact rational arithmetic (``fractions``) on worked
examples, published worked numbers (the TREC-style MRR example, the DCG example of Järvelin and
Kekäläinen's definition as Wikipedia works it), brute-force enumeration of every sequence of
votes, and mpmath at 50 digits at extreme accuracies and up to 1,001 samples. torch has no such
functions, so it is no reference here.
"""

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.expressions import ExpressionError, evaluate
from engine.functions import (
    majority_vote_accuracy,
    ndcg_at_k,
    plurality_vote_accuracy,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)

from .strategies import SETTINGS, UNIT

mp = mpmath.mp
RTOL = 1e-9


# --------------------------------------------------------------------------------------------
# Independent references


@mpmath.workdps(50)
def mp_majority(p: float, k: int) -> mpmath.mpf:
    """The binomial tail written out term by term, with half of the tie."""
    p = mp.mpf(p)
    total = mp.mpf(0)
    for j in range(k + 1):
        term = mp.binomial(k, j) * p**j * (1 - p) ** (k - j)
        total += term if 2 * j > k else term / 2 if 2 * j == k else 0
    return total


def exact_plurality(probs: list[Fraction], k: int) -> Fraction:
    """Every one of the m^k sequences of votes, each with its probability: no multinomial."""
    total = Fraction(0)
    for votes in itertools.product(range(len(probs)), repeat=k):
        counts = [votes.count(a) for a in range(len(probs))]
        if counts[0] == max(counts):
            weight = math.prod(probs[v] for v in votes)
            total += weight / sum(1 for c in counts if c == counts[0])
    return total


# --------------------------------------------------------------------------------------------
# majority_vote_accuracy


def test_three_samples_at_sixty_percent_is_0_648_exactly():
    # p^3 + 3 p^2 (1 - p) = 0.216 + 0.432 = 0.648 (exact in rationals: 81/125)
    exact = Fraction(3, 5) ** 3 + 3 * Fraction(3, 5) ** 2 * Fraction(2, 5)
    assert exact == Fraction(81, 125)
    np.testing.assert_allclose(majority_vote_accuracy(0.6, 3), float(exact), rtol=1e-15)


def test_an_even_number_of_samples_is_no_better_than_one_fewer():
    # With a fair coin on ties, P(2m) = P(2m - 1) exactly: the tie's half cancels the lost wins.
    p = np.linspace(0.0, 1.0, 21)
    for k in (2, 4, 10, 100):
        np.testing.assert_allclose(majority_vote_accuracy(p, k), majority_vote_accuracy(p, k - 1),
                                   rtol=1e-12, atol=1e-300)


def test_one_sample_is_its_own_accuracy():
    p = np.array([0.0, 1e-8, 0.3, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(majority_vote_accuracy(p, 1), p, rtol=1e-14)


def test_condorcet_limits_at_many_samples():
    # Jury theorem: above one half the vote tends to 1, below it to 0, at one half it stays.
    assert majority_vote_accuracy(0.55, 1001) > 0.999
    assert majority_vote_accuracy(0.45, 1001) < 0.001
    np.testing.assert_allclose(majority_vote_accuracy(0.5, 1001), 0.5, rtol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 30, 101, 1001])
def test_majority_vote_accuracy_matches_mpmath(k):
    p = np.array([0.0, 1e-8, 0.01, 0.3, 0.5, 0.51, 0.8, 0.99, 1 - 1e-8, 1.0])
    expected = [float(mp_majority(float(v), k)) for v in p]
    np.testing.assert_allclose(majority_vote_accuracy(p, k), expected, rtol=RTOL, atol=1e-300)


@SETTINGS
@given(UNIT, st.integers(1, 1001))
def test_majority_of_p_and_of_one_minus_p_sum_to_one(p, k):
    # The right answer wins exactly when the wrong one would win if the accuracies were swapped.
    total = majority_vote_accuracy(p, k) + majority_vote_accuracy(1 - p, k)
    np.testing.assert_allclose(total, 1.0, rtol=1e-9)


@SETTINGS
@given(st.lists(UNIT, min_size=2, max_size=6), st.integers(1, 1001))
def test_majority_is_a_probability_rising_with_p(ps, k):
    p = np.sort(np.array(ps))
    acc = majority_vote_accuracy(p, k)
    assert np.all((acc >= 0) & (acc <= 1))
    assert np.all(np.diff(acc) >= -1e-12)


def test_majority_broadcasts_p_against_k():
    out = majority_vote_accuracy(np.array([[0.6], [0.7]]), np.array([1, 3, 5]))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1], [majority_vote_accuracy(0.7, k) for k in (1, 3, 5)])


@pytest.mark.parametrize(("p", "k", "message"), [
    (1.2, 3, "p must be a probability"),
    (-0.1, 3, "p must be a probability"),
    (0.5, 0, "k must be a whole number >= 1"),
    (0.5, 2.5, "k must be a whole number >= 1"),
    (0.5, 1002, "k must be at most 1001"),
    (float("nan"), 3, "p must be a probability"),
])
def test_majority_refuses_what_is_no_probability_or_count(p, k, message):
    with pytest.raises(ValueError, match=message):
        majority_vote_accuracy(p, k)


# --------------------------------------------------------------------------------------------
# plurality_vote_accuracy


@pytest.mark.parametrize(("probs", "k"), [
    ((Fraction(2, 5), Fraction(1, 5), Fraction(1, 5), Fraction(1, 5)), 5),
    ((Fraction(1, 3), Fraction(1, 2), Fraction(1, 6)), 4),
    ((Fraction(3, 10), Fraction(7, 30), Fraction(7, 30), Fraction(7, 30)), 6),
    ((Fraction(1, 5),) * 5, 3),
    ((Fraction(1, 2), Fraction(1, 2)), 7),
])
def test_plurality_matches_every_sequence_of_votes_in_rationals(probs, k):
    expected = exact_plurality(list(probs), k)
    np.testing.assert_allclose(plurality_vote_accuracy([float(q) for q in probs], k),
                               float(expected), rtol=1e-13)


def test_plurality_worked_example():
    # 40% right, three wrong answers at 20% each, five samples: 1592/3125 = 0.50944 (the
    # enumeration above), above one sample's 0.4 although the right answer is a minority.
    np.testing.assert_allclose(plurality_vote_accuracy([0.4, 0.2, 0.2, 0.2], 5), 1592 / 3125, rtol=1e-14)


@SETTINGS
@given(UNIT, st.integers(1, 15))
def test_two_answers_is_the_majority_vote(p, k):
    np.testing.assert_allclose(plurality_vote_accuracy([p, 1 - p], k), majority_vote_accuracy(p, k),
                               rtol=1e-9, atol=1e-300)


@SETTINGS
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5).filter(lambda w: sum(w) > 0.1),
       st.integers(1, 15))
def test_some_answer_wins_every_vote(weights, k):
    # Summing each answer's chance of winning (each in turn put first) gives 1: ties are shared.
    q = np.array(weights) / np.sum(weights)
    rotations = np.array([np.roll(q, -i) for i in range(len(q))])
    wins = plurality_vote_accuracy(rotations, k)
    assert np.all((wins >= 0) & (wins <= 1))
    np.testing.assert_allclose(np.sum(wins), 1.0, rtol=1e-9)


def test_plurality_takes_one_sample_count_per_row():
    rows = np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
    out = plurality_vote_accuracy(rows, np.array([3, 5]))
    np.testing.assert_allclose(out, [plurality_vote_accuracy(rows[0], 3), plurality_vote_accuracy(rows[1], 5)])


@pytest.mark.parametrize(("probs", "k", "message"), [
    ([0.5, 0.4], 3, "must sum to 1"),
    ([0.6, 0.6, -0.2], 3, "must be probabilities"),
    ([1.0], 3, "at least 2 entries"),
    ([0.2] * 6, 3, "at most 5 answers"),
    ([0.5, 0.5], 16, "k must be at most 15"),
])
def test_plurality_refuses_bad_input(probs, k, message):
    with pytest.raises(ValueError, match=message):
        plurality_vote_accuracy(probs, k)


# --------------------------------------------------------------------------------------------
# Retrieval metrics

RANKED = [1, 0, 1, 1, 0, 0, 1, 0]


def test_precision_and_recall_in_rationals():
    # Manning, Raghavan & Schütze 2008, sec. 8.3-8.4: P@k = hits/k, R@k = hits/R. Six relevant
    # documents exist; the list finds 1, 2, 3 and 4 of them by ranks 1, 3, 4 and 7.
    for k, hits in [(1, 1), (2, 1), (3, 2), (4, 3), (7, 4), (8, 4)]:
        assert precision_at_k(RANKED, k) == float(Fraction(hits, k))
        assert recall_at_k(RANKED, k, 6) == float(Fraction(hits, 6))


def test_precision_counts_missing_places_as_not_relevant():
    assert precision_at_k([1, 1], 4) == 0.5


def test_reciprocal_rank_and_the_mrr_worked_example():
    # The standard MRR example (first relevant answers at ranks 3, 2, 1): MRR = 11/18.
    rr = reciprocal_rank([[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(rr, [1 / 3, 1 / 2, 1.0], rtol=1e-15)
    np.testing.assert_allclose(rr.mean(), 11 / 18, rtol=1e-15)
    assert reciprocal_rank([0, 0, 0]) == 0.0
    assert reciprocal_rank([0, 0.5, 3]) == 0.5  # any positive grade is relevant


def test_ndcg_worked_example():
    # Graded relevance 3, 2, 3, 0, 1, 2: DCG6 = 6.861 (the worked example of Järvelin &
    # Kekäläinen's linear-gain DCG, as Wikipedia's "Discounted cumulative gain" works it); the
    # ideal order 3, 3, 2, 2, 1, 0 of the same six gives 7.141, so nDCG6 = 0.961.
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate([3, 2, 3, 0, 1, 2]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate([3, 3, 2, 2, 1, 0]))
    assert round(dcg, 3) == 6.861
    assert round(ideal, 3) == 7.141
    np.testing.assert_allclose(ndcg_at_k([3, 2, 3, 0, 1, 2], 6), dcg / ideal, rtol=1e-14)


@mpmath.workdps(50)
def mp_ndcg(gains: list[float], k: int) -> mpmath.mpf:
    def dcg(values: list[float]) -> mpmath.mpf:
        return mp.fsum(mp.mpf(g) / mp.log(i + 2, 2) for i, g in enumerate(values[:k]))

    ideal = dcg(sorted(gains, reverse=True))
    return dcg(gains) / ideal if ideal > 0 else mp.mpf(0)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_ndcg_matches_mpmath(k):
    rows = np.array(list(itertools.product([0.0, 1e-8, 1.0, 3.0, 1e6], repeat=4)))
    expected = [float(mp_ndcg(list(row), k)) for row in rows]
    np.testing.assert_allclose(ndcg_at_k(rows, k), expected, rtol=RTOL)


RELEVANCE_ROWS = st.lists(st.integers(0, 3), min_size=1, max_size=12)


@SETTINGS
@given(RELEVANCE_ROWS, st.integers(1, 15))
def test_retrieval_metrics_are_fractions_and_recall_grows_with_k(rel, k):
    total = max(sum(1 for r in rel if r > 0), 1)
    assert 0 <= precision_at_k(rel, k) <= 1
    assert 0 <= recall_at_k(rel, k, total) <= recall_at_k(rel, k + 1, total) <= 1
    assert 0 <= reciprocal_rank(rel) <= 1
    assert 0 <= ndcg_at_k(rel, k) <= 1 + 1e-12
    np.testing.assert_allclose(ndcg_at_k(sorted(rel, reverse=True), k), 1.0 if any(rel) else 0.0)


def test_retrieval_metrics_take_a_cutoff_per_row():
    rows = np.array([RANKED, RANKED[::-1]])
    np.testing.assert_array_equal(precision_at_k(rows, np.array([3, 1])), [2 / 3, 0.0])
    np.testing.assert_array_equal(recall_at_k(rows, np.array([3, 1]), np.array([4, 5])), [0.5, 0.0])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: precision_at_k([1, 0], 0), "k must be a whole number >= 1"),
    (lambda: precision_at_k([1, -1], 1), "relevance judgements >= 0"),
    (lambda: recall_at_k([1, 1, 1], 2, 2), "at least the number of relevant results"),
    (lambda: recall_at_k([0, 0], 2, 0), "n_relevant must be a whole number >= 1"),
    (lambda: ndcg_at_k([1.0, float("nan")], 2), "relevance judgements >= 0"),
    (lambda: reciprocal_rank(1.0), "at least one axis"),
])
def test_retrieval_metrics_refuse_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------------
# In items: the expression language passes the ranked list (or the answers' probabilities) as
# the vector and the cut-off (or the number of samples) as one value per variant.


def test_items_pass_one_ranked_list_and_one_cutoff_per_variant():
    # Three variants of a list of four judgements, each with its own k: a square batch would
    # be mistaken for a per-element k if k were matched against the list instead of the variants.
    names = {"rel": np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]),
             "cut": np.array([2.0, 1.0, 4.0]), "total": np.array([4.0, 1.0, 2.0])}
    assert evaluate("precision_at_k(rel, cut)", names).tolist() == [0.5, 0.0, 0.25]
    assert evaluate("recall_at_k(rel, cut, total)", names).tolist() == [0.25, 0.0, 0.5]
    assert evaluate("reciprocal_rank(rel)", names).tolist() == [1.0, 0.5, 0.25]
    np.testing.assert_allclose(evaluate("ndcg_at_k(rel, cut)", names),
                               [1 / (1 + 1 / math.log2(3)), 0.0, 1 / math.log2(5)], rtol=1e-15)


def test_items_pass_the_answers_probabilities_and_the_samples_per_variant():
    names = {"q": np.array([[0.4, 0.2, 0.2, 0.2], [0.6, 0.4, 0.0, 0.0]]), "n": np.array([5.0, 3.0]),
             "p": np.array([0.6, 0.7])}
    np.testing.assert_allclose(evaluate("plurality_vote_accuracy(q, n)", names), [1592 / 3125, 0.648])
    np.testing.assert_allclose(evaluate("majority_vote_accuracy(p, n)", names),
                               [majority_vote_accuracy(0.6, 5), majority_vote_accuracy(0.7, 3)])


def test_items_cannot_pass_more_answers_than_the_vote_takes():
    with pytest.raises(ExpressionError, match="at most 5 numbers"):
        evaluate("plurality_vote_accuracy(q, 3)", {"q": np.full((1, 6), 1 / 6)})
