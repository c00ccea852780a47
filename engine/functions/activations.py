"""The logistic function and its logarithms: sigmoid, log-sigmoid and softplus.

These three are the numerical core of every pairwise loss in the library (the Bradley-Terry model,
the ranking loss, DPO). Each is evaluated through ``exp(-|x|)``, which lies in (0, 1] for every
finite ``x``, so nothing overflows, and through ``log1p``, so that values near 0 keep their digits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.functions._util import FloatArray, as_float64, result


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    r"""Logistic sigmoid, the probability of a log-odds.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}

    Evaluated as :math:`1/(1+e^{-|x|})` for :math:`x \ge 0` and :math:`e^{-|x|}/(1+e^{-|x|})`
    otherwise, so the exponential never exceeds 1 and tiny results keep full relative precision.

    Parameters
    ----------
    x : array_like
        Log-odds, any real numbers.

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``x`` (0-d for a scalar), values in [0, 1].

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning", MIT Press, 2016,
       sec. 3.10.

    Examples
    --------
    >>> from engine.functions import sigmoid
    >>> sigmoid([0.0, 1.7, -800.0]).round(6)
    array([0.5     , 0.845535, 0.      ])
    """
    x = as_float64(x, "x")
    small = np.exp(-np.abs(x))
    return result(np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small)))


def softplus(x: npt.ArrayLike) -> FloatArray:
    r"""Softplus, the smooth maximum of x and 0.

    .. math::

        \operatorname{softplus}(x) = \log\left(1 + e^{x}\right)

    Evaluated as :math:`\max(x, 0) + \log1p(e^{-|x|})`: both terms are non-negative, so there is
    no cancellation, and the exponential never exceeds 1.

    Parameters
    ----------
    x : array_like
        Any real numbers.

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``x`` (0-d for a scalar), values >= 0.

    References
    ----------
    .. [1] I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning", MIT Press, 2016,
       sec. 3.10.
    .. [2] C. Dugas et al., "Incorporating second-order functional knowledge for better option
       pricing", NeurIPS 2000.

    Examples
    --------
    >>> from engine.functions import softplus
    >>> softplus([0.0, 800.0, -30.0])
    array([6.93147181e-01, 8.00000000e+02, 9.35762297e-14])
    """
    x = as_float64(x, "x")
    return result(np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))))


def log_sigmoid(x: npt.ArrayLike) -> FloatArray:
    r"""Logarithm of the logistic sigmoid, the log-probability of a log-odds.

    .. math::

        \log\sigma(x) = -\log\left(1 + e^{-x}\right) = -\operatorname{softplus}(-x)

    Evaluated as :math:`-\operatorname{softplus}(-x)`, which is exact for large negative ``x``
    (where :math:`\log\sigma(x) \approx x`) and for large positive ``x`` (where it is a tiny
    negative number).

    Parameters
    ----------
    x : array_like
        Log-odds, any real numbers.

    Returns
    -------
    numpy.ndarray
        float64 array of the shape of ``x`` (0-d for a scalar), values <= 0.

    References
    ----------
    .. [1] L. Ouyang et al., "Training language models to follow instructions with human
       feedback", NeurIPS 2022, eq. (1), where :math:`\log\sigma` of a reward difference is the
       reward model's log-likelihood.

    Examples
    --------
    >>> from engine.functions import log_sigmoid
    >>> float(log_sigmoid(-800.0))
    -800.0
    >>> log_sigmoid([0.0, 2.0]).round(6)
    array([-0.693147, -0.126928])
    """
    return result(-softplus(-as_float64(x, "x")))
