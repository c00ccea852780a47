"""PPO's clipped policy and value losses, and the KL estimators k1, k2, k3."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.functions import kl_estimator, log_softmax, ppo_clip_loss, softmax, value_clip_loss

from .strategies import ANY_FINITE, CLIP_EPS, ORDINARY, SETTINGS, array_tuples, reals, rows

KINDS = ("k1", "k2", "k3")


def test_ppo_clip_loss_reference_values():
    # Schulman et al. 2017, eq. 7, ε = 0.2, by hand: -min(ρÂ, clip(ρ, 0.8, 1.2)Â)
    #   ρ = 1.5, Â = 2:  -min(3, 2.4) = -2.4    (gain beyond 1 + ε is cut)
    #   ρ = 1.5, Â = -2: -min(-3, -2.4) = 3     (a harmful move is not cut)
    #   ρ = 0.5, Â = 2:  -min(1, 1.6) = -1
    #   ρ = 0.5, Â = -2: -min(-1, -1.6) = 1.6
    np.testing.assert_allclose(
        ppo_clip_loss([1.5, 1.5, 0.5, 0.5], [2.0, -2.0, 2.0, -2.0]),
        [-2.4, 3.0, -1.0, 1.6],
        rtol=1e-15,
    )


def test_ppo_clip_loss_at_ratio_one_is_minus_the_advantage():
    np.testing.assert_array_equal(ppo_clip_loss(1.0, [3.0, -0.5]), [-3.0, 0.5])


def test_ppo_clip_loss_at_zero_advantage_is_zero_not_negative_zero():
    assert math.copysign(1.0, float(ppo_clip_loss(1.3, 0.0))) == 1.0


def test_ppo_clip_loss_with_an_overflowing_product_saturates():
    # ρÂ = 1e400 is beyond float64, but the clipped term 1.2e200 is the minimum.
    np.testing.assert_allclose(ppo_clip_loss(1e200, 1e200), -1.2e200, rtol=1e-15)


@pytest.mark.parametrize("function", [ppo_clip_loss, value_clip_loss])
def test_negative_clip_eps_raises(function):
    args = (1.0, 1.0) if function is ppo_clip_loss else (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="clip_eps must be >= 0"):
        function(*args, clip_eps=-0.1)


def test_value_clip_loss_reference_values():
    # ½ max((V - R)², (clip(V, V_old ± 0.2) - R)²), by hand:
    #   V = 1.0, V_old = 0.5, R = 2: clip → 0.7; ½ max(1, 1.69) = 0.845
    #   V = 0.5, V_old = 0.5, R = 2: clip → 0.5; ½ max(2.25, 2.25) = 1.125
    #   V = 1.9, V_old = 1.0, R = 2: clip → 1.2; ½ max(0.01, 0.64) = 0.32
    np.testing.assert_allclose(
        value_clip_loss([1.0, 0.5, 1.9], [0.5, 0.5, 1.0], [2.0, 2.0, 2.0]),
        [0.845, 1.125, 0.32],
        rtol=1e-14,
    )


def test_value_clip_loss_uses_the_exact_clip_bound():
    # V = 0.75 is clipped to V_old + ε = 0.5 + 0.2, which is 0.70000000000000001110... exactly
    # but rounds to float 0.7; the loss ½(0.8 - (0.5 + 0.2))² is computed here in exact rationals.
    exact = Fraction(0.8) - Fraction(0.5) - Fraction(0.2)
    expected = float(exact * exact / 2)  # 0.005000000000000004 (rounding the bound: ...009)
    np.testing.assert_allclose(value_clip_loss(0.75, 0.5, 0.8), expected, rtol=2e-16)
    # V = R = float 0.7 lies inside the exact bound, so nothing is clipped and the loss is 0.
    assert value_clip_loss(0.7, 0.5, 0.7) == 0.0


@SETTINGS
@given(array_tuples(2, ORDINARY), CLIP_EPS)
def test_ppo_clip_loss_is_at_least_both_negated_surrogates(ratio_advantage, eps):
    ratio, advantage = ratio_advantage
    ratio = np.abs(ratio)
    loss = ppo_clip_loss(ratio, advantage, eps)
    assert np.all(loss >= -ratio * advantage)
    assert np.all(loss >= -np.clip(ratio, 1 - eps, 1 + eps) * advantage)


@SETTINGS
@given(array_tuples(3, ORDINARY), CLIP_EPS)
def test_value_clip_loss_is_at_least_the_plain_squared_error(vor, eps):
    values, old_values, returns = vor
    plain = 0.5 * (values - returns) ** 2
    assert np.all(value_clip_loss(values, old_values, returns, eps) >= plain * (1 - 1e-15))


@SETTINGS
@given(array_tuples(3, reals(1e3)))
def test_value_clip_loss_with_a_wide_clip_is_the_plain_squared_error(vor):
    values, old_values, returns = vor
    np.testing.assert_allclose(
        value_clip_loss(values, old_values, returns, 1e9), 0.5 * (values - returns) ** 2, rtol=1e-15
    )


@SETTINGS
@given(array_tuples(4, ANY_FINITE), CLIP_EPS)
def test_policy_losses_are_never_nan_for_any_finite_input(arrays4, eps):
    a, b, c, _ = arrays4
    assert not np.any(np.isnan(ppo_clip_loss(a, b, eps)))
    assert not np.any(np.isnan(value_clip_loss(a, b, c, eps)))
    for kind in KINDS:
        assert not np.any(np.isnan(kl_estimator(a, b, kind)))


def test_kl_estimators_reference_values():
    # Schulman 2020 with log r = -1.5 - (-1.0) = -0.5:
    #   k1 = 0.5, k2 = 0.125, k3 = e^-0.5 - 1 + 0.5 = 0.106530659712633423... (mpmath, 30 digits)
    expected = {"k1": 0.5, "k2": 0.125, "k3": 0.10653065971263342}
    for kind, value in expected.items():
        np.testing.assert_allclose(kl_estimator(-1.0, -1.5, kind), value, rtol=1e-15)


def test_kl_k3_near_equal_log_probabilities_keeps_its_digits():
    # k3 = e^x - 1 - x = x²/2 + x³/6 + ... for x = 1e-8: 5.0000000166666667e-17
    np.testing.assert_allclose(kl_estimator(0.0, 1e-8, "k3"), 5.000000016666667e-17, rtol=1e-15)


def test_unknown_kl_kind_names_the_allowed_kinds():
    with pytest.raises(ValueError, match="allowed kinds: 'k1', 'k2', 'k3'"):
        kl_estimator(0.0, 0.0, "k4")


def test_kl_k1_and_k3_are_unbiased_estimators_of_the_kl():
    # Schulman 2020: E_π[k1] = E_π[k3] = KL(π || π_ref); exact over a discrete distribution.
    logp = log_softmax([2.0, 0.5, -1.0, 0.0])
    logq = log_softmax([0.0, 1.0, 0.0, -2.0])
    p = softmax([2.0, 0.5, -1.0, 0.0])
    kl = np.sum(p * (logp - logq))
    for kind in ("k1", "k3"):
        np.testing.assert_allclose(np.sum(p * kl_estimator(logp, logq, kind)), kl, rtol=1e-14)


@SETTINGS
@given(rows(ORDINARY), st.sampled_from(KINDS))
def test_kl_estimators_are_zero_at_equal_log_probabilities(logps, kind):
    np.testing.assert_array_equal(kl_estimator(logps, logps, kind), 0.0)


@SETTINGS
@given(array_tuples(2, ANY_FINITE), st.sampled_from(["k2", "k3"]))
def test_kl_k2_and_k3_are_never_negative(logps, kind):
    assert np.all(kl_estimator(*logps, kind) >= 0)


@SETTINGS
@given(st.floats(-0.2, 0.2, allow_nan=False))
def test_kl_k3_is_continuous_across_its_series_threshold(log_r):
    # The series (|log r| < 0.1) and expm1 branches agree with the textbook form to ~1e-15 where
    # the textbook form has not yet cancelled.
    k3 = float(kl_estimator(0.0, log_r, "k3"))
    textbook = math.expm1(log_r) - log_r
    assert math.isclose(k3, textbook, rel_tol=1e-15 / max(abs(log_r), 1e-300) + 1e-15, abs_tol=1e-300)
