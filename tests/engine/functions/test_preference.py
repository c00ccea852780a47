"""DPO (with conservative label smoothing) and IPO."""

import math

import numpy as np
import pytest
from hypothesis import given

from engine.functions import dpo_loss, ipo_loss, ranking_loss, softplus

from .strategies import ANY_FINITE, BETAS, LABEL_SMOOTHING, LOGPS, SETTINGS, array_tuples

LOG_2 = math.log(2.0)


def test_dpo_loss_reference_value():
    # Rafailov et al. 2023, eq. 7: log-ratios 1 (chosen) and -1 (rejected), beta 0.1, so z = 0.2
    # and the loss is log(1 + e^-0.2) = 0.598138869381591834... (mpmath, 30 digits).
    np.testing.assert_allclose(dpo_loss(-10.0, -12.0, -11.0, -11.0), 0.5981388693815918, rtol=1e-15)


def test_dpo_loss_of_the_reference_policy_is_log_2():
    np.testing.assert_allclose(dpo_loss(-5.0, -7.0, -5.0, -7.0), LOG_2, rtol=1e-15)  # z = 0


def test_dpo_loss_with_half_label_smoothing_is_symmetric():
    # ε = 1/2: ½softplus(-z) + ½softplus(z), the same for z and -z.
    np.testing.assert_allclose(
        dpo_loss(-10.0, -12.0, -11.0, -11.0, 1.0, 0.5),
        dpo_loss(-12.0, -10.0, -11.0, -11.0, 1.0, 0.5),
        rtol=1e-15,
    )


def test_dpo_loss_at_extreme_log_probabilities_is_finite():
    # z = 0.1 * ±1e6 = ±1e5: the loss is e^-1e5, which is 0 in float64, or 1e5.
    np.testing.assert_array_equal(dpo_loss([0.0, -1e6], [-1e6, 0.0], 0.0, 0.0), [0.0, 1e5])


def test_dpo_loss_with_zero_label_smoothing_ignores_an_infinite_term():
    # beta * h overflows to +inf; ε = 0 must weigh softplus(+inf) by exactly 0, not nan.
    assert dpo_loss(1e308, -1e308, 0.0, 0.0, beta=10.0, label_smoothing=0.0) == 0.0


def test_ipo_loss_reference_values():
    # Azar et al. 2023: (h - 1/(2β))² with h = 2: β = 0.1 gives (2 - 5)² = 9, β = 0.25 gives 0.
    # (Exactly, float64's β = 0.1 makes it 8.99999999999999833..., which rounds to 9 - 2 ulps.)
    np.testing.assert_allclose(
        ipo_loss(-10.0, -12.0, -11.0, -11.0, [0.1, 0.25]), [9.0, 0.0], rtol=1e-15, atol=0
    )


def test_ipo_loss_at_its_optimum_is_exact():
    # β = 0.1 is 0.1000000000000000055511151231257827 in float64, so 1/(2β) is 4.99999999999999972...
    # and at h = 5 the loss is (5 - 1/(2β))² = 7.70371977754894341e-32 (mpmath, 30 digits), not 0.
    np.testing.assert_allclose(ipo_loss(-1.0, -6.0, 0.0, 0.0, 0.1), 7.703719777548943e-32, rtol=1e-12)


def test_ipo_loss_with_a_subnormal_beta_is_inf():
    # 1/(2β) for β = 5e-324 is beyond float64, and so is the loss, even against huge margins.
    np.testing.assert_array_equal(ipo_loss([0.0, 1e308], [0.0, -1e308], 0.0, 0.0, 5e-324), np.inf)


@pytest.mark.parametrize("function", [dpo_loss, ipo_loss])
@pytest.mark.parametrize("beta", [0.0, -0.1, np.nan, np.inf])
def test_non_positive_or_infinite_beta_raises(function, beta):
    with pytest.raises(ValueError, match="beta must be finite and > 0"):
        function(-1.0, -2.0, -1.0, -2.0, beta)


@pytest.mark.parametrize("label_smoothing", [-0.1, 1.5])
def test_label_smoothing_outside_the_unit_interval_raises(label_smoothing):
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\]"):
        dpo_loss(-1.0, -2.0, -1.0, -2.0, 0.1, label_smoothing)


@SETTINGS
@given(array_tuples(4, LOGPS), BETAS)
def test_dpo_loss_is_the_ranking_loss_of_the_implicit_rewards(logps, beta):
    # Rafailov et al. 2023, eq. 7: the implicit reward is β (log π - log π_ref).
    pc, pr, rc, rr = logps
    np.testing.assert_allclose(
        dpo_loss(pc, pr, rc, rr, beta),
        ranking_loss(beta * (pc - rc), beta * (pr - rr)),
        rtol=1e-9,
        atol=1e-12,
    )


@SETTINGS
@given(array_tuples(4, LOGPS), BETAS, LABEL_SMOOTHING)
def test_dpo_label_smoothing_mixes_the_loss_and_the_flipped_loss(logps, beta, eps):
    pc, pr, rc, rr = logps
    mixed = (1 - eps) * dpo_loss(pc, pr, rc, rr, beta) + eps * dpo_loss(pr, pc, rr, rc, beta)
    np.testing.assert_allclose(dpo_loss(pc, pr, rc, rr, beta, eps), mixed, rtol=1e-12)


@SETTINGS
@given(array_tuples(4, LOGPS), BETAS)
def test_ipo_loss_is_the_squared_distance_to_its_target(logps, beta):
    pc, pr, rc, rr = logps
    h = (pc - rc) - (pr - rr)
    # The naive side rounds h and 1/(2β): an absolute slack of a few ulps of their size.
    slack = 4e-16 * (np.abs(h) + 1 / beta + np.abs(pc) + np.abs(pr) + np.abs(rc) + np.abs(rr))
    assert np.all(np.abs(np.sqrt(ipo_loss(pc, pr, rc, rr, beta)) - np.abs(h - 0.5 / beta)) <= slack)


@SETTINGS
@given(array_tuples(4, ANY_FINITE), BETAS, LABEL_SMOOTHING)
def test_preference_losses_are_never_nan_for_any_finite_input(logps, beta, eps):
    for loss in (dpo_loss(*logps, beta, eps), ipo_loss(*logps, beta)):
        assert not np.any(np.isnan(loss))
        assert np.all(loss >= 0)


def test_dpo_loss_agrees_with_softplus_form():
    # -(1-ε) log σ(z) - ε log σ(-z) with z = β h; here h = 3, β = 0.5, ε = 0.2.
    expected = 0.8 * softplus(-1.5) + 0.2 * softplus(1.5)
    np.testing.assert_allclose(dpo_loss(0.0, -3.0, 0.0, 0.0, 0.5, 0.2), expected, rtol=1e-15)
