"""MAP and EAP ability estimates: the prior alone, sufficiency, and a brute-force posterior."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import psychometrics as psy

from .strategies import DIFFICULTIES, DISCRIMINATIONS, PRIOR_MEANS, PRIOR_SDS, SETTINGS, binary_responses


def grid_posterior(x: np.ndarray, b: np.ndarray, a: np.ndarray, mean: float,
                   sd: float) -> tuple[np.ndarray, np.ndarray]:
    """A brute-force posterior: (grid, persons × grid weights) on a fine grid 12 prior SDs wide."""
    grid = mean + sd * np.linspace(-12, 12, 24001)
    eta = a * (grid[:, None, None] - b)  # grid × 1 × items
    shown = ~np.isnan(x)
    xz = np.where(shown, x, 0.0)
    log_p, log_q = -np.logaddexp(0, -eta), -np.logaddexp(0, eta)
    log_lik = (shown * (xz * log_p + (1 - xz) * log_q)).sum(axis=-1).T  # persons × grid
    log_post = log_lik - (grid - mean) ** 2 / (2 * sd**2)
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    return grid, post / post.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("method", ["map", "eap"])
def test_a_person_who_saw_nothing_gets_the_prior(method: str) -> None:
    est = psy.ability([[np.nan, np.nan]], [0.0, 1.0], method=method, prior_mean=0.5, prior_sd=2.0)
    assert est.theta[0] == pytest.approx(0.5, abs=1e-12)
    assert est.se[0] == pytest.approx(2.0, rel=1e-9)


def test_all_right_and_all_wrong_get_finite_estimates() -> None:
    est = psy.ability([[1, 1, 1], [0, 0, 0]], [-1.0, 0.0, 1.0])
    assert np.isfinite(est.theta).all()
    assert est.theta[0] > 0 > est.theta[1]


def test_under_the_rasch_model_the_number_right_is_sufficient() -> None:
    # Rasch: the likelihood depends on the responses only through the number right.
    b = np.array([-1.0, 0.0, 0.5, 2.0])
    x = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [1, 1, 1, 0]])
    for method in ("map", "eap"):
        est = psy.ability(x, b, method=method)
        np.testing.assert_allclose(est.theta[:3], est.theta[0], rtol=1e-10)
        assert est.theta[3] > est.theta[0]


@SETTINGS
@given(binary_responses(max_items=4), st.data())
def test_map_is_the_mode_and_eap_the_mean_of_the_posterior(x: np.ndarray, data: st.DataObject) -> None:
    k = x.shape[1]
    b = np.array(data.draw(st.lists(DIFFICULTIES, min_size=k, max_size=k)))
    a = np.array(data.draw(st.lists(DISCRIMINATIONS, min_size=k, max_size=k)))
    mean, sd = data.draw(PRIOR_MEANS), data.draw(PRIOR_SDS)
    grid, post = grid_posterior(x, b, a, mean, sd)
    map_est = psy.ability(x, b, a, "map", prior_mean=mean, prior_sd=sd)
    step = grid[1] - grid[0]
    np.testing.assert_allclose(map_est.theta, grid[post.argmax(axis=1)], rtol=0, atol=step)
    eap = psy.ability(x, b, a, "eap", prior_mean=mean, prior_sd=sd)
    grid_mean = post @ grid
    np.testing.assert_allclose(eap.theta, grid_mean, rtol=0, atol=5e-5)
    grid_sd = np.sqrt((post * (grid - grid_mean[:, None]) ** 2).sum(axis=1))
    np.testing.assert_allclose(eap.se, grid_sd, rtol=5e-5)


def test_map_standard_error_is_the_posterior_curvature() -> None:
    b, a = np.array([-0.5, 0.3, 1.1]), np.array([0.8, 1.4, 2.0])
    x = np.array([[1.0, 0.0, 1.0]])
    est = psy.ability(x, b, a)
    theta = est.theta[0]
    p = 1 / (1 + np.exp(-a * (theta - b)))
    np.testing.assert_allclose(est.se[0], 1 / np.sqrt((a**2 * p * (1 - p)).sum() + 1), rtol=1e-12)
    # and the log-posterior's slope is zero there
    assert abs((a * (x[0] - p)).sum() - theta) < 1e-9


def test_a_wider_prior_shrinks_less() -> None:
    x, b = [[1, 1, 1, 0]], [-1.0, 0.0, 0.5, 1.0]
    narrow = psy.ability(x, b, prior_sd=0.5).theta[0]
    wide = psy.ability(x, b, prior_sd=3.0).theta[0]
    assert 0 < narrow < wide


def test_unknown_methods_and_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="'mle'"):
        psy.ability([[1.0]], [0.0], method="mle")
    with pytest.raises(ValueError, match="prior_sd"):
        psy.ability([[1.0]], [0.0], prior_sd=0.0)
    with pytest.raises(ValueError, match="finite"):
        psy.ability([[1.0]], [np.nan])
