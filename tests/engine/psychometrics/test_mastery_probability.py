"""P(success rate >= level) under a Beta posterior, against mpmath's regularised incomplete beta."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from engine.psychometrics import mastery_probability


@pytest.mark.parametrize(("alpha", "beta"), [(1, 1), (11, 1), (5, 3), (40.5, 3.5), (200, 20), (2.25, 7.75)])
def test_it_is_the_regularised_incomplete_beta_complement(alpha: float, beta: float) -> None:
    expected = float(mpmath.betainc(alpha, beta, 0.8, 1, regularized=True))  # mpmath, 1 - I_0.8(a, b)
    assert float(mastery_probability(alpha, beta)) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_ten_right_answers_and_none_wrong_is_just_mastery() -> None:
    # Beta(11, 1): P(mu >= 0.8) = 1 - 0.8^11 = 0.914 >= 0.9; nine right: 1 - 0.8^10 = 0.893 < 0.9
    np.testing.assert_allclose(mastery_probability([11, 10], [1, 1]), [1 - 0.8**11, 1 - 0.8**10], rtol=1e-12)


def test_it_broadcasts_and_refuses_what_no_posterior_gives() -> None:
    assert mastery_probability(np.full((2, 3), 3.0), 2.0).shape == (2, 3)
    with pytest.raises(ValueError, match="at least 1"):
        mastery_probability(0.5, 1)
    with pytest.raises(ValueError, match="strictly between"):
        mastery_probability(2, 2, level=1.0)
