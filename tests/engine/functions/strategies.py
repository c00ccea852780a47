"""Hypothesis strategies and settings shared by the tests of engine.functions.

``ORDINARY`` covers every value an item author would write and far beyond; ``ANY_FINITE`` reaches
the edge of float64 and is used where the claim is "no warning, no nan", not a digit count.
"""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Deterministic and quick: the same examples on every run, the whole folder in a few seconds.
SETTINGS = settings(max_examples=80, derandomize=True, deadline=None, database=None)


def reals(max_abs: float) -> st.SearchStrategy[float]:
    return st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False)


ORDINARY = reals(1e6)
ANY_FINITE = st.floats(allow_nan=False, allow_infinity=False)
TEMPERATURES = st.floats(1e-3, 1e3)
BETAS = st.floats(1e-3, 10.0)
LABEL_SMOOTHING = st.floats(0.0, 0.5)
CLIP_EPS = st.floats(0.0, 1.0)
UNIT = st.floats(0.0, 1.0)
LOGPS = st.floats(-1e4, 0.0)


def arrays(
    elements: st.SearchStrategy[float] = ORDINARY,
    *,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 1,
    max_side: int = 5,
) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of any small shape."""
    shapes = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    return hnp.arrays(np.float64, shapes, elements=elements)


def array_tuples(
    n: int, elements: st.SearchStrategy[float] = ORDINARY, *, max_dims: int = 2
) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """``n`` float64 arrays of one common shape (the arguments of an elementwise function)."""
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=5)
    return shapes.flatmap(lambda shape: st.tuples(*(hnp.arrays(np.float64, shape, elements=elements),) * n))


def rows(
    elements: st.SearchStrategy[float] = ORDINARY, *, min_length: int = 1, max_length: int = 6
) -> st.SearchStrategy[np.ndarray]:
    """A batch of rows, shape (B, n): B variants of an n-vector (logits, scores, trajectories)."""
    return st.tuples(st.integers(1, 4), st.integers(min_length, max_length)).flatmap(
        lambda shape: hnp.arrays(np.float64, shape, elements=elements)
    )


@st.composite
def trajectories(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
    """Rewards and values of B trajectories of length T, with gamma, lam and bootstrap values."""
    batch, length = draw(st.integers(1, 3)), draw(st.integers(0, 8))
    moderate = reals(1e3)
    rewards = draw(hnp.arrays(np.float64, (batch, length), elements=moderate))
    values = draw(hnp.arrays(np.float64, (batch, length), elements=moderate))
    last_value = draw(hnp.arrays(np.float64, (batch,), elements=moderate))
    return rewards, values, draw(UNIT), draw(UNIT), last_value
