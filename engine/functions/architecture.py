"""The transformer's own arithmetic: attention, normalisation, positions, sizes, scaling and memory.

These are the numbers Ch.2 of the course asks students to compute by hand: the weights of scaled
dot-product attention (with and without a causal mask), a layer-normalised vector, sinusoidal
and rotary position encodings and ALiBi's slopes, the parameter and FLOP counts of a decoder, the
Chinchilla scaling law and its compute-optimal split, the size of a KV cache, and the memory of
the model states on one device under data, tensor and pipeline parallelism with ZeRO.

Attention and layer norm work along the last axis (the keys of one query, the features of one
token); everything else is elementwise. Sizes (parameters, tokens, FLOPs, bytes) are floats: a
count beyond 2**53 is an estimate anyway, and float64 keeps 1e25 FLOPs exact to 16 digits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._util import (
    FloatArray,
    as_float64,
    broadcast_rows,
    require,
    require_axis,
    result,
)
from engine.functions.distributions import softmax

CHINCHILLA_E = 1.69
CHINCHILLA_A = 406.4
CHINCHILLA_B = 410.7
CHINCHILLA_ALPHA = 0.34
CHINCHILLA_BETA = 0.28
"""Hoffmann et al. 2022's fitted constants of L(N, D) = E + A/N^α + B/D^β (Approach 3), as the
paper prints them: rounded, so the optimum they imply differs from the paper's headline 70B."""

ADAM_STATE_BYTES = 12.0
"""Bytes of optimiser state per parameter in mixed-precision Adam: an fp32 copy of the weights,
the momentum and the variance (ZeRO's K = 12)."""


def _whole(value: FloatArray) -> npt.NDArray[np.bool_]:
    return value == np.round(value)


# --------------------------------------------------------------------------------------------
# Attention


def attention_weights(scores: npt.ArrayLike, head_dim: npt.ArrayLike = 1.0) -> FloatArray:
    r"""Scaled dot-product attention weights of one query over its keys.

    .. math::

        a_j = \operatorname{softmax}\left(\frac{q \cdot k_j}{\sqrt{d_k}}\right)_j

    ``scores`` are the raw dot products :math:`q \cdot k_j`; dividing them by
    :math:`\sqrt{d_k}` is a softmax at temperature :math:`\sqrt{d_k}`, which keeps the logits'
    spread independent of the head dimension (Vaswani et al. 2017, sec. 3.2.1).

    Parameters
    ----------
    scores : array_like
        Dot products :math:`q \cdot k_j`, at least 1-d; the keys run along the last axis.
    head_dim : array_like, optional
        :math:`d_k > 0`, one per row. Default 1 (no scaling).

    Returns
    -------
    numpy.ndarray
        float64 weights in [0, 1] summing to 1 along the last axis, shaped like ``scores``.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.2.1, eq. 1.

    Examples
    --------
    >>> from engine.functions import attention_weights
    >>> attention_weights([4.0, 0.0], head_dim=4.0).round(4)
    array([0.8808, 0.1192])
    """
    d = as_float64(head_dim, "head_dim")
    require(d > 0, "head_dim", "must be > 0", d)
    return softmax(scores, np.sqrt(d))


