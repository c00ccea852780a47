r"""Marginal maximum likelihood for logistic item response models: EM, then Newton–Raphson.

The item parameters are held in slope–intercept form, :math:`\eta_j(\theta) = a_j \theta + c_j`,
where the log-likelihood is concave for fixed abilities; a model (Rasch, common-slope Rasch,
2PL) is a linear map from its free parameters :math:`\phi` to the :math:`(a, c)` of every item,
given by a :class:`Parameterisation`.

The estimation follows Bock & Aitkin (1981): abilities are integrated out over Gauss–Hermite
nodes :math:`\theta_q` with prior weights :math:`w_q`. At the current parameters the E-step gives
each person's posterior weight on each node,

.. math:: \pi_{iq} = \frac{w_q L_i(\theta_q)}{\sum_r w_r L_i(\theta_r)},

and from them the expected counts :math:`\bar n_{jq} = \sum_i s_{ij} \pi_{iq}` (persons shown item
:math:`j`) and :math:`\bar r_{jq} = \sum_i x_{ij} \pi_{iq}` (of them, right). The gradient of the
marginal log-likelihood is then (Fisher's identity)

.. math:: \frac{\partial \ell}{\partial (a_j, c_j)} = \sum_q (\bar r_{jq} - \bar n_{jq} P_{jq})\,(\theta_q, 1),

and the complete-data information is block-diagonal with blocks
:math:`B_j = \sum_q \bar n_{jq} P_{jq}(1 - P_{jq})\,(\theta_q, 1)^{\otimes 2}`. An EM iteration
is one Newton step of the M-step, :math:`\delta = B^{-1} g`. EM is reliable from any start but
converges linearly; once its steps are small the iteration switches to Newton–Raphson on the
marginal likelihood itself with the observed information from Louis' (1982) formula,

.. math:: I = B - \sum_i \operatorname{Var}_{\pi_i}\bigl(S_i(\theta)\bigr),

where :math:`S_i(\theta_q)` is person :math:`i`'s complete-data score at node :math:`q`. Its
inverse at the maximum is the covariance of the estimates. Every step is halved until the
marginal log-likelihood does not decrease.

References
----------
.. [1] Bock, R. D. & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
   application of an EM algorithm. *Psychometrika* 46(4), 443-459.
.. [2] Baker, F. B. & Kim, S.-H. (2004). *Item Response Theory: Parameter Estimation Techniques*,
   2nd ed., chapter 6. Marcel Dekker.
.. [3] Louis, T. A. (1982). Finding the observed information matrix when using the EM algorithm.
   *J. R. Stat. Soc. B* 44(2), 226-233.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from engine.psychometrics.quadrature import logistic
from engine.psychometrics.responses import ScoredResponses

__all__ = ["Estimate", "Parameterisation", "maximise"]

# EM hands over to Newton–Raphson when its largest step is below this (in logits).
_SWITCH_TO_NEWTON = 1e-2
# No step moves a parameter by more than this many logits at once.
_MAX_STEP = 1.0
# A node carrying less posterior mass than this in total adds nothing measurable to the information.
_NEGLIGIBLE_MASS = 1e-12


class Parameterisation(ABC):
    """How a model's free parameters :math:`\\phi` give every item's slope and intercept."""

    @abstractmethod
    def size(self, items: int) -> int:
        """Number of free parameters for ``items`` items."""

    @abstractmethod
    def unpack(self, phi: np.ndarray, items: int) -> tuple[np.ndarray, np.ndarray]:
        """Slopes ``a`` and intercepts ``c`` of the items."""

    @abstractmethod
    def jacobian(self, items: int) -> np.ndarray:
        """:math:`\\partial (a, c) / \\partial \\phi`, shape (2 items, size); constant."""

    @abstractmethod
    def em_step(self, g_a: np.ndarray, g_c: np.ndarray, h_aa: np.ndarray, h_ac: np.ndarray,
                h_cc: np.ndarray) -> np.ndarray:
        """Solve :math:`J^T B J \\delta = J^T g` for the block-diagonal information ``B``."""


@dataclass(frozen=True, slots=True)
class _State:
    """The E-step at one parameter vector: posterior weights and what follows from them."""

    phi: np.ndarray
    loglik: float
    posterior: np.ndarray  # persons × nodes
    p: np.ndarray  # items × nodes
    g_a: np.ndarray
    g_c: np.ndarray
    h_aa: np.ndarray
    h_ac: np.ndarray
    h_cc: np.ndarray


@dataclass(frozen=True, slots=True)
class Estimate:
    """Where the maximisation ended, and the observed information there (in :math:`\\phi`)."""

    phi: np.ndarray
    loglik: float
    information: np.ndarray
    converged: bool
    iterations: int
    max_gradient: float


def _e_step(data: ScoredResponses, model: Parameterisation, phi: np.ndarray, nodes: np.ndarray,
            log_weights: np.ndarray) -> _State:
    a, c = model.unpack(phi, data.items)
    eta = a[:, None] * nodes[None, :] + c[:, None]
    joint = data.node_loglik(eta) + log_weights
    top = joint.max(axis=1, keepdims=True)
    posterior = np.exp(joint - top)
    mass = posterior.sum(axis=1, keepdims=True)
    posterior /= mass
    loglik = float((top[:, 0] + np.log(mass[:, 0])).sum())

    p = logistic(eta)
    right = data.right.T @ posterior
    shown = posterior.sum(axis=0)[None, :] if data.shown is None else data.shown.T @ posterior
    residual = right - shown * p
    v = shown * p * (1.0 - p)
    return _State(
        phi=phi, loglik=loglik, posterior=posterior, p=p,
        g_a=residual @ nodes, g_c=residual.sum(axis=1),
        h_aa=v @ nodes**2, h_ac=v @ nodes, h_cc=v.sum(axis=1),
    )


def _observed_information(data: ScoredResponses, state: _State, nodes: np.ndarray) -> np.ndarray:
    """Louis' observed information in :math:`(a, c)`, shape (2 items, 2 items)."""
    post, p = state.posterior, state.p
    right = data.right
    # C_m = Σ_i Σ_q π_iq θ_q^m e_iq e_iqᵀ with e_ijq = x_ij − s_ij P_jq, for m = 0, 1, 2 (the
    # (c, c), (a, c) and (a, a) blocks of Σ_i E_π[S_i S_iᵀ]). Expanding the product, the sums
    # over nodes fold into each person's posterior moments, so no k×k product is taken per node
    # (save one term when some items were not presented).
    moments = []
    for m in range(3):
        weighted = post * nodes**m
        u = weighted.sum(axis=1)
        v = weighted @ p.T  # Σ_q π_iq θ_q^m P_jq
        if data.shown is not None:
            v *= data.shown
        cross = right.T @ v
        c_m = right.T @ (right * u[:, None]) - cross - cross.T
        if data.shown is None:
            c_m += (p * weighted.sum(axis=0)) @ p.T
        moments.append(c_m)
    if data.shown is not None:
        root = np.sqrt(post)
        for q in np.flatnonzero(post.sum(axis=0) > _NEGLIGIBLE_MASS):
            shown = data.shown * root[:, q, None]
            both = (shown.T @ shown) * np.outer(p[:, q], p[:, q])
            for m in range(3):
                moments[m] += nodes[q] ** m * both
    c_cc, c_ac, c_aa = moments
    # Σ_i (E_π S_i)(E_π S_i)ᵀ from each person's marginal score
    expected_p = post @ p.T
    expected_theta_p = post @ (p * nodes).T
    mean_theta = post @ nodes
    shown_or_one = 1.0 if data.shown is None else data.shown
    score_c = right - shown_or_one * expected_p
    score_a = right * mean_theta[:, None] - shown_or_one * expected_theta_p
    scores = np.hstack([score_a, score_c])
    complete = np.block([[np.diag(state.h_aa), np.diag(state.h_ac)],
                         [np.diag(state.h_ac), np.diag(state.h_cc)]])
    variance = np.block([[c_aa, c_ac], [c_ac.T, c_cc]]) - scores.T @ scores
    return complete - variance


