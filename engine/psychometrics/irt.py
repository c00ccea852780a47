r"""Item response theory calibration: Rasch, common-slope Rasch and 2PL by marginal maximum likelihood.

The models give the probability that a person of ability :math:`\theta` answers item :math:`j`
right as

.. math:: P_j(\theta) = \frac{1}{1 + e^{-a_j (\theta - b_j)}},

on the logit scale (no 1.7 constant), with :math:`\theta \sim N(0, 1)` in the population. The
Rasch model fixes every discrimination :math:`a_j = 1`; the "common discrimination" variant
estimates one :math:`a` shared by all items (the 1PL of ltm's ``rasch()`` and girth's
``onepl_mml``); the 2PL estimates one per item. Responses are 0/1 with NaN where an item was not
presented, which marginal likelihood handles by leaving the response out.

Estimation is in :mod:`engine.psychometrics.mml`; this module states the models and reports the
estimates in difficulty–discrimination form, :math:`b_j = -c_j / a_j`, with standard errors by the
delta method from the observed information.

References
----------
.. [1] Bock, R. D. & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
   application of an EM algorithm. *Psychometrika* 46(4), 443-459.
.. [2] Baker, F. B. & Kim, S.-H. (2004). *Item Response Theory: Parameter Estimation Techniques*,
   2nd ed. Marcel Dekker.
.. [3] Rizopoulos, D. (2006). ltm: An R package for latent variable modeling and item response
   theory analyses. *J. Stat. Softw.* 17(5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from engine.psychometrics.mml import Parameterisation, maximise
from engine.psychometrics.quadrature import DEFAULT_NODES, logistic, normal_quadrature
from engine.psychometrics.responses import ScoredResponses, scored_responses

__all__ = ["IRTFit", "IRTModel", "fit_2pl", "fit_rasch", "marginal_loglik"]


class IRTModel(StrEnum):
    RASCH = "rasch"  # a = 1
    RASCH_COMMON_A = "rasch_common_a"  # one a for every item
    TWO_PL = "2pl"  # one a per item


@dataclass(frozen=True, slots=True)
class IRTFit:
    """Item parameters estimated by marginal maximum likelihood, with their uncertainty.

    Attributes
    ----------
    model : IRTModel
    difficulty, discrimination : ndarray, shape (items,)
        :math:`b_j` and :math:`a_j` (all 1 for the Rasch model).
    difficulty_se, discrimination_se : ndarray, shape (items,)
        Standard errors from the observed information (0 for a parameter the model fixes).
    covariance : ndarray, shape (2 items, 2 items)
        Covariance of the estimates ordered :math:`(a_1..a_k, b_1..b_k)`.
    loglik : float
        The marginal log-likelihood at the estimates.
    converged : bool
        Whether the last Newton step was below the tolerance.
    iterations : int
    max_gradient : float
        Largest absolute gradient of the log-likelihood in the free parameters at the end.
    quadrature_nodes : int
    """

    model: IRTModel
    difficulty: np.ndarray
    discrimination: np.ndarray
    difficulty_se: np.ndarray
    discrimination_se: np.ndarray
    covariance: np.ndarray
    loglik: float
    converged: bool
    iterations: int
    max_gradient: float
    quadrature_nodes: int

    def probability(self, theta: ArrayLike) -> np.ndarray:
        """:math:`P_j(\\theta)` for each ability (rows) and item (columns)."""
        t = np.asarray(theta, dtype=np.float64)[..., None]
        return logistic(self.discrimination * (t - self.difficulty))


class _FixedSlope(Parameterisation):
    """Rasch: :math:`\\phi = c`, every :math:`a_j = 1`."""

    def size(self, items: int) -> int:
        return items

    def unpack(self, phi: np.ndarray, items: int) -> tuple[np.ndarray, np.ndarray]:
        return np.ones(items), phi

    def jacobian(self, items: int) -> np.ndarray:
        return np.vstack([np.zeros((items, items)), np.eye(items)])

    def em_step(self, g_a: np.ndarray, g_c: np.ndarray, h_aa: np.ndarray, h_ac: np.ndarray,
                h_cc: np.ndarray) -> np.ndarray:
        return g_c / h_cc


class _CommonSlope(Parameterisation):
    """Common-slope Rasch: :math:`\\phi = (\\alpha, c)`, every :math:`a_j = \\alpha`."""

    def size(self, items: int) -> int:
        return items + 1

    def unpack(self, phi: np.ndarray, items: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full(items, phi[0]), phi[1:]

    def jacobian(self, items: int) -> np.ndarray:
        j = np.zeros((2 * items, items + 1))
        j[:items, 0] = 1.0
        j[items:, 1:] = np.eye(items)
        return j

    def em_step(self, g_a: np.ndarray, g_c: np.ndarray, h_aa: np.ndarray, h_ac: np.ndarray,
                h_cc: np.ndarray) -> np.ndarray:
        # An arrow-shaped system: eliminate the intercepts (Schur complement on the slope).
        d_alpha = (g_a.sum() - (h_ac * g_c / h_cc).sum()) / (h_aa.sum() - (h_ac**2 / h_cc).sum())
        d_c = (g_c - h_ac * d_alpha) / h_cc
        return np.concatenate([[d_alpha], d_c])


class _FreeSlopes(Parameterisation):
    """2PL: :math:`\\phi = (a, c)`."""

    def size(self, items: int) -> int:
        return 2 * items

    def unpack(self, phi: np.ndarray, items: int) -> tuple[np.ndarray, np.ndarray]:
        return phi[:items], phi[items:]

    def jacobian(self, items: int) -> np.ndarray:
        return np.eye(2 * items)

    def em_step(self, g_a: np.ndarray, g_c: np.ndarray, h_aa: np.ndarray, h_ac: np.ndarray,
                h_cc: np.ndarray) -> np.ndarray:
        det = h_aa * h_cc - h_ac**2  # one 2×2 system per item
        return np.concatenate([(h_cc * g_a - h_ac * g_c) / det, (h_aa * g_c - h_ac * g_a) / det])


_MODELS: dict[IRTModel, Parameterisation] = {
    IRTModel.RASCH: _FixedSlope(),
    IRTModel.RASCH_COMMON_A: _CommonSlope(),
    IRTModel.TWO_PL: _FreeSlopes(),
}


def _checked(responses: ArrayLike) -> ScoredResponses:
    data = scored_responses(responses)
    rights = data.right.sum(axis=0)
    wrongs = data.wrong.sum(axis=0)
    flat = np.flatnonzero((rights == 0) | (wrongs == 0))
    if flat.size:
        raise ValueError(
            f"items {flat.tolist()} were never answered right, never wrong or never presented: "
            "marginal likelihood has no finite estimate for them; leave them out of the fit"
        )
    return data


def _start(data: ScoredResponses, model: IRTModel) -> np.ndarray:
    # E[logistic(aθ + c)] ≈ logistic(c / sqrt(1 + πa²/8)) for θ ~ N(0, 1), so the intercept
    # that reproduces each item's proportion right, at a = 1:
    proportion = data.right.sum(axis=0) / (data.right + data.wrong).sum(axis=0)
    c = np.log(proportion / (1 - proportion)) * np.sqrt(1 + np.pi / 8)
    k = data.items
    if model is IRTModel.RASCH:
        return c
    if model is IRTModel.RASCH_COMMON_A:
        return np.concatenate([[1.0], c])
    return np.concatenate([np.ones(k), c])


def _fit(responses: ArrayLike, model: IRTModel, n_quadrature: int, max_iterations: int,
         tolerance: float) -> IRTFit:
    data = _checked(responses)
    params = _MODELS[model]
    nodes, weights = normal_quadrature(n_quadrature)
    estimate = maximise(data, params, _start(data, model), nodes, weights, max_iterations, tolerance)
    k = data.items
    a, c = params.unpack(estimate.phi, k)
    jacobian = params.jacobian(k)
    try:
        phi_covariance = np.linalg.inv(estimate.information)
    except np.linalg.LinAlgError:
        phi_covariance = np.full(estimate.information.shape, np.nan)
    ac_covariance = jacobian @ phi_covariance @ jacobian.T
    # delta method for b = −c/a: ∂b/∂a = c/a², ∂b/∂c = −1/a
    to_ab = np.block([[np.eye(k), np.zeros((k, k))], [np.diag(c / a**2), np.diag(-1 / a)]])
    covariance = to_ab @ ac_covariance @ to_ab.T
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(covariance))
    return IRTFit(
        model=model, difficulty=-c / a, discrimination=a.copy(), difficulty_se=se[k:],
        discrimination_se=se[:k], covariance=covariance, loglik=estimate.loglik,
        converged=estimate.converged, iterations=estimate.iterations,
        max_gradient=estimate.max_gradient, quadrature_nodes=int(n_quadrature),
    )


def fit_rasch(responses: ArrayLike, common_discrimination: bool = False, *,
              n_quadrature: int = DEFAULT_NODES, max_iterations: int = 500,
              tolerance: float = 1e-7) -> IRTFit:
    r"""Fit the Rasch model by marginal maximum likelihood.

    Parameters
    ----------
    responses : array_like, shape (persons, items)
        1 right, 0 wrong, NaN not presented.
    common_discrimination : bool
        False: :math:`a_j = 1` for every item. True: one :math:`a` shared by all items is
        estimated with the difficulties (the 1PL with :math:`\theta \sim N(0, 1)`).
    n_quadrature : int
        Gauss–Hermite nodes for the integral over :math:`\theta` (ltm uses 21).
    max_iterations : int
    tolerance : float
        Stop when a Newton step moves no parameter by more than this (logits).

    Returns
    -------
    IRTFit

    Notes
    -----
    Maximises the marginal log-likelihood

    .. math:: \ell = \sum_i \log \int \prod_j P_j(\theta)^{x_{ij}} (1 - P_j(\theta))^{1 - x_{ij}}
              \, \phi(\theta)\, d\theta,

    the product running over the items presented to person :math:`i`, by EM [1]_ followed by
    Newton–Raphson (see :mod:`engine.psychometrics.mml`). An item that every person who saw it
    answered right (or wrong) has no finite estimate and raises ``ValueError``.

    References
    ----------
    .. [1] Bock, R. D. & Aitkin, M. (1981). *Psychometrika* 46(4), 443-459.
    .. [2] Baker, F. B. & Kim, S.-H. (2004). *Item Response Theory: Parameter Estimation
       Techniques*, 2nd ed., chapters 6-7.

    Examples
    --------
    >>> import numpy as np
    >>> from engine.psychometrics import fit_rasch
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.normal(size=(2000, 1))
    >>> b = np.array([-1.0, 0.0, 1.0])
    >>> responses = (rng.random((2000, 3)) < 1 / (1 + np.exp(-(theta - b)))).astype(float)
    >>> fit = fit_rasch(responses)
    >>> bool(np.all(np.abs(fit.difficulty - b) < 3 * fit.difficulty_se))
    True
    """
    model = IRTModel.RASCH_COMMON_A if common_discrimination else IRTModel.RASCH
    return _fit(responses, model, n_quadrature, max_iterations, tolerance)


def fit_2pl(responses: ArrayLike, *, n_quadrature: int = DEFAULT_NODES, max_iterations: int = 500,
            tolerance: float = 1e-7) -> IRTFit:
    r"""Fit the two-parameter logistic model by marginal maximum likelihood.

    As :func:`fit_rasch`, with a discrimination :math:`a_j` estimated for every item:
    :math:`P_j(\theta) = 1 / (1 + e^{-a_j(\theta - b_j)})`. The likelihood is flat along
    :math:`a_j` for items with few responses, so its standard errors there are large; an item
    whose responses run against the rest of the test gets :math:`a_j < 0`.

    References
    ----------
    .. [1] Bock, R. D. & Aitkin, M. (1981). *Psychometrika* 46(4), 443-459.
    .. [2] Baker, F. B. & Kim, S.-H. (2004). *Item Response Theory: Parameter Estimation
       Techniques*, 2nd ed., chapter 6.

    Examples
    --------
    >>> import numpy as np
    >>> from engine.psychometrics import fit_2pl
    >>> rng = np.random.default_rng(1)
    >>> theta = rng.normal(size=(4000, 1))
    >>> a, b = np.array([0.5, 1.0, 2.0]), np.array([0.0, -0.5, 0.5])
    >>> responses = (rng.random((4000, 3)) < 1 / (1 + np.exp(-a * (theta - b)))).astype(float)
    >>> fit = fit_2pl(responses)
    >>> bool(fit.converged), bool(np.all(np.abs(fit.discrimination - a) < 3 * fit.discrimination_se))
    (True, True)
    """
    return _fit(responses, IRTModel.TWO_PL, n_quadrature, max_iterations, tolerance)


def marginal_loglik(responses: ArrayLike, difficulty: ArrayLike, discrimination: ArrayLike = 1.0,
                    n_quadrature: int = DEFAULT_NODES) -> np.ndarray:
    r"""Each person's marginal log-likelihood :math:`\log \int L_i(\theta)\,\phi(\theta)\,d\theta`.

    ``n`` times its exponential is the expected frequency of the person's response pattern in a
    sample of ``n`` (ltm's ``Exp`` column). The fit's ``loglik`` is the sum over persons.
    """
    data = scored_responses(responses)
    b = np.broadcast_to(np.asarray(difficulty, dtype=np.float64), (data.items,))
    a = np.broadcast_to(np.asarray(discrimination, dtype=np.float64), (data.items,))
    nodes, weights = normal_quadrature(n_quadrature)
    joint = data.node_loglik(a[:, None] * (nodes[None, :] - b[:, None])) + np.log(weights)
    top = joint.max(axis=1)
    return top + np.log(np.exp(joint - top[:, None]).sum(axis=1))
