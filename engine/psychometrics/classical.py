"""Classical item and test statistics, with Moodle's quiz-statistics definitions.

Moodle's quiz statistics report (``mod/quiz/report/statistics``) is what instructors compare
Assay with, so these follow its definitions one by one: sample moments with divisor ``s - 1``,
the discrimination index as the correlation of an item with the *rest* of the test, the
discriminative efficiency against the largest covariance the two marginal distributions allow,
bias-corrected (k-statistic) skewness and kurtosis, and the coefficient of internal consistency
over every slot, zero-mark slots included. Moodle stores percentages; Assay returns fractions.

Marks come as an (attempts × items) array. Where an item was not presented in an attempt (random
draws) its mark is NaN: each item's statistics are then taken over the attempts that saw it,
which is what Moodle does for a question drawn at random into a slot.

References
----------
.. [1] Moodle developer documentation, "Quiz statistics calculations",
   https://docs.moodle.org/dev/Quiz_statistics_calculations
.. [2] Moodle developer documentation, "Quiz report statistics",
   https://docs.moodle.org/en/Quiz_statistics_report
.. [3] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
   *Psychometrika* 16(3), 297-334.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ItemStatistics", "TestStatistics", "item_statistics", "test_statistics"]

# A variance or covariance this small relative to the squared scale of the marks is the rounding
# left over from a constant column; Moodle tests "is it zero" on exact PHP arithmetic.
_ZERO = (64 * np.finfo(np.float64).eps) ** 2


@dataclass(frozen=True, slots=True)
class ItemStatistics:
    """Per-item statistics, each an array with one entry per item (column), as fractions.

    Attributes
    ----------
    attempts : ndarray of int
        Attempts that were presented the item (``s`` in Moodle's formulas).
    facility : ndarray
        Mean mark over the max mark; NaN for an item whose max mark is 0 or that no attempt saw.
    sd : ndarray
        Sample standard deviation of the mark over the max mark.
    random_guess_score : ndarray
        Expected fraction from guessing, as given per item (NaN where not given).
    intended_weight : ndarray
        The item's max mark over the test's total max mark.
    effective_weight : ndarray
        The item's share of the spread of total marks; NaN where its covariance with the total
        is negative or no item covaries with the total.
    discrimination_index : ndarray
        Pearson correlation of the item mark with the rest of the test; NaN where either
        variance is 0.
    discriminative_efficiency : ndarray
        The covariance with the rest of the test over the largest it could be; NaN where that
        largest covariance is 0.
    """

    attempts: np.ndarray
    facility: np.ndarray
    sd: np.ndarray
    random_guess_score: np.ndarray
    intended_weight: np.ndarray
    effective_weight: np.ndarray
    discrimination_index: np.ndarray
    discriminative_efficiency: np.ndarray


@dataclass(frozen=True, slots=True)
class TestStatistics:
    """Statistics of the attempts' total marks (in marks unless said otherwise).

    NaN stands where Moodle leaves a value null: an SD needs 2 attempts, skewness 3, kurtosis 4,
    and the reliability figures need 2 items and a non-zero variance of the totals.
    """

    __test__ = False  # a result type, not a pytest test class

    attempts: int
    items: int
    max_mark: float
    mean: float
    median: float
    sd: float
    skewness: float
    kurtosis: float
    cronbach_alpha: float
    error_ratio: float
    standard_error: float


def _marks_array(marks: ArrayLike, max_marks: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(marks, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("marks must be a 2-d array: one row per attempt, one column per item")
    m = np.broadcast_to(np.asarray(max_marks, dtype=np.float64), (x.shape[1],)).copy()
    if np.isinf(x).any() or not np.isfinite(m).all():
        raise ValueError("marks and max_marks must be finite (NaN marks an item not presented)")
    return x, m


@dataclass(frozen=True, slots=True)
class _Moments:
    """Per-item sample moments of the mark x and the rest score R = T - x (divisor s - 1)."""

    attempts: np.ndarray
    mean_x: np.ndarray
    var_x: np.ndarray
    var_r: np.ndarray
    cov_xr: np.ndarray
    cov_max: np.ndarray  # C(x sorted, R sorted)


def _moments(x: np.ndarray) -> _Moments:
    shown = ~np.isnan(x)
    missing = not shown.all()
    s = shown.sum(axis=0)
    xz = np.where(shown, x, 0.0) if missing else x
    rest = xz.sum(axis=1)[:, None] - xz

    def centred(values: np.ndarray, mean: np.ndarray) -> np.ndarray:
        # values - mean on the attempts that saw the item, 0 elsewhere
        d = values - mean
        if missing:
            d[~shown] = 0.0
        return d

    with np.errstate(invalid="ignore", divide="ignore"):
        dof = s - 1.0
        mean_x = xz.sum(axis=0) / s
        mean_r = (np.where(shown, rest, 0.0) if missing else rest).sum(axis=0) / s
        dx = centred(x, mean_x)
        dr = centred(rest, mean_r)
        var_x = np.einsum("ij,ij->j", dx, dx) / dof
        var_r = np.einsum("ij,ij->j", dr, dr) / dof
        cov_xr = np.einsum("ij,ij->j", dx, dr) / dof
        # Sorting puts each column's NaNs last, so the sorted marks and rests pair up row by row
        # (and the NaN rows drop out of the centred products).
        scale_r = np.abs(np.where(shown, rest, 0.0) if missing else rest).max(axis=0, initial=0.0)
        if missing:
            rest[~shown] = np.nan
        sorted_dx = np.sort(x, axis=0) - mean_x
        sorted_dr = np.sort(rest, axis=0) - mean_r
        if missing:
            np.nan_to_num(sorted_dx, copy=False)
            np.nan_to_num(sorted_dr, copy=False)
        cov_max = np.einsum("ij,ij->j", sorted_dx, sorted_dr) / dof

    # Moodle asks "is this variance zero?" of exact arithmetic; here a variance within rounding
    # of 0 for the column's scale is taken for a constant column, and its covariances are 0.
    x_constant = var_x <= _ZERO * np.abs(xz).max(axis=0, initial=0.0) ** 2
    r_constant = var_r <= _ZERO * scale_r**2
    either = x_constant | r_constant
    return _Moments(
        attempts=s,
        mean_x=mean_x,
        var_x=np.where(x_constant, 0.0, var_x),
        var_r=np.where(r_constant, 0.0, var_r),
        cov_xr=np.where(either, 0.0, cov_xr),
        cov_max=np.where(either, 0.0, cov_max),
    )


def item_statistics(marks: ArrayLike, max_marks: ArrayLike,
                    random_guess_score: ArrayLike | None = None) -> ItemStatistics:
    r"""Moodle's item statistics for each item (column) of a test.

    Parameters
    ----------
    marks : array_like, shape (s, p)
        The mark of each attempt (row) on each item (column); NaN where the item was not
        presented in that attempt.
    max_marks : array_like, shape (p,) or scalar
        Each item's maximum mark :math:`m_p` (0 for an unmarked slot such as a description).
    random_guess_score : array_like, shape (p,), optional
        The fraction a random guess scores on each item (it depends on the question type: 0.5 for
        true/false, 1/n for a single-answer choice of n, 0 for a typed answer). Moodle's
        question types compute it; here it is passed through, NaN where not given.

    Returns
    -------
    ItemStatistics
        Arrays of shape (p,), fractions rather than Moodle's percentages.

    Notes
    -----
    With :math:`x_p` the item mark, :math:`T = \sum_p x_p` the attempt total and
    :math:`R_p = T - x_p` the rest of the test, over the :math:`s` attempts that saw item
    :math:`p` and with every (co)variance taken with divisor :math:`s - 1` [1]_:

    .. math::

        F_p = \frac{\bar x_p}{m_p}, \qquad
        \mathrm{SD}_p = \frac{\sqrt{V(x_p)}}{m_p}, \qquad
        \mathrm{IW}_p = \frac{m_p}{\sum_i m_i},

        \mathrm{EW}_p = \frac{\sqrt{C(x_p, T)}}{\sum_{i:\,C(x_i, T) \ge 0} \sqrt{C(x_i, T)}},

        D_p = \frac{C(x_p, R_p)}{\sqrt{V(x_p)\,V(R_p)}}, \qquad
        \mathrm{DE}_p = \frac{C(x_p, R_p)}{C(x_p^{\uparrow}, R_p^{\uparrow})},

    where :math:`x^{\uparrow}` is sorted ascending, so that the denominator of
    :math:`\mathrm{DE}_p` is the largest covariance any pairing of the same marks could reach
    (the rearrangement inequality). The discrimination index correlates with the rest of the
    test rather than the total, so that an item is not credited for correlating with itself.

    References
    ----------
    .. [1] Moodle developer documentation, "Quiz statistics calculations",
       https://docs.moodle.org/dev/Quiz_statistics_calculations

    Examples
    --------
    >>> from engine.psychometrics import item_statistics
    >>> stats = item_statistics([[1, 2], [0, 1], [1, 0], [0, 0]], [1, 2])
    >>> stats.facility
    array([0.5  , 0.375])
    >>> round(float(stats.discrimination_index[0]), 4)
    0.3015
    """
    x, m = _marks_array(marks, max_marks)
    p = x.shape[1]
    mo = _moments(x)
    enough = mo.attempts > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        facility = np.where(m != 0, mo.mean_x / m, np.nan)
        sd = np.where(enough & (m != 0), np.sqrt(mo.var_x) / m, np.nan)
        discrimination = np.where(enough & (mo.var_x > 0) & (mo.var_r > 0),
                                  mo.cov_xr / np.sqrt(mo.var_x * mo.var_r), np.nan)
        efficiency = np.where(enough & (mo.cov_max != 0), mo.cov_xr / mo.cov_max, np.nan)

        # C(x, T) = C(x, R + x) = C(x, R) + V(x), over the same attempts
        cov_xt = mo.cov_xr + mo.var_x
        nonnegative = enough & (cov_xt >= 0)
        root = np.sqrt(np.where(nonnegative, cov_xt, 0.0))
        denominator = root.sum()
        effective = np.where(nonnegative & (denominator > 0), root / denominator, np.nan)

        total_max = m.sum()
        intended = m / total_max if total_max != 0 else np.full(p, np.nan)

    if random_guess_score is None:
        guess = np.full(p, np.nan)
    else:
        guess = np.broadcast_to(np.asarray(random_guess_score, dtype=np.float64), (p,)).copy()

    return ItemStatistics(
        attempts=mo.attempts,
        facility=facility,
        sd=sd,
        random_guess_score=guess,
        intended_weight=intended,
        effective_weight=effective,
        discrimination_index=discrimination,
        discriminative_efficiency=efficiency,
    )


def test_statistics(marks: ArrayLike, max_marks: ArrayLike) -> TestStatistics:
    r"""Moodle's statistics of the total marks of a test's attempts.

    Parameters
    ----------
    marks : array_like, shape (s, p)
        The mark of each attempt on each of the test's ``p`` slots; every attempt must have a
        mark for every slot (the reliability figures are defined over whole tests).
    max_marks : array_like, shape (p,) or scalar
        Each slot's maximum mark (only its sum, ``max_mark``, is reported).

    Returns
    -------
    TestStatistics
        Mean, median, SD and standard error in marks; skewness, kurtosis, Cronbach's alpha and the
        error ratio as plain numbers (Moodle shows the last two as percentages).

    Notes
    -----
    With totals :math:`T_1..T_s`, :math:`m_r = \frac1s \sum (T - \bar T)^r` and Fisher's
    k-statistics [1]_:

    .. math::

        k_2 = \frac{s\,m_2}{s - 1}, \quad
        k_3 = \frac{s^2 m_3}{(s-1)(s-2)}, \quad
        k_4 = \frac{s^2\,((s+1)\,m_4 - 3(s-1)\,m_2^2)}{(s-1)(s-2)(s-3)},

        \mathrm{SD} = \sqrt{k_2}, \quad
        \mathrm{skewness} = \frac{k_3}{k_2^{3/2}}, \quad
        \mathrm{kurtosis} = \frac{k_4}{k_2^2} \text{ (excess)},

        \alpha = \frac{p}{p - 1}\Bigl(1 - \frac{\sum_p V(x_p)}{k_2}\Bigr), \quad
        \mathrm{ER} = \sqrt{1 - \alpha}, \quad
        \mathrm{SE} = \mathrm{ER} \cdot \mathrm{SD}.

    :math:`\alpha` is Cronbach's coefficient [2]_ (Moodle's "coefficient of internal
    consistency"; for items marked 0/1 it is KR-20). As in Moodle, ``p`` counts every slot,
    zero-mark ones included, and the median of an even number of totals is the mean of the
    middle two.

    References
    ----------
    .. [1] Moodle developer documentation, "Quiz statistics calculations",
       https://docs.moodle.org/dev/Quiz_statistics_calculations
    .. [2] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       *Psychometrika* 16(3), 297-334.

    Examples
    --------
    >>> from engine.psychometrics import test_statistics
    >>> stats = test_statistics([[1, 1], [1, 0], [0, 0], [1, 1]], [1, 1])
    >>> float(stats.mean), round(float(stats.cronbach_alpha), 4)
    (1.25, 0.7273)
    """
    x, m = _marks_array(marks, max_marks)
    if np.isnan(x).any():
        raise ValueError("test statistics need a mark for every slot of every attempt")
    s, p = x.shape
    nan = float("nan")
    if s == 0:
        return TestStatistics(0, p, float(m.sum()), nan, nan, nan, nan, nan, nan, nan, nan)

    total = x.sum(axis=1)
    mean = float(total.mean())
    median = float(np.median(total))
    sd = skewness = kurtosis = alpha = error_ratio = standard_error = nan
    if s > 1:
        d = total - mean
        m2, m3, m4 = (float((d**r).sum()) / s for r in (2, 3, 4))
        k2 = s * m2 / (s - 1)
        if k2 <= _ZERO * float(np.abs(total).max()) ** 2:
            k2 = 0.0
        sd = float(np.sqrt(k2))
        if s > 2 and k2 != 0:
            k3 = s * s * m3 / ((s - 1) * (s - 2))
            skewness = k3 / k2**1.5
            if s > 3:
                k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
                kurtosis = k4 / (k2 * k2)
            if p > 1:
                item_variance = float(x.var(axis=0, ddof=1).sum())
                alpha = p / (p - 1) * (1 - item_variance / k2)
                error_ratio = float(np.sqrt(1 - alpha))
                standard_error = error_ratio * sd
    return TestStatistics(
        attempts=s, items=p, max_mark=float(m.sum()), mean=mean, median=median, sd=sd,
        skewness=skewness, kurtosis=kurtosis, cronbach_alpha=alpha, error_ratio=error_ratio,
        standard_error=standard_error,
    )


# The name is DESIGN's; pytest would otherwise collect it as a test wherever a test imports it.
test_statistics.__test__ = False  # type: ignore[attr-defined]
