"""Generalised advantage estimation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.functions import gae

from .strategies import SETTINGS, UNIT, trajectories


def gae_by_recursion(rewards, values, gamma, lam, last_value):
    """Schulman et al. 2016, eq. 16, one trajectory at a time as a plain Python loop."""
    advantages = np.zeros_like(rewards)
    for b in range(rewards.shape[0]):
        running = 0.0
        next_value = last_value[b]
        for t in reversed(range(rewards.shape[1])):
            delta = rewards[b, t] + gamma * next_value - values[b, t]
            running = delta + gamma * lam * running
            advantages[b, t] = running
            next_value = values[b, t]
    return advantages


def discounted_returns(rewards, gamma, last_value):
    """G_t = r_t + γ r_{t+1} + ... + γ^{T-t} V_T, by a plain Python loop."""
    returns = np.zeros_like(rewards)
    for b in range(rewards.shape[0]):
        running = last_value[b]
        for t in reversed(range(rewards.shape[1])):
            running = rewards[b, t] + gamma * running
            returns[b, t] = running
    return returns


def rounding_slack(rewards, values, last_value):
    """Absolute slack for comparing against plain-float loops, which round at every step while
    gae is accurate to ~1 rounding: a few ulps of everything that was summed."""
    size = np.abs(rewards).sum(axis=-1) + np.abs(values).sum(axis=-1) + np.abs(last_value)
    return 1e-14 * (size[:, None] + 1.0)


def test_gae_reference_values_with_lam_one():
    # Schulman et al. 2016, eq. 16 by hand, γ = 0.5, λ = 1, V = 0: A_t = Σ 0.5^l r_{t+l}
    # = [1 + 0.5 + 0.25, 1 + 0.5, 1].
    np.testing.assert_array_equal(gae([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], 0.5, 1.0), [1.75, 1.5, 1.0])


def test_gae_with_lam_zero_is_the_td_error():
    # λ = 0: A_t = δ_t = r_t + γ V_{t+1} - V_t; with γ = 0.5, V = [1, 2], V_T = 4:
    # δ = [1 + 1 - 1, 0 + 2 - 2] = [1, 0].
    np.testing.assert_array_equal(gae([1.0, 0.0], [1.0, 2.0], 0.5, 0.0, last_value=4.0), [1.0, 0.0])


def test_gae_course_example_with_default_discounts():
    # γ = 0.99, λ = 0.95, rewards [0, 0, 1], values [0.5, 0.6, 0.7], terminal (V_T = 0):
    # δ = [0.99·0.6 - 0.5, 0.99·0.7 - 0.6, 1 - 0.7] = [0.094, 0.093, 0.3]
    # A_2 = 0.3, A_1 = 0.093 + 0.9405·0.3 = 0.37515, A_0 = 0.094 + 0.9405·0.37515 = 0.446828575
    np.testing.assert_allclose(gae([0.0, 0.0, 1.0], [0.5, 0.6, 0.7]), [0.446828575, 0.37515, 0.3], rtol=1e-14)


def test_gae_with_cancelling_rewards_and_values_is_exact():
    # r_t + V_{t+1} - V_t cancels to 1e-8 with γ = λ = 1; a plain float64 loop gets 2e-8 wrong
    # in the 9th digit (1.999999994975241e-08).
    rewards = np.array([-1.0, 1.0, 1e-8, -1.0])
    values = np.array([1.0, -1e-8, 1.0, 0.0])
    # A_0 = Σ r + V_T - V_0 = (-1 + 1 + 1e-8 - 1) + 0 - 1 = -2 + 1e-8
    np.testing.assert_allclose(gae(rewards, values, 1.0, 1.0)[0], -2.0 + 1e-8, rtol=1e-15)
    # A_2 = r_2 + r_3 + V_T - V_2 = 1e-8 - 1 + 0 - 1
    np.testing.assert_allclose(gae(rewards, values, 1.0, 1.0)[2], 1e-8 - 2.0, rtol=1e-15)


def test_gae_of_an_empty_trajectory_is_empty():
    assert gae(np.zeros((2, 0)), np.zeros((2, 0))).shape == (2, 0)


def test_gae_near_the_float64_limit_is_finite_and_warning_free():
    # γ = λ = 1, V = [1e308, 1e308], V_T = 1e308: δ_1 = -1e308 + 1e308 - 1e308 = -1e308 and
    # δ_0 = 1e308 + 1e308 - 1e308 = 1e308, so A = [0, -1e308]; a naive loop overflows in δ_0.
    advantages = gae([1e308, -1e308], [1e308, 1e308], 1.0, 1.0, last_value=1e308)
    np.testing.assert_array_equal(advantages, [0.0, -1e308])


def test_gae_beyond_the_float64_limit_saturates():
    assert np.all(gae([1e308, 1e308], [-1e308, -1e308], 1.0, 1.0) == np.inf)


def test_gae_broadcasts_per_trajectory_parameters_over_the_batch():
    rewards = np.array([[1.0, 0.0], [0.0, 1.0]])
    # One λ and one bootstrap value per trajectory (row), as the evaluator passes variants.
    advantages = gae(rewards, 0.5, gamma=1.0, lam=[0.0, 1.0], last_value=[0.5, 0.5])
    np.testing.assert_array_equal(advantages, [[1.0, 0.0], [1.0, 1.0]])


@pytest.mark.parametrize(("name", "value"), [("gamma", 1.5), ("gamma", -0.1), ("lam", 2.0)])
def test_discounts_outside_the_unit_interval_raise(name, value):
    with pytest.raises(ValueError, match=rf"{name} must lie in \[0, 1\]"):
        gae([1.0], [0.0], **{name: value})


def test_gae_rejects_scalar_rewards():
    with pytest.raises(ValueError, match="at least one axis"):
        gae(1.0, 0.0)


@SETTINGS
@given(trajectories())
def test_gae_equals_its_recursive_definition(trajectory):
    rewards, values, gamma, lam, last_value = trajectory
    np.testing.assert_allclose(
        gae(rewards, values, gamma, lam, last_value),
        gae_by_recursion(rewards, values, gamma, lam, last_value),
        rtol=1e-12,
        atol=rounding_slack(rewards, values, last_value).max(initial=0.0),
    )


@SETTINGS
@given(trajectories())
def test_gae_with_lam_one_is_discounted_return_minus_value(trajectory):
    rewards, values, gamma, _, last_value = trajectory
    np.testing.assert_allclose(
        gae(rewards, values, gamma, 1.0, last_value),
        discounted_returns(rewards, gamma, last_value) - values,
        rtol=1e-12,
        atol=rounding_slack(rewards, values, last_value).max(initial=0.0),
    )


@SETTINGS
@given(trajectories(), st.integers(1, 3))
def test_gae_over_extra_leading_dimensions_matches_row_by_row(trajectory, copies):
    rewards, values, gamma, lam, last_value = trajectory
    stacked = gae(np.stack([rewards] * copies), np.stack([values] * copies), gamma, lam, last_value)
    assert stacked.shape == (copies, *rewards.shape)
    for copy in stacked:
        np.testing.assert_array_equal(copy, gae(rewards, values, gamma, lam, last_value))


@SETTINGS
@given(trajectories(), UNIT)
def test_gae_accepts_one_gamma_per_trajectory(trajectory, other_gamma):
    rewards, values, gamma, lam, last_value = trajectory
    gammas = np.full(rewards.shape[0], gamma)
    gammas[0] = other_gamma
    together = gae(rewards, values, gammas, lam, last_value)
    for b, g in enumerate(gammas):
        np.testing.assert_array_equal(together[b], gae(rewards[b], values[b], g, lam, last_value[b]))
