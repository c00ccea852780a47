r"""Direct preference optimisation objectives: DPO (with conservative label smoothing) and IPO.

Both losses act on the same quantity, the policy's log-ratio advantage over the reference model
on the chosen response minus that on the rejected one,
:math:`h = (\log\pi_c - \log\pi^{ref}_c) - (\log\pi_r - \log\pi^{ref}_r)`, which
:func:`_log_ratio_margin` sums exactly (compensated, and free of spurious overflow). DPO passes
:math:`\beta h` through the ranking loss; IPO regresses :math:`h` onto :math:`1/(2\beta)`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._arithmetic import accurate_sum, half_reciprocal, product, weighted
from engine.functions._util import FloatArray, as_float64, require, result
from engine.functions.activations import softplus


def _log_ratio_margin(
    policy_chosen_logps: npt.ArrayLike,
    policy_rejected_logps: npt.ArrayLike,
    ref_chosen_logps: npt.ArrayLike,
    ref_rejected_logps: npt.ArrayLike,
    *offsets: FloatArray,
) -> FloatArray:
    """``(pi_c - ref_c) - (pi_r - ref_r) - sum(offsets)``, summed exactly (compensated)."""
    return accurate_sum(
        as_float64(policy_chosen_logps, "policy_chosen_logps"),
        -as_float64(ref_chosen_logps, "ref_chosen_logps"),
        -as_float64(policy_rejected_logps, "policy_rejected_logps"),
        as_float64(ref_rejected_logps, "ref_rejected_logps"),
        *(-offset for offset in offsets),
    )


def _positive_beta(beta: npt.ArrayLike) -> FloatArray:
    b = as_float64(beta, "beta")
    require((b > 0) & np.isfinite(b), "beta", "must be finite and > 0", b)
    return b


def dpo_loss(
    policy_chosen_logps: npt.ArrayLike,
    policy_rejected_logps: npt.ArrayLike,
    ref_chosen_logps: npt.ArrayLike,
    ref_rejected_logps: npt.ArrayLike,
    beta: npt.ArrayLike = 0.1,
    label_smoothing: npt.ArrayLike = 0.0,
) -> FloatArray:
    r"""Direct Preference Optimization loss, optionally with conservative label smoothing.

    .. math::

        \mathcal{L} = -(1-\varepsilon)\log\sigma(z) - \varepsilon\log\sigma(-z),
        \quad z = \beta\left[(\log\pi_c - \log\pi^{ref}_c) - (\log\pi_r - \log\pi^{ref}_r)\right]

    With :math:`\varepsilon = 0` this is the DPO loss, the ranking loss of the implicit rewards
    :math:`\beta(\log\pi - \log\pi^{ref})`. Evaluated as a weighted sum of
    :math:`\operatorname{softplus}(\mp z)`, two non-negative terms that never overflow; a zero
    weight contributes exactly 0.

    Parameters
    ----------
    policy_chosen_logps, policy_rejected_logps : array_like
        Log-probabilities :math:`\log\pi_\theta(y \mid x)` of the chosen and rejected responses
        under the policy being trained.
    ref_chosen_logps, ref_rejected_logps : array_like
        The same under the frozen reference model :math:`\pi^{ref}`.
    beta : array_like, optional
        :math:`\beta > 0` (finite), the strength of the implicit KL penalty. Default 0.1.
    label_smoothing : array_like, optional
        :math:`\varepsilon \in [0, 1]`, the assumed probability that a preference label is
        flipped (conservative DPO). Default 0.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] R. Rafailov et al., "Direct preference optimization: Your language model is secretly
       a reward model", NeurIPS 2023, eq. (7).
    .. [2] E. Mitchell, "A note on DPO with noisy preferences & relationship to IPO", 2023
       (conservative DPO, the label smoothing).

    Examples
    --------
    >>> from engine.functions import dpo_loss
    >>> round(float(dpo_loss(-10.0, -12.0, -11.0, -11.0)), 6)
    0.598139
    >>> dpo_loss(-10.0, -12.0, -11.0, -11.0, beta=1.0, label_smoothing=[0.0, 0.1]).round(6)
    array([0.126928, 0.326928])
    """
    z = product(
        _positive_beta(beta),
        _log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps),
    )
    eps = as_float64(label_smoothing, "label_smoothing")
    require((eps >= 0) & (eps <= 1), "label_smoothing", "must lie in [0, 1]", eps)
    return result(weighted(1.0 - eps, softplus(-z)) + weighted(eps, softplus(z)))


def ipo_loss(
    policy_chosen_logps: npt.ArrayLike,
    policy_rejected_logps: npt.ArrayLike,
    ref_chosen_logps: npt.ArrayLike,
    ref_rejected_logps: npt.ArrayLike,
    beta: npt.ArrayLike = 0.1,
) -> FloatArray:
    r"""Identity Preference Optimisation loss: the log-ratio margin regressed onto 1/(2β).

    .. math::

        \mathcal{L} = \left(h - \frac{1}{2\beta}\right)^2,
        \quad h = (\log\pi_c - \log\pi^{ref}_c) - (\log\pi_r - \log\pi^{ref}_r)

    Unlike DPO, the loss does not vanish as the margin grows: it pulls :math:`h` to the finite
    target :math:`1/(2\beta)`, which keeps the policy close to the reference even on
    deterministic preferences. The target is carried to twice float64's precision and the
    difference is summed exactly, so the loss is accurate even at its optimum.

    Parameters
    ----------
    policy_chosen_logps, policy_rejected_logps : array_like
        Log-probabilities of the chosen and rejected responses under the policy.
    ref_chosen_logps, ref_rejected_logps : array_like
        The same under the reference model.
    beta : array_like, optional
        :math:`\beta > 0` (finite), the regularisation strength (:math:`\tau` in the paper).
        Default 0.1.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] M. G. Azar et al., "A general theoretical paradigm to understand learning from human
       preferences", arXiv:2310.12036, 2023 (AISTATS 2024), the IPO objective.

    Examples
    --------
    >>> from engine.functions import ipo_loss
    >>> ipo_loss(-10.0, -12.0, -11.0, -11.0, beta=[0.1, 0.25])
    array([9., 0.])
    """
    # The target 1/(2 beta) enters as two floats, hi + lo, so the loss stays exact near its optimum.
    target_hi, target_lo = half_reciprocal(_positive_beta(beta))
    gap = _log_ratio_margin(
        policy_chosen_logps,
        policy_rejected_logps,
        ref_chosen_logps,
        ref_rejected_logps,
        target_hi,
        target_lo,
    )
    # A target beyond float64 (beta below ~2.8e-309) makes the loss +inf, whatever the margin.
    return result(np.where(np.isfinite(target_hi), product(gap, gap), np.inf))
