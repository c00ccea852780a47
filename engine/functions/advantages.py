"""Generalised advantage estimation over trajectories, vectorised across any batch of them.

The trajectory runs along the last axis; every leading axis is a batch (variants of an item,
episodes), and the per-trajectory parameters (discount, trace decay, bootstrap value) broadcast
against those leading axes. The backward recursion loops over time steps only, carrying each
advantage in two floats so that cancelling rewards and values cost no digits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._arithmetic import sum_parts, two_product
from engine.functions._util import (
    FloatArray,
    as_float64,
    broadcast_rows,
    require,
    require_axis,
    result,
)

# GAE is linear in (rewards, values, last_value), so a trajectory with entries near the float64
# limit is computed scaled down by a power of two (exact) and scaled back at the end: below 2**900
# neither TwoProduct's splitting nor any partial return can overflow. Only an advantage that truly
# lies beyond float64 then saturates, in the final scaling.
_SAFE_EXPONENT = 900


def _unit_interval(value: npt.ArrayLike, name: str) -> FloatArray:
    array = as_float64(value, name)
    require((array >= 0) & (array <= 1), name, "must lie in [0, 1]", array)
    return array


def gae(
    rewards: npt.ArrayLike,
    values: npt.ArrayLike,
    gamma: npt.ArrayLike = 0.99,
    lam: npt.ArrayLike = 0.95,
    last_value: npt.ArrayLike = 0.0,
) -> FloatArray:
    r"""Generalised advantage estimates along a trajectory.

    .. math::

        \delta_t = r_t + \gamma V_{t+1} - V_t,\quad
        \hat{A}_t = \delta_t + \gamma\lambda\hat{A}_{t+1},\quad
        V_T = V_{last},\ \hat{A}_T = 0

    equivalently :math:`\hat{A}_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}`. With
    :math:`\lambda = 1` this is the discounted return minus :math:`V_t`; with :math:`\lambda = 0`
    it is the one-step TD error :math:`\delta_t`.

    Parameters
    ----------
    rewards : array_like
        Rewards :math:`r_t` of shape (..., T); time runs along the last axis, leading axes are a
        batch of trajectories.
    values : array_like
        Value estimates :math:`V_t` of the visited states, shape (..., T), broadcastable with
        ``rewards``.
    gamma : array_like, optional
        Discount :math:`\gamma \in [0, 1]`, one per trajectory: a scalar or an array broadcastable
        to the leading shape (...). Default 0.99.
    lam : array_like, optional
        Trace decay :math:`\lambda \in [0, 1]`, one per trajectory. Default 0.95.
    last_value : array_like, optional
        Bootstrap value :math:`V_T` of the state after the last step, one per trajectory
        (0 for a trajectory that ended in a terminal state). Default 0.

    Returns
    -------
    numpy.ndarray
        float64 advantages of shape (..., T), the broadcast of the inputs.

    Notes
    -----
    The advantage is carried through the recursion as two floats (a double-double), with
    :math:`\gamma V_{t+1}` and :math:`\gamma\lambda` split exactly (Dekker's TwoProduct) and each
    step summed exactly (compensated), so the result is accurate to about one rounding even
    where rewards and values cancel, e.g. :math:`r_t + V_{t+1} - V_t \approx 0`. An advantage
    beyond the float64 range (about 1.8e308) saturates to ±inf.

    References
    ----------
    .. [1] J. Schulman, P. Moritz, S. Levine, M. Jordan and P. Abbeel, "High-dimensional
       continuous control using generalized advantage estimation", ICLR 2016, eq. (16).

    Examples
    --------
    >>> from engine.functions import gae
    >>> gae([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], gamma=0.5, lam=1.0)
    array([1.75, 1.5 , 1.  ])
    >>> gae([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], gamma=1.0, lam=[0.0, 1.0], last_value=0.5)
    array([[1., 0.],
           [1., 1.]])
    """
    r, v = np.broadcast_arrays(as_float64(rewards, "rewards"), as_float64(values, "values"))
    require_axis(r, "rewards", min_length=0)
    g, trace = _unit_interval(gamma, "gamma"), _unit_interval(lam, "lam")
    r, (g, trace, bootstrap) = broadcast_rows(r, g, trace, as_float64(last_value, "last_value"))
    v = np.broadcast_to(v, r.shape)
    shift = _downscaling_exponent(r, v, bootstrap)
    r, v = np.ldexp(r, -shift[..., None]), np.ldexp(v, -shift[..., None])
    next_values = np.concatenate([v[..., 1:], np.ldexp(bootstrap, -shift)[..., None]], axis=-1)
    # gamma * V_{t+1} and gamma * lam, each held exactly as two floats.
    discounted_hi, discounted_lo = two_product(g[..., None], next_values)
    decay_hi, decay_lo = two_product(g, trace)
    advantages = np.empty(r.shape, dtype=np.float64)
    a_hi = a_lo = np.zeros(r.shape[:-1], dtype=np.float64)
    for t in reversed(range(r.shape[-1])):
        carried_hi, carried_lo = two_product(decay_hi, a_hi)
        a_hi, a_lo = sum_parts(
            r[..., t],
            discounted_hi[..., t],
            discounted_lo[..., t],
            -v[..., t],
            carried_hi,
            carried_lo,
            decay_hi * a_lo + decay_lo * a_hi,
        )
        advantages[..., t] = a_hi
    with np.errstate(over="ignore"):
        return result(np.ldexp(advantages, shift[..., None]))


def _downscaling_exponent(
    rewards: FloatArray, values: FloatArray, bootstrap: FloatArray
) -> npt.NDArray[np.intc]:
    """Per trajectory, the power of two that brings every input to at most 2**_SAFE_EXPONENT."""
    largest = np.maximum(
        np.maximum(np.abs(rewards), np.abs(values)).max(axis=-1, initial=0.0), np.abs(bootstrap)
    )
    return np.maximum(np.frexp(largest)[1] - _SAFE_EXPONENT, 0)
