"""Shared plumbing for the function library: input conversion, validation and broadcasting.

Every public function converts its inputs with :func:`as_float64`, so that scalars, lists and arrays
all become float64 arrays, and returns :func:`result` of its value, so that callers always get a
float64 ``numpy.ndarray`` (0-d for scalar inputs). Parameters are checked with :func:`require`, so
that a bad one raises ``ValueError`` naming it instead of flowing on as ``nan``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def as_float64(value: npt.ArrayLike, name: str = "value") -> FloatArray:
    """Convert scalars, lists or arrays of real numbers to a float64 array.

    Booleans and integers are accepted (as 0/1 and their float value); anything that is not a real
    number (strings, ``None``, complex, objects) raises ``TypeError`` naming the argument, instead
    of numpy's silent ``nan`` for ``None`` or its complex-to-real warning.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got an array of dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def result(value: npt.ArrayLike) -> FloatArray:
    """Return ``value`` as a new float64 ndarray (numpy's ufuncs return scalars for 0-d inputs).

    Negative zero becomes zero (``-0.0 + 0.0 == +0.0``), so that a displayed answer never reads
    "-0.000" (a PPO loss at zero advantage, a KL estimate at equal log-probabilities).
    """
    out = np.array(value, dtype=np.float64)
    out += 0.0
    return out


def require_axis(array: FloatArray, name: str, min_length: int = 1, axis: int = -1) -> int:
    """Check that ``array`` has ``axis`` with >= ``min_length`` entries; return it normalised."""
    if array.ndim == 0:
        raise ValueError(f"{name} needs an array with at least one axis, got a scalar")
    if not -array.ndim <= axis < array.ndim:
        raise ValueError(f"axis {axis} is out of range for {name} with {array.ndim} dimensions")
    axis %= array.ndim
    if array.shape[axis] < min_length:
        raise ValueError(
            f"{name} needs at least {min_length} entries along axis {axis}, got shape {array.shape}"
        )
    return axis


def broadcast_rows(
    series: FloatArray, *per_row: npt.NDArray[Any]
) -> tuple[FloatArray, tuple[npt.NDArray[Any], ...]]:
    """Broadcast ``series`` of shape (..., n) with parameters that hold one value per row (...).

    A per-row parameter (a temperature, a discount, a target class) is matched against the leading
    shape of ``series``, not against its last axis, so a batch of variants of shape (N,) pairs with
    rows of shape (N, n) as an item author expects.
    """
    lead = np.broadcast_shapes(series.shape[:-1], *(p.shape for p in per_row))
    rows = np.broadcast_to(series, (*lead, series.shape[-1]))
    return rows, tuple(np.broadcast_to(p, lead) for p in per_row)


def require(holds: npt.ArrayLike, name: str, requirement: str, value: FloatArray) -> None:
    """Raise ``ValueError`` naming a parameter unless ``holds`` is true everywhere (nan fails)."""
    if not np.all(holds):
        raise ValueError(f"{name} {requirement}, got {value}")
