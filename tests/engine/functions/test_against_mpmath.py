"""Every function agrees with an independent 50-digit mpmath evaluation, at ordinary inputs and at
extremes (±1e-8 to ±1e6), to a relative 1e-9.

Inputs are exact float64 values, and mpmath evaluates the formula on exactly those values, so any
difference is the library's own error. Results below the float64 normal range (~2.2e-308), where
float64 keeps no relative precision, are compared absolutely.
"""

import itertools

import numpy as np
import pytest

from engine import functions as F

from . import reference as ref

RTOL = 1e-9
ATOL = np.finfo(np.float64).tiny

EXTREMES = (0.0, 1e-8, -1e-8, 1.0, -1.0, 30.0, -30.0, 700.0, -700.0, 1000.0, -1000.0, 1e6, -1e6)
# Log-probabilities are usually <= 0, but the functions are defined for any reals.
LOGPS = (0.0, -1e-8, -1.0, -30.0, -700.0, -1e6, 1.0)
RATIOS = (0.0, 1e-8, 0.5, 0.8, 1.0, 1.2, 1.5, 30.0, 1e6)


def assert_matches(actual, expected) -> None:
    expected_floats = np.array([float(e) for e in np.ravel(expected)]).reshape(np.shape(expected))
    np.testing.assert_allclose(actual, expected_floats, rtol=RTOL, atol=ATOL)


def grid(*axes):
    """Columns of the Cartesian product of the axes, as float64 arrays."""
    return [np.array(column) for column in zip(*itertools.product(*axes), strict=True)]


@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid", "softplus"])
def test_activations_match_mpmath(name):
    x = np.array(EXTREMES)
    assert_matches(getattr(F, name)(x), [getattr(ref, name)(v) for v in x])


def test_bradley_terry_prob_matches_mpmath():
    chosen, rejected = grid(EXTREMES, EXTREMES)
    expected = [ref.bradley_terry_prob(c, r) for c, r in zip(chosen, rejected, strict=True)]
    assert_matches(F.bradley_terry_prob(chosen, rejected), expected)


@pytest.mark.parametrize(
    ("name", "margins"),
    [("ranking_loss", (0.0, 0.5, -30.0)), ("hinge_ranking_loss", (1.0, 0.0, 30.0))],
)
def test_margin_losses_match_mpmath(name, margins):
    chosen, rejected, margin = grid(EXTREMES, EXTREMES, margins)
    expected = [getattr(ref, name)(c, r, m) for c, r, m in zip(chosen, rejected, margin, strict=True)]
    assert_matches(getattr(F, name)(chosen, rejected, margin), expected)


def test_ranking_error_matches_mpmath():
    chosen, rejected = grid(EXTREMES, EXTREMES)
    expected = [ref.ranking_error(c, r) for c, r in zip(chosen, rejected, strict=True)]
    assert_matches(F.ranking_error(chosen, rejected), expected)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_kwise_ranking_loss_matches_mpmath(k):
    scores = np.array(list(itertools.combinations(EXTREMES, k)))
    assert_matches(F.kwise_ranking_loss(scores), [ref.kwise_ranking_loss(row) for row in scores])


@pytest.mark.parametrize(("beta", "label_smoothing"), [(0.1, 0.0), (1.0, 0.0), (0.5, 0.1)])
def test_dpo_loss_matches_mpmath(beta, label_smoothing):
    pc, pr, rc, rr = grid(LOGPS, LOGPS, LOGPS, LOGPS)
    expected = [ref.dpo_loss(*logps, beta, label_smoothing) for logps in zip(pc, pr, rc, rr, strict=True)]
    assert_matches(F.dpo_loss(pc, pr, rc, rr, beta, label_smoothing), expected)


@pytest.mark.parametrize("beta", [0.1, 1.0, 3.0])
def test_ipo_loss_matches_mpmath(beta):
    pc, pr, rc, rr = grid(LOGPS, LOGPS, LOGPS, LOGPS)
    expected = [ref.ipo_loss(*logps, beta) for logps in zip(pc, pr, rc, rr, strict=True)]
    assert_matches(F.ipo_loss(pc, pr, rc, rr, beta), expected)


@pytest.mark.parametrize("clip_eps", [0.2, 0.1, 0.0])
def test_ppo_clip_loss_matches_mpmath(clip_eps):
    ratio, advantage = grid(RATIOS, EXTREMES)
    expected = [ref.ppo_clip_loss(r, a, clip_eps) for r, a in zip(ratio, advantage, strict=True)]
    assert_matches(F.ppo_clip_loss(ratio, advantage, clip_eps), expected)


@pytest.mark.parametrize("clip_eps", [0.2, 10.0])
def test_value_clip_loss_matches_mpmath(clip_eps):
    values, old_values, returns = grid(EXTREMES, EXTREMES, EXTREMES)
    expected = [
        ref.value_clip_loss(v, o, r, clip_eps) for v, o, r in zip(values, old_values, returns, strict=True)
    ]
    assert_matches(F.value_clip_loss(values, old_values, returns, clip_eps), expected)


