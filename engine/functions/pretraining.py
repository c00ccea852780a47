"""Pre-training arithmetic: BERT's masking counts, the masked-LM loss and Transformer layer sizes.

Chapter 1 of the course asks what a masked language model is trained on and how big an encoder
is. These functions answer with the numbers of the papers: BERT selects 15% of the positions for
prediction and, of those, replaces 80% with ``[MASK]``, 10% with a random token and keeps 10%
(Devlin et al. 2019, sec. 3.1); the loss is the cross-entropy at the selected positions only; a
Transformer layer's weights are its attention projections, its feed-forward network and its two
layer normalisations (Vaswani et al. 2017), which for BERT-base (d = 768, d_ff = 3,072, 12
layers, 30,522 word pieces) add up to the published 110M parameters.

Counts are returned as float64 like every function of the library, exact for whole numbers below
2^53 (about 9e15), far beyond any model an item describes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._util import FloatArray, as_float64, require, require_axis, result

MASK_KINDS = ("selected", "mask", "random", "kept", "corrupted")
"""What ``mlm_mask_count`` counts: the positions selected for prediction, those shown as
``[MASK]``, those shown as a random token, those left as they were, and those whose input changed
(``[MASK]`` or random)."""


def mlm_mask_count(
    n_tokens: npt.ArrayLike,
    mask_rate: npt.ArrayLike = 0.15,
    mask_prob: npt.ArrayLike = 0.8,
    random_prob: npt.ArrayLike = 0.1,
    kind: str = "selected",
) -> FloatArray:
    r"""Expected number of positions of a sequence that BERT's masking rule treats one way.

    .. math::

        n_{sel} = p\,n,\quad n_{mask} = p\,q_m n,\quad n_{rand} = p\,q_r n,\quad
        n_{kept} = p\,(1 - q_m - q_r)\,n

    A rate ``p`` of the ``n`` positions is selected for prediction; a selected position is shown
    as ``[MASK]`` with probability ``q_m``, as a random token with probability ``q_r`` and as
    itself otherwise. ``kind="corrupted"`` counts the positions whose input changed,
    :math:`p\,(q_m + q_r)\,n` (a random token may by chance be the original one; at a 30,000-word
    vocabulary that is one in 30,000 and not counted). BERT's data script rounds the selected
    count to a whole number; this is the expectation, before any rounding.

    Parameters
    ----------
    n_tokens : array_like
        Positions in the sequence (or the corpus), >= 0.
    mask_rate : array_like, optional
        The share of positions selected for prediction, in [0, 1]; BERT's 0.15.
    mask_prob : array_like, optional
        The share of selected positions shown as ``[MASK]``, in [0, 1]; BERT's 0.8.
    random_prob : array_like, optional
        The share of selected positions shown as a random token, in [0, 1 - mask_prob]; BERT's 0.1.
    kind : {"selected", "mask", "random", "kept", "corrupted"}, optional
        Which positions to count.

    Returns
    -------
    numpy.ndarray
        float64 array of the broadcast shape of the numeric arguments (0-d for scalars).

    Raises
    ------
    ValueError
        If a rate lies outside [0, 1], ``mask_prob + random_prob`` exceeds 1, ``n_tokens`` is
        negative, or ``kind`` is unknown.

    References
    ----------
    .. [1] J. Devlin, M.-W. Chang, K. Lee and K. Toutanova, "BERT: Pre-training of deep
       bidirectional Transformers for language understanding", NAACL 2019, sec. 3.1 and
       appendix A.1.

    Examples
    --------
    >>> from engine.functions import mlm_mask_count
    >>> [round(float(mlm_mask_count(512, kind=k)), 6) for k in ("selected", "mask", "random", "kept")]
    [76.8, 61.44, 7.68, 7.68]
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MASK_KINDS)}, got {kind!r}")
    n = as_float64(n_tokens, "n_tokens")
    rate = as_float64(mask_rate, "mask_rate")
    q_mask = as_float64(mask_prob, "mask_prob")
    q_random = as_float64(random_prob, "random_prob")
    require(n >= 0, "n_tokens", "must be >= 0", n)
    for name, value in (("mask_rate", rate), ("mask_prob", q_mask), ("random_prob", q_random)):
        require((value >= 0) & (value <= 1), name, "must lie in [0, 1]", value)
    require(q_mask + q_random <= 1, "mask_prob + random_prob", "must be <= 1", q_mask + q_random)
    selected = rate * n
    share = {
        "selected": np.ones_like(q_mask),
        "mask": q_mask,
        "random": q_random,
        # 1 - 0.8 - 0.2 is -5.6e-17 in float64: never report a negative count.
        "kept": np.maximum(1.0 - q_mask - q_random, 0.0),
        "corrupted": q_mask + q_random,
    }[kind]
    return result(selected * share)


