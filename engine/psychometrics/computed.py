r"""Statistics for computed items: facility by variant parameter, and misconceptions among wrong answers.

A computed item draws its numbers per variant, so one item is really a family of questions. The
instructor's questions are then "is the item harder when :math:`|r_w - r_l|` is small?" and "of
the students who got it wrong, how many made *this* mistake?". Both take the arrays the batch
grader produces (``engine.grading``'s ``GradeBatch``: a fraction and a misconception code per
response) plus, for the first, the parameter value of each response's variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["FacilityByRange", "MisconceptionRates", "facility_by_range", "misconception_rates"]


@dataclass(frozen=True, slots=True)
class FacilityByRange:
    r"""Facility per bin of a variant parameter.

    Attributes
    ----------
    edges : ndarray, shape (bins + 1,)
        Bin edges; bin ``i`` is ``[edges[i], edges[i+1])``, the last one closed.
    count : ndarray of int, shape (bins,)
        Graded responses in each bin.
    facility : ndarray, shape (bins,)
        Mean fraction in each bin; NaN for an empty bin.
    se : ndarray, shape (bins,)
        Standard error of that mean, :math:`s / \sqrt{n}`; NaN below 2 responses.
    """

    edges: np.ndarray
    count: np.ndarray
    facility: np.ndarray
    se: np.ndarray


@dataclass(frozen=True, slots=True)
class MisconceptionRates:
    """How the wrong answers divide among the item's named misconceptions.

    Attributes
    ----------
    names : tuple of str
    count : ndarray of int, shape (misconceptions,)
        Wrong answers matching each misconception.
    rate : ndarray, shape (misconceptions,)
        ``count / wrong``: the share of wrong answers matching each one; NaN when nothing was wrong.
    wrong : int
        Wrong answers in all.
    unexplained : int
        Wrong answers matching no named misconception.
    """

    names: tuple[str, ...]
    count: np.ndarray
    rate: np.ndarray
    wrong: int
    unexplained: int

    @property
    def unexplained_rate(self) -> float:
        return self.unexplained / self.wrong if self.wrong else float("nan")


def facility_by_range(fractions: ArrayLike, values: ArrayLike, bins: int | ArrayLike = 10) -> FacilityByRange:
    r"""Facility of a computed item within ranges of one of its variant parameters.

    Parameters
    ----------
    fractions : array_like, shape (n,)
        The graded fraction of each response; NaN (an invalid, ungraded response) is left out.
    values : array_like, shape (n,)
        The parameter's value in the variant each response answered, e.g. :math:`|r_w - r_l|`;
        NaN is left out.
    bins : int or array_like
        A number of equal-width bins over the range of the values, or increasing bin edges
        (values outside them are left out), as :func:`numpy.histogram`.

    Returns
    -------
    FacilityByRange

    Notes
    -----
    In bin :math:`B` with :math:`n_B` responses, the facility is
    :math:`\bar f_B = \frac{1}{n_B} \sum_{i \in B} f_i` and its standard error
    :math:`s_B / \sqrt{n_B}` with the sample SD :math:`s_B` (divisor :math:`n_B - 1`): the
    facility of Moodle's item statistics [1]_, conditioned on the parameter.

    References
    ----------
    .. [1] Moodle developer documentation, "Quiz statistics calculations",
       https://docs.moodle.org/dev/Quiz_statistics_calculations

    Examples
    --------
    >>> from engine.psychometrics import facility_by_range
    >>> by = facility_by_range([0, 0, 1, 1, 1, 0.5], [0.1, 0.2, 0.6, 0.9, 1.0, 0.4], bins=[0, 0.5, 1])
    >>> by.count, by.facility
    (array([3, 3]), array([0.16666667, 1.        ]))
    """
    f = np.asarray(fractions, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if f.shape != v.shape:
        raise ValueError("give one parameter value per fraction")
    graded = np.isfinite(f) & np.isfinite(v)
    f, v = f[graded], v[graded]
    if isinstance(bins, (int, np.integer)):
        if bins < 1:
            raise ValueError("bins must be at least 1")
        edges = np.histogram_bin_edges(v, bins=int(bins))
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or not (np.diff(edges) > 0).all():
            raise ValueError("bin edges must increase")
    n_bins = edges.size - 1
    index = np.searchsorted(edges, v, side="right") - 1
    index[v == edges[-1]] = n_bins - 1  # the last bin is closed
    inside = (index >= 0) & (index < n_bins)
    index, f = index[inside], f[inside]

    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        facility = np.bincount(index, weights=f, minlength=n_bins) / count
        squares = np.bincount(index, weights=(f - facility[index]) ** 2, minlength=n_bins)
        se = np.where(count > 1, np.sqrt(squares / (count - 1) / count), np.nan)
    return FacilityByRange(edges=edges, count=count, facility=facility, se=se)


def misconception_rates(codes: ArrayLike, names: Sequence[str], wrong_mask: ArrayLike) -> MisconceptionRates:
    r"""The share of wrong answers that match each named misconception.

    Parameters
    ----------
    codes : array_like of int, shape (n,)
        Each response's misconception, an index into ``names``, or -1 for none (as
        ``GradeBatch.misconception``).
    names : sequence of str
        The item's misconceptions (``GradeBatch.names``).
    wrong_mask : array_like of bool, shape (n,)
        Which responses count as wrong (e.g. ``fraction < 1`` and graded). Codes on other
        responses are ignored.

    Returns
    -------
    MisconceptionRates

    Notes
    -----
    With :math:`W` the wrong answers, the rate of misconception :math:`m` is
    :math:`|\{i \in W : \text{code}_i = m\}| / |W|`. The rates and the unexplained share add to 1,
    so a misconception "most wrong answers share" is one with a rate above 1/2.

    Examples
    --------
    >>> from engine.psychometrics import misconception_rates
    >>> rates = misconception_rates([0, 0, 1, -1, 0], ("sign", "scale"), [True, True, True, True, False])
    >>> rates.rate, rates.unexplained
    (array([0.5 , 0.25]), 1)
    """
    code = np.asarray(codes).ravel()
    wrong = np.asarray(wrong_mask, dtype=bool).ravel()
    if code.shape != wrong.shape:
        raise ValueError("give one wrong_mask entry per code")
    if code.size and not np.issubdtype(code.dtype, np.integer):
        raise ValueError("misconception codes must be integers")
    labels = tuple(names)
    if code.size and (code.min() < -1 or code.max() >= len(labels)):
        raise ValueError(f"misconception codes must be -1 or an index into the {len(labels)} names")
    chosen = code[wrong].astype(np.int64)
    count = np.bincount(chosen[chosen >= 0], minlength=len(labels))
    n_wrong = int(wrong.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = count / n_wrong if n_wrong else np.full(len(labels), np.nan)
    return MisconceptionRates(names=labels, count=count, rate=rate, wrong=n_wrong,
                              unexplained=int((chosen < 0).sum()))
