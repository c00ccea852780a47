"""Hypothesis strategies and settings shared by the tests of engine.psychometrics."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Deterministic and quick: the same examples on every run.
SETTINGS = settings(max_examples=60, derandomize=True, deadline=None, database=None)


@st.composite
def quiz_marks(draw: st.DrawFn, *, min_attempts: int = 2, max_attempts: int = 30, max_items: int = 6,
               missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(marks, max_marks): attempts × items on a grid of quarter marks, as quizzes give them.

    With ``missing``, some marks are NaN (an item not presented in that attempt).
    """
    attempts = draw(st.integers(min_attempts, max_attempts))
    items = draw(st.integers(1, max_items))
    max_marks = draw(hnp.arrays(np.float64, items, elements=st.sampled_from([0.5, 1.0, 2.0, 3.0, 10.0])))
    fractions = draw(hnp.arrays(np.float64, (attempts, items), elements=st.sampled_from([0.0, 0.25, 0.5, 1.0])))
    marks = fractions * max_marks
    if missing:
        hidden = draw(hnp.arrays(np.bool_, (attempts, items), elements=st.booleans()))
        marks[hidden] = np.nan
    return marks, max_marks


@st.composite
def binary_responses(draw: st.DrawFn, *, max_persons: int = 25, max_items: int = 5) -> np.ndarray:
    """0/1 responses with some NaN (persons × items)."""
    persons = draw(st.integers(1, max_persons))
    items = draw(st.integers(1, max_items))
    return draw(hnp.arrays(np.float64, (persons, items), elements=st.sampled_from([0.0, 1.0, np.nan])))


# Item parameters as calibrations give them, and priors near the N(0, 1) of the calibration
# (the range where ability()'s EAP quadrature is documented to be accurate: a·σ <= 3).
PRIOR_SDS = st.floats(0.5, 1.2)
PRIOR_MEANS = st.floats(-1.0, 1.0)
DIFFICULTIES = st.floats(-3.0, 3.0)
DISCRIMINATIONS = st.floats(0.2, 2.5)