def causal_attention_weights(
    scores: npt.ArrayLike, position: npt.ArrayLike, head_dim: npt.ArrayLike = 1.0
) -> FloatArray:
    r"""Scaled dot-product attention weights of the query at ``position`` under a causal mask.

    .. math::

        a_j = \frac{\exp\left(q \cdot k_j / \sqrt{d_k}\right)\,[j \le t]}
                   {\sum_{j' \le t} \exp\left(q \cdot k_{j'} / \sqrt{d_k}\right)}

    The mask adds :math:`-\infty` to the scores of the keys after position :math:`t` (counted
    from 0), so their weights are exactly 0 and the rest renormalise among themselves.

    Parameters
    ----------
    scores : array_like
        Dot products :math:`q \cdot k_j` with every key of the sequence, at least 1-d.
    position : array_like
        :math:`t`, the query's position, a whole number from 0, one per row; a position past the
        last key masks nothing.
    head_dim : array_like, optional
        :math:`d_k > 0`, one per row. Default 1.

    Returns
    -------
    numpy.ndarray
        float64 weights shaped like ``scores``; zero after position ``t``.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.2.3 (masking in
       the decoder).

    Examples
    --------
    >>> from engine.functions import causal_attention_weights
    >>> causal_attention_weights([1.0, 1.0, 9.0], position=1)
    array([0.5, 0.5, 0. ])
    """
    x = as_float64(scores, "scores")
    require_axis(x, "scores")
    t = as_float64(position, "position")
    require((t >= 0) & _whole(t), "position", "must be a whole number >= 0", t)
    d = as_float64(head_dim, "head_dim")
    require(d > 0, "head_dim", "must be > 0", d)
    rows, (t, d) = broadcast_rows(x, t, d)
    visible = np.arange(rows.shape[-1]) <= t[..., None]
    # Masked keys take the row's smallest visible score, then weight 0: softmax stays finite and
    # the visible keys' weights are exactly those of the shorter row.
    lowest = np.where(visible, rows, np.inf).min(axis=-1, keepdims=True)
    weights = softmax(np.where(visible, rows, lowest), np.sqrt(d)) * visible
    return result(weights / weights.sum(axis=-1, keepdims=True))


# --------------------------------------------------------------------------------------------
# Normalisation and positions


