"""sigmoid, log_sigmoid and softplus: reference values, named edge cases and identities."""

import math

import numpy as np
import pytest
from hypothesis import given

from engine.functions import log_sigmoid, sigmoid, softplus

from .strategies import ANY_FINITE, ORDINARY, SETTINGS, arrays

LOG_2 = math.log(2.0)


def test_sigmoid_of_zero_is_one_half():
    assert sigmoid(0.0) == 0.5  # σ(0) = 1/(1 + e^0), exact in float64


def test_sigmoid_of_the_course_model_a_difference():
    # σ(3.2 - 1.5) = σ(1.7) = 0.845534734916465289... (mpmath, 30 digits)
    np.testing.assert_allclose(sigmoid(1.7), 0.8455347349164653, rtol=1e-15)


def test_sigmoid_keeps_relative_precision_deep_in_the_tail():
    # σ(-700) = e^-700 / (1 + e^-700) = 9.85967654375977085...e-305 (mpmath, 30 digits)
    np.testing.assert_allclose(sigmoid(-700.0), 9.85967654375977e-305, rtol=1e-14)


def test_sigmoid_of_minus_800_underflows_to_zero_without_warning():
    # The true value e^-800 ≈ 3.6e-348 is below the smallest subnormal: 0 is its rounding.
    assert sigmoid(-800.0) == 0.0


def test_sigmoid_of_large_positive_is_one():
    assert sigmoid(800.0) == 1.0
    assert sigmoid(1e308) == 1.0


def test_softplus_of_zero_is_log_2():
    np.testing.assert_allclose(softplus(0.0), LOG_2, rtol=1e-15)  # log(1 + e^0) = log 2


def test_softplus_of_800_is_800():
    assert softplus(800.0) == 800.0  # log(1 + e^800) = 800 + log1p(e^-800), the second term < 1e-347


def test_softplus_of_large_negative_is_the_tiny_exponential():
    # log(1 + e^-30) = 9.35762296883973677...e-14 (mpmath), not 0 and not rounded to a few digits
    np.testing.assert_allclose(softplus(-30.0), 9.357622968839737e-14, rtol=1e-14)


def test_log_sigmoid_of_minus_800_is_minus_800():
    assert log_sigmoid(-800.0) == -800.0  # log σ(x) = x - log1p(e^x) → x for x → -∞


def test_log_sigmoid_of_zero_is_minus_log_2():
    np.testing.assert_allclose(log_sigmoid(0.0), -LOG_2, rtol=1e-15)


def test_scalar_input_gives_a_zero_dimensional_float64_array():
    value = sigmoid(1)
    assert isinstance(value, np.ndarray)
    assert value.shape == ()
    assert value.dtype == np.float64


def test_lists_and_integers_are_accepted():
    np.testing.assert_array_equal(sigmoid([0, 0]), [0.5, 0.5])


def test_log_sigmoid_of_large_positive_is_zero_not_negative_zero():
    # -softplus(-1e308) is -0.0 in IEEE arithmetic; a displayed answer must not read "-0.000".
    assert math.copysign(1.0, float(log_sigmoid(1e308))) == 1.0


@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, [object()]])
def test_non_real_input_raises_type_error(bad):
    with pytest.raises(TypeError, match="x must be real numbers"):
        sigmoid(bad)


@SETTINGS
@given(arrays(ANY_FINITE))
def test_log_sigmoid_is_minus_softplus_of_minus_x(x):
    np.testing.assert_array_equal(log_sigmoid(x), -softplus(-x))


@SETTINGS
@given(arrays(ANY_FINITE))
def test_sigmoid_of_x_and_minus_x_sum_to_one(x):
    np.testing.assert_allclose(sigmoid(x) + sigmoid(-x), 1.0, rtol=0, atol=4e-16)


@SETTINGS
@given(arrays(ORDINARY))
def test_softplus_difference_is_the_identity(x):
    # softplus(x) - softplus(-x) = x; near 0 both terms are ≈ log 2, so the check is absolute there.
    np.testing.assert_allclose(softplus(x) - softplus(-x), x, rtol=1e-15, atol=1e-15)


@SETTINGS
@given(arrays(ANY_FINITE))
def test_activations_are_finite_and_in_range_for_any_finite_input(x):
    s, ls, sp = sigmoid(x), log_sigmoid(x), softplus(x)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.isfinite(ls) & (ls <= 0))
    assert np.all(np.isfinite(sp) & (sp >= 0))
