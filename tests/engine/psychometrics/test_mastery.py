"""Concept mastery: the Beta–Binomial posterior per student and concept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import psychometrics as psy

from .strategies import SETTINGS, quiz_marks


def beta_sd(alpha: float, beta: float) -> float:
    return float(np.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))))


def test_two_right_of_two_is_beta_3_1() -> None:
    m = psy.concept_mastery([[1, 1, np.nan]], [1, 1, 1], {"loss": [0, 1, 2]})
    assert m.concepts == ("loss",)
    assert (m.alpha[0, 0], m.beta[0, 0], m.evidence[0, 0]) == (3.0, 1.0, 2.0)
    assert m.mean[0, 0] == pytest.approx(0.75, rel=1e-15)
    assert m.sd[0, 0] == pytest.approx(beta_sd(3, 1), rel=1e-15)


def test_a_student_who_answered_none_of_the_items_has_the_prior() -> None:
    m = psy.concept_mastery([[np.nan, 1.0]], [1, 1], {"a": [0], "b": [1]}, prior=(2.0, 2.0))
    assert m.mean[0, 0] == 0.5
    assert m.sd[0, 0] == pytest.approx(beta_sd(2, 2), rel=1e-15)
    assert m.evidence[0, 0] == 0.0


def test_partial_credit_is_a_fractional_success() -> None:
    m = psy.concept_mastery([[0.5, 2.0]], [1, 4], {"c": [0, 1]})
    # weights m_j / mean(m) = 0.4, 1.6; successes 0.4·0.5 + 1.6·0.5 = 1.0 of evidence 2.0
    assert (m.alpha[0, 0], m.beta[0, 0]) == pytest.approx((2.0, 2.0), rel=1e-15)


def test_items_weigh_by_their_marks() -> None:
    # right on the 3-mark item, wrong on the 1-mark one: weights 1.5 and 0.5
    m = psy.concept_mastery([[3.0, 0.0]], [3, 1], {"c": [0, 1]})
    assert (m.alpha[0, 0], m.beta[0, 0]) == pytest.approx((2.5, 1.5), rel=1e-15)


def test_an_item_can_serve_several_concepts() -> None:
    m = psy.concept_mastery([[1.0, 0.0, 1.0]], [1, 1, 1], {"a": [0, 1], "b": [1, 2], "c": []})
    np.testing.assert_allclose(m.mean, [[0.5, 0.5, 0.5]])
    np.testing.assert_allclose(m.evidence, [[2.0, 2.0, 0.0]])


@SETTINGS
@given(quiz_marks(missing=True, max_items=5), st.integers(1, 4))
def test_more_answers_of_the_same_kind_mean_less_uncertainty(quiz: tuple[np.ndarray, np.ndarray], copies: int) -> None:
    marks, max_marks = quiz
    tags = {"all": list(range(marks.shape[1]))}
    once = psy.concept_mastery(marks, max_marks, tags)
    more = psy.concept_mastery(np.tile(marks, copies + 1), np.tile(max_marks, copies + 1),
                               {"all": list(range(marks.shape[1] * (copies + 1)))})
    assert ((once.mean >= 0) & (once.mean <= 1)).all()
    seen = once.evidence > 0
    assert (more.sd[seen] < once.sd[seen]).all()
    np.testing.assert_allclose(more.sd[~seen], once.sd[~seen])


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and the item's max mark"):
        psy.concept_mastery([[2.0]], [1], {"c": [0]})
    with pytest.raises(ValueError, match="does not exist"):
        psy.concept_mastery([[1.0]], [1], {"c": [3]})
    with pytest.raises(ValueError, match="positive"):
        psy.concept_mastery([[1.0]], [1], {"c": [0]}, prior=(0.0, 1.0))
    with pytest.raises(ValueError, match="2-d"):
        psy.concept_mastery([1.0], [1], {"c": [0]})
