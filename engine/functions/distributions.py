"""Categorical distributions from logits: softmax, log-softmax, entropy, cross-entropy, perplexity.

All of them rest on one computation, :func:`_log_probabilities`: shift each row of logits by its
maximum (so every exponent is <= 0 and nothing overflows), and take the log-partition as ``log1p``
of the sum of the non-maximal weights, so a distribution that is nearly one-hot still gets its
small log-probabilities and its tiny cross-entropy to full relative precision.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._arithmetic import weighted
from engine.functions._util import (
    FloatArray,
    as_float64,
    broadcast_rows,
    require,
    require_axis,
    result,
)


def _log_probabilities(logits: npt.ArrayLike, temperature: npt.ArrayLike, axis: int) -> FloatArray:
    """Log-softmax of ``logits / temperature`` along ``axis``, returned with that axis last."""
    x = as_float64(logits, "logits")
    axis = require_axis(x, "logits", axis=axis)
    t = as_float64(temperature, "temperature")
    require(t > 0, "temperature", "must be > 0", t)
    rows, (t,) = broadcast_rows(np.moveaxis(x, axis, -1), t)
    # Entries more than 1.8e308 below their row's maximum saturate to -inf: their weight is exactly
    # 0, which is also the correctly rounded true weight.
    with np.errstate(over="ignore"):
        shifted = (rows - rows.max(axis=-1, keepdims=True)) / t[..., None]
    weights = np.exp(shifted)
    # The maximum contributes exactly e^0 = 1; leaving it out of the sum lets log1p resolve a
    # partition function of 1 + 1e-14 instead of rounding it to 1.
    np.put_along_axis(weights, np.argmax(shifted, axis=-1, keepdims=True), 0.0, axis=-1)
    return result(shifted - np.log1p(weights.sum(axis=-1, keepdims=True)))


def log_softmax(logits: npt.ArrayLike, temperature: npt.ArrayLike = 1.0, axis: int = -1) -> FloatArray:
    r"""Log-probabilities of the categorical distribution with the given logits.

    .. math::

        \log\operatorname{softmax}(z)_i = \frac{z_i}{T} - \log\sum_j e^{z_j / T}

    Evaluated with the maximum shifted out (log-sum-exp), so logits of any finite size are safe.

    Parameters
    ----------
    logits : array_like
        Logits :math:`z`, at least 1-d; the classes run along ``axis``.
    temperature : array_like, optional
        :math:`T > 0`, one per distribution: a scalar, or an array broadcastable to the shape of
        ``logits`` without ``axis`` (for example one temperature per variant). Default 1.
    axis : int, optional
        The class axis. Default -1, the last axis.

    Returns
    -------
    numpy.ndarray
        float64 log-probabilities (all <= 0), shaped like ``logits`` broadcast with
        ``temperature``.

    References
    ----------
    .. [1] J. S. Bridle, "Probabilistic interpretation of feedforward classification network
       outputs, with relationships to statistical pattern recognition", Neurocomputing, 1990.
    .. [2] G. Hinton, O. Vinyals and J. Dean, "Distilling the knowledge in a neural network",
       arXiv:1503.02531, 2015 (the temperature).

    Examples
    --------
    >>> from engine.functions import log_softmax
    >>> log_softmax([1000.0, 0.0, -1000.0]).round(6)
    array([    0., -1000., -2000.])
    """
    return result(np.moveaxis(_log_probabilities(logits, temperature, axis), -1, axis))


def softmax(logits: npt.ArrayLike, temperature: npt.ArrayLike = 1.0, axis: int = -1) -> FloatArray:
    r"""Probabilities of the categorical distribution with the given logits.

    .. math::

        \operatorname{softmax}(z)_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}

    Evaluated as the exponential of :func:`log_softmax`, so it never overflows and each row sums
    to 1 to rounding.

    Parameters
    ----------
    logits : array_like
        Logits :math:`z`, at least 1-d; the classes run along ``axis``.
    temperature : array_like, optional
        :math:`T > 0`, one per distribution (see :func:`log_softmax`). Default 1.
    axis : int, optional
        The class axis. Default -1, the last axis.

    Returns
    -------
    numpy.ndarray
        float64 probabilities in [0, 1], shaped like ``logits`` broadcast with ``temperature``.

    References
    ----------
    .. [1] J. S. Bridle, "Probabilistic interpretation of feedforward classification network
       outputs, with relationships to statistical pattern recognition", Neurocomputing, 1990.
    .. [2] G. Hinton, O. Vinyals and J. Dean, "Distilling the knowledge in a neural network",
       arXiv:1503.02531, 2015 (the temperature).

    Examples
    --------
    >>> from engine.functions import softmax
    >>> softmax([1000.0, 0.0, -1000.0])
    array([1., 0., 0.])
    >>> softmax([2.0, 1.0, 0.0], temperature=[1.0, 10.0]).round(4)
    array([[0.6652, 0.2447, 0.09  ],
           [0.3672, 0.3322, 0.3006]])
    """
    return result(np.moveaxis(np.exp(_log_probabilities(logits, temperature, axis)), -1, axis))


def entropy(logits: npt.ArrayLike, axis: int = -1) -> FloatArray:
    r"""Shannon entropy, in nats, of the categorical distribution with the given logits.

    .. math::

        H(p) = -\sum_i p_i \log p_i, \qquad p = \operatorname{softmax}(z)

    Every term :math:`-p_i \log p_i` is non-negative, so the sum has no cancellation; a class whose
    probability underflows to 0 contributes exactly 0.

    Parameters
    ----------
    logits : array_like
        Logits :math:`z`, at least 1-d; the classes run along ``axis``.
    axis : int, optional
        The class axis, which the result drops. Default -1, the last axis.

    Returns
    -------
    numpy.ndarray
        float64 entropies in :math:`[0, \log n]`, the shape of ``logits`` without ``axis``.

    References
    ----------
    .. [1] C. E. Shannon, "A mathematical theory of communication", Bell System Technical
       Journal 27, 1948.

    Examples
    --------
    >>> from engine.functions import entropy
    >>> entropy([[0.0, 0.0, 0.0, 0.0], [1000.0, 0.0, 0.0, 0.0]]).round(6)
    array([1.386294, 0.      ])
    """
    log_p = _log_probabilities(logits, 1.0, axis)
    return result(weighted(np.exp(log_p), -log_p).sum(axis=-1))


def cross_entropy(logits: npt.ArrayLike, target: npt.ArrayLike) -> FloatArray:
    r"""Cross-entropy (negative log-likelihood) of target classes under softmax of the logits.

    .. math::

        \ell(z, y) = -\log\operatorname{softmax}(z)_y = \log\sum_j e^{z_j} - z_y

    Parameters
    ----------
    logits : array_like
        Logits of shape (..., V); the V classes run along the last axis.
    target : array_like
        Class indices of shape (...), broadcastable to ``logits.shape[:-1]``: integers, or floats
        with integral values, in ``0 .. V-1``.

    Returns
    -------
    numpy.ndarray
        float64 losses >= 0 of the broadcast leading shape (...).

    Raises
    ------
    ValueError
        If a target is not an integer, or lies outside ``0 .. V-1``.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning", MIT Press, 2016,
       sec. 6.2.2.3 (softmax units for multinoulli output distributions).

    Examples
    --------
    >>> from engine.functions import cross_entropy
    >>> cross_entropy([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]], [0, 2]).round(6)
    array([0.407606, 1.098612])
    """
    log_p = _log_probabilities(logits, 1.0, -1)
    classes = _class_indices(target, log_p.shape[-1])
    log_p, (classes,) = broadcast_rows(log_p, classes)
    return result(-np.take_along_axis(log_p, classes[..., None], axis=-1)[..., 0])


def _class_indices(target: npt.ArrayLike, n_classes: int) -> npt.NDArray[np.intp]:
    """Validate class indices (integers, or integral floats) against ``0 .. n_classes - 1``."""
    classes = np.asarray(target)
    if classes.dtype.kind not in "biuf":
        raise ValueError(f"target must be integer class indices, got dtype {classes.dtype}")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes) & (classes == np.trunc(classes))):
        raise ValueError(f"target must be integer class indices, got {classes}")
    if not np.all((classes >= 0) & (classes < n_classes)):
        raise ValueError(f"target must lie in 0 .. {n_classes - 1} for {n_classes} classes, got {classes}")
    return classes.astype(np.intp)


def perplexity(token_logps: npt.ArrayLike) -> FloatArray:
    r"""Perplexity of a sequence from the log-probabilities of its tokens.

    .. math::

        \operatorname{PPL} = \exp\left(-\frac{1}{T}\sum_{t=1}^{T} \log p_t\right)

    The mean is taken as a sum of :math:`\log p_t / T`, which cannot overflow; a perplexity above
    the float64 range (a mean log-probability below about -709.78) is returned as ``inf``.

    Parameters
    ----------
    token_logps : array_like
        Natural-log token probabilities :math:`\log p_t` of shape (..., T), T >= 1; the tokens
        run along the last axis.

    Returns
    -------
    numpy.ndarray
        float64 perplexities of shape (...).

    References
    ----------
    .. [1] F. Jelinek, R. L. Mercer, L. R. Bahl and J. K. Baker, "Perplexity—a measure of the
       difficulty of speech recognition tasks", Journal of the Acoustical Society of America 62,
       1977.

    Examples
    --------
    >>> import numpy as np
    >>> from engine.functions import perplexity
    >>> perplexity(np.log([[0.25, 0.25], [0.5, 0.125]])).round(6)
    array([4., 4.])
    """
    logps = as_float64(token_logps, "token_logps")
    require_axis(logps, "token_logps")
    mean = (logps / logps.shape[-1]).sum(axis=-1)
    with np.errstate(over="ignore"):
        return result(np.exp(-mean))
