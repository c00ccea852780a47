r"""Scored 0/1 responses (persons × items, NaN = not presented) and their likelihood at given abilities.

Every IRT computation starts from the same two arrays: where a person answered an item right,
and where wrong, each 0 where the item was not presented. A response that was not presented then
drops out of every sum, so random draws from an item pool need no special case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from engine.psychometrics.quadrature import log_logistic

__all__ = ["ScoredResponses", "scored_responses"]


@dataclass(frozen=True, slots=True)
class ScoredResponses:
    """0/1 responses split into indicator arrays (float64, shape persons × items).

    ``right`` is 1 where the response was right, ``wrong`` 1 where it was wrong; both are 0 where
    the item was not presented. ``shown`` is ``right + wrong``, or None when every person saw
    every item (the common case, which saves work).
    """

    right: np.ndarray
    wrong: np.ndarray
    shown: np.ndarray | None

    @property
    def persons(self) -> int:
        return int(self.right.shape[0])

    @property
    def items(self) -> int:
        return int(self.right.shape[1])

    def node_loglik(self, eta: np.ndarray) -> np.ndarray:
        r"""Each person's log-likelihood at each ability node, shape (persons, nodes).

        ``eta`` is the linear predictor :math:`\eta_{jq} = a_j \theta_q + c_j` of each item at
        each node, shape (items, nodes), and :math:`P_j(\theta_q) = 1 / (1 + e^{-\eta_{jq}})`:

        .. math:: \ell_{iq} = \sum_j x_{ij} \log P_j(\theta_q) + (1 - x_{ij}) \log(1 - P_j(\theta_q))

        over the items presented to person :math:`i`.
        """
        return self.right @ log_logistic(eta) + self.wrong @ log_logistic(-eta)


def scored_responses(responses: ArrayLike) -> ScoredResponses:
    """Check 0/1/NaN responses (persons × items) and split them into indicators."""
    x = np.asarray(responses, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("responses must be a 2-d array: one row per person, one column per item")
    presented = ~np.isnan(x)
    if not np.isin(x[presented], (0.0, 1.0)).all():
        raise ValueError("responses must be 0 (wrong), 1 (right) or NaN (not presented)")
    right = np.where(presented, x, 0.0)
    shown = None if presented.all() else presented.astype(np.float64)
    wrong = (1.0 - right) if shown is None else shown - right
    return ScoredResponses(right=right, wrong=wrong, shown=shown)
