"""Reward-model training objectives: the Bradley-Terry model and the pairwise ranking losses.

A reward model scores a preferred response :math:`y_w` and a rejected one :math:`y_l`; only the
difference :math:`r_c - r_r` of the two scores matters. Each loss here is a function of that
difference (and a margin), evaluated through :mod:`engine.functions.activations` so that a
difference of any finite size gives a finite, exact loss.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._arithmetic import accurate_sum, difference
from engine.functions._util import FloatArray, as_float64, require_axis, result
from engine.functions.activations import sigmoid, softplus


def bradley_terry_prob(r_chosen: npt.ArrayLike, r_rejected: npt.ArrayLike) -> FloatArray:
    r"""Bradley-Terry probability that the chosen response is preferred to the rejected one.

    .. math::

        P(y_w \succ y_l) = \sigma(r_c - r_r)

    Parameters
    ----------
    r_chosen : array_like
        Reward :math:`r_c = r(x, y_w)` of the preferred response.
    r_rejected : array_like
        Reward :math:`r_r = r(x, y_l)` of the less-preferred response.

    Returns
    -------
    numpy.ndarray
        float64 probabilities in [0, 1], of the broadcast shape of the inputs.

    References
    ----------
    .. [1] R. A. Bradley and M. E. Terry, "Rank analysis of incomplete block designs: I. The method
       of paired comparisons", Biometrika 39, 1952.
    .. [2] L. Ouyang et al., "Training language models to follow instructions with human
       feedback", NeurIPS 2022, eq. (1).

    Examples
    --------
    >>> from engine.functions import bradley_terry_prob
    >>> bradley_terry_prob([3.2, 1.0], [1.5, 1.0]).round(6)
    array([0.845535, 0.5     ])
    """
    return sigmoid(difference(as_float64(r_chosen, "r_chosen"), as_float64(r_rejected, "r_rejected")))


def ranking_loss(
    r_chosen: npt.ArrayLike, r_rejected: npt.ArrayLike, margin: npt.ArrayLike = 0.0
) -> FloatArray:
    r"""Pairwise ranking loss of a reward model, the negative Bradley-Terry log-likelihood.

    .. math::

        \mathcal{L}(r_c, r_r) = -\log\sigma(r_c - r_r - m)

    Evaluated as :math:`\operatorname{softplus}(m - r_c + r_r)`: a well-ordered pair far apart
    costs (almost) 0 and a badly misordered pair costs its difference, never ``inf``. The
    three-term sum is formed exactly (compensated), so a margin that nearly cancels the
    difference costs no digits.

    Parameters
    ----------
    r_chosen : array_like
        Reward :math:`r_c = r(x, y_w)` of the preferred response.
    r_rejected : array_like
        Reward :math:`r_r = r(x, y_l)` of the less-preferred response.
    margin : array_like, optional
        Margin :math:`m` by which the chosen reward should exceed the rejected one, as in Llama 2
        (larger for more distinct pairs). Default 0, the InstructGPT loss.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] L. Ouyang et al., "Training language models to follow instructions with human
       feedback", NeurIPS 2022, eq. (1), for one pair.
    .. [2] H. Touvron et al., "Llama 2: Open foundation and fine-tuned chat models",
       arXiv:2307.09288, 2023, eq. (2), for the margin.

    Examples
    --------
    Model A scores the preferred/rejected pair 3.2/1.5, model B -0.5/-2.0:

    >>> from engine.functions import ranking_loss
    >>> ranking_loss([3.2, -0.5], [1.5, -2.0]).round(3)
    array([0.168, 0.201])
    >>> ranking_loss([1000.0, -1000.0], [-1000.0, 1000.0])
    array([   0., 2000.])
    """
    chosen = as_float64(r_chosen, "r_chosen")
    rejected = as_float64(r_rejected, "r_rejected")
    return softplus(accurate_sum(as_float64(margin, "margin"), -chosen, rejected))


def hinge_ranking_loss(
    r_chosen: npt.ArrayLike, r_rejected: npt.ArrayLike, margin: npt.ArrayLike = 1.0
) -> FloatArray:
    r"""Margin (hinge) ranking loss: zero once the chosen reward leads by the margin.

    .. math::

        \mathcal{L}(r_c, r_r) = \max\left(0,\ m - (r_c - r_r)\right)

    Parameters
    ----------
    r_chosen : array_like
        Reward :math:`r_c` of the preferred response.
    r_rejected : array_like
        Reward :math:`r_r` of the less-preferred response.
    margin : array_like, optional
        Margin :math:`m`. Default 1.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0, of the broadcast shape of the inputs; exactly 0 where the
        difference :math:`r_c - r_r` reaches the margin. The sum is formed exactly
        (compensated), so that holds for the true difference, not a rounded one.

    References
    ----------
    .. [1] T. Joachims, "Optimizing search engines using clickthrough data", KDD 2002
       (the ranking SVM).

    Examples
    --------
    >>> from engine.functions import hinge_ranking_loss
    >>> hinge_ranking_loss([3.2, 1.0, -0.5], [1.5, 0.5, 0.5])
    array([0. , 0.5, 2. ])
    """
    chosen = as_float64(r_chosen, "r_chosen")
    rejected = as_float64(r_rejected, "r_rejected")
    return result(np.maximum(0.0, accurate_sum(as_float64(margin, "margin"), -chosen, rejected)))


def ranking_error(r_chosen: npt.ArrayLike, r_rejected: npt.ArrayLike) -> FloatArray:
    r"""Pairwise ranking error: 1 where the reward model fails to rank the chosen response higher.

    .. math::

        e(r_c, r_r) = \mathbb{1}\left[r_c - r_r \le 0\right]

    Compared directly as :math:`r_c \le r_r`, which has the same truth value as the sign of the
    float64 difference and cannot overflow. The mean of this error over pairs is one minus the
    reward model's pairwise accuracy; a tie counts as an error.

    Parameters
    ----------
    r_chosen : array_like
        Reward :math:`r_c` of the preferred response.
    r_rejected : array_like
        Reward :math:`r_r` of the less-preferred response.

    Returns
    -------
    numpy.ndarray
        float64 array of 0.0 and 1.0, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] T. Joachims, "Optimizing search engines using clickthrough data", KDD 2002
       (discordant pairs).
    .. [2] L. Ouyang et al., "Training language models to follow instructions with human
       feedback", NeurIPS 2022 (reward-model accuracy on held-out comparisons).

    Examples
    --------
    >>> from engine.functions import ranking_error
    >>> ranking_error([3.2, 1.0, -0.5], [1.5, 1.0, 0.5])
    array([0., 1., 1.])
    """
    chosen = as_float64(r_chosen, "r_chosen")
    return result(np.less_equal(chosen, as_float64(r_rejected, "r_rejected")))


def kwise_ranking_loss(scores: npt.ArrayLike) -> FloatArray:
    r"""Ranking loss of K responses ranked best to worst, averaged over all pairs.

    .. math::

        \mathcal{L}(s) = \frac{1}{\binom{K}{2}} \sum_{i < j} -\log\sigma(s_i - s_j)

    Each pair's loss is :func:`ranking_loss`, evaluated stably; the mean divides before it sums,
    so it cannot overflow.

    Parameters
    ----------
    scores : array_like
        Rewards of shape (..., K), K >= 2, ordered along the last axis from the most preferred
        response to the least preferred.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0 of shape (...).

    References
    ----------
    .. [1] L. Ouyang et al., "Training language models to follow instructions with human
       feedback", NeurIPS 2022, eq. (1), with K responses per prompt.

    Examples
    --------
    >>> from engine.functions import kwise_ranking_loss
    >>> round(float(kwise_ranking_loss([3.0, 2.0, 1.0])), 6)
    0.25115
    >>> kwise_ranking_loss([[3.2, 1.5], [-0.5, -2.0]]).round(3)
    array([0.168, 0.201])
    """
    s = as_float64(scores, "scores")
    require_axis(s, "scores", min_length=2)
    better, worse = np.triu_indices(s.shape[-1], k=1)
    pair_losses = softplus(-difference(s[..., better], s[..., worse]))
    return result((pair_losses / better.size).sum(axis=-1))
