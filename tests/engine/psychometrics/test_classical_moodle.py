"""Item and test statistics against Moodle's own fixture (mod/quiz/report/statistics/tests).

The expected values are ``statistics_test.php``'s, copied into ``expected_item_stats.json`` with
the multiplier Moodle's test applies (percent, or marks × 1000 for the SD). Moodle asserts an
absolute 1e-6 on the scaled value; the issue asks for a relative 1e-6, which is what is checked
(for the entries that are exactly 0 both are the same: Assay gives exactly 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import psychometrics as psy

from .data import moodle_quiz

RTOL = 1e-6  # issue 7: every expected value to a relative 1e-6


def scaled(stats: psy.ItemStatistics, max_marks: np.ndarray) -> dict[str, np.ndarray]:
    """Assay's fractions in the units of Moodle's test (see the JSON's "statistics" block)."""
    return {
        "facility": stats.facility * 100,
        "sd": stats.sd * max_marks * 1000,  # Moodle keeps the SD in marks
        "effectiveweight": stats.effective_weight * 100,
        "discriminationindex": stats.discrimination_index * 100,
        "discriminativeefficiency": stats.discriminative_efficiency * 100,
    }


def test_the_fixture_reads_as_22_attempts_by_20_slots(corpora: Path) -> None:
    quiz = moodle_quiz(corpora)
    assert quiz.marks.shape == (22, 20)
    assert quiz.max_marks[4:7].tolist() == [0.0, 0.0, 0.0]  # README: slots 5-7 have maxmark 0
    # sumgrades is the attempt total T that the rest scores are taken from
    np.testing.assert_allclose(quiz.marks.sum(axis=1), quiz.sumgrades, rtol=1e-12)


@pytest.mark.parametrize("statistic", ["facility", "sd", "effectiveweight", "discriminationindex",
                                       "discriminativeefficiency"])
def test_item_statistics_match_moodle(corpora: Path, statistic: str) -> None:
    quiz = moodle_quiz(corpora)
    ours = scaled(psy.item_statistics(quiz.marks, quiz.max_marks, random_guess_score=0.0),
                  quiz.max_marks)[statistic]
    expected = quiz.expected["statistics"][statistic]["expected"]
    assert len(expected) == 20
    for slot, (want, got) in enumerate(zip(expected, ours, strict=True), start=1):
        if want is None:  # Moodle's null: undefined (NaN here) or 0, see the JSON's null_semantics
            assert np.isnan(got) or got == 0, (slot, got)
        else:
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=0, err_msg=f"{statistic}, slot {slot}")


def test_where_moodle_says_null_assay_says_nan(corpora: Path) -> None:
    quiz = moodle_quiz(corpora)
    stats = psy.item_statistics(quiz.marks, quiz.max_marks)
    unmarked = slice(4, 7)  # maxmark 0: no facility; every attempt scores 0 on slots 1-7
    assert np.isnan(stats.facility[unmarked]).all()
    assert np.isnan(stats.discrimination_index[:7]).all()
    assert np.isnan(stats.discriminative_efficiency[:7]).all()
    np.testing.assert_array_equal(stats.effective_weight[:7], 0.0)


def test_test_statistics_match_the_values_derived_for_the_fixture(corpora: Path) -> None:
    # Not Moodle's oracle (statistics_test.php states no quiz-level values): the corpus's values
    # computed with Moodle's quiz-level formulas and cross-checked with scipy.stats and pingouin.
    quiz = moodle_quiz(corpora)
    want = quiz.expected["quiz_level_computed_here_not_moodle_oracle"]
    got = psy.test_statistics(quiz.marks, quiz.max_marks)
    assert (got.attempts, got.items) == (want["n_attempts"], want["n_slots_p"])
    rtol = 1e-9  # the JSON's suggested tolerance (values printed to 10 decimals)
    np.testing.assert_allclose(
        [got.mean, got.median, got.sd, got.skewness, got.kurtosis],
        [want["mean"], want["median"], want["sd"], want["skewness"], want["kurtosis"]], rtol=rtol)
    np.testing.assert_allclose(
        [got.cronbach_alpha * 100, got.error_ratio * 100, got.standard_error],
        [want["cic"], want["errorratio"], want["standarderror"]], rtol=rtol)
