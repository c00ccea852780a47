"""Bradley-Terry probability and the reward-model ranking losses."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.functions import (
    bradley_terry_prob,
    hinge_ranking_loss,
    kwise_ranking_loss,
    ranking_error,
    ranking_loss,
)

from .strategies import ANY_FINITE, ORDINARY, SETTINGS, array_tuples, arrays, reals, rows

LOG_2 = math.log(2.0)


def test_course_model_a_ranking_loss():
    # Course example, model A scores the preferred/rejected responses 3.2/1.5: the loss is 0.168
    # to 3 decimals; -log σ(1.7) = log(1 + e^-1.7) = 0.167786029386265923... (mpmath, 30 digits).
    loss = ranking_loss(3.2, 1.5)
    assert round(float(loss), 3) == 0.168
    np.testing.assert_allclose(loss, 0.16778602938626592, rtol=1e-14)


def test_course_model_b_ranking_loss():
    # Course example, model B scores -0.5/-2.0: 0.201; log(1 + e^-1.5) = 0.201413277982752409...
    loss = ranking_loss(-0.5, -2.0)
    assert round(float(loss), 3) == 0.201
    np.testing.assert_allclose(loss, 0.2014132779827524, rtol=1e-14)


def test_ranking_loss_of_a_tie_is_log_2():
    np.testing.assert_allclose(ranking_loss(0.0, 0.0), LOG_2, rtol=1e-15)  # -log σ(0) = log 2


def test_ranking_loss_of_a_well_ordered_distant_pair_is_zero():
    np.testing.assert_allclose(ranking_loss(1000.0, -1000.0), 0.0, atol=1e-300)  # e^-2000 underflows


def test_ranking_loss_of_a_badly_misordered_pair_is_its_difference():
    assert ranking_loss(-1000.0, 1000.0) == 2000.0  # log(1 + e^2000) = 2000 + log1p(e^-2000)


def test_ranking_loss_with_margin_equal_to_the_difference_is_log_2():
    # Llama 2, eq. 2: the margin m is subtracted from the difference; 1.5 - 0.5 - 1.0 = 0.
    np.testing.assert_allclose(ranking_loss(1.5, 0.5, margin=1.0), LOG_2, rtol=1e-15)


def test_ranking_loss_with_a_nearly_cancelling_margin_keeps_its_digits():
    # d - m = (1 + 2^-52) - 0 - 1 = 2^-52 exactly; the loss is log(1 + e^-(2^-52)),
    # log 2 - 2^-53 + ..., which a rounded difference would give as exactly log 2 - 0.
    loss = ranking_loss(1.0 + 2.0**-52, 0.0, margin=-(2.0**-60) + 1.0 + 2.0**-60)
    np.testing.assert_allclose(loss, LOG_2 - 2.0**-53, rtol=1e-15)


def test_bradley_terry_prob_of_the_course_model_a_pair():
    # σ(1.7) = 0.845534734916465289... (mpmath, 30 digits)
    np.testing.assert_allclose(bradley_terry_prob(3.2, 1.5), 0.8455347349164653, rtol=1e-15)


def test_hinge_ranking_loss_reference_values():
    # max(0, 1 - d) for d = 1.7, 0.5, -1.0 (the hinge of the ranking SVM, Joachims 2002)
    np.testing.assert_allclose(
        hinge_ranking_loss([3.2, 1.0, -0.5], [1.5, 0.5, 0.5]), [0.0, 0.5, 2.0], rtol=1e-15
    )


def test_ranking_error_counts_a_tie_as_an_error():
    np.testing.assert_array_equal(ranking_error([2.0, 1.0, 0.0], [1.0, 1.0, 1.0]), [0.0, 1.0, 1.0])


def test_ranking_error_never_overflows():
    np.testing.assert_array_equal(ranking_error([1e308, -1e308], [-1e308, 1e308]), [0.0, 1.0])


def test_kwise_ranking_loss_of_three_ranked_responses():
    # InstructGPT eq. 1 with K = 3 and scores 3, 2, 1: the pairs differ by 1, 2 and 1, so the loss is
    # (2 log(1 + e^-1) + log(1 + e^-2)) / 3 = 0.251150462026472721... (mpmath, 30 digits)
    np.testing.assert_allclose(kwise_ranking_loss([3.0, 2.0, 1.0]), 0.2511504620264727, rtol=1e-15)


def test_kwise_ranking_loss_needs_two_responses():
    with pytest.raises(ValueError, match="at least 2 entries"):
        kwise_ranking_loss([1.0])


def test_kwise_ranking_loss_rejects_a_scalar():
    with pytest.raises(ValueError, match="at least one axis"):
        kwise_ranking_loss(1.0)


@SETTINGS
@given(arrays(ORDINARY))
def test_ranking_loss_of_d_minus_ranking_loss_of_minus_d_is_minus_d(d):
    # softplus(-d) - softplus(d) = -d; both terms are ≈ log 2 near d = 0, hence the absolute term.
    np.testing.assert_allclose(ranking_loss(d, 0.0) - ranking_loss(-d, 0.0), -d, rtol=1e-15, atol=1e-15)


@SETTINGS
@given(array_tuples(2, reals(30.0)))
def test_ranking_loss_is_minus_log_of_bradley_terry_prob(pair):
    chosen, rejected = pair
    # np.log of a probability near 1 has an absolute (not relative) error of ~1e-16.
    np.testing.assert_allclose(
        ranking_loss(chosen, rejected),
        -np.log(bradley_terry_prob(chosen, rejected)),
        rtol=1e-13,
        atol=1e-15,
    )


@SETTINGS
@given(ORDINARY, ORDINARY, st.one_of(ORDINARY, st.sampled_from([0.0, 1.0, 0.5])))
def test_hinge_is_zero_exactly_when_the_difference_reaches_the_margin(chosen, rejected, margin):
    reached = Fraction(chosen) - Fraction(rejected) >= Fraction(margin)
    assert (hinge_ranking_loss(chosen, rejected, margin) == 0.0) == reached


@SETTINGS
@given(ORDINARY, st.sampled_from([0.0, 1.0, 0.5, 1e-8]), st.integers(-3, 3))
def test_hinge_is_zero_exactly_at_the_margin_even_one_ulp_away(rejected, margin, ulps):
    chosen = rejected + margin
    for _ in range(abs(ulps)):
        chosen = np.nextafter(chosen, np.inf if ulps > 0 else -np.inf)
    reached = Fraction(chosen) - Fraction(rejected) >= Fraction(margin)
    assert (hinge_ranking_loss(chosen, rejected, margin) == 0.0) == reached


@SETTINGS
@given(rows(ORDINARY, min_length=2, max_length=2))
def test_kwise_ranking_loss_with_two_responses_is_the_ranking_loss(scores):
    np.testing.assert_allclose(
        kwise_ranking_loss(scores), ranking_loss(scores[:, 0], scores[:, 1]), rtol=1e-15
    )


@SETTINGS
@given(rows(ORDINARY, min_length=2))
def test_kwise_ranking_loss_is_the_mean_of_its_pairs(scores):
    k = scores.shape[-1]
    pair_losses = [ranking_loss(scores[:, i], scores[:, j]) for i in range(k) for j in range(i + 1, k)]
    np.testing.assert_allclose(kwise_ranking_loss(scores), np.mean(pair_losses, axis=0), rtol=1e-13)


@SETTINGS
@given(array_tuples(2, ANY_FINITE), st.sampled_from([0.0, 1.0, -1e308, 1e308]))
def test_ranking_losses_are_never_nan_for_any_finite_input(pair, margin):
    chosen, rejected = pair
    for loss in (
        ranking_loss(chosen, rejected, margin),
        hinge_ranking_loss(chosen, rejected, margin),
        bradley_terry_prob(chosen, rejected),
    ):
        assert not np.any(np.isnan(loss))
        assert np.all(loss >= 0)
