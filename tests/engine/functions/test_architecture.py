"""The transformer's arithmetic: attention, layer norm, positions, sizes, scaling laws and memory.

References name their source: the papers' own worked numbers (ALiBi's slopes for 8 and 16 heads,
ZeRO's Figure 1, Chinchilla's exponents and budget), published model configurations (Llama 2 70B,
GPT-2 small), and independent mpmath evaluations of each formula at 50 digits. torch is not a
test dependency, so torch's documented definitions (LayerNorm's biased variance and eps = 1e-5)
are written out in mpmath instead.
"""

import itertools
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import functions as F

from .strategies import ANY_FINITE, ORDINARY, SETTINGS, rows

mp = mpmath.mp
RTOL = 1e-12

# Elementwise functions whose arguments are whole numbers: test_broadcasting's generic shape test
# draws reals, so their shapes are tested here.
SHAPE_TESTED_HERE = {"sinusoidal_encoding", "alibi_slope"}


def _floats(values):
    return np.array([float(v) for v in values])


# --------------------------------------------------------------------------------------------
# mpmath references, the formulas written out directly


@mpmath.workdps(50)
def _attention(scores, head_dim, visible=None):
    visible = len(scores) if visible is None else visible
    weights = [mp.exp(mp.mpf(s) / mp.sqrt(head_dim)) for s in scores[:visible]]
    total = mp.fsum(weights)
    return [w / total for w in weights] + [mp.mpf(0)] * (len(scores) - visible)


@mpmath.workdps(50)
def _layer_norm(x, gain, bias, eps):
    x = [mp.mpf(v) for v in x]
    mean = mp.fsum(x) / len(x)
    var = mp.fsum((v - mean) ** 2 for v in x) / len(x)  # biased, as torch.nn.LayerNorm
    return [gain * (v - mean) / mp.sqrt(var + mp.mpf(eps)) + bias for v in x]


# --------------------------------------------------------------------------------------------
# Attention


def test_attention_weights_match_mpmath():
    scores = [3.0, -1.0, 0.5, 2.0]
    for d in (1.0, 4.0, 64.0):
        np.testing.assert_allclose(F.attention_weights(scores, d), _floats(_attention(scores, d)), rtol=RTOL)


def test_attention_scaling_is_a_softmax_at_temperature_sqrt_d():
    scores = np.array([8.0, 0.0, -8.0])
    np.testing.assert_array_equal(F.attention_weights(scores, 16.0), F.softmax(scores, 4.0))
    # Vaswani et al. sec. 3.2.1: unscaled, large dot products push the softmax to a near one-hot
    assert F.attention_weights(scores)[0] > 0.9996
    assert F.attention_weights(scores, 64.0)[0] < 0.8


def test_causal_attention_weights_match_mpmath_and_mask_the_future():
    scores = [0.3, 2.0, -1.5, 4.0, 1.0]
    for position in range(5):
        got = F.causal_attention_weights(scores, position, 8.0)
        np.testing.assert_allclose(got, _floats(_attention(scores, 8.0, position + 1)), rtol=RTOL)
        assert np.all(got[position + 1:] == 0.0)


