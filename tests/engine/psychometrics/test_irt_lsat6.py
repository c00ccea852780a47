"""Rasch, common-slope Rasch and 2PL calibration and MAP/EAP scoring against the published LSAT-6 results.

Sources and tolerances are the corpus's (``irt/lsat6/published_estimates.json``): ltm as printed
in Rizopoulos (2006), J. Stat. Softw. 17(5), and ltm's ``factor.scores`` output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import psychometrics as psy

from .data import Lsat6, lsat6, patterns

NODES = 21  # ltm's default quadrature, as the published fits used


@pytest.fixture
def lsat(corpora: Path) -> Lsat6:
    return lsat6(corpora)


def test_the_responses_are_the_published_table(lsat: Lsat6) -> None:
    x, checks = lsat.responses, lsat.published["dataset"]
    assert x.shape == (1000, 5)
    codes = (x @ (2 ** np.arange(4, -1, -1))).astype(int)  # item 1 is the leftmost bit
    np.testing.assert_array_equal(np.bincount(codes, minlength=32), checks["pattern_counts"])
    np.testing.assert_allclose(x.mean(axis=0), checks["checks"]["proportion_correct"], rtol=1e-12)
    np.testing.assert_array_equal(np.bincount(x.sum(axis=1).astype(int), minlength=6),
                                  checks["checks"]["total_score_distribution_0_to_5"])


@pytest.mark.parametrize(("block", "common"), [("rasch_a1", False), ("rasch_common_a", True)])
def test_rasch_fits_match_ltm(lsat: Lsat6, block: str, common: bool) -> None:
    published = lsat.published["estimates"][block]
    tol = published["tolerance"]
    fit = psy.fit_rasch(lsat.responses, common_discrimination=common, n_quadrature=NODES)
    assert fit.converged
    np.testing.assert_allclose(fit.difficulty, published["b"], rtol=0, atol=tol["b"])
    np.testing.assert_allclose(fit.discrimination, published["a"], rtol=0, atol=tol["a"])
    assert fit.loglik == pytest.approx(published["logLik"], rel=0, abs=tol["logLik"])


def test_rasch_difficulties_match_ltms_printed_two_decimals(lsat: Lsat6) -> None:
    # README: ltm/irtQ print −2.87 −1.06 −0.26 −1.39 −2.22 and logLik −2473.054 for a = 1
    fit = psy.fit_rasch(lsat.responses, n_quadrature=NODES)
    np.testing.assert_allclose(fit.difficulty, [-2.87, -1.06, -0.26, -1.39, -2.22], rtol=0, atol=0.005)


def test_2pl_fit_matches_ltm(lsat: Lsat6) -> None:
    published = lsat.published["estimates"]["twopl"]
    tol = published["tolerance"]
    fit = psy.fit_2pl(lsat.responses, n_quadrature=NODES)
    assert fit.converged
    np.testing.assert_allclose(fit.difficulty, published["b"], rtol=0, atol=tol["b"])
    np.testing.assert_allclose(fit.discrimination, published["a"], rtol=0, atol=tol["a"])
    assert fit.loglik == pytest.approx(published["logLik"], rel=0, abs=tol["logLik"])


def test_2pl_fit_reaches_the_true_optimum(lsat: Lsat6) -> None:
    # ltm stops early on the flat 2PL likelihood; the JSON's true_optimum (scipy BFGS, girth) is
    # printed to 4 decimals, so agreement within 1e-3 says the same maximum was found.
    optimum = lsat.published["estimates"]["twopl"]["true_optimum"]
    fit = psy.fit_2pl(lsat.responses, n_quadrature=NODES)
    np.testing.assert_allclose(fit.difficulty, optimum["b"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(fit.discrimination, optimum["a"], rtol=0, atol=1e-3)
    assert fit.max_gradient < 1e-4


def test_more_quadrature_nodes_change_the_estimates_by_little(lsat: Lsat6) -> None:
    # README: 21, 61 and 101 nodes agree to 4 decimals for the Rasch difficulties
    coarse = psy.fit_rasch(lsat.responses, n_quadrature=21)
    fine = psy.fit_rasch(lsat.responses, n_quadrature=101)
    np.testing.assert_allclose(fine.difficulty, coarse.difficulty, rtol=0, atol=1e-4)


def test_standard_errors_are_the_curvature_of_the_marginal_likelihood(lsat: Lsat6) -> None:
    # An independent check of Louis' formula: the Hessian of Σ log p(x_i) in (a, b) by central
    # differences of marginal_loglik, whose inverse must give the same covariance.
    x = lsat.responses
    fit = psy.fit_2pl(x, n_quadrature=NODES)
    k = x.shape[1]
    theta0 = np.concatenate([fit.discrimination, fit.difficulty])

    def loglik(v: np.ndarray) -> float:
        return float(psy.marginal_loglik(x, v[k:], v[:k], NODES).sum())

    h = 1e-4  # truncation error O(h²) against rounding O(ε·|ℓ|/h²): both below 1e-5 relative
    steps = np.eye(2 * k) * h
    hessian = np.array([[(loglik(theta0 + si + sj) - loglik(theta0 + si - sj)
                          - loglik(theta0 - si + sj) + loglik(theta0 - si - sj)) / (4 * h * h)
                         for sj in steps] for si in steps])
    information = -hessian
    np.testing.assert_allclose(np.linalg.inv(fit.covariance), information, rtol=0,
                               atol=1e-6 * np.abs(information).max())
    standard_errors = np.sqrt(np.diag(np.linalg.inv(information)))
    np.testing.assert_allclose(np.concatenate([fit.discrimination_se, fit.difficulty_se]), standard_errors,
                               rtol=5e-5)
    assert fit.loglik == pytest.approx(loglik(theta0), rel=1e-12)


def score_table(lsat: Lsat6) -> tuple[dict[str, Any], np.ndarray, list[dict[str, Any]]]:
    table = lsat.published["ability_scores"]
    rows = table["patterns"]
    return table, patterns([r["pattern"] for r in rows]), rows


def test_map_scores_match_ltm_factor_scores(lsat: Lsat6) -> None:
    table, x, rows = score_table(lsat)
    items = lsat.published["estimates"]["twopl"]
    est = psy.ability(x, items["b"], items["a"], method="map")
    tol = table["tolerance"]
    np.testing.assert_allclose(est.theta, [r["theta"] for r in rows], rtol=0, atol=tol["theta"])
    np.testing.assert_allclose(est.se, [r["se"] for r in rows], rtol=0, atol=tol["se"])


def test_expected_pattern_frequencies_match_ltm(lsat: Lsat6) -> None:
    table, x, rows = score_table(lsat)
    items = lsat.published["estimates"]["twopl"]
    expected = 1000 * np.exp(psy.marginal_loglik(x, items["b"], items["a"], NODES))
    np.testing.assert_allclose(expected, [r["exp"] for r in rows], rtol=0, atol=table["tolerance"]["exp"])


def test_map_scores_under_our_own_fit_stay_close(lsat: Lsat6) -> None:
    # The JSON's note: with one's own 2PL estimates instead of ltm's, allow θ ± 0.01.
    _, x, rows = score_table(lsat)
    fit = psy.fit_2pl(lsat.responses, n_quadrature=NODES)
    est = psy.ability(x, fit.difficulty, fit.discrimination)
    np.testing.assert_allclose(est.theta, [r["theta"] for r in rows], rtol=0, atol=0.01)


def test_eap_differs_from_the_mode_as_published(lsat: Lsat6) -> None:
    # The JSON: "11111 gives 0.646 EAP vs 0.606 mode" (3 decimals, hence ±0.0005 + rounding).
    items = lsat.published["estimates"]["twopl"]
    est = psy.ability(patterns(["11111"]), items["b"], items["a"], method="eap")
    assert est.theta[0] == pytest.approx(0.646, abs=1e-3)
