"""Careful float64 arithmetic for the formulas: saturating products, exact sums, split reciprocals.

Two rules run through the library and live here. Overflow: a quantity whose true value lies beyond
the float64 range (about 1.8e308) becomes ±inf, its correctly rounded value, silently and never
``nan``. Cancellation: where a formula subtracts nearly equal numbers (a reward difference minus a
margin that almost equals it, IPO's log-ratio margin at its target), the sum is formed with
error-free transformations (Knuth's TwoSum, Dekker's TwoProduct), so the result keeps its digits
and its exact sign.
"""

from __future__ import annotations

import numpy as np

from engine.functions._util import FloatArray, result

# Scaling by a power of two is exact for every normal float64; 1/16 keeps a sum of up to 8 terms
# of any finite size at most half the float64 maximum.
_RESCUE_SCALE = 1.0 / 16.0
_MAX_TERMS = 8
# Veltkamp's splitter for float64's 53-bit significand: 2**27 + 1.
_SPLITTER = 134217729.0


def difference(a: FloatArray, b: FloatArray) -> FloatArray:
    """``a - b`` with numpy broadcasting; saturates to ±inf where the true difference overflows."""
    with np.errstate(over="ignore"):
        return result(np.subtract(a, b))


def product(a: FloatArray, b: FloatArray) -> FloatArray:
    """``a * b`` with numpy broadcasting; saturates to ±inf where the true product overflows."""
    with np.errstate(over="ignore"):
        return result(np.multiply(a, b))


def weighted(weight: FloatArray, value: FloatArray) -> FloatArray:
    """``weight * value`` where a zero weight contributes exactly 0, even against an infinity."""
    weight, value = np.broadcast_arrays(weight, value)
    out = np.zeros(weight.shape, dtype=np.float64)
    with np.errstate(over="ignore"):
        np.multiply(weight, value, out=out, where=weight != 0)
    return out


def accurate_sum(*terms: FloatArray) -> FloatArray:
    """Sum of up to 8 broadcast terms, as accurate as if summed in twice float64's precision.

    This is Sum2 of Ogita, Rump and Oishi ("Accurate sum and dot product", SIAM J. Sci. Comput.
    26, 2005): a cascade of TwoSum steps whose rounding errors are added back at the end. For
    three terms it also gets the sign of the sum exactly right, so a loss that is zero "exactly
    when the difference reaches the margin" is zero exactly then. Where the plain partial sums
    overflow although the terms are finite, the sum is redone on terms scaled by 1/16.
    """
    if len(terms) > _MAX_TERMS:
        raise ValueError(f"accurate_sum takes at most {_MAX_TERMS} terms, got {len(terms)}")
    total = _sum2(terms)
    overflowed = ~np.isfinite(total) & np.all([np.isfinite(t) for t in np.broadcast_arrays(*terms)], axis=0)
    if overflowed.any():
        with np.errstate(over="ignore"):
            rescued = _sum2([t * _RESCUE_SCALE for t in terms]) / _RESCUE_SCALE
        total = np.where(overflowed, rescued, total)
    return result(total)


def _sum2(terms: list[FloatArray] | tuple[FloatArray, ...]) -> FloatArray:
    # An overflowed partial sum makes its TwoSum error nan; such entries return the plain total
    # (non-finite), which accurate_sum then rescues.
    total, error = _two_sum_cascade(terms)
    with np.errstate(over="ignore", invalid="ignore"):
        return result(np.where(np.isfinite(error), total + error, total))


def sum_parts(*terms: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The sum of the terms as an unevaluated sum ``hi + lo``, to about twice float64's precision.

    For a recursion that carries a value in two floats (see :func:`engine.functions.gae`). The
    caller keeps the terms small enough that no partial sum overflows.
    """
    total, error = _two_sum_cascade(terms)
    hi = total + error
    return result(hi), result(error - (hi - total))


def _two_sum_cascade(
    terms: list[FloatArray] | tuple[FloatArray, ...],
) -> tuple[FloatArray, FloatArray]:
    """Plain sum of the terms and the exact sum of its rounding errors' TwoSum parts."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = terms[0]
        error: FloatArray | float = 0.0
        for term in terms[1:]:
            partial = total + term
            shift = partial - total
            error = error + ((total - (partial - shift)) + (term - shift))
            total = partial
    return result(total), result(error)


def half_reciprocal(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    r"""``1 / (2x)`` for ``x > 0`` as an unevaluated sum ``hi + lo`` carrying about 106 bits.

    IPO's target :math:`1/(2\beta)` is rarely a float64 (β = 0.1 gives 4.99999999999999972...);
    subtracting ``hi`` and ``lo`` separately from the log-ratio margin keeps the loss exact at and
    near its optimum. The residual is found through Dekker's exact product on the significand of
    ``x``, so nothing overflows.
    """
    significand, exponent = np.frexp(x)
    hi = 0.5 / significand
    p, p_error = two_product(significand, hi)
    # 0.5 - p is exact (Sterbenz: p is within a rounding of 0.5).
    lo = ((0.5 - p) - p_error) / significand
    with np.errstate(over="ignore"):
        # x below ~2.8e-309: the target is beyond float64 and saturates to +inf.
        hi, lo = np.ldexp(hi, -exponent), np.ldexp(lo, -exponent)
    return result(hi), result(np.where(np.isfinite(hi), lo, 0.0))


def two_product(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Dekker's TwoProduct: ``a * b == p + error`` exactly, for ``|a|, |b| < 2**996``.

    (Below the normal range the error term is itself rounded, which no caller can notice.)
    """
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    error = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, error


def _split(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    scaled = _SPLITTER * a
    hi = scaled - (scaled - a)
    return hi, a - hi
