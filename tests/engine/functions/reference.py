"""Independent reference implementations of engine.functions in mpmath, at 50 significant digits.

Each is the formula of its paper written out directly on one set of Python floats, with none of
the library's numerical devices (no max-shift, no masks, no series): mpmath's exponent range is
unbounded, so e^1000 is just a number. ``log1p`` appears where a formula reads log(1 + x), because
at 50 digits log(1 + 1e-304) would round to 0 while float64 still resolves the answer.
"""

import itertools
from collections.abc import Sequence

import mpmath

mp = mpmath.mp
DIGITS = 50


def _softplus(x):
    return mp.log1p(mp.exp(x))


@mpmath.workdps(DIGITS)
def sigmoid(x: float):
    return 1 / (1 + mp.exp(-mp.mpf(x)))


@mpmath.workdps(DIGITS)
def log_sigmoid(x: float):
    return -_softplus(-mp.mpf(x))


@mpmath.workdps(DIGITS)
def softplus(x: float):
    return _softplus(mp.mpf(x))


@mpmath.workdps(DIGITS)
def bradley_terry_prob(r_chosen: float, r_rejected: float):
    return 1 / (1 + mp.exp(-(mp.mpf(r_chosen) - mp.mpf(r_rejected))))


@mpmath.workdps(DIGITS)
def ranking_loss(r_chosen: float, r_rejected: float, margin: float = 0.0):
    # -log sigma(d) = log(1 + e^-d)
    return _softplus(-(mp.mpf(r_chosen) - mp.mpf(r_rejected) - mp.mpf(margin)))


@mpmath.workdps(DIGITS)
def hinge_ranking_loss(r_chosen: float, r_rejected: float, margin: float = 1.0):
    return max(mp.mpf(0), mp.mpf(margin) - (mp.mpf(r_chosen) - mp.mpf(r_rejected)))


@mpmath.workdps(DIGITS)
def ranking_error(r_chosen: float, r_rejected: float):
    return mp.mpf(1) if mp.mpf(r_chosen) - mp.mpf(r_rejected) <= 0 else mp.mpf(0)


@mpmath.workdps(DIGITS)
def kwise_ranking_loss(scores: Sequence[float]):
    pairs = list(itertools.combinations([mp.mpf(s) for s in scores], 2))
    return mp.fsum(_softplus(-(better - worse)) for better, worse in pairs) / len(pairs)


def _log_ratio_margin(pc: float, pr: float, rc: float, rr: float):
    return (mp.mpf(pc) - mp.mpf(rc)) - (mp.mpf(pr) - mp.mpf(rr))


@mpmath.workdps(DIGITS)
def dpo_loss(pc: float, pr: float, rc: float, rr: float, beta: float, label_smoothing: float):
    z = mp.mpf(beta) * _log_ratio_margin(pc, pr, rc, rr)
    eps = mp.mpf(label_smoothing)
    # -(1 - eps) log sigma(z) - eps log sigma(-z)
    return (1 - eps) * _softplus(-z) + eps * _softplus(z)


@mpmath.workdps(DIGITS)
def ipo_loss(pc: float, pr: float, rc: float, rr: float, beta: float):
    return (_log_ratio_margin(pc, pr, rc, rr) - 1 / (2 * mp.mpf(beta))) ** 2


def _clip(x, low, high):
    return min(max(x, low), high)


@mpmath.workdps(DIGITS)
def ppo_clip_loss(ratio: float, advantage: float, clip_eps: float):
    rho, adv, eps = mp.mpf(ratio), mp.mpf(advantage), mp.mpf(clip_eps)
    return -min(rho * adv, _clip(rho, 1 - eps, 1 + eps) * adv)


@mpmath.workdps(DIGITS)
def value_clip_loss(values: float, old_values: float, returns: float, clip_eps: float):
    v, v_old, ret, eps = (mp.mpf(x) for x in (values, old_values, returns, clip_eps))
    return max((v - ret) ** 2, (_clip(v, v_old - eps, v_old + eps) - ret) ** 2) / 2


@mpmath.workdps(DIGITS)
def kl_estimator(logp_policy: float, logp_ref: float, kind: str):
    log_r = mp.mpf(logp_ref) - mp.mpf(logp_policy)
    estimates = {"k1": -log_r, "k2": log_r**2 / 2, "k3": mp.expm1(log_r) - log_r}
    return estimates[kind]


@mpmath.workdps(DIGITS)
def gae(
    rewards: Sequence[float], values: Sequence[float], gamma: float, lam: float, last_value: float
) -> list:
    g, lam_ = mp.mpf(gamma), mp.mpf(lam)
    v = [mp.mpf(x) for x in values] + [mp.mpf(last_value)]
    advantages, running = [], mp.mpf(0)
    for t in reversed(range(len(rewards))):
        running = mp.mpf(rewards[t]) + g * v[t + 1] - v[t] + g * lam_ * running
        advantages.append(running)
    return advantages[::-1]


@mpmath.workdps(DIGITS)
def softmax(logits: Sequence[float], temperature: float) -> list:
    weights = [mp.exp(mp.mpf(z) / mp.mpf(temperature)) for z in logits]
    total = mp.fsum(weights)
    return [w / total for w in weights]


@mpmath.workdps(DIGITS)
def log_softmax(logits: Sequence[float], temperature: float) -> list:
    scaled = [mp.mpf(z) / mp.mpf(temperature) for z in logits]
    # log sum_j e^{s_j} = s_k + log(1 + sum_{j != k} e^{s_j - s_k}) for the largest s_k: the
    # identity that lets 50 digits resolve a partition function of 1 + 1e-304.
    top = max(scaled)
    k = scaled.index(top)
    log_rest = mp.log1p(mp.fsum(mp.exp(s - top) for j, s in enumerate(scaled) if j != k))
    return [(s - top) - log_rest for s in scaled]


@mpmath.workdps(DIGITS)
def entropy(logits: Sequence[float]):
    return -mp.fsum(mp.exp(lp) * lp for lp in log_softmax(logits, 1.0))


@mpmath.workdps(DIGITS)
def cross_entropy(logits: Sequence[float], target: int):
    return -log_softmax(logits, 1.0)[target]


@mpmath.workdps(DIGITS)
def perplexity(token_logps: Sequence[float]):
    return mp.exp(-mp.fsum(mp.mpf(x) for x in token_logps) / len(token_logps))
