"""The arithmetic of the Create-level essays inside the chapter folders: every figure their stems,
model answers and rubrics state is recomputed here from the scenario's own parameters (never from
the item's ``compute`` block, so a slip there fails too), with the function library where one
computes it and plain arithmetic where the stem gives the formula.

The stems and model answers print their figures through ``{{ }}`` fields; the rubrics quote the
same figures as plain text, which nothing else checks. Essays with no figures from data
(design-a-pretraining-objective, self-refinement-loop-design's formula aside,
decoding-configuration-design's sample size aside) are covered at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from engine.functions import (
    encoder_layer_params,
    kv_cache_bytes,
    lora_parameter_count,
    majority_vote_accuracy,
    mlm_mask_count,
    rope_angle,
    speculative_expected_tokens,
    speculative_speedup,
    training_flops,
    transformer_params,
)
from tests.conftest import ROOT
from tests.content.essay_figures import Figure, load_essay, states

BOOK = ROOT / "content" / "foundations-of-llms"

V = Callable[[str], Any]


# --- Ch.1: a small bilingual decoder ---------------------------------------------------------------

def _budget(v: V) -> float:
    return float(v("gpus") * v("days") * 86400 * v("peak_tflops") * 1e12 * v("utilisation"))


def _decoder_params(v: V) -> float:
    # the stem's formula, 12 L d^2 + V d; the library's count must agree
    n = 12 * v("layers") * v("width") ** 2 + v("vocab") * v("width")
    assert n == float(transformer_params(v("layers"), v("width"), v("vocab")))
    return float(n)


def _tokens(v: V) -> float:
    return _budget(v) / (6 * _decoder_params(v))


def _welsh_four_epochs(v: V) -> float:
    return 4 * v("welsh_b") * 1e9


BILINGUAL = [
    Figure("4.83e+21 FLOPs", "4.83e+21", _budget),
    Figure("the budget 4.83e21 FLOPs", "4.83e21", _budget),
    Figure("| 1.34B |", "1.34", lambda v: _decoder_params(v) / 1e9),
    Figure("trains a 1.34B model", "1.34", lambda v: _decoder_params(v) / 1e9),
    Figure("| 601B (449 tokens per parameter) |", "601", lambda v: _tokens(v) / 1e9),
    Figure("| 601B (449 tokens per parameter) |", "449", lambda v: _tokens(v) / _decoder_params(v)),
    Figure("about 601B tokens (449 per parameter)", "601", lambda v: _tokens(v) / 1e9),
    Figure("about 601B tokens (449 per parameter)", "449", lambda v: _tokens(v) / _decoder_params(v)),
    Figure("four epochs of Welsh are 20B tokens, only 3.3% of them", "20", lambda v: _welsh_four_epochs(v) / 1e9),
    Figure("four epochs of Welsh are 20B tokens, only 3.3% of them", "3.3",
           lambda v: 100 * _welsh_four_epochs(v) / _tokens(v)),
    Figure("20B tokens, 3.3% of $D$", "3.3", lambda v: 100 * _welsh_four_epochs(v) / _tokens(v)),
    Figure("26.8B tokens, 2.15e+20 FLOPs", "26.8", lambda v: 20 * _decoder_params(v) / 1e9),
    Figure("26.8B tokens, 2.15e+20 FLOPs", "2.15e+20",
           lambda v: float(training_flops(_decoder_params(v), 20 * _decoder_params(v)))),
    Figure("would be 75% of them", "75", lambda v: 100 * _welsh_four_epochs(v) / (20 * _decoder_params(v))),
    Figure("(20 tokens per parameter is 26.8B tokens, of which 20B Welsh would be 75%)", "75",
           lambda v: 100 * _welsh_four_epochs(v) / (20 * _decoder_params(v))),
    Figure("(26.8B tokens, 2.15e20 FLOPs, about 4% of the budget)", "2.15e20",
           lambda v: 6 * _decoder_params(v) * 20 * _decoder_params(v)),
    Figure("(26.8B tokens, 2.15e20 FLOPs, about 4% of the budget)", "4",
           lambda v: 100 * 6 * 20 * _decoder_params(v) ** 2 / _budget(v), tolerance=0.5),
    Figure("30% of 601B tokens, about 180B", "180", lambda v: 0.3 * _tokens(v) / 1e9, tolerance=1),
    Figure("a 1.3B model trained on about 600B tokens", "1.3", lambda v: _decoder_params(v) / 1e9),
    Figure("a 1.3B model trained on about 600B tokens", "600", lambda v: _tokens(v) / 1e9, tolerance=5),
    Figure("\\times 0.4 = 4.83e+21$ FLOPs", "4.83e+21", _budget),
    Figure("\\cdot 2048 = 1.34$B", "1.34", lambda v: _decoder_params(v) / 1e9),
    Figure("$D = C/6N = 601$B tokens, 449 per parameter", "601", lambda v: _tokens(v) / 1e9),
    Figure("$D = C/6N = 601$B tokens, 449 per parameter", "449", lambda v: _tokens(v) / _decoder_params(v)),
]


def test_bilingual_plan_calls_a_thirty_percent_welsh_share_dozens_of_epochs() -> None:
    essay = load_essay(BOOK / "ch1-pre-training" / "bilingual-decoder-data-mix-plan.yaml")
    assert "needs dozens of epochs of 5B unique tokens" in essay.rubric
    epochs = 0.3 * _tokens(essay.value) / (essay.value("welsh_b") * 1e9)
    assert 24 <= epochs < 48  # 36: "dozens"


# --- Ch.1: a compact on-device encoder -----------------------------------------------------------

def _encoder(layers: int, width: int, v: V, factor: int | None = None) -> float:
    """Encoder layers with a 4d feed-forward block, plus word-piece and position embeddings; the
    word-piece table factorised through ``factor`` (ALBERT) when given."""
    body = layers * float(encoder_layer_params(width, 4 * width))
    words = v("vocab") * width if factor is None else v("vocab") * factor + factor * width
    return body + words + v("positions") * width


def _mlm(v: V, kind: str) -> float:
    return float(mlm_mask_count(v("positions"), 0.15, kind=kind))


COMPACT = [
    Figure("| 108.6M |", "108.6", lambda v: _encoder(12, 768, v) / 1e6),
    Figure("BERT-base has 108.6M parameters", "108.6", lambda v: _encoder(12, 768, v) / 1e6),
    Figure("| 22.4M (embeddings 53% of it) |", "22.4", lambda v: _encoder(6, 384, v) / 1e6),
    Figure("| 22.4M (embeddings 53% of it) |", "53",
           lambda v: 100 * (v("vocab") + v("positions")) * 384 / _encoder(6, 384, v)),
    Figure("6 layers at d = 384 with full embeddings, 22.4M", "22.4", lambda v: _encoder(6, 384, v) / 1e6),
    Figure("(53% of the 6-layer d = 384 model)", "53",
           lambda v: 100 * (v("vocab") + v("positions")) * 384 / _encoder(6, 384, v)),
    Figure("| 17.3M |", "17.3", lambda v: _encoder(12, 256, v) / 1e6),
    Figure("12 layers at d = 256 (17.3M)", "17.3", lambda v: _encoder(12, 256, v) / 1e6),
    Figure("| 14.7M |", "14.7", lambda v: _encoder(6, 384, v, factor=v("factor_e")) / 1e6),
    Figure("embeddings factorised through E = 128 (14.7M)", "14.7",
           lambda v: _encoder(6, 384, v, factor=v("factor_e")) / 1e6),
    Figure("has on average 19.2 positions", "19.2", lambda v: _mlm(v, "selected")),
    Figure("15.36 shown as `[MASK]`, 1.92 as a", "15.36", lambda v: _mlm(v, "mask")),
    Figure("15.36 shown as `[MASK]`, 1.92 as a", "1.92", lambda v: _mlm(v, "random")),
    Figure("random token and 1.92 left unchanged", "1.92", lambda v: _mlm(v, "kept")),
    Figure("a loss at about 19.2 of 128 positions", "19.2", lambda v: _mlm(v, "selected")),
    Figure("(15.36 [MASK], 1.92 random, 1.92 kept)", "15.36", lambda v: v("positions") * 0.15 * 0.8),
    Figure("(15.36 [MASK], 1.92 random, 1.92 kept)", "1.92", lambda v: v("positions") * 0.15 * 0.1),
    Figure("masked LM gives a loss at 19.2 of 128 positions", "19.2", lambda v: _mlm(v, "selected")),
    Figure("brings that model to 14.7M", "14.7", lambda v: _encoder(6, 384, v, factor=v("factor_e")) / 1e6),
    Figure("twelve layers at $d = 256$ have 17.3M", "17.3", lambda v: _encoder(12, 256, v) / 1e6),
]


def test_compact_encoder_budget_claims() -> None:
    essay = load_essay(BOOK / "ch1-pre-training" / "compact-encoder-objective-under-parameter-budget.yaml")
    budget = essay.value("budget_m") * 1e6
    v = essay.value
    assert _encoder(6, 384, v) > budget  # "over 20M ... without noticing"
    assert _encoder(12, 256, v) < budget and _encoder(6, 384, v, factor=v("factor_e")) < budget  # "Either fits"
    # "leaves room for a seventh or eighth layer": eight factorised layers fit with 1.8M to spare
    # (a ninth would leave 25k, no margin for heads or a pooler)
    assert "leaves room for a seventh or eighth layer" in essay.solution
    assert _encoder(8, 384, v, factor=v("factor_e")) < budget - 1.5e6
    assert budget - _encoder(9, 384, v, factor=v("factor_e")) < 0.1e6


# --- Ch.2: a decoder for a 24 GB GPU ---------------------------------------------------------------

def _cache_gb(layers: int, kv_heads: int, v: V, byte_size: int = 2) -> float:
    tokens = v("sessions") * v("context")
    # 2 (keys and values) · layers · KV heads · 128 · tokens · bytes; the library must agree
    by_hand = 2 * layers * kv_heads * 128 * tokens * byte_size
    assert by_hand == float(kv_cache_bytes(layers, kv_heads, 128, tokens, byte_size))
    return by_hand / 1e9


def _weights_gb(layers: int, width: int, v: V) -> float:
    return 2 * (12 * layers * width**2 + v("vocab") * width) / 1e9


DECODER_24GB = [
    Figure("| 6.57B | 13.1 GB | 68.7 GB (512 KiB per token) |", "6.57",
           lambda v: _weights_gb(32, 4096, v) / 2),
    Figure("| 6.57B | 13.1 GB | 68.7 GB (512 KiB per token) |", "13.1", lambda v: _weights_gb(32, 4096, v)),
    Figure("| 6.57B | 13.1 GB | 68.7 GB (512 KiB per token) |", "68.7", lambda v: _cache_gb(32, 32, v)),
    Figure("| 6.57B | 13.1 GB | 68.7 GB (512 KiB per token) |", "512",
           lambda v: 2 * 32 * 32 * 128 * 2 / 1024),
    Figure("| 17.2 GB (128 KiB per token); 8.6 GB in int8 |", "17.2", lambda v: _cache_gb(32, 8, v)),
    Figure("| 17.2 GB (128 KiB per token); 8.6 GB in int8 |", "128", lambda v: 2 * 32 * 8 * 128 * 2 / 1024),
    Figure("| 17.2 GB (128 KiB per token); 8.6 GB in int8 |", "8.6", lambda v: _cache_gb(32, 8, v, 1)),
    Figure("| 2.82B | 5.6 GB | 6.44 GB |", "2.82", lambda v: _weights_gb(24, 3072, v) / 2),
    Figure("| 2.82B | 5.6 GB | 6.44 GB |", "5.6", lambda v: _weights_gb(24, 3072, v)),
    Figure("| 2.82B | 5.6 GB | 6.44 GB |", "6.44", lambda v: _cache_gb(24, 4, v)),
    Figure("| 4.43B | 8.9 GB | 7.52 GB |", "4.43", lambda v: _weights_gb(28, 3584, v) / 2),
    Figure("| 4.43B | 8.9 GB | 7.52 GB |", "8.9", lambda v: _weights_gb(28, 3584, v)),
    Figure("| 4.43B | 8.9 GB | 7.52 GB |", "7.52", lambda v: _cache_gb(28, 4, v)),
    Figure("KV cache for 131,072 tokens", "131,072", lambda v: v("sessions") * v("context")),
    Figure("**Fit.** 20 GB are available", "20", lambda v: v("gpu_gb") - v("reserve_gb")),
    Figure("A with full attention needs 13.1 + 68.7 GB", "13.1", lambda v: _weights_gb(32, 4096, v)),
    Figure("A with full attention needs 13.1 + 68.7 GB", "68.7", lambda v: _cache_gb(32, 32, v)),
    Figure("with 8 KV heads still 13.1 + 17.2 = 30.3 GB", "30.3",
           lambda v: _weights_gb(32, 4096, v) + _cache_gb(32, 8, v)),
    Figure("(21.7 GB with an int8 cache)", "21.7", lambda v: _weights_gb(32, 4096, v) + _cache_gb(32, 8, v, 1)),
    Figure("B fits easily (5.6 + 6.44 = 12.1 GB)", "12.1", lambda v: _weights_gb(24, 3072, v) + _cache_gb(24, 4, v)),
    Figure("C fits (8.9 + 7.52 = 16.4 GB)", "16.4", lambda v: _weights_gb(28, 3584, v) + _cache_gb(28, 4, v)),
    Figure("8.9 + 7.52 = 16.4 GB: C", "16.4", lambda v: _weights_gb(28, 3584, v) + _cache_gb(28, 4, v)),
    Figure("(32 to 8 KV heads divides it by 4)", "4", lambda v: _cache_gb(32, 32, v) / _cache_gb(32, 8, v)),
]


def test_decoder_for_24gb_verdicts_follow_from_the_memory() -> None:
    essay = load_essay(BOOK / "ch2-generative-models" / "decoder-config-for-a-24gb-gpu.yaml")
    v = essay.value
    usable = v("gpu_gb") - v("reserve_gb")
    assert _weights_gb(32, 4096, v) + _cache_gb(32, 8, v, 1) > usable  # A: "too much" even with int8
    fits = {name: _weights_gb(layers, width, v) + _cache_gb(layers, 4, v) for name, layers, width in
            [("B", 24, 3072), ("C", 28, 3584)]}
    assert fits["B"] < fits["C"] < usable  # C: "the largest of these that fits with a margin"


# --- Ch.2: extending RoPE's context ---------------------------------------------------------------

def _per_token(v: V, context: float) -> float:
    # Kaplan et al.: 6N per token plus the attention term 6 L n_ctx d, N non-embedding
    n = 12 * v("layers") * v("width") ** 2
    return 6 * n + 6 * v("layers") * context * v("width")


def _attention_share(v: V, context: float) -> float:
    return 100 * 6 * v("layers") * context * v("width") / _per_token(v, context)


def _extension_budget(v: V) -> float:
    return float(v("gpus") * v("peak_tflops") * 1e12 * v("mfu") * v("hours") * 3600)


def _slowest(v: V, position: float, base: float = 10_000) -> float:
    pair = v("head_dim") / 2 - 1
    by_hand = position * base ** (-2 * pair / v("head_dim"))
    assert math.isclose(by_hand, float(rope_angle(position, pair, v("head_dim"), base)), rel_tol=1e-12)
    return float(by_hand)


ROPE = [
    Figure("a 6.44B-parameter decoder", "6.44", lambda v: float(transformer_params(v("layers"), v("width"))) / 1e9),
    Figure("| angle of the slowest pair ($i$ = 63)", "63", lambda v: v("head_dim") / 2 - 1),
    Figure("base 10,000: the largest it saw in training | 0.473 rad |", "0.473",
           lambda v: _slowest(v, v("trained_ctx"))),
    Figure("the same pair at position 32,768, base 10,000 | 3.784 rad |", "3.784",
           lambda v: _slowest(v, v("target_ctx"))),
    Figure("the same pair at position 32,768, base 500,000 | 0.0805 rad |", "0.0805",
           lambda v: _slowest(v, v("target_ctx"), v("new_base"))),
    Figure("(1 rad before) | 0.125 rad |", "0.125",
           lambda v: float(rope_angle(v("trained_ctx") / v("target_ctx"), 0, v("head_dim")))),
    Figure("at 4,096 | 4.19e+10 (attention 8%) |", "4.19e+10", lambda v: _per_token(v, v("trained_ctx"))),
    Figure("at 4,096 | 4.19e+10 (attention 8%) |", "8", lambda v: _attention_share(v, v("trained_ctx"))),
    Figure("the same at 32,768 | 6.44e+10 (attention 40%) |", "6.44e+10", lambda v: _per_token(v, v("target_ctx"))),
    Figure("the same at 32,768 | 6.44e+10 (attention 40%) |", "40", lambda v: _attention_share(v, v("target_ctx"))),
    Figure("| 9.57e+20 FLOPs, about 14.9B tokens at 32,768 |", "9.57e+20", _extension_budget),
    Figure("| 9.57e+20 FLOPs, about 14.9B tokens at 32,768 |", "14.9",
           lambda v: _extension_budget(v) / _per_token(v, v("target_ctx")) / 1e9),
    Figure("(bf16, 32 KV heads) | 17.2 GB |", "17.2",
           lambda v: float(kv_cache_bytes(v("layers"), 32, v("head_dim"), v("target_ctx"))) / 1e9),
    Figure("the slowest pair turns 3.784 rad, eight times the 0.473 rad", "3.784",
           lambda v: _slowest(v, v("target_ctx"))),
    Figure("the slowest pair turns 3.784 rad, eight times the 0.473 rad", "0.473",
           lambda v: _slowest(v, v("trained_ctx"))),
    Figure("a base of 500,000 keeps that pair at 0.0805 rad", "0.0805",
           lambda v: _slowest(v, v("target_ctx"), v("new_base"))),
    Figure("interpolation by 8 also keeps", "8", lambda v: v("target_ctx") / v("trained_ctx")),
    Figure("turns the fastest pair only 0.125 rad between neighbours", "0.125",
           lambda v: v("trained_ctx") / v("target_ctx")),
    Figure("The budget is 9.57e20 FLOPs", "9.57e20", _extension_budget),
    Figure("at 32k each token costs 6.44e10 FLOPs", "6.44e10", lambda v: _per_token(v, v("target_ctx"))),
    Figure("40% of it attention (8% at 4k)", "40", lambda v: _attention_share(v, v("target_ctx"))),
    Figure("40% of it attention (8% at 4k)", "8", lambda v: _attention_share(v, v("trained_ctx"))),
    Figure("so about 14.9B tokens", "14.9", lambda v: _extension_budget(v) / _per_token(v, v("target_ctx")) / 1e9),
    Figure("the slowest pair turns 0.473 rad at position 4,096", "0.473", lambda v: _slowest(v, v("trained_ctx"))),
    Figure("and 3.784 rad at 32,768: unseen rotations", "3.784", lambda v: _slowest(v, v("target_ctx"))),
    Figure("Raising the base to 500,000 keeps it at 0.0805 rad", "0.0805",
           lambda v: _slowest(v, v("target_ctx"), v("new_base"))),
    Figure("makes the fastest pair turn only 0.125 rad", "0.125", lambda v: v("trained_ctx") / v("target_ctx")),
    Figure("costs 6.44e+10 FLOPs per token (40% attention, against 8% at 4,096), so about 14.9B", "14.9",
           lambda v: _extension_budget(v) / _per_token(v, v("target_ctx")) / 1e9),
    Figure("**Inference.** 17.2 GB of cache", "17.2",
           lambda v: float(kv_cache_bytes(v("layers"), 32, v("head_dim"), v("target_ctx"))) / 1e9),
    Figure("One 32k sequence needs 17.2 GB of KV cache", "17.2",
           lambda v: 2 * v("layers") * 32 * v("head_dim") * v("target_ctx") * 2 / 1e9),
]


def test_rope_plan_ratios() -> None:
    essay = load_essay(BOOK / "ch2-generative-models" / "rope-context-extension-plan.yaml")
    v = essay.value
    assert _slowest(v, v("target_ctx")) / _slowest(v, v("trained_ctx")) == 8  # "eight times"
    assert _slowest(v, v("target_ctx"), v("new_base")) < _slowest(v, v("trained_ctx"))  # "inside the trained range"
    assert v("target_ctx") / v("trained_ctx") == 8  # the cache per sequence, hence concurrency, "eightfold"


# --- Ch.3: a RAG prompt under a budget ------------------------------------------------------------

def _prefix(v: V) -> float:
    return float(v("instructions") + v("demos") * v("demo_tokens"))


def _cost(v: V, chunks: int, *, demos: bool = True, cached: bool = False, answers: int = 1) -> float:
    """Dollars per question: prices are per million tokens; each answer pays its output."""
    fixed = _prefix(v) if demos else float(v("instructions"))
    fixed_price = v("price_cached") if cached else v("price_in")
    read = fixed * fixed_price + (v("question") + chunks * v("chunk")) * v("price_in")
    return (read + answers * v("answer") * v("price_out")) / 1e6


def _fit(v: V, fixed: float) -> float:
    return (v("window") - fixed - v("question") - v("answer")) // v("chunk")


RAG = [
    Figure("| 16 / 20 |", "16", lambda v: _fit(v, _prefix(v))),
    Figure("| 16 / 20 |", "20", lambda v: _fit(v, v("instructions"))),
    Figure("| budget per question | \\$0.0200 |", "0.0200", lambda v: v("daily_budget") / v("requests")),
    Figure("16 chunks with demonstrations | \\$0.0291 |", "0.0291", lambda v: _cost(v, 16)),
    Figure("| \\$0.0207 / \\$0.0167 |", "0.0207", lambda v: _cost(v, 8)),
    Figure("| \\$0.0207 / \\$0.0167 |", "0.0167", lambda v: _cost(v, 8, demos=False)),
    Figure("read from the prompt cache | \\$0.0152 |", "0.0152", lambda v: _cost(v, 8, cached=True)),
    Figure("| 0.896 / 0.942 |", "0.896", lambda v: float(majority_vote_accuracy(v("p_right"), 3))),
    Figure("| 0.896 / 0.942 |", "0.942", lambda v: float(majority_vote_accuracy(v("p_right"), 5))),
    Figure("With the 2050-token prefix", "2050", _prefix),
    Figure("three answers for every question cost \\$0.0272", "0.0272", lambda v: _cost(v, 8, cached=True, answers=3)),
    Figure("recall 0.62 at 4, 0.81 at 8, 0.90 at 16", "0.62", lambda v: v("recall_k")[0]),
    Figure("recall 0.62 at 4, 0.81 at 8, 0.90 at 16", "0.81", lambda v: v("recall_k")[1]),
    Figure("recall 0.62 at 4, 0.81 at 8, 0.90 at 16", "0.90", lambda v: v("recall_k")[2]),
    Figure("16 chunks with the demonstrations cost 0.0291 dollars against a budget of 0.0200", "0.0291",
           lambda v: _cost(v, 16)),
    Figure("16 chunks with the demonstrations cost 0.0291 dollars against a budget of 0.0200", "0.0200",
           lambda v: v("daily_budget") / v("requests")),
    Figure("8 chunks with demonstrations 0.0207 dollars (over budget)", "0.0207", lambda v: _cost(v, 8)),
    Figure("without them 0.0167", "0.0167", lambda v: _cost(v, 8, demos=False)),
    Figure("read from the prompt cache 0.0152 (within budget)", "0.0152", lambda v: _cost(v, 8, cached=True)),
    Figure("a majority of 3 answers is right 0.896 of the time against 0.8 for one (0.942 for 5)", "0.896",
           lambda v: 3 * v("p_right") ** 2 - 2 * v("p_right") ** 3),
    Figure("a majority of 3 answers is right 0.896 of the time against 0.8 for one (0.942 for 5)", "0.942",
           lambda v: sum(math.comb(5, k) * v("p_right") ** k * (1 - v("p_right")) ** (5 - k) for k in (3, 4, 5))),
    Figure("each extra answer adds 0.006 dollars of output", "0.006", lambda v: v("answer") * v("price_out") / 1e6),
    Figure("voting over 3 answers costs 0.0272, over budget", "0.0272", lambda v: _cost(v, 8, cached=True, answers=3)),
]


def test_rag_budget_verdicts() -> None:
    essay = load_essay(BOOK / "ch3-prompting" / "rag-prompt-pipeline-under-budget.yaml")
    v = essay.value
    budget = v("daily_budget") / v("requests")
    assert _fit(v, _prefix(v)) == 16  # "all 16 chunks that fit"
    assert _cost(v, 16) > budget and _cost(v, 8) > budget  # over budget
    assert _cost(v, 8, demos=False) < budget and _cost(v, 8, cached=True) < budget  # within
    assert _cost(v, 8, cached=True, answers=3) > budget  # voting on every question is over


# --- Ch.5: LoRA adapters for many tenants -----------------------------------------------------------

def _base(v: V) -> float:
    d, kv, ffn = v("width"), v("kv_width"), v("ffn")
    return float(v("layers") * (2 * d * d + 2 * d * kv + 3 * d * ffn) + 2 * v("vocab") * d)


def _lora(v: V, rank: int, *, mlp: bool) -> float:
    d, kv = v("width"), v("kv_width")
    per_layer = 2 * rank * (d + d) + 2 * rank * (d + kv) + (3 * rank * (d + v("ffn")) if mlp else 0)
    assert per_layer == float(2 * lora_parameter_count(d, d, rank) + 2 * lora_parameter_count(d, kv, rank)
                              + (3 * lora_parameter_count(d, v("ffn"), rank) if mlp else 0))
    return float(v("layers") * per_layer)


def _kv_peak_gb(v: V) -> float:
    return float(kv_cache_bytes(v("layers"), 8, 128, v("concurrent") * v("context"))) / 1e9


def _left(v: V) -> float:
    return v("gpu_gb") - 2 * _base(v) / 1e9 - _kv_peak_gb(v)


LORA = [
    Figure("The base model has\n8.03B parameters", "8.03", lambda v: _base(v) / 1e9),
    Figure("16.1 GB in bf16", "16.1", lambda v: 2 * _base(v) / 1e9),
    Figure("| 16.1 GB each, 4.82 TB for all |", "4.82", lambda v: v("customers") * 2 * _base(v) / 1e12),
    Figure("| 13.63M parameters, 27.3 MB; 8.18 GB for all 300 |", "13.63", lambda v: _lora(v, 16, mlp=False) / 1e6),
    Figure("| 13.63M parameters, 27.3 MB; 8.18 GB for all 300 |", "27.3", lambda v: 2 * _lora(v, 16, mlp=False) / 1e6),
    Figure("| 13.63M parameters, 27.3 MB; 8.18 GB for all 300 |", "8.18",
           lambda v: v("customers") * 2 * _lora(v, 16, mlp=False) / 1e9),
    Figure("| 167.8M parameters, 335.5 MB; 100.7 GB for all |", "167.8", lambda v: _lora(v, 64, mlp=True) / 1e6),
    Figure("| 167.8M parameters, 335.5 MB; 100.7 GB for all |", "335.5", lambda v: 2 * _lora(v, 64, mlp=True) / 1e6),
    Figure("| 167.8M parameters, 335.5 MB; 100.7 GB for all |", "100.7",
           lambda v: v("customers") * 2 * _lora(v, 64, mlp=True) / 1e9),
    Figure("| KV cache per token (bf16) | 128 KiB |", "128", lambda v: 2 * v("layers") * 8 * 128 * 2 / 1024),
    Figure("| KV cache at peak, 50 × 6,000 tokens | 39.3 GB |", "39.3", _kv_peak_gb),
    Figure("| left for adapters and activations at peak | 24.6 GB |", "24.6", _left),
    Figure("(16.1 GB each, 4.82 TB in all)", "4.82", lambda v: v("customers") * 2 * _base(v) / 1e12),
    Figure("Rank 16 on the attention projections is 13.63M parameters, 27.3 MB per customer and 8.18 GB",
           "8.18", lambda v: v("customers") * 2 * _lora(v, 16, mlp=False) / 1e9),
    Figure("rank 64 on all seven matrices is 167.8M, 335.5 MB, 100.7 GB for all", "100.7",
           lambda v: v("customers") * 2 * _lora(v, 64, mlp=True) / 1e9),
    Figure("80 − 16.1 (weights) − 39.3 (cache for 50 × 6,000 tokens at 128 KiB per token) = 24.6 GB", "24.6", _left),
    Figure("(8 GB for int8 weights; half the cache)", "8", lambda v: _base(v) / 1e9, tolerance=0.5),
    Figure("An int8 base frees 8 GB", "8", lambda v: _base(v) / 1e9, tolerance=0.5),
    Figure("at 128 KiB each, 39.3 GB; 80 − 16.1 − 39.3 = 24.6 GB remain", "39.3", _kv_peak_gb),
    Figure("at 128 KiB each, 39.3 GB; 80 − 16.1 − 39.3 = 24.6 GB remain", "24.6", _left),
    Figure("rank 64 on all seven matrices 167.8M, 335.5 MB, 100.7 GB for all", "335.5",
           lambda v: 2 * _lora(v, 64, mlp=True) / 1e6),
]


def test_lora_fleet_fits_at_rank_16_only() -> None:
    essay = load_essay(BOOK / "ch5-inference" / "lora-multi-tenant-serving-design.yaml")
    v = essay.value
    fleet_16 = v("customers") * 2 * _lora(v, 16, mlp=False) / 1e9
    fleet_64 = v("customers") * 2 * _lora(v, 64, mlp=True) / 1e9
    assert fleet_16 < _left(v) < fleet_64  # "enough for all rank-16 adapters but not the rank-64 ones"


# --- Ch.5: speculative decoding in an editor --------------------------------------------------------

def _speedups(v: V, draft: str) -> list[float]:
    alpha, cost = v(f"alpha_{draft}"), v(f"c_{draft}")
    got = [float(speculative_speedup(alpha, g, cost)) for g in v("gammas")]
    by_hand = [(1 - alpha ** (g + 1)) / ((1 - alpha) * (g * cost + 1)) for g in v("gammas")]
    assert np.allclose(got, by_hand, rtol=1e-12)
    return got


def _verify_ms(v: V) -> float:
    """Verification of 64 sequences × (γ = 4) + 1 positions, interpolated in the measured step times."""
    return float(np.interp(64 * 5, v("positions"), v("step_ms")))


def _spec_rate(v: V) -> float:
    return 64 * float(speculative_expected_tokens(v("alpha_small"), 4)) / (_verify_ms(v) / 1000)


def _speedup_row(phrase: str, draft: str, printed: list[str]) -> list[Figure]:
    def at(i: int) -> Callable[[V], float]:
        return lambda v: _speedups(v, draft)[i]
    return [Figure(phrase, figure, at(i)) for i, figure in enumerate(printed)]


SPECULATIVE = [
    *_speedup_row("| 1B draft | 1.93 | 2.18 | 2.17 | 2.06 |", "small", ["1.93", "2.18", "2.17", "2.06"]),
    *_speedup_row("| 7B draft | 1.59 | 1.65 | 1.57 | 1.46 |", "mid", ["1.59", "1.65", "1.57", "1.46"]),
    *_speedup_row("| prompt lookup | 1.72 | 1.86 | 1.87 | 1.85 |", "lookup", ["1.72", "1.86", "1.87", "1.85"]),
    Figure("The 1B draft at γ = 4 gives 2.18", "2.18", lambda v: _speedups(v, "small")[1]),
    Figure("(γ = 6 gives 2.17 and γ = 8 2.06", "2.17", lambda v: _speedups(v, "small")[2]),
    Figure("(γ = 6 gives 2.17 and γ = 8 2.06", "2.06", lambda v: _speedups(v, "small")[3]),
    Figure("(1.65 at best, at γ = 4)", "1.65", lambda v: max(_speedups(v, "mid"))),
    Figure("prompt lookup reaches 1.87 at γ = 6", "1.87", lambda v: _speedups(v, "lookup")[2]),
    Figure("is best (2.88 tokens per target step)", "2.88",
           lambda v: float(speculative_expected_tokens(v("alpha_small"), 4))),
    Figure("Plain decoding at batch 64 gives 64 / 45 ms ≈ 1,422 tokens/s", "1,422",
           lambda v: 64 / (v("step_ms")[2] / 1000)),
    Figure("Plain decoding at batch 64: 1,422 tokens/s", "1,422", lambda v: 64 / (v("step_ms")[2] / 1000)),
    Figure("verifying γ = 4 for 64 sequences processes 320 positions", "320", lambda v: 64 * 5),
    Figure("about 147.5 ms by interpolation", "147.5", _verify_ms),
    Figure("about 147.5 ms, for 64 × 2.88", "147.5", _verify_ms),
    Figure("for 64 × 2.88 = 184 tokens", "184", lambda v: 64 * float(speculative_expected_tokens(v("alpha_small"), 4))),
    Figure("about 1,250 tokens/s even before drafting time", "1,250", _spec_rate, tolerance=5),
    Figure("tokens: 1,250 tokens/s before drafting time", "1,250", _spec_rate),
]


def test_speculative_plan_choices_follow_from_the_table() -> None:
    essay = load_essay(BOOK / "ch5-inference" / "speculative-decoding-deployment-plan.yaml")
    v = essay.value
    small, mid, lookup = (_speedups(v, d) for d in ("small", "mid", "lookup"))
    assert max(small + mid + lookup) == small[1]  # "the best in the table"
    assert small[2] < small[1] and small[3] < small[2]  # a longer draft is not always better
    assert max(mid) == mid[1] and max(lookup) == lookup[2]
    assert _spec_rate(v) < 64 / (v("step_ms")[2] / 1000)  # "slower" than plain decoding at the peak


# --- the shared check -------------------------------------------------------------------------------

ESSAYS: dict[str, tuple[str, list[Figure]]] = {
    "bilingual-decoder-data-mix-plan": ("ch1-pre-training", BILINGUAL),
    "compact-encoder-objective-under-parameter-budget": ("ch1-pre-training", COMPACT),
    "decoder-config-for-a-24gb-gpu": ("ch2-generative-models", DECODER_24GB),
    "rope-context-extension-plan": ("ch2-generative-models", ROPE),
    "rag-prompt-pipeline-under-budget": ("ch3-prompting", RAG),
    "lora-multi-tenant-serving-design": ("ch5-inference", LORA),
    "speculative-decoding-deployment-plan": ("ch5-inference", SPECULATIVE),
}


@pytest.mark.parametrize("name", sorted(ESSAYS))
def test_every_figure_an_essay_states_is_what_its_data_give(name: str) -> None:
    folder, figures = ESSAYS[name]
    essay = load_essay(BOOK / folder / f"{name}.yaml")
    problems = [p for p in (figure.problem(essay) for figure in figures) if p]
    assert not problems, f"{name}: " + "; ".join(problems)


def _essay_files() -> list[str]:
    return sorted(path.stem for path in BOOK.glob("ch*/*.yaml") if "\ntype: essay\n" in path.read_text("utf-8"))


NO_DATA = {
    "design-a-pretraining-objective",
    "prompt-design-essay",
    "self-refinement-loop-design",
    "decoding-configuration-design",
}


def test_every_chapter_essay_is_checked_or_has_no_data() -> None:
    assert _essay_files() == sorted(set(ESSAYS) | NO_DATA)


def test_design_a_pretraining_objective_states_no_derived_figure() -> None:
    essay = load_essay(BOOK / "ch1-pre-training" / "design-a-pretraining-objective.yaml")
    assert not essay.item.params and not essay.item.compute


def test_prompt_design_window_budget() -> None:
    essay = load_essay(BOOK / "ch3-prompting" / "prompt-design-essay.yaml")
    assert "8,192 − 3,000 − a reserved 800-token output − a\n400-token instruction ≈ 4,000 tokens" in essay.solution
    left = 8192 - 3000 - 800 - 400  # window − longest letter − reserved output − instruction
    assert abs(left - 4000) <= 10
    assert states(essay.stem, "8,192") and states(essay.stem, "3,000")


def test_self_refinement_settles_at_f_over_f_plus_b() -> None:
    """The rubric's claim: with a' = a(1 − b) + (1 − a)f, accuracy approaches f/(f + b) geometrically
    (ratio 1 − f − b), and a loop that starts above it lowers accuracy."""
    essay = load_essay(BOOK / "ch3-prompting" / "self-refinement-loop-design.yaml")
    assert "a(1 − b) + (1 − a)f" in essay.rubric and "f/(f + b)" in essay.rubric
    for f, b, start in [(0.3, 0.05, 0.4), (0.2, 0.1, 0.9), (0.6, 0.7, 0.95)]:
        fixed, a = f / (f + b), start
        for _ in range(5):
            after = a * (1 - b) + (1 - a) * f
            assert math.isclose(after - fixed, (1 - f - b) * (a - fixed), abs_tol=1e-12)
            if a > fixed:
                assert after < a
            a = after


def test_decoding_design_sample_size_detects_a_change_from_two_percent() -> None:
    """"Enough samples to detect a change from 2% (e.g. a few thousand answers)": halving the
    invented-figure rate, 2% to 1%, needs about 2,300 answers per configuration at a two-sided 5%
    level and 80% power (the normal approximation for two proportions)."""
    essay = load_essay(BOOK / "ch5-inference" / "decoding-configuration-design.yaml")
    assert "about 2% of answers" in essay.stem and "(e.g. a few thousand answers)" in essay.rubric
    z_alpha, z_power = 1.959964, 0.841621
    p0, p1 = 0.02, 0.01
    n = (z_alpha + z_power) ** 2 * (p0 * (1 - p0) + p1 * (1 - p1)) / (p0 - p1) ** 2
    assert 2000 < n < 5000
