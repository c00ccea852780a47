"""Item and test statistics: named edge cases, a loop-by-loop reference, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from engine import psychometrics as psy

from .reference import item_statistics_loop
from .strategies import SETTINGS, quiz_marks

# Four attempts at a 1-mark and a 2-mark item, worked by hand below.
SMALL = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])


def test_small_quiz_worked_by_hand() -> None:
    stats = psy.item_statistics(SMALL, [1, 2])
    # item 1: x = 1 0 1 0, rest = 2 1 0 0: C = 0.5/3, V(x) = 1/3, V(R) = 2.75/3
    np.testing.assert_allclose(stats.facility, [0.5, 0.375], rtol=1e-15)
    np.testing.assert_allclose(stats.discrimination_index[0], 0.5 / np.sqrt(2.75), rtol=1e-14)
    # sorted: x − x̄ = −.5 −.5 .5 .5, rest − R̄ = −.75 −.75 .25 1.25: max C = 1.5/3
    np.testing.assert_allclose(stats.discriminative_efficiency[0], 0.5 / 1.5, rtol=1e-14)
    np.testing.assert_allclose(stats.intended_weight, [1 / 3, 2 / 3], rtol=1e-15)


def test_an_item_everyone_gets_right_has_no_discrimination() -> None:
    marks = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    stats = psy.item_statistics(marks, [1, 1])
    assert stats.facility[0] == 1.0
    assert stats.sd[0] == 0.0
    assert np.isnan(stats.discrimination_index[0])
    assert np.isnan(stats.discriminative_efficiency[0])
    assert stats.effective_weight[0] == 0.0


def test_a_constant_mark_that_is_not_a_binary_fraction_is_still_constant() -> None:
    marks = np.array([[0.1, 1.0], [0.1, 0.0], [0.1, 1.0], [0.1, 0.0], [0.1, 1.0], [0.1, 1.0], [0.1, 0.0]])
    stats = psy.item_statistics(marks, [1, 1])
    assert stats.sd[0] == 0.0
    assert np.isnan(stats.discrimination_index[0])


def test_a_one_item_quiz_has_no_rest_to_discriminate_against() -> None:
    stats = psy.item_statistics([[0.0], [1.0], [0.3]], [1])
    assert np.isnan(stats.discrimination_index[0])
    assert np.isnan(stats.discriminative_efficiency[0])
    assert stats.effective_weight[0] == 1.0


def test_an_unmarked_slot_has_no_facility_or_sd_and_no_intended_weight() -> None:
    stats = psy.item_statistics([[0.0, 1.0], [0.0, 0.0]], [0, 1])
    assert np.isnan(stats.facility[0])
    assert np.isnan(stats.sd[0])
    assert stats.intended_weight[0] == 0.0


def test_one_attempt_gives_facility_but_no_spread() -> None:
    stats = psy.item_statistics([[1.0, 0.0]], [1, 1])
    np.testing.assert_array_equal(stats.facility, [1.0, 0.0])
    for spread in (stats.sd, stats.discrimination_index, stats.discriminative_efficiency, stats.effective_weight):
        assert np.isnan(spread).all()


def test_an_item_running_against_the_test_has_negative_discrimination_and_no_effective_weight() -> None:
    good = np.array([1, 1, 1, 0, 0, 0], dtype=float)
    marks = np.column_stack([good, good, good, 1 - good])
    stats = psy.item_statistics(marks, [1, 1, 1, 1])
    assert stats.discrimination_index[3] == pytest.approx(-1.0)
    assert np.isnan(stats.effective_weight[3])  # Moodle: negcovar → null
    np.testing.assert_allclose(np.nansum(stats.effective_weight), 1.0, rtol=1e-14)


def test_random_guess_score_is_passed_through_and_nan_when_not_given() -> None:
    assert np.isnan(psy.item_statistics(SMALL, [1, 2]).random_guess_score).all()
    stats = psy.item_statistics(SMALL, [1, 2], random_guess_score=[0.5, 0.25])
    np.testing.assert_array_equal(stats.random_guess_score, [0.5, 0.25])


def test_items_not_presented_are_left_out_of_that_item_only() -> None:
    marks = np.array([[1.0, np.nan, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, np.nan], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    stats = psy.item_statistics(marks, [1, 1, 1])
    np.testing.assert_array_equal(stats.attempts, [5, 4, 4])
    np.testing.assert_allclose(stats.facility, [0.6, 0.75, 0.5], rtol=1e-15)


def test_marks_must_be_a_matrix_of_finite_numbers() -> None:
    with pytest.raises(ValueError, match="2-d"):
        psy.item_statistics([1.0, 0.0], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        psy.item_statistics([[np.inf, 0.0]], [1, 1])


@SETTINGS
@given(quiz_marks(missing=True))
def test_vectorised_item_statistics_equal_moodles_walkers_step_by_step(quiz: tuple[np.ndarray, np.ndarray]) -> None:
    marks, max_marks = quiz
    stats = psy.item_statistics(marks, max_marks)
    loop = item_statistics_loop(marks, max_marks)
    for name in ("facility", "sd", "discrimination_index", "discriminative_efficiency"):
        np.testing.assert_allclose(getattr(stats, name), loop[name], rtol=1e-9, atol=1e-12, err_msg=name)
    cov = np.array(loop["cov_total"])
    root = np.sqrt(np.where(cov >= 0, cov, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(cov >= 0, root / np.nansum(root), np.nan)
    np.testing.assert_allclose(stats.effective_weight, weight, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(quiz_marks(missing=True))
def test_statistics_are_bounded(quiz: tuple[np.ndarray, np.ndarray]) -> None:
    stats = psy.item_statistics(*quiz)
    finite = np.isfinite(stats.facility)
    assert ((stats.facility[finite] >= 0) & (stats.facility[finite] <= 1)).all()
    index = stats.discrimination_index[np.isfinite(stats.discrimination_index)]
    assert (np.abs(index) <= 1 + 1e-12).all()
    efficiency = stats.discriminative_efficiency[np.isfinite(stats.discriminative_efficiency)]
    assert (efficiency <= 1 + 1e-12).all()  # the sorted pairing has the largest covariance


@SETTINGS
@given(quiz_marks(), quiz_marks().map(lambda q: q[0].shape[0]))
def test_statistics_ignore_the_order_of_attempts_and_the_unit_of_marks(
        quiz: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    marks, max_marks = quiz
    order = np.random.default_rng(seed).permutation(marks.shape[0])
    a = psy.item_statistics(marks, max_marks)
    b = psy.item_statistics(marks[order] * 4, max_marks * 4)
    for name in ("facility", "sd", "intended_weight", "effective_weight", "discrimination_index",
                 "discriminative_efficiency"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-9, atol=1e-12, err_msg=name)


def test_test_statistics_of_a_small_quiz_worked_by_hand() -> None:
    stats = psy.test_statistics([[1, 1], [1, 0], [0, 0], [1, 1]], [1, 1])
    # totals 2 1 0 2: mean 1.25, V(T) = 2.75/3; item variances 0.25 and 1/3
    assert (stats.mean, stats.median, stats.max_mark) == (1.25, 1.5, 2.0)
    np.testing.assert_allclose(stats.sd, np.sqrt(2.75 / 3), rtol=1e-15)
    np.testing.assert_allclose(stats.cronbach_alpha, 2 * (1 - (0.25 + 1 / 3) / (2.75 / 3)), rtol=1e-14)
    np.testing.assert_allclose(stats.error_ratio, np.sqrt(1 - stats.cronbach_alpha), rtol=1e-15)
    np.testing.assert_allclose(stats.standard_error, stats.error_ratio * stats.sd, rtol=1e-15)


def test_skewness_and_kurtosis_are_the_k_statistic_ratios() -> None:
    # totals 0 1 1 2 6, mean 2: m2 = 22/5, m3 = 54/5, m4 = 274/5 (central moments, divisor 5);
    # k2 = 5·m2/4 = 5.5, k3 = 25·m3/(4·3) = 22.5, k4 = 25·(6·m4 − 3·4·m2²)/(4·3·2) = 100.5
    stats = psy.test_statistics(np.array([[0.0], [1.0], [1.0], [2.0], [6.0]]).repeat(2, axis=1) / 2, [3, 3])
    np.testing.assert_allclose(stats.skewness, 22.5 / 5.5**1.5, rtol=1e-12)
    np.testing.assert_allclose(stats.kurtosis, 100.5 / 5.5**2, rtol=1e-12)


@pytest.mark.parametrize(("attempts", "defined"), [
    (1, {"mean", "median"}),
    (2, {"mean", "median", "sd"}),
    (3, {"mean", "median", "sd", "skewness", "cronbach_alpha", "error_ratio", "standard_error"}),
    (4, {"mean", "median", "sd", "skewness", "kurtosis", "cronbach_alpha", "error_ratio", "standard_error"}),
])
def test_test_statistics_need_enough_attempts(attempts: int, defined: set[str]) -> None:
    marks = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])[:attempts]
    stats = psy.test_statistics(marks, [1, 1])
    for name in ("mean", "median", "sd", "skewness", "kurtosis", "cronbach_alpha", "error_ratio", "standard_error"):
        assert np.isfinite(getattr(stats, name)) == (name in defined), name


def test_equal_totals_have_no_shape_or_reliability() -> None:
    stats = psy.test_statistics([[1, 0], [0, 1], [1, 0], [0, 1]], [1, 1])
    assert stats.sd == 0.0
    assert np.isnan([stats.skewness, stats.kurtosis, stats.cronbach_alpha]).all()


def test_test_statistics_need_every_mark() -> None:
    with pytest.raises(ValueError, match="every slot"):
        psy.test_statistics([[1.0, np.nan], [0.0, 1.0]], [1, 1])


@SETTINGS
@given(quiz_marks(min_attempts=3))
def test_cronbach_alpha_of_right_or_wrong_items_is_kr20(quiz: tuple[np.ndarray, np.ndarray]) -> None:
    marks = (quiz[0] > 0).astype(float)
    stats = psy.test_statistics(marks, 1.0)
    k = marks.shape[1]
    p = marks.mean(axis=0)
    variance = marks.sum(axis=1).var()  # KR-20 with population variances: the s/(s-1) cancels
    if k < 2 or variance == 0:
        return
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / variance)
    np.testing.assert_allclose(stats.cronbach_alpha, kr20, rtol=1e-9, atol=1e-12)