def _newton_step(information: np.ndarray, gradient: np.ndarray) -> np.ndarray | None:
    """:math:`I^{-1} g`, or None where the information is not positive definite."""
    try:
        lower = np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return None
    return np.linalg.solve(lower.T, np.linalg.solve(lower, gradient))


def maximise(data: ScoredResponses, model: Parameterisation, start: np.ndarray, nodes: np.ndarray,
             weights: np.ndarray, max_iterations: int, tolerance: float) -> Estimate:
    """Maximise the marginal log-likelihood from ``start``; see the module notes."""
    jacobian = model.jacobian(data.items)
    log_weights = np.log(weights)
    state = _e_step(data, model, start, nodes, log_weights)
    newton = False
    converged = False
    information: np.ndarray | None = None
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (the count is reported)
        gradient = jacobian.T @ np.concatenate([state.g_a, state.g_c])
        step = None
        information = None
        if newton:
            information = jacobian.T @ _observed_information(data, state, nodes) @ jacobian
            step = _newton_step(information, gradient)
        if step is None:
            step = model.em_step(state.g_a, state.g_c, state.h_aa, state.h_ac, state.h_cc)
            newton = False
        size = float(np.abs(step).max(initial=0.0))
        if newton and size < tolerance:
            converged = True
            break
        if not newton and size < _SWITCH_TO_NEWTON:
            newton = True
        if size > _MAX_STEP:
            step *= _MAX_STEP / size
        candidate = _line_search(data, model, state, step, nodes, log_weights)
        if candidate is None:  # no step uphill: at the maximum to rounding, or stuck
            converged = newton and size < np.sqrt(tolerance)
            break
        state = candidate
    if not converged or information is None:  # else it was taken at this very state
        information = jacobian.T @ _observed_information(data, state, nodes) @ jacobian
    gradient = jacobian.T @ np.concatenate([state.g_a, state.g_c])
    return Estimate(phi=state.phi, loglik=state.loglik, information=information,
                    converged=converged, iterations=iterations,
                    max_gradient=float(np.abs(gradient).max(initial=0.0)))


def _line_search(data: ScoredResponses, model: Parameterisation, state: _State, step: np.ndarray,
                 nodes: np.ndarray, log_weights: np.ndarray) -> _State | None:
    """The first of step, step/2, step/4, ... that does not lower the log-likelihood."""
    slack = 1e-12 * abs(state.loglik)
    for _ in range(30):
        candidate = _e_step(data, model, state.phi + step, nodes, log_weights)
        if candidate.loglik >= state.loglik - slack:
            return candidate
        step = step / 2
    return None
