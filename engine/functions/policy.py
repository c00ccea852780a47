"""Policy-gradient (RLHF) quantities: PPO's clipped objectives and the KL penalty estimators.

PPO keeps each update close to the policy that collected the data, by clipping the probability
ratio in the policy loss and the value change in the value loss; RLHF adds a KL penalty towards the
reference model, estimated per sample from two log-probabilities. Generalised advantage estimation,
the other half of PPO's inputs, lives in :mod:`engine.functions.advantages`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from engine.functions._arithmetic import accurate_sum, difference, product
from engine.functions._util import FloatArray, as_float64, require, result


def _clip_eps(clip_eps: npt.ArrayLike) -> FloatArray:
    eps = as_float64(clip_eps, "clip_eps")
    require(eps >= 0, "clip_eps", "must be >= 0", eps)
    return eps


def ppo_clip_loss(
    ratio: npt.ArrayLike, advantage: npt.ArrayLike, clip_eps: npt.ArrayLike = 0.2
) -> FloatArray:
    r"""PPO's clipped surrogate objective, negated as a loss to minimise.

    .. math::

        \mathcal{L}(\rho, \hat{A}) =
        -\min\left(\rho\hat{A},\ \operatorname{clip}(\rho, 1-\epsilon, 1+\epsilon)\hat{A}\right)

    The minimum makes the objective a pessimistic bound: moving the ratio beyond
    :math:`1 \pm \epsilon` in the direction the advantage rewards gains nothing.

    Parameters
    ----------
    ratio : array_like
        Probability ratio :math:`\rho = \pi_\theta(a \mid s) / \pi_{\theta_{old}}(a \mid s)`.
    advantage : array_like
        Advantage estimate :math:`\hat{A}` (for example from :func:`gae`).
    clip_eps : array_like, optional
        Clip range :math:`\epsilon \ge 0`. Default 0.2.

    Returns
    -------
    numpy.ndarray
        float64 losses, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] J. Schulman, F. Wolski, P. Dhariwal, A. Radford and O. Klimov, "Proximal policy
       optimization algorithms", arXiv:1707.06347, 2017, eq. (7).

    Examples
    --------
    >>> from engine.functions import ppo_clip_loss
    >>> ppo_clip_loss([1.5, 1.5, 0.5], [2.0, -2.0, 2.0]).round(6)
    array([-2.4,  3. , -1. ])
    """
    rho = as_float64(ratio, "ratio")
    adv = as_float64(advantage, "advantage")
    eps = _clip_eps(clip_eps)
    with np.errstate(over="ignore"):
        clipped = np.clip(rho, 1.0 - eps, 1.0 + eps)
    return result(-np.minimum(product(rho, adv), product(clipped, adv)))


def value_clip_loss(
    values: npt.ArrayLike,
    old_values: npt.ArrayLike,
    returns: npt.ArrayLike,
    clip_eps: npt.ArrayLike = 0.2,
) -> FloatArray:
    r"""PPO's clipped value loss: the worse of the plain and the clipped squared errors, halved.

    .. math::

        \mathcal{L}^V = \frac{1}{2}\max\left((V - R)^2,\
        \left(\operatorname{clip}(V, V_{old}-\epsilon, V_{old}+\epsilon) - R\right)^2\right)

    The clip bounds are not rounded: whether :math:`V` lies outside
    :math:`V_{old} \pm \epsilon`, and the clipped error :math:`V_{old} \pm \epsilon - R`, are
    summed exactly (compensated). The loss is then :math:`\tfrac12 m \cdot m` with :math:`m` the
    larger absolute error, which overflows only where the loss itself exceeds float64.

    Parameters
    ----------
    values : array_like
        New value predictions :math:`V`.
    old_values : array_like
        Value predictions :math:`V_{old}` of the policy that collected the data.
    returns : array_like
        Return targets :math:`R` (for example advantages plus old values).
    clip_eps : array_like, optional
        Clip range :math:`\epsilon \ge 0` around the old values. Default 0.2.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] L. Engstrom et al., "Implementation matters in deep policy gradients: A case study on
       PPO and TRPO", ICLR 2020, sec. 3 (value function clipping).
    .. [2] P. Dhariwal et al., "OpenAI Baselines", GitHub, 2017 (``ppo2``).

    Examples
    --------
    >>> from engine.functions import value_clip_loss
    >>> value_clip_loss([1.0, 0.5], [0.5, 0.5], [2.0, 2.0]).round(6)
    array([0.845, 1.125])
    """
    v = as_float64(values, "values")
    v_old = as_float64(old_values, "old_values")
    target = as_float64(returns, "returns")
    eps = _clip_eps(clip_eps)
    error = difference(v, target)
    clipped_error = np.where(
        accurate_sum(v, -v_old, -eps) > 0,  # V above V_old + eps: clipped to the upper bound
        accurate_sum(v_old, eps, -target),
        np.where(
            accurate_sum(v, -v_old, eps) < 0,  # V below V_old - eps
            accurate_sum(v_old, -eps, -target),
            error,
        ),
    )
    worst = np.maximum(np.abs(error), np.abs(clipped_error))
    return product(0.5 * worst, worst)


# Below |log r| = 0.1, expm1(x) - x cancels (x is most of expm1(x)); the Taylor series
# sum_{n>=2} x^n/n! is used instead. Its terms up to n = 12 leave a relative error under 1e-18.
_K3_SERIES_LIMIT = 0.1
_K3_SERIES = tuple(1.0 / math.factorial(n) for n in range(12, 1, -1))


def _k1(log_r: FloatArray) -> FloatArray:
    return result(-log_r)


def _k2(log_r: FloatArray) -> FloatArray:
    return product(0.5 * log_r, log_r)


def _k3(log_r: FloatArray) -> FloatArray:
    out = np.empty_like(log_r)
    small = np.abs(log_r) < _K3_SERIES_LIMIT
    x = log_r[small]
    series = np.zeros_like(x)
    for coefficient in _K3_SERIES:
        series = series * x + coefficient
    out[small] = x * (x * series)
    large = log_r[~small]
    with np.errstate(over="ignore"):
        # e^x - 1 - x beyond float64 (x > 709.78) is +inf, its correctly rounded value.
        out[~small] = np.expm1(large) - large
    return result(out)


_KL_ESTIMATORS: dict[str, Callable[[FloatArray], FloatArray]] = {"k1": _k1, "k2": _k2, "k3": _k3}


def kl_estimator(logp_policy: npt.ArrayLike, logp_ref: npt.ArrayLike, kind: str = "k1") -> FloatArray:
    r"""Single-sample estimate of KL(policy || reference) from a sample of the policy.

    .. math::

        k_1 = -\log r,\quad k_2 = \tfrac{1}{2}(\log r)^2,\quad k_3 = (r - 1) - \log r,
        \qquad \log r = \log\pi^{ref}(x) - \log\pi(x)

    :math:`k_1` is unbiased but often negative; :math:`k_2` is biased, low-variance and >= 0;
    :math:`k_3` is unbiased and >= 0. :math:`k_3` is evaluated as ``expm1(log r) - log r``, and
    by its Taylor series where :math:`|\log r| < 0.1`, so it keeps full precision near 0.

    Parameters
    ----------
    logp_policy : array_like
        Log-probability :math:`\log\pi(x)` of the sample under the policy it was drawn from.
    logp_ref : array_like
        Log-probability :math:`\log\pi^{ref}(x)` of the same sample under the reference model.
    kind : {"k1", "k2", "k3"}, optional
        Which estimator. Default "k1".

    Returns
    -------
    numpy.ndarray
        float64 estimates, of the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        If ``kind`` is not one of the allowed kinds.

    References
    ----------
    .. [1] J. Schulman, "Approximating KL divergence", 2020,
       http://joschu.net/blog/kl-approx.html.

    Examples
    --------
    >>> from engine.functions import kl_estimator
    >>> [round(float(kl_estimator(-1.0, -1.5, kind)), 6) for kind in ("k1", "k2", "k3")]
    [0.5, 0.125, 0.106531]
    """
    try:
        estimator = _KL_ESTIMATORS[kind]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(k) for k in _KL_ESTIMATORS)
        raise ValueError(f"unknown KL estimator kind {kind!r}; allowed kinds: {allowed}") from None
    policy = as_float64(logp_policy, "logp_policy")
    return estimator(difference(as_float64(logp_ref, "logp_ref"), policy))
