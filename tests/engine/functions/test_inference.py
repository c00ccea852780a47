"""length_normalised_score, repetition_penalty, speculative decoding, absmax_quantise and
lora_parameter_count: papers' numbers, 50-digit mpmath, and properties."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.functions import (
    absmax_quantise,
    length_normalised_score,
    lora_parameter_count,
    repetition_penalty,
    speculative_expected_tokens,
    speculative_speedup,
)
from engine.functions.registry import DOMAINS

from . import reference_inference as ref
from .strategies import ANY_FINITE, ORDINARY, SETTINGS, UNIT, rows

RTOL = 1e-13
ALPHAS = (0.0, 1e-300, 1e-8, 0.1, 0.5, 0.6, 0.8, 0.9, 0.99, 1 - 1e-8, 1 - 2.0**-53, 1.0)
GAMMAS = (0, 1, 2, 3, 5, 7, 10, 100, 1000)


def assert_matches(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(actual, np.array([float(e) for e in expected]), rtol=rtol, atol=0)


# --------------------------------------------------------------------------------------------
# Speculative decoding (Leviathan, Kalman & Matias 2023)


def test_speculative_expected_tokens_is_the_geometric_series_by_hand():
    # eq. (1): (1 - α^(γ+1)) / (1 - α); α = 0.5, γ = 3: 1 + 0.5 + 0.25 + 0.125 = 1.875;
    # α = 0.8, γ = 5: (1 - 0.262144) / 0.2 = 3.68928.
    np.testing.assert_allclose(speculative_expected_tokens([0.5, 0.8], [3, 5]), [1.875, 3.68928], rtol=1e-15)


def test_speculative_expected_tokens_limits():
    # No acceptance: the target's own token only; full acceptance: γ drafts and the bonus token.
    assert speculative_expected_tokens(0.0, 7) == 1.0
    assert speculative_expected_tokens(1.0, 7) == 8.0
    assert speculative_expected_tokens(0.9, 0) == 1.0


def test_speculative_expected_tokens_matches_mpmath():
    alpha, gamma = (np.array(c) for c in zip(*itertools.product(ALPHAS, GAMMAS), strict=True))
    expected = [ref.speculative_expected_tokens(a, int(g)) for a, g in zip(alpha, gamma, strict=True)]
    assert_matches(speculative_expected_tokens(alpha, gamma), expected)


def test_speculative_speedup_matches_mpmath():
    cases = list(itertools.product((0.0, 0.5, 0.8, 0.99, 1.0), (1, 3, 7), (0.0, 0.02, 0.1, 1.0)))
    alpha, gamma, cost = (np.array(c) for c in zip(*cases, strict=True))
    expected = [ref.speculative_speedup(a, int(g), c) for a, g, c in cases]
    assert_matches(speculative_speedup(alpha, gamma, cost), expected)


def test_speculative_speedup_at_zero_cost_is_the_token_count():
    np.testing.assert_array_equal(speculative_speedup(0.7, 4, 0.0), speculative_expected_tokens(0.7, 4))


def test_speculative_speedup_below_one_when_drafts_are_rarely_accepted():
    # α = 0.1, γ = 5, c = 0.2: 1.11111 / 2 = 0.555555...: a slow draft that is rarely right hurts.
    np.testing.assert_allclose(speculative_speedup(0.1, 5, 0.2), 1.111111 / 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("alpha", "gamma", "message"),
    [(-0.1, 3, "alpha must lie in"), (1.5, 3, "alpha must lie in"), (np.nan, 3, "alpha must lie in"),
     (0.5, -1, "gamma must be a whole number"), (0.5, 2.5, "gamma must be a whole number")],
)
def test_speculative_expected_tokens_refuses_bad_arguments(alpha, gamma, message):
    with pytest.raises(ValueError, match=message):
        speculative_expected_tokens(alpha, gamma)


def test_speculative_speedup_refuses_a_negative_cost():
    with pytest.raises(ValueError, match="cost_ratio must be >= 0"):
        speculative_speedup(0.5, 3, -0.1)


@SETTINGS
@given(UNIT, st.integers(0, 10_000))
def test_speculative_expected_tokens_lies_between_one_and_gamma_plus_one(alpha, gamma):
    tokens = speculative_expected_tokens(alpha, gamma)
    assert 1.0 <= tokens <= gamma + 1.0
    assert speculative_expected_tokens(alpha, gamma + 1) >= tokens


@SETTINGS
@given(UNIT, UNIT, st.integers(1, 50))
def test_speculative_expected_tokens_grows_with_alpha(a, b, gamma):
    low, high = sorted((a, b))
    assert speculative_expected_tokens(low, gamma) <= speculative_expected_tokens(high, gamma) * (1 + 1e-15)


# --------------------------------------------------------------------------------------------
# Length-normalised beam scores


def test_length_normalisation_prefers_the_longer_hypothesis_by_hand():
    # -4 over 4 tokens is -1 per token; -6 over 8 tokens is -0.75: normalised, the longer wins.
    np.testing.assert_array_equal(length_normalised_score([-4.0, -6.0], [4, 8]), [-1.0, -0.75])
    np.testing.assert_array_equal(length_normalised_score([-4.0, -6.0], [4, 8], 0.0), [-4.0, -6.0])


def test_gnmt_penalty_by_hand():
    # Wu et al. 2016: lp(Y) = ((5 + |Y|) / 6)^α; |Y| = 7, α = 1: 2, so -6 scores -3; α = 0.5: √2.
    np.testing.assert_allclose(
        length_normalised_score(-6.0, 7, [1.0, 0.5], kind="gnmt"), [-3.0, -6.0 / np.sqrt(2.0)], rtol=1e-15
    )


@pytest.mark.parametrize("kind", ["power", "gnmt"])
def test_length_normalised_score_matches_mpmath(kind):
    cases = list(itertools.product((0.0, -1e-8, -0.7, -12.5, -1e6), (1, 2, 9, 1000), (0.0, 0.6, 1.0, 2.0)))
    logp, length, alpha = (np.array(c) for c in zip(*cases, strict=True))
    expected = [ref.length_normalised_score(lp, int(n), a, kind) for lp, n, a in cases]
    assert_matches(length_normalised_score(logp, length, alpha, kind=kind), expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [((-1.0, 0, 1.0), "length must be a whole number >= 1"), ((-1.0, 2.5, 1.0), "length must be"),
     ((-1.0, 3, -0.5), "alpha must be >= 0")],
)
def test_length_normalised_score_refuses_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        length_normalised_score(*args)


def test_length_normalised_score_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be 'power' or 'gnmt'"):
        length_normalised_score(-1.0, 3, 1.0, kind="wu")


@SETTINGS
@given(st.floats(-1e300, 0.0), st.integers(1, 10**6), st.floats(0.0, 50.0))
def test_length_normalised_score_is_finite_and_never_positive(logp, length, alpha):
    score = length_normalised_score(logp, length, alpha)
    assert np.isfinite(score)
    assert score <= 0.0
    assert abs(score) <= abs(logp)  # dividing by |Y|^α >= 1 never makes a score worse


# --------------------------------------------------------------------------------------------
# Repetition penalty (Keskar et al. 2019, CTRL)


def test_repetition_penalty_by_hand():
    # θ = 1.5: a seen positive logit 3 → 3 / 1.5 = 2; a seen negative -1 → -1.5; unseen 2 stays.
    np.testing.assert_array_equal(repetition_penalty([3.0, -1.0, 2.0], [1, 2, 0], 1.5), [2.0, -1.5, 2.0])


def test_repetition_penalty_matches_mpmath():
    cases = list(itertools.product((0.0, 1e-8, -1e-8, 2.5, -2.5, 1e6, -1e6), (0, 1, 5), (0.5, 1.0, 1.2, 3.0)))
    logits, counts, penalty = (np.array(c) for c in zip(*cases, strict=True))
    expected = [ref.repetition_penalty(z, int(c), p) for z, c, p in cases]
    assert_matches(repetition_penalty(logits, counts, penalty), expected)


def test_repetition_penalty_saturates_instead_of_warning():
    assert repetition_penalty(-1e308, 1, 10.0) == -np.inf


@pytest.mark.parametrize(
    ("args", "message"),
    [(([1.0], [-1], 1.2), "counts must be a whole number >= 0"), (([1.0], [1], 0.0), "penalty must be > 0")],
)
def test_repetition_penalty_refuses_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        repetition_penalty(*args)


@SETTINGS
@given(rows(ANY_FINITE), st.floats(1.0, 1e3))
def test_a_penalty_above_one_never_raises_a_seen_logit_and_leaves_unseen_ones(logits, penalty):
    counts = np.arange(logits.size).reshape(logits.shape) % 2
    out = repetition_penalty(logits, counts, penalty)
    assert not np.any(np.isnan(out))
    assert np.all(out[counts > 0] <= logits[counts > 0])
    np.testing.assert_array_equal(out[counts == 0], logits[counts == 0])


# --------------------------------------------------------------------------------------------
# absmax quantisation (Dettmers et al. 2022, LLM.int8(), eq. 1)


def test_absmax_int8_by_hand():
    # absmax 2.54: a step of 2.54 / 127 = 0.02; -0.5 is 25 steps, 0.03 is 1.5 steps → 2 (half to
    # even, as torch.round), so 0.04.
    np.testing.assert_allclose(absmax_quantise([2.54, -0.5, 0.03]), [2.54, -0.5, 0.04], rtol=1e-15)


def test_absmax_int4_by_hand():
    # 4 bits: Q = 7; x = [7, 3.4, -1.6]: codes 7, 3, -2 → [7, 3, -2].
    np.testing.assert_array_equal(absmax_quantise([7.0, 3.4, -1.6], 4), [7.0, 3.0, -2.0])


def test_an_outlier_widens_every_step():
    # The same small values lose far more next to an outlier of 100 (step 100/127 ≈ 0.787).
    small = np.array([0.11, -0.27, 0.05, 0.3])
    alone = np.abs(absmax_quantise(small) - small).max()
    with_outlier = np.abs(absmax_quantise(np.append(small, 100.0))[:4] - small).max()
    assert alone <= 0.3 / 254 * (1 + 1e-12)
    assert with_outlier > 0.1


def test_absmax_of_zeros_is_zeros():
    np.testing.assert_array_equal(absmax_quantise([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0])


ABSMAX_ROWS = [
    [1.0, -0.3, 0.25, 0.0049],
    [-1e-300, 3e-301, 7.7e-302],
    [1e300, -2.3e299, 4.4e297, 1.0],
    [0.1, 0.2, 0.3],
    [-5.5, 5.5, 1.1],
]


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
@pytest.mark.parametrize("row", ABSMAX_ROWS)
def test_absmax_quantise_matches_exact_rationals(row, bits):
    expected = ref.absmax_quantise(row, bits)
    assert_matches(absmax_quantise(row, bits), expected, rtol=1e-15)


def test_absmax_quantise_takes_one_bit_width_per_vector():
    x = np.array([[1.0, 0.3], [1.0, 0.3]])
    np.testing.assert_array_equal(absmax_quantise(x, [2, 8]), [absmax_quantise(x[0], 2), absmax_quantise(x[1], 8)])


@pytest.mark.parametrize(("bits", "message"), [(1, "bits must be a whole number >= 2"), (17, "at most 16"),
                                               (7.5, "bits must be a whole number")])
def test_absmax_quantise_refuses_bad_bit_widths(bits, message):
    with pytest.raises(ValueError, match=message):
        absmax_quantise([1.0, 2.0], bits)


def test_the_bit_width_domain_names_both_bounds():
    assert str(DOMAINS["absmax_quantise"]["bits"]) == "a bit width (a whole number in 2 .. 16)"
    assert DOMAINS["absmax_quantise"]["bits"].holds(np.array([2.0, 16.0, 17.0, 7.5])).tolist() == [
        True, True, False, False]


@SETTINGS
@given(rows(ANY_FINITE), st.sampled_from([2, 4, 8, 16]))
def test_absmax_error_is_at_most_half_a_step_at_any_magnitude(x, bits):
    levels = 2.0 ** (bits - 1) - 1
    out = absmax_quantise(x, bits)
    assert np.all(np.isfinite(out))
    absmax = np.abs(x).max(axis=-1, keepdims=True)
    # Half a step, plus a few roundings of the largest value.
    bound = absmax / (2 * levels) + 4 * np.finfo(np.float64).eps * absmax
    assert np.all(np.abs(out - x) <= bound)
    assert np.all(np.sign(out) * np.sign(x) >= 0)  # never flips a sign


@SETTINGS
@given(rows(ORDINARY))
def test_absmax_keeps_the_largest_magnitude(x):
    out = absmax_quantise(x)
    at = np.argmax(np.abs(x), axis=-1)
    picked = np.take_along_axis(x, at[:, None], axis=-1)
    np.testing.assert_allclose(np.take_along_axis(out, at[:, None], axis=-1), picked, rtol=1e-15)


def test_exact_rational_reference_rounds_half_to_even():
    assert ref.absmax_quantise([2.0, 0.5], 2) == [Fraction(2), Fraction(0)]  # 0.5 step → code 0


# --------------------------------------------------------------------------------------------
# LoRA (Hu et al. 2022)


def test_lora_on_gpt3_query_projections_is_the_papers_18m():
    # Hu et al. 2022, Table 5: GPT-3 175B (96 layers, d_model 12,288), r = 8 on W_q alone: "18M"
    # trainable parameters; 96 · 8 · (12,288 + 12,288) = 18,874,368.
    total = 96 * lora_parameter_count(12_288, 12_288, 8)
    assert total == 18_874_368
    assert 18e6 <= total < 19e6


def test_lora_on_gpt3_query_and_value_at_rank_4_is_the_same_budget():
    # Table 5 compares budgets of equal size: W_q and W_v at r = 4 also train 18,874,368.
    assert 96 * 2 * lora_parameter_count(12_288, 12_288, 4) == 18_874_368


def test_lora_rectangular_matrix_by_hand():
    # A 4096 → 11008 MLP projection at r = 16: 16 · 15,104 = 241,664 against 45,088,768 in full.
    assert lora_parameter_count(4096, 11008, 16) == 241_664


@pytest.mark.parametrize("args", [(0, 10, 1), (10, 10, 0), (10.5, 10, 1)])
def test_lora_parameter_count_refuses_non_sizes(args):
    with pytest.raises(ValueError, match="must be a whole number >= 1"):
        lora_parameter_count(*args)


@SETTINGS
@given(st.integers(1, 2**20), st.integers(1, 2**20), st.integers(1, 2**10))
def test_lora_is_the_exact_integer_count_and_linear_in_the_rank(d_in, d_out, rank):
    count = lora_parameter_count(d_in, d_out, rank)
    assert count == rank * (d_in + d_out)
    assert lora_parameter_count(d_in, d_out, 2 * rank) == 2 * count
    assert lora_parameter_count(d_out, d_in, rank) == count  # A and B swap roles
