"""IRT calibration on responses simulated from known parameters: recovery, missing data, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from engine import psychometrics as psy

from .data import simulate_2pl

A = np.array([0.6, 0.9, 1.2, 1.5, 2.0, 0.8, 1.1, 1.4])
B = np.array([-1.5, -0.8, -0.2, 0.0, 0.4, 0.9, 1.3, -0.4])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def test_recovery_error_shrinks_with_sample_size() -> None:
    # Averaged over replications so that one unlucky sample cannot reverse the order; the error
    # should fall about as 1/sqrt(n), so 16 times the persons give about a quarter of it.
    errors = {}
    for persons in (250, 1000, 4000):
        b_err, a_err = [], []
        for seed in range(4):
            x = simulate_2pl(np.random.default_rng(seed), persons, A, B)
            fit = psy.fit_2pl(x)
            assert fit.converged
            b_err.append(rms(fit.difficulty - B))
            a_err.append(rms(fit.discrimination - A))
        errors[persons] = (np.mean(b_err), np.mean(a_err))
    assert errors[250][0] > errors[1000][0] > errors[4000][0]
    assert errors[250][1] > errors[1000][1] > errors[4000][1]
    assert errors[4000][0] < 0.5 * errors[250][0]
    assert errors[4000][1] < 0.5 * errors[250][1]


def test_standard_errors_describe_the_estimation_error() -> None:
    # z = (estimate − truth)/SE over 8 items × 6 samples: mean square about 1 if the SEs are right.
    z = []
    for seed in range(6):
        fit = psy.fit_2pl(simulate_2pl(np.random.default_rng(100 + seed), 2000, A, B))
        z.extend((fit.difficulty - B) / fit.difficulty_se)
        z.extend((fit.discrimination - A) / fit.discrimination_se)
    assert 0.6 < np.mean(np.square(z)) < 1.5


def test_responses_missing_at_random_still_recover_the_parameters() -> None:
    x = simulate_2pl(np.random.default_rng(7), 6000, A, B, missing=0.4)
    assert np.isnan(x).mean() == pytest.approx(0.4, abs=0.01)
    fit = psy.fit_2pl(x)
    assert fit.converged
    assert np.all(np.abs(fit.difficulty - B) < 4 * fit.difficulty_se)
    assert np.all(np.abs(fit.discrimination - A) < 4 * fit.discrimination_se)


def test_a_person_who_saw_nothing_changes_nothing() -> None:
    x = simulate_2pl(np.random.default_rng(8), 500, A[:4], B[:4], missing=0.2)
    with_blank = np.vstack([x, np.full((3, 4), np.nan)])
    a, b = psy.fit_2pl(x), psy.fit_2pl(with_blank)
    np.testing.assert_allclose(b.difficulty, a.difficulty, rtol=1e-9)
    np.testing.assert_allclose(b.discrimination, a.discrimination, rtol=1e-9)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)


def test_twice_the_same_persons_give_the_same_estimates_and_twice_the_loglik() -> None:
    x = simulate_2pl(np.random.default_rng(9), 400, A[:5], B[:5], missing=0.1)
    once = psy.fit_rasch(x, common_discrimination=True)
    twice = psy.fit_rasch(np.vstack([x, x]), common_discrimination=True)
    np.testing.assert_allclose(twice.difficulty, once.difficulty, rtol=1e-7)
    assert twice.loglik == pytest.approx(2 * once.loglik, rel=1e-10)
    np.testing.assert_allclose(twice.difficulty_se, once.difficulty_se / np.sqrt(2), rtol=1e-6)


def test_the_rasch_model_recovers_difficulties_and_a_common_slope() -> None:
    x = simulate_2pl(np.random.default_rng(10), 5000, np.full(8, 1.3), B)
    common = psy.fit_rasch(x, common_discrimination=True)
    assert common.discrimination[0] == pytest.approx(1.3, abs=4 * common.discrimination_se[0])
    assert np.all(common.discrimination == common.discrimination[0])
    assert np.all(np.abs(common.difficulty - B) < 4 * common.difficulty_se)
    fixed = psy.fit_rasch(x)
    np.testing.assert_array_equal(fixed.discrimination, 1.0)
    np.testing.assert_array_equal(fixed.discrimination_se, 0.0)
    # a = 1 is a constraint of the common-slope model, so it cannot fit better
    assert fixed.loglik < common.loglik
    assert common.loglik < psy.fit_2pl(x).loglik


def test_an_item_against_the_test_gets_a_negative_discrimination() -> None:
    a = np.array([1.2, 1.0, 1.5, -0.8])
    b = np.array([0.0, -0.5, 0.5, 0.2])
    fit = psy.fit_2pl(simulate_2pl(np.random.default_rng(11), 4000, a, b))
    assert fit.discrimination[3] < 0
    assert np.all(np.abs(fit.discrimination - a) < 4 * fit.discrimination_se)


def test_the_fit_reports_how_it_ended() -> None:
    x = simulate_2pl(np.random.default_rng(12), 800, A, B)
    fit = psy.fit_2pl(x)
    assert fit.converged
    assert fit.max_gradient < 1e-3
    assert fit.model is psy.IRTModel.TWO_PL
    cut_short = psy.fit_2pl(x, max_iterations=2)
    assert not cut_short.converged
    assert cut_short.iterations == 2


def test_probabilities_follow_the_fitted_curves() -> None:
    fit = psy.fit_2pl(simulate_2pl(np.random.default_rng(13), 500, A[:3], B[:3]))
    p = fit.probability([fit.difficulty[0], 10.0])
    assert p.shape == (2, 3)
    assert p[0, 0] == pytest.approx(0.5)
    assert np.all(p[1] > 0.99)


def test_items_without_both_answers_have_no_estimate() -> None:
    x = simulate_2pl(np.random.default_rng(14), 200, A[:3], B[:3])
    x[:, 1] = 1.0
    with pytest.raises(ValueError, match=r"items \[1\]"):
        psy.fit_2pl(x)
    x[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"items \[1\]"):
        psy.fit_rasch(x)


def test_responses_must_be_zero_one_or_nan() -> None:
    with pytest.raises(ValueError, match="0 \\(wrong\\), 1 \\(right\\) or NaN"):
        psy.fit_rasch([[0.0, 2.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="2-d"):
        psy.fit_rasch([0.0, 1.0])