def masked_lm_loss(token_logps: npt.ArrayLike, selected: npt.ArrayLike) -> FloatArray:
    r"""Masked-LM loss: the mean negative log-probability of the original token at the selected positions.

    .. math::

        \mathcal{L}_{MLM} = -\frac{1}{|M|} \sum_{t \in M} \log p(x_t \mid \tilde{x})

    ``token_logps[..., t]`` is the model's log-probability of the original token at position
    ``t`` given the corrupted input, and ``selected[..., t]`` is 1 where the position was selected
    for prediction (shown as ``[MASK]``, a random token or itself) and 0 elsewhere. Positions not
    selected contribute nothing, whatever their log-probability: this is PyTorch's
    ``cross_entropy(..., ignore_index=-100)`` with the labels of unselected positions set to
    -100, as BERT implementations do.

    Parameters
    ----------
    token_logps : array_like
        Log-probabilities (<= 0) of the original tokens, shape (..., T).
    selected : array_like
        0/1 flags of shape (..., T) (broadcast against ``token_logps``); at least one 1 per row.

    Returns
    -------
    numpy.ndarray
        float64 array of shape (...), in nats.

    Raises
    ------
    ValueError
        If a flag is not 0 or 1, a row selects no position, or a selected log-probability is
        positive or nan.

    References
    ----------
    .. [1] J. Devlin, M.-W. Chang, K. Lee and K. Toutanova, "BERT: Pre-training of deep
       bidirectional Transformers for language understanding", NAACL 2019, sec. 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> from engine.functions import masked_lm_loss
    >>> round(float(masked_lm_loss(np.log([0.5, 0.9, 0.25, 0.8]), [1, 0, 1, 0])), 6)
    1.039721
    """
    logps = as_float64(token_logps, "token_logps")
    flags = as_float64(selected, "selected")
    require((flags == 0) | (flags == 1), "selected", "must hold only 0 and 1", flags)
    logps, flags = np.broadcast_arrays(logps, flags)
    require_axis(logps, "token_logps")
    chosen = flags == 1
    count = chosen.sum(axis=-1)
    require(count > 0, "selected", "must select at least one position in every row", flags)
    require(np.where(chosen, logps <= 0, True), "token_logps", "must be <= 0 where selected", logps)  # noqa: FBT003
    # Unselected positions are replaced by 0 before the sum, so a -inf there cannot make nan.
    total = np.where(chosen, logps, 0.0).sum(axis=-1)
    return result(-total / count)


def encoder_layer_params(d_model: npt.ArrayLike, d_ff: npt.ArrayLike) -> FloatArray:
    r"""Parameters of one Transformer encoder layer: attention, feed-forward network and two layer norms.

    .. math::

        4(d^2 + d) + 2\,d\,d_{ff} + d_{ff} + d + 4d

    The four attention projections (queries, keys, values, output) are d x d with a bias each;
    the feed-forward network is d x d_ff and d_ff x d with their biases; each of the two layer
    normalisations has a gain and a bias of d. The number of heads does not change the count
    (the heads split d). A decoder-only layer (GPT) has the same count; a decoder layer of an
    encoder-decoder model adds cross-attention, 4(d^2 + d), and a third layer norm, 2d.

    Parameters
    ----------
    d_model : array_like
        The model width d, a whole number >= 1.
    d_ff : array_like
        The feed-forward width, a whole number >= 1 (4d in BERT and GPT-2).

    Returns
    -------
    numpy.ndarray
        float64 array of the broadcast shape (0-d for scalars): a count of parameters.

    Raises
    ------
    ValueError
        If a width is not a whole number >= 1.

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.
    .. [2] J. Devlin et al., "BERT", NAACL 2019, sec. 3: BERT-base, 12 layers, d = 768,
       110M parameters in all.

    Examples
    --------
    >>> from engine.functions import encoder_layer_params
    >>> int(encoder_layer_params(768, 3072))
    7087872
    """
    d = as_float64(d_model, "d_model")
    ff = as_float64(d_ff, "d_ff")
    for name, value in (("d_model", d), ("d_ff", ff)):
        require((value >= 1) & (value == np.round(value)), name, "must be a whole number >= 1", value)
    attention = 4.0 * (d * d + d)
    feed_forward = 2.0 * d * ff + ff + d
    layer_norms = 4.0 * d
    return result(attention + feed_forward + layer_norms)
