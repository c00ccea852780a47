"""Facility by parameter range and misconception rates, on hand-made arrays and on a graded batch."""

from __future__ import annotations

import numpy as np
import pytest

from engine import psychometrics as psy
from engine.grading import grade_responses
from engine.variants import generate_batch
from tests.engine import samples


def test_facility_by_explicit_edges_with_a_closed_last_bin() -> None:
    by = psy.facility_by_range([0, 0, 1, 1, 1, 0.5], [0.1, 0.2, 0.6, 0.9, 1.0, 0.4], bins=[0, 0.5, 1])
    np.testing.assert_array_equal(by.count, [3, 3])  # 1.0 falls in the last bin
    np.testing.assert_allclose(by.facility, [0.5 / 3, 1.0], rtol=1e-15)
    # bin 1: f = 0 0 .5, mean 1/6, s² = (2·(1/6)² + (1/3)²)/2 = 1/12, se = sqrt(1/12 / 3) = 1/6
    np.testing.assert_allclose(by.se, [1 / 6, 0.0], rtol=1e-14, atol=1e-17)


def test_facility_by_a_number_of_equal_bins() -> None:
    by = psy.facility_by_range([1, 0, 1, 1], [0.0, 1.0, 2.0, 4.0], bins=2)
    np.testing.assert_allclose(by.edges, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(by.count, [2, 2])
    np.testing.assert_allclose(by.facility, [0.5, 1.0])


def test_invalid_responses_and_values_outside_the_edges_are_left_out() -> None:
    by = psy.facility_by_range([1, np.nan, 0, 1, 1], [0.5, 0.5, 0.6, np.nan, 7.0], bins=[0, 1])
    np.testing.assert_array_equal(by.count, [2])
    np.testing.assert_allclose(by.facility, [0.5])


def test_an_empty_bin_has_no_facility() -> None:
    by = psy.facility_by_range([1, 0], [0.1, 0.2], bins=[0, 1, 2])
    np.testing.assert_array_equal(by.count, [2, 0])
    assert np.isnan(by.facility[1])
    assert np.isnan(by.se[1])


def test_bins_must_make_sense() -> None:
    with pytest.raises(ValueError, match="increase"):
        psy.facility_by_range([1.0], [0.5], bins=[1, 0])
    with pytest.raises(ValueError, match="at least 1"):
        psy.facility_by_range([1.0], [0.5], bins=0)
    with pytest.raises(ValueError, match="one parameter value per fraction"):
        psy.facility_by_range([1.0, 0.0], [0.5], bins=2)


def test_misconception_rates_divide_the_wrong_answers() -> None:
    rates = psy.misconception_rates([0, 0, 1, -1, 0, 1], ("sign", "scale"), [True, True, True, True, False, False])
    np.testing.assert_array_equal(rates.count, [2, 1])
    np.testing.assert_allclose(rates.rate, [0.5, 0.25])
    assert (rates.wrong, rates.unexplained, rates.unexplained_rate) == (4, 1, 0.25)
    assert rates.rate.sum() + rates.unexplained_rate == pytest.approx(1.0)


def test_no_wrong_answers_means_no_rates() -> None:
    rates = psy.misconception_rates([-1, -1], ("sign",), [False, False])
    assert rates.wrong == 0
    assert np.isnan(rates.rate).all()
    assert np.isnan(rates.unexplained_rate)


def test_misconception_codes_must_index_the_names() -> None:
    with pytest.raises(ValueError, match="index into the 1 names"):
        psy.misconception_rates([1], ("sign",), [True])
    with pytest.raises(ValueError, match="integers"):
        psy.misconception_rates([0.5], ("sign",), [True])


def test_a_graded_batch_of_a_computed_item_feeds_both() -> None:
    # Students answer the numeric ranking-loss item: the right value, one of its two named
    # misconceptions, or a stray number, in planted shares; closer pairs (small |r_w − r_l|) are
    # answered right less often. The grader's GradeBatch goes straight into the statistics.
    item = samples.item(samples.NUMERIC)
    batch = generate_batch(item, range(200))
    rng = np.random.default_rng(5)
    rows = rng.integers(0, len(batch), size=4000)
    gap = np.abs(batch.values["r_w"] - batch.values["r_l"]).ravel()[rows]
    right = rng.random(rows.size) < np.where(gap < 1.5, 0.4, 0.8)
    kind = np.where(right, 0, rng.choice([1, 2, 3], size=rows.size, p=[0.5, 0.3, 0.2]))
    names = list(item.misconceptions)
    candidates = [batch.key["answer"].ravel(), *(batch.key["misconception_values"][:, n] for n in range(2))]
    raw = [{"answer": f"{candidates[k][r]:.6g}" if k < 3 else "123.456"} for k, r in zip(kind, rows, strict=True)]
    graded = grade_responses(batch, raw, rows)

    by = psy.facility_by_range(graded.fraction, gap, bins=[0.3, 1.5, 4.0])
    assert by.facility[0] == pytest.approx(0.4, abs=0.04)
    assert by.facility[1] == pytest.approx(0.8, abs=0.04)

    rates = psy.misconception_rates(graded.misconception, graded.names, graded.fraction < 1)
    planted = {names[0]: 0.5, names[1]: 0.3}
    for name, rate in zip(rates.names, rates.rate, strict=True):
        assert rate == pytest.approx(planted[name], abs=0.04), name
    assert rates.unexplained_rate == pytest.approx(0.2, abs=0.04)
