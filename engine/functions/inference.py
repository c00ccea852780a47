"""Inference-time quantities: beam scores, repetition penalties, speculative decoding, absmax
quantisation and LoRA adapter sizes.

These are the numbers an engineer reasons with when serving a language model: which hypothesis a
length-normalised beam search keeps, how a repetition penalty moves a logit, how many tokens a
speculative step yields per call of the large model, how much a vector loses to int8, and how
many weights a low-rank adapter trains. Softmax, temperature and entropy live in
:mod:`engine.functions.distributions`; the KV cache's size is plain arithmetic in the items
(the Ch.2 functions hold it with the architecture's other counts).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._arithmetic import product
from engine.functions._util import FloatArray, as_float64, require, require_axis, result

_GNMT_OFFSET = 5.0  # Wu et al. 2016: lp(Y) = (5 + |Y|)^α / (5 + 1)^α


def _whole(value: npt.ArrayLike, name: str, low: float) -> FloatArray:
    array = as_float64(value, name)
    require((array >= low) & (array == np.round(array)), name, f"must be a whole number >= {low:g}", array)
    return array


def length_normalised_score(
    logp: npt.ArrayLike, length: npt.ArrayLike, alpha: npt.ArrayLike = 1.0, kind: str = "power"
) -> FloatArray:
    r"""Length-normalised beam-search score of a hypothesis from its total log-probability.

    .. math::

        s(Y) = \frac{\log P(Y \mid X)}{|Y|^{\alpha}}
        \quad\text{or}\quad
        s(Y) = \frac{\log P(Y \mid X)}{\left((5 + |Y|) / 6\right)^{\alpha}}

    A sum of log-probabilities only falls as a hypothesis grows, so an unnormalised beam search
    prefers short outputs; dividing by a power of the length removes that bias (``alpha = 0``
    is no normalisation, ``alpha = 1`` the mean log-probability per token).

    Parameters
    ----------
    logp : array_like
        Total log-probability :math:`\log P(Y \mid X) \le 0` of each hypothesis, in nats.
    length : array_like
        Its length :math:`|Y|` in tokens, a whole number >= 1.
    alpha : array_like, optional
        Length-penalty exponent :math:`\alpha \ge 0`. Default 1.
    kind : {"power", "gnmt"}, optional
        ``"power"`` divides by :math:`|Y|^\alpha` (Hugging Face's ``length_penalty``);
        ``"gnmt"`` by the GNMT penalty :math:`((5 + |Y|)/6)^\alpha`. Default ``"power"``.

    Returns
    -------
    numpy.ndarray
        float64 scores (<= 0 for log-probabilities), of the broadcast shape of the inputs.

    References
    ----------
    .. [1] Y. Wu et al., "Google's neural machine translation system: bridging the gap between
       human and machine translation", arXiv:1609.08144, 2016, sec. 7 (the GNMT penalty).
    .. [2] K. Murray and D. Chiang, "Correcting length bias in neural machine translation",
       WMT 2018 (the length bias of beam search).

    Examples
    --------
    >>> from engine.functions import length_normalised_score
    >>> length_normalised_score([-4.0, -6.0], [4, 8]).round(6)
    array([-1.  , -0.75])
    >>> float(length_normalised_score(-6.0, 7, 1.0, kind="gnmt"))
    -3.0
    """
    if kind not in ("power", "gnmt"):
        raise ValueError(f"kind must be 'power' or 'gnmt', got {kind!r}")
    lp = as_float64(logp, "logp")
    n = _whole(length, "length", 1)
    a = as_float64(alpha, "alpha")
    require(a >= 0, "alpha", "must be >= 0", a)
    base = n if kind == "power" else (_GNMT_OFFSET + n) / (_GNMT_OFFSET + 1.0)
    with np.errstate(over="ignore"):
        penalty = np.power(base, a)
    return result(lp / penalty)


def repetition_penalty(
    logits: npt.ArrayLike, counts: npt.ArrayLike, penalty: npt.ArrayLike = 1.2
) -> FloatArray:
    r"""Logits after CTRL's repetition penalty on tokens that have already appeared.

    .. math::

        z'_i = \begin{cases} z_i / \theta & c_i > 0,\ z_i > 0 \\
        z_i \, \theta & c_i > 0,\ z_i \le 0 \\ z_i & c_i = 0 \end{cases}

    With :math:`\theta > 1` a seen token always loses ground: a positive logit shrinks towards 0
    and a negative one moves further below it. (Dividing a negative logit would *raise* it, which
    is why the rule has two cases.) How often the token appeared does not matter, only whether.

    Parameters
    ----------
    logits : array_like
        Logits :math:`z_i` before the penalty.
    counts : array_like
        How many times each token already appears in the context, :math:`c_i \ge 0`.
    penalty : array_like, optional
        :math:`\theta > 0`; 1 leaves the logits alone, CTRL used 1.2. Default 1.2.

    Returns
    -------
    numpy.ndarray
        float64 penalised logits, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] N. S. Keskar, B. McCann, L. R. Varshney, C. Xiong and R. Socher, "CTRL: a conditional
       transformer language model for controllable generation", arXiv:1909.05858, 2019, sec. 4.1.

    Examples
    --------
    >>> from engine.functions import repetition_penalty
    >>> repetition_penalty([3.0, -1.0, 2.0], [1, 2, 0], 1.5).round(6)
    array([ 2. , -1.5,  2. ])
    """
    z = as_float64(logits, "logits")
    c = _whole(counts, "counts", 0)
    theta = as_float64(penalty, "penalty")
    require(theta > 0, "penalty", "must be > 0", theta)
    with np.errstate(over="ignore", under="ignore"):
        penalised = np.where(z > 0, z / theta, product(z, theta))
    return result(np.where(c > 0, penalised, z))


def speculative_expected_tokens(alpha: npt.ArrayLike, gamma: npt.ArrayLike) -> FloatArray:
    r"""Expected tokens produced per call of the target model in speculative decoding.

    .. math::

        \mathbb{E}[\text{tokens}] = \frac{1 - \alpha^{\gamma + 1}}{1 - \alpha}

    The draft model proposes :math:`\gamma` tokens; each is accepted with probability
    :math:`\alpha` until the first rejection, and the target's one call always adds one token of
    its own (the correction, or a bonus token when all are accepted). The value is
    :math:`\sum_{i=0}^{\gamma} \alpha^i`: 1 when :math:`\alpha = 0`, :math:`\gamma + 1` when
    :math:`\alpha = 1`. Evaluated as :math:`-\operatorname{expm1}((\gamma+1)\log\alpha)/(1-\alpha)`,
    so it keeps its digits as :math:`\alpha \to 1`.

    Parameters
    ----------
    alpha : array_like
        Acceptance rate :math:`\alpha \in [0, 1]` (the expected probability that the target
        accepts a drafted token).
    gamma : array_like
        Number of drafted tokens per step, a whole number :math:`\gamma \ge 0`.

    Returns
    -------
    numpy.ndarray
        float64 expected token counts in :math:`[1, \gamma + 1]`.

    References
    ----------
    .. [1] Y. Leviathan, M. Kalman and Y. Matias, "Fast inference from transformers via
       speculative decoding", ICML 2023, eq. (1) (Corollary 3.6).

    Examples
    --------
    >>> from engine.functions import speculative_expected_tokens
    >>> speculative_expected_tokens([0.0, 0.5, 0.8, 1.0], 3).round(6)
    array([1.   , 1.875, 2.952, 4.   ])
    """
    a = as_float64(alpha, "alpha")
    require((a >= 0) & (a <= 1), "alpha", "must lie in [0, 1]", a)
    g = _whole(gamma, "gamma", 0)
    a, g = np.broadcast_arrays(a, g)
    n = g + 1.0
    inside = (a > 0) & (a < 1)
    safe = np.where(inside, a, 0.5)
    with np.errstate(over="ignore"):
        series = -np.expm1(n * np.log(safe)) / (1.0 - safe)
    return result(np.where(inside, series, np.where(a == 1, n, 1.0)))


def speculative_speedup(
    alpha: npt.ArrayLike, gamma: npt.ArrayLike, cost_ratio: npt.ArrayLike
) -> FloatArray:
    r"""Expected walltime speed-up of speculative decoding over decoding with the target alone.

    .. math::

        \text{speed-up} = \frac{1 - \alpha^{\gamma + 1}}{(1 - \alpha)(\gamma c + 1)}

    One speculative step costs :math:`\gamma` draft calls and one target call,
    :math:`\gamma c + 1` target-call times when a draft call costs :math:`c` of a target call, and
    yields :func:`speculative_expected_tokens` tokens; plain decoding yields one token per target
    call. The step is assumed to be bounded by the calls (no verification overhead beyond one
    target call).

    Parameters
    ----------
    alpha : array_like
        Acceptance rate :math:`\alpha \in [0, 1]`.
    gamma : array_like
        Number of drafted tokens per step, a whole number :math:`\gamma \ge 0`.
    cost_ratio : array_like
        :math:`c \ge 0`, the time of one draft-model call over one target-model call.

    Returns
    -------
    numpy.ndarray
        float64 speed-up factors (> 1 means faster than the target alone).

    References
    ----------
    .. [1] Y. Leviathan, M. Kalman and Y. Matias, "Fast inference from transformers via
       speculative decoding", ICML 2023, Theorem 3.8.

    Examples
    --------
    >>> from engine.functions import speculative_speedup
    >>> speculative_speedup(0.8, 3, [0.0, 0.1]).round(4)
    array([2.952 , 2.2708])
    """
    c = as_float64(cost_ratio, "cost_ratio")
    require(c >= 0, "cost_ratio", "must be >= 0", c)
    tokens = speculative_expected_tokens(alpha, gamma)
    g = as_float64(gamma, "gamma")
    with np.errstate(over="ignore"):
        return result(tokens / (product(g, c) + 1.0))


def absmax_quantise(x: npt.ArrayLike, bits: npt.ArrayLike = 8, axis: int = -1) -> FloatArray:
    r"""A vector after symmetric absmax quantisation to signed integers and back.

    .. math::

        q_i = \operatorname{round}\left(Q \frac{x_i}{\max_j |x_j|}\right), \qquad
        \hat{x}_i = q_i \frac{\max_j |x_j|}{Q}, \qquad Q = 2^{b-1} - 1

    The largest magnitude maps to :math:`\pm Q` (127 for int8) and every other value to the
    nearest of the :math:`2Q + 1` evenly spaced levels between, so the error of each entry is at
    most half a step, :math:`\max_j |x_j| / (2Q)`. One outlier widens the step for the whole
    vector, which is why LLM.int8() keeps outlier features in 16 bits. Rounding is half to even,
    as ``torch.round`` and ``numpy.round`` do. A vector of zeros stays zeros.

    Parameters
    ----------
    x : array_like
        Values to quantise, at least 1-d; each vector runs along ``axis`` and gets its own scale.
    bits : array_like, optional
        Bit width :math:`b`, a whole number in 2 .. 16, one per vector. Default 8.
    axis : int, optional
        The axis of each vector. Default -1, the last axis.

    Returns
    -------
    numpy.ndarray
        float64 dequantised values :math:`\hat{x}`, shaped like ``x`` broadcast with ``bits``.

    References
    ----------
    .. [1] T. Dettmers, M. Lewis, Y. Belkada and L. Zettlemoyer, "LLM.int8(): 8-bit matrix
       multiplication for transformers at scale", NeurIPS 2022, sec. 2.1, eq. (1).

    Examples
    --------
    >>> from engine.functions import absmax_quantise
    >>> absmax_quantise([2.54, -0.5, 0.03]).round(6)   # step 2.54 / 127 = 0.02
    array([ 2.54, -0.5 ,  0.04])
    """
    values = as_float64(x, "x")
    axis = require_axis(values, "x", axis=axis)
    b = _whole(bits, "bits", 2)
    require(b <= 16, "bits", "must be at most 16", b)
    rows = np.moveaxis(values, axis, -1)
    lead = np.broadcast_shapes(rows.shape[:-1], b.shape)
    rows = np.broadcast_to(rows, (*lead, rows.shape[-1]))
    levels = np.broadcast_to(np.exp2(b - 1.0) - 1.0, lead)[..., None]
    absmax = np.abs(rows).max(axis=-1, keepdims=True)
    safe = np.where(absmax > 0, absmax, 1.0)
    # x / absmax lies in [-1, 1], so neither the codes nor the reconstruction can overflow.
    codes = np.round(rows / safe * levels)
    return result(np.moveaxis(codes / levels * safe, -1, axis))


def lora_parameter_count(d_in: npt.ArrayLike, d_out: npt.ArrayLike, rank: npt.ArrayLike) -> FloatArray:
    r"""Trainable parameters of one LoRA adapter on a :math:`d_{out} \times d_{in}` weight matrix.

    .. math::

        N_{LoRA} = r\,(d_{in} + d_{out})

    LoRA freezes :math:`W` and trains :math:`\Delta W = BA` with :math:`B \in
    \mathbb{R}^{d_{out} \times r}` and :math:`A \in \mathbb{R}^{r \times d_{in}}`, against
    :math:`d_{in} d_{out}` for full fine-tuning of the same matrix.

    Parameters
    ----------
    d_in : array_like
        Input dimension of the adapted matrix, a whole number >= 1.
    d_out : array_like
        Output dimension, a whole number >= 1.
    rank : array_like
        Adapter rank :math:`r`, a whole number >= 1.

    Returns
    -------
    numpy.ndarray
        float64 parameter counts, of the broadcast shape of the inputs.

    References
    ----------
    .. [1] E. J. Hu et al., "LoRA: low-rank adaptation of large language models", ICLR 2022,
       sec. 4.1 and Table 5 (about 18M parameters for GPT-3 175B at r = 8 on one matrix type).

    Examples
    --------
    >>> from engine.functions import lora_parameter_count
    >>> int(lora_parameter_count(4096, 4096, 8))
    65536
    """
    n_in = _whole(d_in, "d_in", 1)
    n_out = _whole(d_out, "d_out", 1)
    r = _whole(rank, "rank", 1)
    with np.errstate(over="ignore"):
        return result(product(r, n_in + n_out))