@pytest.mark.parametrize("kind", ["k1", "k2", "k3"])
def test_kl_estimator_matches_mpmath(kind):
    policy, reference = grid(EXTREMES, EXTREMES)
    expected = [ref.kl_estimator(p, r, kind) for p, r in zip(policy, reference, strict=True)]
    assert_matches(F.kl_estimator(policy, reference, kind), expected)


@pytest.mark.parametrize("kind", ["k1", "k2", "k3"])
def test_kl_estimator_matches_mpmath_near_equal_logps(kind):
    # Small log-ratios are where k3 = (r - 1) - log r cancels; the series branch must hold here.
    log_ratios = np.array([1e-300, 1e-12, -3e-9, 0.0625, -0.0999, 0.1, -0.1, 0.25, -0.5, 5.0])
    policy = np.full_like(log_ratios, -2.0)
    reference = policy + log_ratios
    expected = [ref.kl_estimator(p, r, kind) for p, r in zip(policy, reference, strict=True)]
    assert_matches(F.kl_estimator(policy, reference, kind), expected)


@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (1.0, 1.0), (0.5, 0.0), (0.9, 0.3)])
def test_gae_matches_mpmath(gamma, lam):
    rewards = np.array(list(itertools.combinations(EXTREMES, 4)))
    values = np.roll(rewards, 1, axis=0)[:, ::-1]
    last_values = rewards[:, 0]
    advantages = F.gae(rewards, values, gamma, lam, last_values)
    expected = [
        ref.gae(r, v, gamma, lam, last) for r, v, last in zip(rewards, values, last_values, strict=True)
    ]
    assert_matches(advantages, expected)


LOGIT_ROWS = np.array(list(itertools.combinations(EXTREMES, 3)))


@pytest.mark.parametrize("temperature", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_mpmath(name, temperature):
    expected = [getattr(ref, name)(row, temperature) for row in LOGIT_ROWS]
    assert_matches(getattr(F, name)(LOGIT_ROWS, temperature), expected)


def test_entropy_matches_mpmath():
    assert_matches(F.entropy(LOGIT_ROWS), [ref.entropy(row) for row in LOGIT_ROWS])


@pytest.mark.parametrize("target", [0, 1, 2])
def test_cross_entropy_matches_mpmath(target):
    expected = [ref.cross_entropy(row, target) for row in LOGIT_ROWS]
    assert_matches(F.cross_entropy(LOGIT_ROWS, target), expected)


@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_perplexity_matches_mpmath(length):
    token_logps = np.array(list(itertools.combinations(EXTREMES, length)))
    assert_matches(F.perplexity(token_logps), [ref.perplexity(row) for row in token_logps])


# Near-cancellations: a difference that almost equals the margin, IPO's margin at its target, a
# value at its clip bound. A rounded intermediate would lose most digits of these results.
NEAR_TIES = [
    (1.0 + 2.0**-52, 0.0, 1.0),
    (0.3, 0.1, 0.2),
    (1e-8, -1.0, 1.0),
    (1e6, 1e6 - 30.0, 30.0 + 1e-9),
    (-2.0, -2.1, 0.1),
    (3.2, 1.5, 1.7),
    (-1e-8, -1.0, 1.0),  # naively 1 - 0.99999999 = 1.0000000050247593e-08 for the hinge
    (1e8 + 0.3, -0.2, 1e8 + 30.0),
    (1e8 + 0.3, -0.2, 1e8 - 30.0),  # naively e^-30.5 off by 3e-9 relative
]


@pytest.mark.parametrize("name", ["ranking_loss", "hinge_ranking_loss"])
def test_margin_losses_match_mpmath_when_the_margin_nearly_cancels(name):
    chosen, rejected, margin = (np.array(column) for column in zip(*NEAR_TIES, strict=True))
    expected = [getattr(ref, name)(*row) for row in NEAR_TIES]
    assert_matches(getattr(F, name)(chosen, rejected, margin), expected)


@pytest.mark.parametrize("beta", [0.1, 0.3, 0.7, 3.0])
@pytest.mark.parametrize("ulps", [-2, 0, 1])
def test_ipo_loss_matches_mpmath_at_its_optimum(beta, ulps):
    h = 1 / (2 * beta)
    for _ in range(abs(ulps)):
        h = float(np.nextafter(h, np.inf if ulps > 0 else -np.inf))
    assert_matches(F.ipo_loss(h, 0.0, 0.0, 0.0, beta), ref.ipo_loss(h, 0.0, 0.0, 0.0, beta))


@pytest.mark.parametrize("returns", [0.7, 0.30000000000000004, 0.7 + 2**-52, 0.3])
def test_value_clip_loss_matches_mpmath_at_the_clip_bound(returns):
    # V_old ± ε = 0.5 ± 0.2 rounds onto (or next to) these returns; V sits at or beyond the bound.
    values = np.array([0.75, 0.7, 0.25, 0.3, 0.7 + 2**-52])
    expected = [ref.value_clip_loss(v, 0.5, returns, 0.2) for v in values]
    assert_matches(F.value_clip_loss(values, 0.5, returns, 0.2), expected)
