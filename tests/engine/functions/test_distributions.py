"""softmax, log_softmax, entropy, cross_entropy and perplexity."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.functions import cross_entropy, entropy, log_softmax, perplexity, softmax

from .strategies import ANY_FINITE, ORDINARY, SETTINGS, TEMPERATURES, rows


def test_softmax_of_widely_spread_logits_is_finite_and_one_hot():
    # e^-1000 / (1 + e^-1000 + e^-2000) underflows to 0; the first weight is 1 to rounding.
    np.testing.assert_array_equal(softmax([1000.0, 0.0, -1000.0]), [1.0, 0.0, 0.0])


def test_log_softmax_of_widely_spread_logits_is_exact():
    # log softmax = z - log Σ e^z = [0, -1000, -2000] - log1p(e^-1000 + e^-2000) = [0, -1000, -2000]
    np.testing.assert_array_equal(log_softmax([1000.0, 0.0, -1000.0]), [0.0, -1000.0, -2000.0])


def test_softmax_reference_values():
    # e^[2, 1, 0] / (e² + e + 1) = [0.665240955774821, 0.244728471054797, 0.090030573170380]
    np.testing.assert_allclose(
        softmax([2.0, 1.0, 0.0]),
        [0.6652409557748219, 0.24472847105479764, 0.09003057317038046],
        rtol=1e-15,
    )


def test_softmax_with_temperature_divides_the_logits():
    # Hinton et al. 2015: softmax(z / T); T = 10 flattens [2, 1, 0] towards uniform.
    np.testing.assert_allclose(softmax([2.0, 1.0, 0.0], 10.0), softmax([0.2, 0.1, 0.0]), rtol=1e-15)


def test_softmax_takes_one_temperature_per_row():
    logits = np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    together = softmax(logits, temperature=[1.0, 10.0])
    np.testing.assert_array_equal(together[0], softmax(logits[0], 1.0))
    np.testing.assert_array_equal(together[1], softmax(logits[1], 10.0))


def test_softmax_along_another_axis():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 5.0, -1.0]])
    np.testing.assert_array_equal(softmax(logits, axis=0), softmax(logits.T).T)


@pytest.mark.parametrize("temperature", [0.0, -1.0, np.nan])
def test_non_positive_temperature_raises(temperature):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        softmax([1.0, 2.0], temperature)


def test_softmax_of_a_scalar_raises():
    with pytest.raises(ValueError, match="at least one axis"):
        softmax(1.0)


def test_entropy_of_a_uniform_distribution_is_log_n():
    np.testing.assert_allclose(entropy([0.0, 0.0, 0.0, 0.0]), math.log(4.0), rtol=1e-15)


def test_entropy_of_a_one_hot_distribution_is_zero():
    assert entropy([1000.0, 0.0, 0.0]) == 0.0  # 1000 e^-1000 underflows; not nan from 0 · log 0


def test_entropy_of_a_nearly_one_hot_distribution_keeps_its_digits():
    # p = softmax([30, 0]): H = log(1 + e^-30) + 30 e^-30 / (1 + e^-30) = 2.900862...e-12
    small = math.exp(-30.0)
    expected = math.log1p(small) + 30.0 * small / (1.0 + small)
    np.testing.assert_allclose(entropy([30.0, 0.0]), expected, rtol=1e-14)


def test_cross_entropy_reference_values():
    # -log softmax([2, 1, 0])_0 = log(e² + e + 1) - 2 = 0.407605964444380304... (mpmath);
    # uniform over 3 classes: log 3.
    np.testing.assert_allclose(
        cross_entropy([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]], [0, 2]),
        [0.4076059644443803, math.log(3.0)],
        rtol=1e-15,
    )


def test_cross_entropy_of_a_confident_correct_prediction_keeps_its_digits():
    # log(1 + e^-30) = 9.35762296883973677...e-14 (mpmath), where log Σ e^z would round to ~1e-13
    np.testing.assert_allclose(cross_entropy([30.0, 0.0], 0), 9.357622968839737e-14, rtol=1e-14)


def test_cross_entropy_accepts_integral_float_targets():
    np.testing.assert_array_equal(
        cross_entropy([[2.0, 1.0, 0.0]], [1.0]), cross_entropy([[2.0, 1.0, 0.0]], [1])
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (0.5, "integer class indices"),
        (np.nan, "integer class indices"),
        ("1", "integer class indices"),
        (3, r"lie in 0 \.\. 2"),
        (-1, r"lie in 0 \.\. 2"),
    ],
)
def test_invalid_cross_entropy_targets_raise(target, message):
    with pytest.raises(ValueError, match=message):
        cross_entropy([2.0, 1.0, 0.0], target)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    # Jelinek et al. 1977: a model uniform over 4 tokens has perplexity 4.
    np.testing.assert_allclose(perplexity(np.log([0.25, 0.25, 0.25])), 4.0, rtol=1e-15)


def test_perplexity_of_certain_tokens_is_one():
    assert perplexity([0.0, 0.0]) == 1.0


def test_perplexity_beyond_float64_is_inf_without_warning():
    assert perplexity([-1000.0]) == np.inf  # e^1000 is beyond float64


def test_perplexity_of_an_empty_sequence_raises():
    with pytest.raises(ValueError, match="at least 1 entries"):
        perplexity([])


@SETTINGS
@given(rows(ORDINARY), TEMPERATURES)
def test_softmax_rows_sum_to_one_at_any_temperature(logits, temperature):
    probabilities = softmax(logits, temperature)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=0, atol=1e-14)


@SETTINGS
@given(rows(ANY_FINITE), TEMPERATURES)
def test_softmax_family_never_gives_nan_for_any_finite_logits(logits, temperature):
    assert np.all(np.isfinite(softmax(logits, temperature)))
    assert not np.any(np.isnan(log_softmax(logits, temperature)))
    assert np.all(np.isfinite(entropy(logits)))
    assert not np.any(np.isnan(cross_entropy(logits, 0)))


@SETTINGS
@given(rows(ORDINARY), TEMPERATURES)
def test_log_softmax_is_the_log_of_softmax(logits, temperature):
    log_p = log_softmax(logits, temperature)
    p = softmax(logits, temperature)
    visible = p > 1e-300  # below that np.log of the underflowed probability is -inf
    np.testing.assert_allclose(log_p[visible], np.log(p[visible]), rtol=1e-12, atol=1e-15)


@SETTINGS
@given(rows(ORDINARY))
def test_entropy_lies_between_zero_and_log_n(logits):
    h = entropy(logits)
    assert np.all(h >= 0)
    assert np.all(h <= math.log(logits.shape[-1]) * (1 + 1e-15))


@SETTINGS
@given(rows(ORDINARY))
def test_cross_entropy_is_minus_log_softmax_at_the_target(logits):
    targets = np.arange(logits.shape[0]) % logits.shape[1]
    expected = -log_softmax(logits)[np.arange(logits.shape[0]), targets]
    np.testing.assert_array_equal(cross_entropy(logits, targets), expected)


@SETTINGS
@given(rows(st.floats(-700.0, 0.0)))  # keeps the naive np.exp on the right within float64
def test_perplexity_is_exp_of_mean_negative_log_probability(token_logps):
    np.testing.assert_allclose(perplexity(token_logps), np.exp(-token_logps.mean(axis=-1)), rtol=1e-12)