def test_causal_attention_takes_one_position_per_row():
    scores = np.tile([1.0, 2.0, 3.0], (3, 1))
    got = F.causal_attention_weights(scores, [0, 1, 7])
    np.testing.assert_array_equal(got[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(got[1], [*F.softmax([1.0, 2.0]).tolist(), 0.0], rtol=RTOL)
    np.testing.assert_allclose(got[2], F.softmax([1.0, 2.0, 3.0]), rtol=RTOL)  # past the end


@pytest.mark.parametrize("position", [-1.0, 0.5, np.nan])
def test_causal_attention_refuses_a_position_that_is_no_whole_number(position):
    with pytest.raises(ValueError, match="position must be a whole number"):
        F.causal_attention_weights([1.0, 2.0], position)


@pytest.mark.parametrize("head_dim", [0.0, -4.0])
def test_attention_refuses_a_non_positive_head_dim(head_dim):
    with pytest.raises(ValueError, match="head_dim must be > 0"):
        F.attention_weights([1.0, 2.0], head_dim)


@SETTINGS
@given(rows(ANY_FINITE, min_length=1), st.floats(1e-3, 1e4), st.integers(0, 6))
def test_attention_at_extremes_is_finite_and_sums_to_one(scores, head_dim, position):
    for weights in (F.attention_weights(scores, head_dim),
                    F.causal_attention_weights(scores, position, head_dim)):
        assert np.all(np.isfinite(weights))
        assert np.all((weights >= 0) & (weights <= 1))
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Layer normalisation


def test_layer_norm_matches_mpmath_with_torchs_defaults():
    x = [1.0, 2.0, 4.0, -3.0]
    for gain, bias, eps in ((1.0, 0.0, 1e-5), (2.0, 0.5, 0.0), (0.5, -1.0, 1.0)):
        np.testing.assert_allclose(F.layer_norm(x, gain, bias, eps),
                                   _floats(_layer_norm(x, gain, bias, eps)), rtol=RTOL, atol=1e-15)


def test_layer_norm_worked_example():
    # [1, 2, 3]: mean 2, biased variance 2/3, so the features are ±1/sqrt(2/3) = ±1.224744871...
    np.testing.assert_allclose(F.layer_norm([1.0, 2.0, 3.0], eps=0.0),
                               [-math.sqrt(1.5), 0.0, math.sqrt(1.5)], rtol=1e-15)


def test_layer_norm_of_equal_features_is_the_bias():
    np.testing.assert_array_equal(F.layer_norm([5.0, 5.0, 5.0], 3.0, 0.25, 0.0), [0.25, 0.25, 0.25])


@pytest.mark.parametrize("x", [[1e300, -1e300, 3e299], [1e-300, 0.0, -2e-300], [1e6, 1e6 + 1.0, 1e6 - 2.0]])
def test_layer_norm_matches_mpmath_at_extreme_scales(x):
    np.testing.assert_allclose(F.layer_norm(x), _floats(_layer_norm(x, 1, 0, 1e-5)), rtol=1e-9, atol=1e-300)


@SETTINGS
@given(rows(ANY_FINITE, min_length=2))
def test_layer_norm_at_extremes_is_finite_with_mean_zero(x):
    y = F.layer_norm(x, eps=0.0)
    assert np.all(np.isfinite(y))
    assert np.all(np.abs(y) <= math.sqrt(x.shape[-1]) * (1 + 1e-12))  # |z_i| <= sqrt(d - 1)
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)


@SETTINGS
@given(rows(ORDINARY, min_length=2), st.floats(1e-3, 1e3))
def test_layer_norm_without_eps_is_scale_free(x, scale):
    np.testing.assert_allclose(F.layer_norm(scale * x, eps=0.0), F.layer_norm(x, eps=0.0), atol=1e-9)


# --------------------------------------------------------------------------------------------
# Positions


@mpmath.workdps(50)
def _sinusoid(pos, i, d):
    angle = mp.mpf(pos) / mp.power(10000, mp.mpf(2 * (i // 2)) / d)
    return mp.sin(angle) if i % 2 == 0 else mp.cos(angle)


def test_sinusoidal_encoding_matches_mpmath():
    grid = itertools.product([0, 1, 7, 100, 4095], range(8), [8, 512])
    pos, i, d = (np.array(c, dtype=float) for c in zip(*grid, strict=True))
    expected = _floats([_sinusoid(p, int(k), int(w)) for p, k, w in zip(pos, i, d, strict=True)])
    # The angle pos · 10000^(-2k/d) carries float64's rounding, about pos · 1.1e-16 absolute, and
    # sin passes it on: an absolute 1e-12 covers positions up to 4095.
    np.testing.assert_allclose(F.sinusoidal_encoding(pos, i, d), expected, rtol=1e-12, atol=1e-12)


def test_sinusoidal_encoding_first_pair_is_sin_and_cos_of_the_position():
    # Vaswani et al. sec. 3.5: pair k = 0 has wavelength 2π
    np.testing.assert_array_equal(F.sinusoidal_encoding(3.0, [0, 1], 64), [math.sin(3.0), math.cos(3.0)])


def test_sinusoidal_encoding_broadcasts():
    out = F.sinusoidal_encoding(np.arange(3.0)[:, None], np.arange(4.0)[None, :], 4)
    assert out.shape == (3, 4)
    assert out[2, 3] == F.sinusoidal_encoding(2.0, 3.0, 4.0)


@pytest.mark.parametrize(("index", "d_model"), [(4, 4), (-1, 4), (1.5, 4), (0, 1), (0, 3.5)])
def test_sinusoidal_encoding_refuses_an_index_outside_the_width(index, d_model):
    with pytest.raises(ValueError, match=r"index|d_model"):
        F.sinusoidal_encoding(1.0, index, d_model)


@mpmath.workdps(50)
def _rope(m, i, d, base):
    return mp.mpf(m) * mp.power(base, -2 * mp.mpf(i) / d)


def test_rope_angle_matches_mpmath():
    for m, i, d, base in itertools.product([0, 1, 37, 4096, 131072], [0, 1, 31, 63], [128], [10000.0, 500000.0]):
        np.testing.assert_allclose(F.rope_angle(m, i, d, base), float(_rope(m, i, d, base)), rtol=RTOL)


def test_rope_first_pair_turns_one_radian_per_position():
    # RoFormer eq. 15: θ_1 = 10000^0 = 1 (pair 0 here, counted from 0)
    np.testing.assert_array_equal(F.rope_angle([0.0, 1.0, 5.0], 0, 64), [0.0, 1.0, 5.0])


@SETTINGS
@given(ANY_FINITE, st.floats(0, 1e6), st.floats(1e-300, 1e300))
def test_rope_angle_at_extremes_never_exceeds_the_position(m, i, d):
    angle = F.rope_angle(m, i, d)
    assert np.isfinite(angle)
    assert abs(angle) <= abs(m)


def test_alibi_slopes_of_the_papers_examples():
    # Press et al. 2022, sec. 3: "For a model with 8 heads, our slopes are 1/2^1, ..., 1/2^8";
    # with 16 heads "the geometric sequence that starts at 1/2^0.5 with ratio 1/2^0.5".
    np.testing.assert_allclose(F.alibi_slope(np.arange(1.0, 9.0), 8), 2.0 ** -np.arange(1.0, 9.0), rtol=1e-15)
    np.testing.assert_allclose(F.alibi_slope(np.arange(1.0, 17.0), 16), 2.0 ** (-0.5 * np.arange(1.0, 17.0)),
                               rtol=1e-15)


def test_alibi_slopes_for_a_head_count_that_is_no_power_of_two():
    # 12 heads: the 8 slopes of 8 heads, then every other slope of 16 heads (2^-0.5, 2^-1.5, ...)
    expected = [2.0 ** -h for h in range(1, 9)] + [2.0 ** -(h - 0.5) for h in range(1, 5)]
    np.testing.assert_allclose(F.alibi_slope(np.arange(1.0, 13.0), 12), expected, rtol=1e-15)
    assert len(set(F.alibi_slope(np.arange(1.0, 13.0), 12).tolist())) == 12


def test_alibi_slope_broadcasts():
    out = F.alibi_slope(np.array([[1.0], [2.0]]), np.array([[4.0, 8.0, 12.0]]))
    assert out.shape == (2, 3)
    assert out[1, 2] == F.alibi_slope(2.0, 12.0)


@pytest.mark.parametrize(("head", "n_heads"), [(0, 8), (9, 8), (1.5, 8), (1, 0), (1, 2.5)])
def test_alibi_slope_refuses_a_head_outside_the_heads(head, n_heads):
    with pytest.raises(ValueError, match="head"):
        F.alibi_slope(head, n_heads)


# --------------------------------------------------------------------------------------------
# Sizes, compute and scaling laws


def test_transformer_params_of_gpt2_small():
    # GPT-2 small (12 layers, d = 768, V = 50257) has 124,439,808 parameters with biases, layer
    # norms and 1024 learned positions; Kaplan's count leaves those out and lands within 1%.
    assert F.transformer_params(12, 768, 50257) == 12 * 12 * 768**2 + 50257 * 768
    assert abs(F.transformer_params(12, 768, 50257) / 124_439_808 - 1) < 0.01


def test_transformer_params_follow_the_feed_forward_ratio():
    # Kaplan Table 1: 2 d (2 d_attn + d_ff) per layer
    assert F.transformer_params(1, 10.0, 0, 8.0) == 2 * 10 * (2 * 10 + 80)


def test_training_flops_is_six_per_parameter_per_token():
    assert F.training_flops(70e9, 1.4e12) == 6 * 70e9 * 1.4e12  # Chinchilla: 5.88e23
    assert F.training_flops(0.0, 1e12) == 0.0


@mpmath.workdps(50)
def _chinchilla(n, d):
    e, a, b, alpha, beta = (mp.mpf(c) for c in ("1.69", "406.4", "410.7", "0.34", "0.28"))
    return e + a / mp.power(n, alpha) + b / mp.power(d, beta)


@mpmath.workdps(50)
def _chinchilla_optimum(c):
    alpha, beta, a, b = mp.mpf("0.34"), mp.mpf("0.28"), mp.mpf("406.4"), mp.mpf("410.7")
    g = (alpha * a / (beta * b)) ** (1 / (alpha + beta))
    return g * (mp.mpf(c) / 6) ** (beta / (alpha + beta)), (mp.mpf(c) / 6) ** (alpha / (alpha + beta)) / g


def test_chinchilla_loss_matches_mpmath():
    for n, d in itertools.product([1e6, 70e9, 1e15], [1e9, 1.4e12, 1e16]):
        np.testing.assert_allclose(F.chinchilla_loss(n, d), float(_chinchilla(n, d)), rtol=RTOL)


def test_chinchilla_optimum_matches_mpmath_and_spends_the_budget():
    for c in (1e18, 5.76e23, 1e26):
        n_opt, d_opt = _chinchilla_optimum(c)
        np.testing.assert_allclose(F.chinchilla_optimal_params(c), float(n_opt), rtol=RTOL)
        np.testing.assert_allclose(F.chinchilla_optimal_tokens(c), float(d_opt), rtol=RTOL)
        np.testing.assert_allclose(F.training_flops(F.chinchilla_optimal_params(c), F.chinchilla_optimal_tokens(c)),
                                   c, rtol=1e-12)


def test_chinchilla_fitted_law_does_not_give_70b_for_chinchillas_budget():
    # Gopher's and Chinchilla's budget, 5.76e23 FLOPs (Hoffmann et al. 2022, sec. 3.4). With the
    # printed, rounded constants the fitted law's optimum is about 32B parameters trained on about
    # 90 tokens each (Besiroglu et al. 2024 report the same discrepancy), not Approaches 1-2's 70B
    # and 20 tokens per parameter.
    n_opt = F.chinchilla_optimal_params(5.76e23)
    ratio = F.chinchilla_optimal_tokens(5.76e23) / n_opt
    assert 31e9 < n_opt < 34e9
    assert 50 < ratio < 120


def test_chinchilla_exponents_are_near_the_papers_table_2():
    # Table 2, Approach 3: N_opt ∝ C^0.46 and D_opt ∝ C^0.54; the rounded constants give
    # β/(α+β) = 0.4516 and α/(α+β) = 0.5484.
    a = math.log10(F.chinchilla_optimal_params(1e25) / F.chinchilla_optimal_params(1e24))
    b = math.log10(F.chinchilla_optimal_tokens(1e25) / F.chinchilla_optimal_tokens(1e24))
    assert a == pytest.approx(0.28 / 0.62, rel=1e-12)
    assert abs(a - 0.46) < 0.01
    assert abs(b - 0.54) < 0.01


def test_chinchilla_optimum_minimises_the_loss_on_its_budget():
    c = 1e22
    n_opt = float(F.chinchilla_optimal_params(c))
    best = F.chinchilla_loss(n_opt, c / (6 * n_opt))
    for factor in (0.8, 0.95, 1.05, 1.25):
        n = n_opt * factor
        assert F.chinchilla_loss(n, c / (6 * n)) > best


@SETTINGS
@given(st.floats(1e-300, 1e300), st.floats(1e-300, 1e300))
def test_chinchilla_at_extremes_is_finite_and_never_below_the_entropy_term(n, d):
    loss = F.chinchilla_loss(n, d)
    assert np.isfinite(loss) or loss == np.inf
    assert loss >= 1.69
    assert np.isfinite(F.chinchilla_optimal_params(n))
    assert np.isfinite(F.chinchilla_optimal_tokens(n))


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_chinchilla_refuses_a_non_positive_size(bad):
    with pytest.raises(ValueError, match="n_params must be > 0"):
        F.chinchilla_loss(bad, 1e9)
    with pytest.raises(ValueError, match="compute must be > 0"):
        F.chinchilla_optimal_params(bad)


# --------------------------------------------------------------------------------------------
# Memory


def test_kv_cache_of_llama2_70b():
    # Llama 2 70B: 80 layers, 8 KV heads (GQA), head dim 128, bf16: 2·80·8·128·2 = 327,680 bytes
    # (320 KiB) per token, so 4,096 tokens take 1.25 GiB.
    assert F.kv_cache_bytes(80, 8, 128, 1) == 327_680
    assert F.kv_cache_bytes(80, 8, 128, 4096) == 1.25 * 2**30
    # without GQA (64 KV heads, one per query head) the cache is 8 times larger
    assert F.kv_cache_bytes(80, 64, 128, 4096) == 8 * F.kv_cache_bytes(80, 8, 128, 4096)


def test_model_states_of_zeros_figure_1():
    # Rajbhandari et al. 2020, Figure 1: Ψ = 7.5B, N_d = 64, K = 12:
    # 120 GB, 31.4 GB, 16.6 GB and 1.9 GB per device for the baseline and stages 1, 2, 3.
    got = F.model_state_bytes(7.5e9, 64, zero_stage=[0, 1, 2, 3]) / 1e9
    np.testing.assert_allclose(got, [120.0, 30 + 90 / 64, 15 + 105 / 64, 120 / 64], rtol=1e-15)
    np.testing.assert_array_equal(got.round(1), [120.0, 31.4, 16.6, 1.9])


def test_model_states_split_by_tensor_and_pipeline_parallelism():
    # 70B parameters over TP = 8 and PP = 4: 16 bytes · 70e9 / 32 = 35 GB before ZeRO
    assert F.model_state_bytes(70e9, 16, 8, 4) == 16 * 70e9 / 32
    assert F.model_state_bytes(70e9, 16, 8, 4, 3) == 16 * 70e9 / 32 / 16


@pytest.mark.parametrize("stage", [-1.0, 1.5, 4.0])
def test_model_states_refuse_an_unknown_zero_stage(stage):
    with pytest.raises(ValueError, match="zero_stage must be 0, 1, 2 or 3"):
        F.model_state_bytes(1e9, 8, zero_stage=stage)


@SETTINGS
@given(st.floats(0, 1e300), st.floats(1, 1e6), st.integers(0, 3))
def test_model_states_never_grow_with_a_higher_stage(psi, nd, stage):
    here = F.model_state_bytes(psi, nd, zero_stage=stage)
    assert np.isfinite(here) or here == np.inf
    if stage < 3:
        assert F.model_state_bytes(psi, nd, zero_stage=stage + 1) <= here


# --------------------------------------------------------------------------------------------
# The size formulas against mpmath, and every function at the edges of float64


@mpmath.workdps(50)
def _sizes(n_layers, d, vocab, tokens, kv_heads, head_dim, psi, nd, tp, pp):
    m = mp.mpf
    params = 2 * m(n_layers) * m(d) * (2 * m(d) + 4 * m(d)) + m(vocab) * m(d)
    cache = 2 * m(n_layers) * m(kv_heads) * m(head_dim) * m(tokens) * 2
    states = [(2 + 2 + 12) * m(psi) / (m(tp) * m(pp)),
              (2 + 2 + 12 / m(nd)) * m(psi) / (m(tp) * m(pp)),
              (2 + (2 + 12) / m(nd)) * m(psi) / (m(tp) * m(pp)),
              (2 + 2 + 12) / m(nd) * m(psi) / (m(tp) * m(pp))]
    return params, 6 * params * m(tokens), cache, states


@pytest.mark.parametrize("shape", [
    (1, 64, 0, 1, 1, 64, 1e6, 1, 1, 1),
    (96, 12288, 50257, 3e11, 96, 128, 175e9, 64, 8, 8),  # GPT-3's shape
    (126, 16384, 128256, 15.6e12, 8, 128, 405e9, 48, 8, 16),  # Llama 3 405B's shape
])
def test_size_formulas_match_mpmath(shape):
    n_layers, d, vocab, tokens, kv_heads, head_dim, psi, nd, tp, pp = shape
    params, flops, cache, states = _sizes(*shape)
    np.testing.assert_allclose(F.transformer_params(n_layers, d, vocab), float(params), rtol=1e-15)
    np.testing.assert_allclose(F.training_flops(F.transformer_params(n_layers, d, vocab), tokens), float(flops),
                               rtol=1e-15)
    np.testing.assert_allclose(F.kv_cache_bytes(n_layers, kv_heads, head_dim, tokens), float(cache), rtol=1e-15)
    np.testing.assert_allclose(F.model_state_bytes(psi, nd, tp, pp, [0, 1, 2, 3]), _floats(states), rtol=1e-15)


SIZES = st.floats(0.0, 1e300)


@SETTINGS
@given(SIZES, SIZES, SIZES, SIZES)
def test_size_formulas_at_extremes_saturate_without_nan(a, b, c, d):
    for value in (F.transformer_params(a, max(b, 1e-300), c), F.training_flops(a, b), F.kv_cache_bytes(a, b, c, d),
                  F.model_state_bytes(a, max(b, 1.0), max(c, 1.0), max(d, 1.0), 2)):
        assert not np.isnan(value)
        assert value >= 0


@SETTINGS
@given(st.floats(0.0, 1e300), st.integers(0, 1023), st.sampled_from([2, 64, 1024]))
def test_sinusoidal_encoding_at_extreme_positions_stays_in_range(pos, index, d_model):
    value = F.sinusoidal_encoding(pos, index % d_model, d_model)
    assert -1.0 <= value <= 1.0


@SETTINGS
@given(st.integers(1, 4096), st.data())
def test_alibi_slopes_are_distinct_and_in_range(n_heads, data):
    head = data.draw(st.integers(1, n_heads))
    slope = F.alibi_slope(head, n_heads)
    assert 0.0 < slope < 1.0
    if n_heads <= 64:
        slopes = F.alibi_slope(np.arange(1.0, n_heads + 1.0), n_heads)
        assert len(set(slopes.tolist())) == n_heads


# --------------------------------------------------------------------------------------------
# In items: the expression language passes a batch of variants on axis 0


def test_items_call_the_attention_functions_along_the_last_axis():
    from engine.expressions import evaluate

    names = {"s": np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), "t": np.array([1.0, 0.0]),
             "d": np.array([4.0, 1.0])}
    weights = evaluate("causal_attention_weights(s, t, d)", names)
    np.testing.assert_allclose(weights[0], [*F.softmax([0.5, 1.0]).tolist(), 0.0], rtol=RTOL)
    np.testing.assert_array_equal(weights[1], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(evaluate("attention_weights(s, d)[0]", names), [F.softmax([0.5, 1.0, 1.5])[0], 1 / 3],
                               rtol=RTOL)
    np.testing.assert_allclose(evaluate("layer_norm(s, 2, 1, 0)[1]", names), [1.0, 1.0], rtol=RTOL)
