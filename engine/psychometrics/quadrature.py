r"""Integrals over a standard normal ability, by Gauss–Hermite quadrature, and the logistic curve.

Marginal maximum likelihood and EAP scoring both integrate a likelihood against the N(0, 1)
ability distribution. Gauss–Hermite quadrature in its "probabilists'" form (weight
:math:`e^{-\theta^2/2}`) does this with nodes and weights that need no change of variable; the
weights are divided by :math:`\sqrt{2\pi}` so that they sum to 1 and can be read as the prior
probability of each node.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

__all__ = ["DEFAULT_NODES", "log_logistic", "logistic", "normal_quadrature"]

# ltm, the reference for the LSAT oracle, integrates with 21 nodes; 41 keeps the integral of a
# 50-item likelihood (posterior SD near 0.3) accurate to well below the sampling error.
DEFAULT_NODES = 41


@cache
def _nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = hermegauss(n)
    weights = weights / np.sqrt(2 * np.pi)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def normal_quadrature(n: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes :math:`\theta_q` and weights :math:`w_q` with :math:`\sum_q w_q f(\theta_q) \approx E f(\theta)`.

    Exact for polynomials of degree up to :math:`2n - 1` under :math:`\theta \sim N(0, 1)`.

    References
    ----------
    .. [1] Abramowitz, M. & Stegun, I. A. (1964). *Handbook of Mathematical Functions*, 25.4.46.

    Examples
    --------
    >>> nodes, weights = normal_quadrature(5)
    >>> round(float(weights.sum()), 12), round(float(weights @ nodes**2), 12)
    (1.0, 1.0)
    """
    if n < 2:
        raise ValueError("quadrature needs at least 2 nodes")
    return _nodes(int(n))


def logistic(eta: np.ndarray) -> np.ndarray:
    r""":math:`1 / (1 + e^{-\eta})`, without overflow for large :math:`|\eta|`."""
    return np.exp(-np.logaddexp(0.0, -eta))


def log_logistic(eta: np.ndarray) -> np.ndarray:
    r""":math:`\log(1 / (1 + e^{-\eta})) = -\log(1 + e^{-\eta})`, accurate in both tails."""
    return -np.logaddexp(0.0, -eta)
