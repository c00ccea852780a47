"""Independent mpmath references, at 50 significant digits, for engine.functions.inference.

Each is its paper's formula written out directly, on exact rationals or mpmath numbers, with none
of the library's devices: the speculative expectation as the plain sum of the geometric series
(Leviathan et al. 2023 derive it as one), the quantiser with exact rational scaling and rounding.
"""

from collections.abc import Sequence
from fractions import Fraction

import mpmath

mp = mpmath.mp
DIGITS = 50


@mpmath.workdps(DIGITS)
def speculative_expected_tokens(alpha: float, gamma: int):
    a = mp.mpf(alpha)
    return mp.fsum(a**i for i in range(gamma + 1))


@mpmath.workdps(DIGITS)
def speculative_speedup(alpha: float, gamma: int, cost_ratio: float):
    return speculative_expected_tokens(alpha, gamma) / (gamma * mp.mpf(cost_ratio) + 1)


@mpmath.workdps(DIGITS)
def length_normalised_score(logp: float, length: int, alpha: float, kind: str):
    base = mp.mpf(length) if kind == "power" else (5 + mp.mpf(length)) / 6
    return mp.mpf(logp) / mp.power(base, mp.mpf(alpha))


@mpmath.workdps(DIGITS)
def repetition_penalty(logit: float, count: int, penalty: float):
    z, theta = mp.mpf(logit), mp.mpf(penalty)
    if count == 0:
        return z
    return z / theta if z > 0 else z * theta


def absmax_quantise(x: Sequence[float], bits: int) -> list[Fraction]:
    """Exact: codes round(Q x / max|x|) half to even, values code · max|x| / Q, as rationals."""
    values = [Fraction(v) for v in x]
    absmax = max(abs(v) for v in values)
    if absmax == 0:
        return [Fraction(0)] * len(values)
    levels = 2 ** (bits - 1) - 1
    return [Fraction(round(levels * v / absmax)) * absmax / levels for v in values]
