"""BERT's masking counts, the masked-LM loss and the parameters of an encoder layer.

References name their source: the BERT paper's own numbers (Devlin et al. 2019), the published
parameter counts of BERT-base, BERT-large and GPT-2 small (the sums of ``p.numel()`` over the
Hugging Face checkpoints' parameters, which these tests rebuild layer by layer), PyTorch's
``nn.TransformerEncoderLayer`` layout, and mpmath at 50 digits. torch is not a test dependency,
so its layout is written out below tensor by tensor.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.expressions import _VECTOR_ARGUMENTS, ExpressionError, evaluate
from engine.functions import REGISTRY, encoder_layer_params, masked_lm_loss, mlm_mask_count

from .strategies import SETTINGS, UNIT

# --------------------------------------------------------------------------------------------
# mlm_mask_count


def test_bert_masks_15_percent_and_replaces_80_10_10():
    # Devlin et al. 2019, sec. 3.1: 15% of the positions are chosen; of those 80% become [MASK],
    # 10% a random token, 10% stay. For one token: 0.15, 0.12, 0.015, 0.015.
    expected = {"selected": 0.15, "mask": 0.12, "random": 0.015, "kept": 0.015, "corrupted": 0.135}
    for kind, value in expected.items():
        np.testing.assert_allclose(mlm_mask_count(1, kind=kind), value, rtol=1e-14, err_msg=kind)


def test_random_replacement_is_one_and_a_half_percent_of_all_tokens():
    # Devlin et al. 2019, appendix C.2 (A.1 in the arXiv v1): "the random replacement only occurs
    # for 1.5% of all tokens (i.e., 10% of 15%)".
    np.testing.assert_allclose(mlm_mask_count(100, kind="random") / 100, 0.015, rtol=1e-14)


def test_a_512_token_sequence():
    # 512 x 0.15 = 76.8 selected (the data script rounds this to 77): 61.44 [MASK], 7.68 random,
    # 7.68 kept, 69.12 changed.
    counts = [mlm_mask_count(512, kind=k) for k in ("selected", "mask", "random", "kept", "corrupted")]
    np.testing.assert_allclose(counts, [76.8, 61.44, 7.68, 7.68, 69.12], rtol=1e-14)


def test_other_rates_follow_the_same_rule():
    # RoBERTa keeps BERT's 15% and 80/10/10; a 40% rate with only [MASK] (Wettig et al. 2023)
    # masks 0.4 n.
    np.testing.assert_allclose(mlm_mask_count(1000, 0.4, 1.0, 0.0, kind="mask"), 400.0, rtol=1e-15)
    np.testing.assert_allclose(mlm_mask_count(1000, 0.4, 1.0, 0.0, kind="kept"), 0.0, atol=0)


def test_no_unchanged_share_counts_zero_not_a_rounding_error_below_it():
    # 1 - 0.8 - 0.2 is -5.55e-17 in float64; a count is never negative (nor -0.0).
    kept = mlm_mask_count(1e6, 0.15, 0.8, 0.2, kind="kept")
    assert kept == 0.0
    assert not np.signbit(kept)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1,), "n_tokens must be >= 0"),
        ((10, 1.5), "mask_rate must lie in"),
        ((10, 0.15, 0.9, 0.2), "mask_prob \\+ random_prob must be <= 1"),
        ((10, 0.15, -0.1), "mask_prob must lie in"),
    ],
)
def test_mlm_mask_count_refuses_rates_that_are_not_rates(args, message):
    with pytest.raises(ValueError, match=message):
        mlm_mask_count(*args)


def test_mlm_mask_count_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of selected, mask"):
        mlm_mask_count(10, kind="masked")


@mpmath.workdps(50)
def _mp_counts(n, rate, q_mask, q_random):
    n, rate, q_mask, q_random = (mpmath.mpf(v) for v in (n, rate, q_mask, q_random))
    selected = n * rate
    return {
        "selected": selected,
        "mask": selected * q_mask,
        "random": selected * q_random,
        "kept": selected * (1 - q_mask - q_random),
        "corrupted": selected * (q_mask + q_random),
    }


@SETTINGS
@given(
    st.floats(0.0, 1e15),
    UNIT,
    st.floats(0.0, 1.0).flatmap(lambda q: st.tuples(st.just(q), st.floats(0.0, 1.0 - q))),
)
def test_mlm_mask_count_matches_mpmath_and_the_shares_add_up(n, rate, shares):
    q_mask, q_random = shares
    reference = _mp_counts(n, rate, q_mask, q_random)
    counts = {kind: float(mlm_mask_count(n, rate, q_mask, q_random, kind=kind)) for kind in reference}
    for kind, value in counts.items():
        # 1 - q_m - q_r loses digits when it nearly cancels: compare against the selected count.
        assert abs(value - float(reference[kind])) <= 1e-15 * 4 * float(reference["selected"]) + 1e-300, kind
        assert value >= 0
    assert math.isclose(counts["mask"] + counts["random"] + counts["kept"], counts["selected"],
                        rel_tol=1e-14, abs_tol=1e-300)


# --------------------------------------------------------------------------------------------
# masked_lm_loss


def test_masked_lm_loss_averages_only_the_selected_positions():
    # Two selected positions with p = 0.5 and 0.25: (log 2 + log 4) / 2 = 1.5 log 2.
    loss = masked_lm_loss(np.log([0.5, 0.9, 0.25, 0.8]), [1, 0, 1, 0])
    np.testing.assert_allclose(loss, 1.5 * math.log(2.0), rtol=1e-15)


def test_masked_lm_loss_of_one_position_is_its_cross_entropy():
    # One [MASK] position whose original token gets p = 0.2: -log 0.2 = 1.6094379124341003.
    np.testing.assert_allclose(masked_lm_loss([math.log(0.2)], [1]), 1.6094379124341003, rtol=1e-15)


def test_unselected_positions_are_ignored_even_when_infinite():
    # The ignore_index contract: an unselected position's log-probability never reaches the loss.
    assert masked_lm_loss([-np.inf, -2.0], [0, 1]) == 2.0


def test_masked_lm_loss_refuses_rows_without_a_selected_position():
    with pytest.raises(ValueError, match="must select at least one position"):
        masked_lm_loss([[-1.0, -2.0], [-1.0, -2.0]], [[1, 0], [0, 0]])


def test_masked_lm_loss_refuses_flags_other_than_0_and_1():
    with pytest.raises(ValueError, match="selected must hold only 0 and 1"):
        masked_lm_loss([-1.0, -2.0], [0.5, 1])


def test_masked_lm_loss_refuses_a_positive_log_probability_where_selected():
    with pytest.raises(ValueError, match="token_logps must be <= 0 where selected"):
        masked_lm_loss([0.5, -2.0], [1, 1])
    assert masked_lm_loss([0.5, -2.0], [0, 1]) == 2.0  # unselected: not the loss's business


@mpmath.workdps(50)
def _mp_mlm_loss(logps, flags):
    chosen = [mpmath.mpf(lp) for lp, f in zip(logps, flags, strict=True) if f]
    return -mpmath.fsum(chosen) / len(chosen)


@SETTINGS
@given(st.lists(st.tuples(st.floats(-1e300, 0.0), st.booleans()), min_size=1, max_size=12))
def test_masked_lm_loss_matches_mpmath(pairs):
    pairs[0] = (pairs[0][0], True)
    logps = [lp for lp, _ in pairs]
    flags = [int(f) for _, f in pairs]
    reference = float(_mp_mlm_loss(logps, flags))
    loss = float(masked_lm_loss(logps, flags))
    assert math.isfinite(loss)
    assert math.isclose(loss, reference, rel_tol=1e-13, abs_tol=1e-300)
    selected = [-lp for lp, f in zip(logps, flags, strict=True) if f]
    assert min(selected) * (1 - 1e-15) <= loss <= max(selected) * (1 + 1e-15)


# --------------------------------------------------------------------------------------------
# encoder_layer_params


def _torch_encoder_layer_tensors(d, d_ff):
    """The parameter tensors of torch.nn.TransformerEncoderLayer(d, nhead, d_ff), by name."""
    return {
        "self_attn.in_proj_weight": 3 * d * d,
        "self_attn.in_proj_bias": 3 * d,
        "self_attn.out_proj.weight": d * d,
        "self_attn.out_proj.bias": d,
        "linear1.weight": d_ff * d,
        "linear1.bias": d_ff,
        "linear2.weight": d * d_ff,
        "linear2.bias": d,
        "norm1.weight": d,
        "norm1.bias": d,
        "norm2.weight": d,
        "norm2.bias": d,
    }


@pytest.mark.parametrize(("d", "d_ff"), [(768, 3072), (1024, 4096), (512, 2048), (1, 1)])
def test_encoder_layer_params_matches_torch_layout(d, d_ff):
    assert encoder_layer_params(d, d_ff) == sum(_torch_encoder_layer_tensors(d, d_ff).values())


def test_bert_base_has_109_482_240_parameters():
    # Devlin et al. 2019 report 110M for BERT-base (L = 12, H = 768, A = 12); the Hugging Face
    # bert-base-uncased checkpoint holds 109,482,240: 12 layers, the embeddings (30,522 word
    # pieces, 512 positions, 2 segments, a layer norm) and the pooler (768 x 768 + 768).
    layer = encoder_layer_params(768, 3072)
    assert layer == 7_087_872
    embeddings = 30522 * 768 + 512 * 768 + 2 * 768 + 2 * 768
    pooler = 768 * 768 + 768
    assert 12 * layer + embeddings + pooler == 109_482_240


def test_bert_large_has_335_141_888_parameters():
    # BERT-large (L = 24, H = 1024, A = 16): 340M in the paper, 335,141,888 in bert-large-uncased.
    embeddings = 30522 * 1024 + 512 * 1024 + 2 * 1024 + 2 * 1024
    pooler = 1024 * 1024 + 1024
    assert 24 * encoder_layer_params(1024, 4096) + embeddings + pooler == 335_141_888


def test_gpt2_small_decoder_layers_count_the_same():
    # GPT-2 small (Radford et al. 2019, reported as 117M): the Hugging Face gpt2 checkpoint holds
    # 124,439,808 = 12 layers + token (50,257) and position (1,024) embeddings + a final layer norm.
    total = 12 * encoder_layer_params(768, 3072) + 50257 * 768 + 1024 * 768 + 2 * 768
    assert total == 124_439_808


@pytest.mark.parametrize("bad", [0, -768, 767.5, np.nan])
def test_encoder_layer_params_refuses_a_width_that_is_not_a_whole_number(bad):
    with pytest.raises(ValueError, match="d_model must be a whole number >= 1"):
        encoder_layer_params(bad, 3072)


@SETTINGS
@given(st.integers(1, 10**6), st.integers(1, 4 * 10**6))
def test_encoder_layer_params_is_exact_for_any_realistic_width(d, d_ff):
    exact = 4 * (d * d + d) + 2 * d * d_ff + d_ff + d + 4 * d  # Python integers: no rounding
    assert encoder_layer_params(d, d_ff) == exact
    assert encoder_layer_params(d, d_ff + 1) - encoder_layer_params(d, d_ff) == 2 * d + 1


# --------------------------------------------------------------------------------------------
# In the expression language: the batch of variants on axis 0 never mixes with the positions


def test_masked_lm_loss_in_an_item_is_per_variant():
    logps = np.log(np.array([[0.5, 0.25, 0.9], [0.1, 0.2, 0.4]]))  # 2 variants of 3 positions
    np.testing.assert_allclose(
        evaluate("masked_lm_loss(lp, [1, 1, 0])", {"lp": logps}),
        [1.5 * math.log(2.0), -(math.log(0.1) + math.log(0.2)) / 2],
        rtol=1e-15,
    )


def test_masked_lm_loss_in_an_item_refuses_one_number_per_variant():
    # Without its vector arguments declared, the variants' scalars would be averaged together.
    with pytest.raises(ExpressionError, match="needs a vector for 'token_logps'"):
        evaluate("masked_lm_loss(log(x), 1)", {"x": np.array([0.5, 0.25])})


def test_every_function_along_the_last_axis_declares_its_vector_arguments():
    reducing = {name for name, spec in REGISTRY.items() if spec.reduces_last_axis}
    assert reducing <= set(_VECTOR_ARGUMENTS)