def layer_norm(
    x: npt.ArrayLike, gain: npt.ArrayLike = 1.0, bias: npt.ArrayLike = 0.0, eps: npt.ArrayLike = 1e-5
) -> FloatArray:
    r"""Layer normalisation of one token's features.

    .. math::

        \operatorname{LN}(x)_i = g\,\frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}} + b, \qquad
        \mu = \frac{1}{d}\sum_i x_i,\quad \sigma^2 = \frac{1}{d}\sum_i (x_i - \mu)^2

    The variance is the biased one (divided by :math:`d`), as Ba et al. and ``torch.nn.LayerNorm``
    define it; ``eps`` defaults to torch's 1e-5. Features larger than 1 are first divided by their
    largest magnitude (the formula is scale-free apart from ``eps``, which is divided by its
    square), so features near 1e308 neither overflow nor lose the ``eps`` term's meaning.

    Parameters
    ----------
    x : array_like
        Features, at least 1-d; the features of one token run along the last axis.
    gain, bias : array_like, optional
        :math:`g` and :math:`b`, one per row (a scalar gain and bias). Default 1 and 0.
    eps : array_like, optional
        :math:`\epsilon \ge 0`, one per row. Default 1e-5.

    Returns
    -------
    numpy.ndarray
        float64 normalised features, shaped like ``x``.

    References
    ----------
    .. [1] J. L. Ba, J. R. Kiros and G. E. Hinton, "Layer normalization", arXiv:1607.06450,
       2016, eqs. 3-4.

    Examples
    --------
    >>> from engine.functions import layer_norm
    >>> layer_norm([1.0, 2.0, 3.0], eps=0.0).round(4)
    array([-1.2247,  0.    ,  1.2247])
    """
    v = as_float64(x, "x")
    require_axis(v, "x")
    g = as_float64(gain, "gain")
    b = as_float64(bias, "bias")
    e = as_float64(eps, "eps")
    require(e >= 0, "eps", "must be >= 0", e)
    rows, (g, b, e) = broadcast_rows(v, g, b, e)
    # Without eps, dividing by the largest magnitude keeps the variance of tiny features from
    # underflowing to 0; with eps, features below 1 need no scaling (eps dominates a variance
    # that would underflow) and scaling them would overflow eps / scale².
    largest = np.abs(rows).max(axis=-1)
    scale = np.where((largest > 1.0) | ((e == 0) & (largest > 0)), largest, 1.0)
    y = rows / scale[..., None]
    centred = y - y.mean(axis=-1, keepdims=True)
    variance = np.mean(centred * centred, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = centred / np.sqrt(variance + e / scale / scale)[..., None]
    # A row of equal features with eps = 0 is 0/0: its centred features are all 0, and so is LN.
    normalised = np.where(centred == 0, 0.0, normalised)
    with np.errstate(over="ignore", invalid="ignore"):
        return result(g[..., None] * normalised + b[..., None])


def sinusoidal_encoding(
    position: npt.ArrayLike, index: npt.ArrayLike, d_model: npt.ArrayLike
) -> FloatArray:
    r"""Entry ``index`` of the Transformer's sinusoidal position encoding of ``position``.

    .. math::

        PE_{(pos, 2k)} = \sin\left(pos / 10000^{2k/d}\right), \qquad
        PE_{(pos, 2k+1)} = \cos\left(pos / 10000^{2k/d}\right)

    Parameters
    ----------
    position : array_like
        :math:`pos \ge 0`.
    index : array_like
        The dimension :math:`i`, a whole number in [0, d): even dimensions take the sine, odd
        ones the cosine, both at the frequency of pair :math:`k = \lfloor i/2 \rfloor`.
    d_model : array_like
        :math:`d`, the model width, a whole number >= 2.

    Returns
    -------
    numpy.ndarray
        float64 values in [-1, 1], the broadcast shape of the arguments.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.5.

    Examples
    --------
    >>> from engine.functions import sinusoidal_encoding
    >>> sinusoidal_encoding(1.0, [0, 1, 2, 3], 4).round(4)
    array([0.8415, 0.5403, 0.01  , 1.    ])
    """
    pos = as_float64(position, "position")
    i = as_float64(index, "index")
    d = as_float64(d_model, "d_model")
    require(pos >= 0, "position", "must be >= 0", pos)
    require((d >= 2) & _whole(d), "d_model", "must be a whole number >= 2", d)
    require((i >= 0) & _whole(i) & (i < d), "index", "must be a whole number in [0, d_model)", i)
    k = np.floor(i / 2)
    angle = pos * np.power(10000.0, -2.0 * k / d)
    return result(np.where(i % 2 == 0, np.sin(angle), np.cos(angle)))


def rope_angle(
    position: npt.ArrayLike, pair: npt.ArrayLike, head_dim: npt.ArrayLike, base: npt.ArrayLike = 10000.0
) -> FloatArray:
    r"""The angle, in radians, by which rotary position embedding turns a pair at ``position``.

    .. math::

        \phi = m\,\theta_i, \qquad \theta_i = b^{-2i/d}, \quad i = 0, \dots, d/2 - 1

    RoPE rotates the query's and the key's :math:`i`-th pair of features by :math:`m\theta_i` at
    position :math:`m`, so their dot product depends on the offset between them only. The pair is
    counted from 0 (RoFormer's :math:`\theta_i = 10000^{-2(i-1)/d}` counts from 1).

    Parameters
    ----------
    position : array_like
        :math:`m`, the token's position (any real; in practice a whole number from 0).
    pair : array_like
        :math:`i \ge 0`, the feature pair, counted from 0.
    head_dim : array_like
        :math:`d > 0`, the head dimension.
    base : array_like, optional
        :math:`b > 1`. Default 10000, RoFormer's and Llama's.

    Returns
    -------
    numpy.ndarray
        float64 angles in radians (not reduced modulo :math:`2\pi`).

    References
    ----------
    .. [1] J. Su et al., "RoFormer: enhanced transformer with rotary position embedding",
       Neurocomputing, 2024 (arXiv:2104.09864), eqs. 14-15.

    Examples
    --------
    >>> from engine.functions import rope_angle
    >>> rope_angle(10.0, [0, 1], 4).round(4)
    array([10. ,  0.1])
    """
    m = as_float64(position, "position")
    i = as_float64(pair, "pair")
    d = as_float64(head_dim, "head_dim")
    b = as_float64(base, "base")
    require(i >= 0, "pair", "must be >= 0", i)
    require(d > 0, "head_dim", "must be > 0", d)
    require(b > 1, "base", "must be > 1", b)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        theta = np.exp(-2.0 * i / d * np.log(b))
        return result(np.where(m == 0, 0.0, m * theta))


def alibi_slope(head: npt.ArrayLike, n_heads: npt.ArrayLike) -> FloatArray:
    r"""ALiBi's slope for head ``head`` (counted from 1) of ``n_heads``.

    .. math::

        m_h = 2^{-8h/n} \quad (n \text{ a power of two})

    ALiBi adds :math:`-m_h\,(i - j)` to the score of query :math:`i` and key :math:`j`. For
    :math:`n` not a power of two, the paper takes the :math:`2^{\lfloor\log_2 n\rfloor}` slopes
    of the nearest lower power of two and fills the remaining heads with every other slope of
    the next power up (:math:`2^{-4(2h'-1)/n'}` for :math:`h' = 1, 2, \dots`,
    :math:`n' = 2^{\lfloor\log_2 n\rfloor}`).

    Parameters
    ----------
    head : array_like
        :math:`h`, a whole number in [1, n].
    n_heads : array_like
        :math:`n`, a whole number >= 1.

    Returns
    -------
    numpy.ndarray
        float64 slopes in (0, 1).

    References
    ----------
    .. [1] O. Press, N. A. Smith and M. Lewis, "Train short, test long: attention with linear
       biases enables input length extrapolation", ICLR 2022, sec. 3.

    Examples
    --------
    >>> from engine.functions import alibi_slope
    >>> alibi_slope([1, 2, 8], 8)
    array([0.5       , 0.25      , 0.00390625])
    """
    h = as_float64(head, "head")
    n = as_float64(n_heads, "n_heads")
    require((n >= 1) & _whole(n), "n_heads", "must be a whole number >= 1", n)
    require((h >= 1) & _whole(h) & (h <= n), "head", "must be a whole number in [1, n_heads]", h)
    with np.errstate(over="ignore"):
        lower = np.power(2.0, np.floor(np.log2(n)))
        extra = h - lower  # the heads past the lower power of two, counted from 1
        return result(np.where(extra <= 0, np.exp2(-8.0 * h / lower),
                               np.exp2(-4.0 * (2.0 * extra - 1.0) / lower)))


# --------------------------------------------------------------------------------------------
# Sizes, compute and scaling


def _positive(value: npt.ArrayLike, name: str) -> FloatArray:
    v = as_float64(value, name)
    require(v > 0, name, "must be > 0", v)
    return v


def transformer_params(
    n_layers: npt.ArrayLike, d_model: npt.ArrayLike, vocab_size: npt.ArrayLike = 0.0,
    ff_ratio: npt.ArrayLike = 4.0,
) -> FloatArray:
    r"""Parameters of a decoder-only transformer, counted as Kaplan et al. count them.

    .. math::

        N = 2\,L\,d\,(2d + r\,d) + V d \;=\; 12\,L\,d^2 + V d \quad (r = 4)

    Each layer has :math:`4d^2` in the attention projections (Q, K, V, output) and
    :math:`2rd^2` in the feed-forward block of width :math:`rd`; biases and layer-norm gains
    (order :math:`Ld`) are left out. :math:`Vd` is the token embedding (tied with the output).

    Parameters
    ----------
    n_layers : array_like
        :math:`L \ge 0`.
    d_model : array_like
        :math:`d > 0`.
    vocab_size : array_like, optional
        :math:`V \ge 0`. Default 0: the non-embedding count :math:`N` of the scaling laws.
    ff_ratio : array_like, optional
        :math:`r > 0`, the feed-forward width over :math:`d`. Default 4.

    Returns
    -------
    numpy.ndarray
        float64 parameter counts.

    References
    ----------
    .. [1] J. Kaplan et al., "Scaling laws for neural language models", arXiv:2001.08361, 2020,
       sec. 2.1 and Table 1.

    Examples
    --------
    >>> from engine.functions import transformer_params
    >>> float(transformer_params(12, 768, 50257))  # GPT-2 small: 85M + 38.6M
    123532032.0
    """
    n_layer = as_float64(n_layers, "n_layers")
    require(n_layer >= 0, "n_layers", "must be >= 0", n_layer)
    d = _positive(d_model, "d_model")
    v = as_float64(vocab_size, "vocab_size")
    require(v >= 0, "vocab_size", "must be >= 0", v)
    r = _positive(ff_ratio, "ff_ratio")
    with np.errstate(over="ignore", invalid="ignore"):
        return result(2.0 * n_layer * d * (2.0 + r) * d + v * d)


def training_flops(n_params: npt.ArrayLike, n_tokens: npt.ArrayLike) -> FloatArray:
    r"""Training compute, in FLOPs, of a dense transformer: about six per parameter per token.

    .. math::

        C \approx 6\,N\,D

    Two FLOPs per parameter per token for the forward pass (a multiply and an add) and four for
    the backward pass; the attention scores' own :math:`O(n_{ctx})` term is left out.

    Parameters
    ----------
    n_params : array_like
        :math:`N \ge 0`, the (non-embedding) parameters.
    n_tokens : array_like
        :math:`D \ge 0`, the training tokens.

    Returns
    -------
    numpy.ndarray
        float64 FLOPs.

    References
    ----------
    .. [1] J. Kaplan et al., "Scaling laws for neural language models", arXiv:2001.08361, 2020,
       sec. 2.1.

    Examples
    --------
    >>> from engine.functions import training_flops
    >>> float(training_flops(70e9, 1.4e12))  # Chinchilla
    5.88e+23
    """
    n = as_float64(n_params, "n_params")
    d = as_float64(n_tokens, "n_tokens")
    require(n >= 0, "n_params", "must be >= 0", n)
    require(d >= 0, "n_tokens", "must be >= 0", d)
    with np.errstate(over="ignore", invalid="ignore"):
        return result(6.0 * n * d)


def chinchilla_loss(
    n_params: npt.ArrayLike, n_tokens: npt.ArrayLike,
    e: npt.ArrayLike = CHINCHILLA_E, a: npt.ArrayLike = CHINCHILLA_A, b: npt.ArrayLike = CHINCHILLA_B,
    alpha: npt.ArrayLike = CHINCHILLA_ALPHA, beta: npt.ArrayLike = CHINCHILLA_BETA,
) -> FloatArray:
    r"""Predicted pre-training loss of a model of N parameters trained on D tokens.

    .. math::

        \hat L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}

    With the published fit (Approach 3): :math:`E = 1.69`, :math:`A = 406.4`, :math:`B = 410.7`,
    :math:`\alpha = 0.34`, :math:`\beta = 0.28`, in nats per token on the paper's data.

    Parameters
    ----------
    n_params, n_tokens : array_like
        :math:`N > 0` and :math:`D > 0`.
    e, a, b, alpha, beta : array_like, optional
        The fit's constants; default the paper's.

    Returns
    -------
    numpy.ndarray
        float64 losses in nats per token.

    References
    ----------
    .. [1] J. Hoffmann et al., "Training compute-optimal large language models", NeurIPS 2022,
       sec. 3.3, eq. 2 and the fitted constants.

    Examples
    --------
    >>> from engine.functions import chinchilla_loss
    >>> float(chinchilla_loss(70e9, 1.4e12).round(4))
    1.9366
    """
    n = _positive(n_params, "n_params")
    d = _positive(n_tokens, "n_tokens")
    e_, a_, b_ = as_float64(e, "e"), _positive(a, "a"), _positive(b, "b")
    al, be = _positive(alpha, "alpha"), _positive(beta, "beta")
    with np.errstate(over="ignore"):
        return result(e_ + np.exp(np.log(a_) - al * np.log(n)) + np.exp(np.log(b_) - be * np.log(d)))


def _chinchilla_log_optimum(
    compute: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike, alpha: npt.ArrayLike, beta: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """log N_opt and log D_opt of eq. 4, where 6 N D = C."""
    c = _positive(compute, "compute")
    a_, b_ = _positive(a, "a"), _positive(b, "b")
    al, be = _positive(alpha, "alpha"), _positive(beta, "beta")
    log_g = (np.log(al) + np.log(a_) - np.log(be) - np.log(b_)) / (al + be)
    log_c6 = np.log(c) - np.log(6.0)
    return log_g + be / (al + be) * log_c6, -log_g + al / (al + be) * log_c6


def chinchilla_optimal_params(
    compute: npt.ArrayLike, a: npt.ArrayLike = CHINCHILLA_A, b: npt.ArrayLike = CHINCHILLA_B,
    alpha: npt.ArrayLike = CHINCHILLA_ALPHA, beta: npt.ArrayLike = CHINCHILLA_BETA,
) -> FloatArray:
    r"""Compute-optimal parameter count for a budget of C FLOPs under the fitted loss.

    .. math::

        N_{opt}(C) = G\left(\frac{C}{6}\right)^{\frac{\beta}{\alpha+\beta}}, \qquad
        G = \left(\frac{\alpha A}{\beta B}\right)^{\frac{1}{\alpha+\beta}}

    The minimiser of :math:`\hat L(N, D)` subject to :math:`6ND = C`. With the paper's rounded
    constants it gives about 32B parameters for Chinchilla's budget of 5.76e23 FLOPs, not the
    70B of the paper's Approaches 1 and 2.

    Parameters
    ----------
    compute : array_like
        :math:`C > 0`, FLOPs.
    a, b, alpha, beta : array_like, optional
        The fit's constants; default the paper's.

    Returns
    -------
    numpy.ndarray
        float64 parameter counts.

    References
    ----------
    .. [1] J. Hoffmann et al., "Training compute-optimal large language models", NeurIPS 2022,
       sec. 3.3, eq. 4.

    Examples
    --------
    >>> from engine.functions import chinchilla_optimal_params
    >>> round(float(chinchilla_optimal_params(5.76e23)) / 1e9, 1)
    32.2
    """
    log_n, _ = _chinchilla_log_optimum(compute, a, b, alpha, beta)
    with np.errstate(over="ignore"):
        return result(np.exp(log_n))


def chinchilla_optimal_tokens(
    compute: npt.ArrayLike, a: npt.ArrayLike = CHINCHILLA_A, b: npt.ArrayLike = CHINCHILLA_B,
    alpha: npt.ArrayLike = CHINCHILLA_ALPHA, beta: npt.ArrayLike = CHINCHILLA_BETA,
) -> FloatArray:
    r"""Compute-optimal number of training tokens for a budget of C FLOPs under the fitted loss.

    .. math::

        D_{opt}(C) = G^{-1}\left(\frac{C}{6}\right)^{\frac{\alpha}{\alpha+\beta}}, \qquad
        G = \left(\frac{\alpha A}{\beta B}\right)^{\frac{1}{\alpha+\beta}}

    So :math:`6 N_{opt} D_{opt} = C`; the ratio :math:`D_{opt}/N_{opt}` grows with the budget
    (as :math:`C^{(\alpha-\beta)/(\alpha+\beta)}`), about 90 tokens per parameter at 5.76e23.

    Parameters
    ----------
    compute : array_like
        :math:`C > 0`, FLOPs.
    a, b, alpha, beta : array_like, optional
        The fit's constants; default the paper's.

    Returns
    -------
    numpy.ndarray
        float64 token counts.

    References
    ----------
    .. [1] J. Hoffmann et al., "Training compute-optimal large language models", NeurIPS 2022,
       sec. 3.3, eq. 4.

    Examples
    --------
    >>> from engine.functions import chinchilla_optimal_tokens
    >>> round(float(chinchilla_optimal_tokens(5.76e23)) / 1e12, 2)
    2.98
    """
    _, log_d = _chinchilla_log_optimum(compute, a, b, alpha, beta)
    with np.errstate(over="ignore"):
        return result(np.exp(log_d))


# --------------------------------------------------------------------------------------------
# Memory


def kv_cache_bytes(
    n_layers: npt.ArrayLike, n_kv_heads: npt.ArrayLike, head_dim: npt.ArrayLike,
    tokens: npt.ArrayLike, bytes_per_value: npt.ArrayLike = 2.0,
) -> FloatArray:
    r"""Bytes a KV cache holds: a key and a value vector per layer, KV head and token.

    .. math::

        M = 2 \cdot L \cdot h_{kv} \cdot d_{head} \cdot T \cdot b

    ``tokens`` is every cached token: the batch size times the sequence length. Multi-query and
    grouped-query attention shrink :math:`h_{kv}` below the number of query heads.

    Parameters
    ----------
    n_layers, n_kv_heads, head_dim, tokens : array_like
        :math:`L`, :math:`h_{kv}`, :math:`d_{head}`, :math:`T`, each >= 0.
    bytes_per_value : array_like, optional
        :math:`b > 0`: 2 for fp16/bf16 (default), 1 for int8.

    Returns
    -------
    numpy.ndarray
        float64 bytes.

    References
    ----------
    .. [1] R. Pope et al., "Efficiently scaling transformer inference", MLSys 2023, sec. 3.1;
       J. Ainslie et al., "GQA: training generalized multi-query transformer models from
       multi-head checkpoints", EMNLP 2023.

    Examples
    --------
    >>> from engine.functions import kv_cache_bytes
    >>> float(kv_cache_bytes(80, 8, 128, 1))  # Llama 2 70B, one token in bf16: 320 KiB
    327680.0
    """
    sizes = []
    for value, name in ((n_layers, "n_layers"), (n_kv_heads, "n_kv_heads"), (head_dim, "head_dim"),
                        (tokens, "tokens")):
        v = as_float64(value, name)
        require(v >= 0, name, "must be >= 0", v)
        sizes.append(v)
    b = _positive(bytes_per_value, "bytes_per_value")
    with np.errstate(over="ignore", invalid="ignore"):
        return result(2.0 * sizes[0] * sizes[1] * sizes[2] * sizes[3] * b)


def model_state_bytes(
    n_params: npt.ArrayLike, data_parallel: npt.ArrayLike = 1.0, tensor_parallel: npt.ArrayLike = 1.0,
    pipeline_parallel: npt.ArrayLike = 1.0, zero_stage: npt.ArrayLike = 0.0,
    optimizer_bytes: npt.ArrayLike = ADAM_STATE_BYTES,
) -> FloatArray:
    r"""Bytes of model states (weights, gradients, optimiser state) on one device.

    .. math::

        \Psi' = \frac{\Psi}{t\,p}, \qquad M = \begin{cases}
        (2 + 2 + K)\,\Psi' & \text{stage 0 (plain data parallel)}\\
        (2 + 2)\,\Psi' + K\Psi'/N_d & \text{stage 1 (optimiser states sharded)}\\
        2\,\Psi' + (2 + K)\,\Psi'/N_d & \text{stage 2 (and gradients)}\\
        (2 + 2 + K)\,\Psi'/N_d & \text{stage 3 (and weights)}
        \end{cases}

    Mixed-precision Adam keeps fp16 weights and gradients (2 + 2 bytes per parameter) and
    :math:`K = 12` bytes of fp32 state. Tensor (:math:`t`) and pipeline (:math:`p`) parallelism
    split the parameters themselves; ZeRO shards what its stage says across the :math:`N_d`
    data-parallel replicas. Activations, buffers and fragmentation come on top.

    Parameters
    ----------
    n_params : array_like
        :math:`\Psi \ge 0`.
    data_parallel, tensor_parallel, pipeline_parallel : array_like, optional
        :math:`N_d, t, p > 0`. Default 1.
    zero_stage : array_like, optional
        0, 1, 2 or 3. Default 0.
    optimizer_bytes : array_like, optional
        :math:`K \ge 0`. Default 12 (Adam).

    Returns
    -------
    numpy.ndarray
        float64 bytes per device.

    References
    ----------
    .. [1] S. Rajbhandari et al., "ZeRO: memory optimizations toward training trillion parameter
       models", SC 2020, sec. 3.1 and 5, Figure 1.

    Examples
    --------
    >>> from engine.functions import model_state_bytes
    >>> (model_state_bytes(7.5e9, 64, zero_stage=[0, 1, 2, 3]) / 1e9).round(1)  # ZeRO Figure 1
    array([120. ,  31.4,  16.6,   1.9])
    """
    psi = as_float64(n_params, "n_params")
    require(psi >= 0, "n_params", "must be >= 0", psi)
    nd = _positive(data_parallel, "data_parallel")
    t = _positive(tensor_parallel, "tensor_parallel")
    p = _positive(pipeline_parallel, "pipeline_parallel")
    stage = as_float64(zero_stage, "zero_stage")
    require(np.isin(stage, (0.0, 1.0, 2.0, 3.0)), "zero_stage", "must be 0, 1, 2 or 3", stage)
    k = as_float64(optimizer_bytes, "optimizer_bytes")
    require(k >= 0, "optimizer_bytes", "must be >= 0", k)
    with np.errstate(over="ignore", invalid="ignore"):
        local = psi / t / p  # never t * p, which can overflow where the quotient does not
        weights = np.where(stage >= 3, 2.0 / nd, 2.0)
        gradients = np.where(stage >= 2, 2.0 / nd, 2.0)
        states = np.where(stage >= 1, k / nd, k)
        return result((weights + gradients + states) * local)
