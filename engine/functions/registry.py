"""The registry of the function library: every public function with its formula for display.

The expression evaluator exposes exactly these functions to item authors, and pages show their
formula, summary and source next to a computed answer. An entry's summary is its function's
docstring summary, and its ``latex`` appears verbatim in the docstring's formula (a test holds
them together), so what is displayed never drifts from what is documented.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from engine.functions._util import FloatArray
from engine.functions.activations import log_sigmoid, sigmoid, softplus
from engine.functions.advantages import gae
from engine.functions.architecture import (
    alibi_slope,
    attention_weights,
    causal_attention_weights,
    chinchilla_loss,
    chinchilla_optimal_params,
    chinchilla_optimal_tokens,
    kv_cache_bytes,
    layer_norm,
    model_state_bytes,
    rope_angle,
    sinusoidal_encoding,
    training_flops,
    transformer_params,
)
from engine.functions.distributions import (
    cross_entropy,
    entropy,
    log_softmax,
    perplexity,
    softmax,
)
from engine.functions.inference import (
    absmax_quantise,
    length_normalised_score,
    lora_parameter_count,
    repetition_penalty,
    speculative_expected_tokens,
    speculative_speedup,
)
from engine.functions.policy import kl_estimator, ppo_clip_loss, value_clip_loss
from engine.functions.preference import dpo_loss, ipo_loss
from engine.functions.pretraining import encoder_layer_params, masked_lm_loss, mlm_mask_count
from engine.functions.prompting import (
    MAX_PLURALITY_ANSWERS,
    majority_vote_accuracy,
    ndcg_at_k,
    plurality_vote_accuracy,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)
from engine.functions.ranking import (
    bradley_terry_prob,
    hinge_ranking_loss,
    kwise_ranking_loss,
    ranking_error,
    ranking_loss,
)


@dataclass(frozen=True)
class FunctionSpec:
    """One public function of the library, as item authors and pages see it.

    ``reduces_last_axis`` is True when the result drops the input's last axis (a loss over the
    K responses, the V classes or the T tokens of each row) and False when it keeps the shape
    (elementwise functions, softmax, log_softmax, gae).

    The last three fields say how much work a call does, so that the expression language can
    charge it to an item's work budget and refuse it before it runs: ``pairwise`` when the
    function forms every pair along the last axis (K(K-1)/2 numbers per row of K),
    ``loops_over_last_axis`` when it takes one numpy pass per entry of that axis, and
    ``max_length``, the longest last axis an item may pass (``None``: only the size bound of a
    value applies), set where the cost grows faster than the vector or step by step.
    """

    name: str
    func: Callable[..., FloatArray]
    latex: str
    summary: str
    reference: str
    reduces_last_axis: bool
    pairwise: bool = False
    loops_over_last_axis: bool = False
    max_length: int | None = None


MAX_RANKED_RESPONSES = 64
"""Longest vector of scores ``kwise_ranking_loss`` takes from an item: 2,016 pairs per ranking
(InstructGPT ranks 4 to 9 responses per prompt)."""
MAX_TRAJECTORY_STEPS = 1000
"""Longest trajectory ``gae`` takes from an item: its recursion takes one numpy pass per step."""


def _spec(
    func: Callable[..., FloatArray], latex: str, reference: str, reduces_last_axis: bool = False,
    *, pairwise: bool = False, loops_over_last_axis: bool = False, max_length: int | None = None,
) -> FunctionSpec:
    # The summary is the docstring's first line, so the two cannot drift; under ``python -OO``,
    # which strips docstrings, it falls back to the name.
    summary = (func.__doc__ or func.__name__).strip().splitlines()[0]
    return FunctionSpec(func.__name__, func, latex, summary, reference, reduces_last_axis,
                        pairwise, loops_over_last_axis, max_length)


_INSTRUCTGPT = "Ouyang et al. 2022, Training language models to follow instructions, eq. 1"
_DEEP_LEARNING = "Goodfellow, Bengio & Courville 2016, Deep Learning, sec. 3.10"
_SOFTMAX = "Bridle 1990; temperature: Hinton, Vinyals & Dean 2015"
_JOACHIMS = "Joachims 2002, Optimizing search engines using clickthrough data"
_LEVIATHAN = "Leviathan, Kalman & Matias 2023, Fast inference from transformers via speculative decoding"
_VASWANI = "Vaswani et al. 2017, Attention is all you need, sec. 3.2.1, eq. 1"
_KAPLAN = "Kaplan et al. 2020, Scaling laws for neural language models, sec. 2.1"
_KAPLAN_TABLE_1 = f"{_KAPLAN} and Table 1"
_CHINCHILLA = "Hoffmann et al. 2022, Training compute-optimal large language models, sec. 3.3"
_MANNING = "Manning, Raghavan & Schütze 2008, Introduction to Information Retrieval"

_SPECS = (
    _spec(sigmoid, r"\frac{1}{1 + e^{-x}}", _DEEP_LEARNING),
    _spec(log_sigmoid, r"-\log\left(1 + e^{-x}\right)", _DEEP_LEARNING),
    _spec(softplus, r"\log\left(1 + e^{x}\right)", _DEEP_LEARNING),
    _spec(bradley_terry_prob, r"\sigma(r_c - r_r)", "Bradley & Terry 1952, Biometrika 39"),
    _spec(
        ranking_loss,
        r"-\log\sigma(r_c - r_r - m)",
        f"{_INSTRUCTGPT}; margin: Touvron et al. 2023, Llama 2, eq. 2",
    ),
    _spec(hinge_ranking_loss, r"\max\left(0,\ m - (r_c - r_r)\right)", _JOACHIMS),
    _spec(ranking_error, r"\mathbb{1}\left[r_c - r_r \le 0\right]", _JOACHIMS),
    _spec(
        kwise_ranking_loss,
        r"\frac{1}{\binom{K}{2}} \sum_{i < j} -\log\sigma(s_i - s_j)",
        _INSTRUCTGPT,
        reduces_last_axis=True,
        pairwise=True,
        max_length=MAX_RANKED_RESPONSES,
    ),
    _spec(
        dpo_loss,
        r"-(1-\varepsilon)\log\sigma(z) - \varepsilon\log\sigma(-z)",
        "Rafailov et al. 2023, Direct preference optimization, eq. 7; "
        "label smoothing: Mitchell 2023, conservative DPO",
    ),
    _spec(
        ipo_loss,
        r"\left(h - \frac{1}{2\beta}\right)^2",
        "Azar et al. 2023, A general theoretical paradigm to understand learning from human preferences",
    ),
    _spec(
        ppo_clip_loss,
        r"-\min\left(\rho\hat{A},\ \operatorname{clip}(\rho, 1-\epsilon, 1+\epsilon)\hat{A}\right)",
        "Schulman et al. 2017, Proximal policy optimization algorithms, eq. 7",
    ),
    _spec(
        value_clip_loss,
        r"\frac{1}{2}\max\left((V - R)^2,\ "
        r"\left(\operatorname{clip}(V, V_{old}-\epsilon, V_{old}+\epsilon) - R\right)^2\right)",
        "Engstrom et al. 2020, Implementation matters in deep policy gradients",
    ),
    _spec(
        kl_estimator,
        r"k_1 = -\log r,\quad k_2 = \tfrac{1}{2}(\log r)^2,\quad k_3 = (r - 1) - \log r",
        "Schulman 2020, Approximating KL divergence",
    ),
    _spec(
        gae,
        r"\hat{A}_t = \delta_t + \gamma\lambda\hat{A}_{t+1}",
        "Schulman et al. 2016, Generalized advantage estimation, eq. 16",
        loops_over_last_axis=True,
        max_length=MAX_TRAJECTORY_STEPS,
    ),
    _spec(softmax, r"\frac{e^{z_i / T}}{\sum_j e^{z_j / T}}", _SOFTMAX),
    _spec(log_softmax, r"\frac{z_i}{T} - \log\sum_j e^{z_j / T}", _SOFTMAX),
    _spec(
        entropy,
        r"-\sum_i p_i \log p_i",
        "Shannon 1948, A mathematical theory of communication",
        reduces_last_axis=True,
    ),
    _spec(
        cross_entropy,
        r"-\log\operatorname{softmax}(z)_y",
        "Goodfellow, Bengio & Courville 2016, Deep Learning, sec. 6.2.2.3",
        reduces_last_axis=True,
    ),
    _spec(
        perplexity,
        r"\exp\left(-\frac{1}{T}\sum_{t=1}^{T} \log p_t\right)",
        "Jelinek et al. 1977, Perplexity: a measure of the difficulty of speech recognition tasks",
        reduces_last_axis=True,
    ),
    # Ch.1 Pre-training
    _spec(
        mlm_mask_count,
        r"n_{sel} = p\,n,\quad n_{mask} = p\,q_m n,\quad n_{rand} = p\,q_r n,\quad "
        r"n_{kept} = p\,(1 - q_m - q_r)\,n",
        "Devlin et al. 2019, BERT, sec. 3.1 (15% selected; 80% [MASK], 10% random, 10% kept)",
    ),
    _spec(
        masked_lm_loss,
        r"-\frac{1}{|M|} \sum_{t \in M} \log p(x_t \mid \tilde{x})",
        "Devlin et al. 2019, BERT, sec. 3.1",
        reduces_last_axis=True,
    ),
    _spec(
        encoder_layer_params,
        r"4(d^2 + d) + 2\,d\,d_{ff} + d_{ff} + d + 4d",
        "Vaswani et al. 2017, Attention is all you need, sec. 3; BERT-base: Devlin et al. 2019",
    ),
    # Ch.5 Inference
    _spec(
        length_normalised_score,
        r"\frac{\log P(Y \mid X)}{|Y|^{\alpha}}",
        "Wu et al. 2016, Google's neural machine translation system, sec. 7",
    ),
    _spec(
        repetition_penalty,
        r"z'_i = \begin{cases} z_i / \theta & c_i > 0,\ z_i > 0 \\ "
        r"z_i \, \theta & c_i > 0,\ z_i \le 0 \\ z_i & c_i = 0 \end{cases}",
        "Keskar et al. 2019, CTRL, sec. 4.1",
    ),
    _spec(
        speculative_expected_tokens,
        r"\frac{1 - \alpha^{\gamma + 1}}{1 - \alpha}",
        f"{_LEVIATHAN}, eq. 1",
    ),
    _spec(
        speculative_speedup,
        r"\frac{1 - \alpha^{\gamma + 1}}{(1 - \alpha)(\gamma c + 1)}",
        f"{_LEVIATHAN}, Theorem 3.8",
    ),
    _spec(
        absmax_quantise,
        r"q_i = \operatorname{round}\left(Q \frac{x_i}{\max_j |x_j|}\right)",
        "Dettmers et al. 2022, LLM.int8(), sec. 2.1, eq. 1",
    ),
    _spec(
        lora_parameter_count,
        r"N_{LoRA} = r\,(d_{in} + d_{out})",
        "Hu et al. 2022, LoRA: low-rank adaptation of large language models, sec. 4.1",
    ),

    # Ch.2 Generative Models: the transformer's arithmetic (engine/functions/architecture.py)
    _spec(attention_weights, r"\operatorname{softmax}\left(\frac{q \cdot k_j}{\sqrt{d_k}}\right)_j", _VASWANI),
    _spec(
        causal_attention_weights,
        r"\frac{\exp\left(q \cdot k_j / \sqrt{d_k}\right)\,[j \le t]}",
        f"{_VASWANI}; masking: sec. 3.2.3",
    ),
    _spec(
        layer_norm,
        r"g\,\frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}} + b",
        "Ba, Kiros & Hinton 2016, Layer normalization, eqs. 3-4",
    ),
    _spec(
        sinusoidal_encoding,
        r"PE_{(pos, 2k)} = \sin\left(pos / 10000^{2k/d}\right)",
        "Vaswani et al. 2017, Attention is all you need, sec. 3.5",
    ),
    _spec(rope_angle, r"\phi = m\,\theta_i, \qquad \theta_i = b^{-2i/d}",
          "Su et al. 2021, RoFormer: rotary position embedding, eqs. 14-15"),
    _spec(alibi_slope, r"m_h = 2^{-8h/n}",
          "Press, Smith & Lewis 2022, Train short, test long (ALiBi), sec. 3"),
    _spec(transformer_params, r"N = 2\,L\,d\,(2d + r\,d) + V d", _KAPLAN_TABLE_1),
    _spec(training_flops, r"C \approx 6\,N\,D", _KAPLAN),
    _spec(chinchilla_loss, r"\hat L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}",
          f"{_CHINCHILLA}, eq. 2 and its fitted constants"),
    _spec(chinchilla_optimal_params,
          r"N_{opt}(C) = G\left(\frac{C}{6}\right)^{\frac{\beta}{\alpha+\beta}}", f"{_CHINCHILLA}, eq. 4"),
    _spec(chinchilla_optimal_tokens,
          r"D_{opt}(C) = G^{-1}\left(\frac{C}{6}\right)^{\frac{\alpha}{\alpha+\beta}}", f"{_CHINCHILLA}, eq. 4"),
    _spec(kv_cache_bytes, r"M = 2 \cdot L \cdot h_{kv} \cdot d_{head} \cdot T \cdot b",
          "Pope et al. 2023, Efficiently scaling transformer inference, sec. 3.1"),
    _spec(model_state_bytes, r"\Psi' = \frac{\Psi}{t\,p}",
          "Rajbhandari et al. 2020, ZeRO: memory optimizations, sec. 5 and Figure 1"),
    # Ch.3 Prompting: self-consistency voting and retrieval metrics
    _spec(
        majority_vote_accuracy,
        r"\sum_{j > k/2} \binom{k}{j} p^j (1-p)^{k-j}",
        "Condorcet 1785 (jury theorem); Wang et al. 2023, Self-consistency improves chain of "
        "thought reasoning",
    ),
    _spec(
        plurality_vote_accuracy,
        r"\sum_{n_0 + \dots + n_{m-1} = k} \frac{k!}{\prod_i n_i!} \prod_i q_i^{n_i}",
        "Wang et al. 2023, Self-consistency improves chain of thought reasoning; "
        "Feller 1968, sec. VI.9",
        reduces_last_axis=True,
        max_length=MAX_PLURALITY_ANSWERS,
    ),
    _spec(precision_at_k, r"\frac{1}{k}\sum_{i=1}^{k} \mathbb{1}[\mathrm{rel}_i > 0]",
          _MANNING + ", sec. 8.4", reduces_last_axis=True),
    _spec(recall_at_k, r"\frac{1}{R}\sum_{i=1}^{k} \mathbb{1}[\mathrm{rel}_i > 0]",
          _MANNING + ", sec. 8.3", reduces_last_axis=True),
    _spec(reciprocal_rank, r"\frac{1}{\min\{i : \mathrm{rel}_i > 0\}}",
          "Voorhees 1999, The TREC-8 question answering track report", reduces_last_axis=True),
    _spec(ndcg_at_k, r"\frac{\sum_{i=1}^{k} g_i / \log_2(i + 1)}{\sum_{i=1}^{k} g^*_i / \log_2(i + 1)}",
          "Järvelin & Kekäläinen 2002, Cumulated gain-based evaluation of IR techniques",
          reduces_last_axis=True),
)

REGISTRY: Mapping[str, FunctionSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})


def get(name: str) -> FunctionSpec:
    """Return the spec of a registered function; ``KeyError`` lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown function {name!r}{hint}; known functions: {known}") from None


# --------------------------------------------------------------------------------------------
# What each argument means, and what each result is measured in
#
# The functions accept any finite float (they are stable everywhere), but an argument has a
# meaning: a log-probability is never positive, a temperature or a probability ratio is
# positive. The content checker evaluates every argument of every call an item makes, over
# every variant it checks, and reports a variant that feeds a function outside its domain; it
# holds a numeric item's declared ``unit`` to the unit of the function its key comes from.


@dataclass(frozen=True)
class Domain:
    """The values an argument is meant to take: what it is, and its bounds."""

    meaning: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    whole: bool = False
    """Only whole numbers (an index)."""

    @property
    def unbounded(self) -> bool:
        return self.low == -math.inf and self.high == math.inf and not self.whole

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Elementwise: whether each value lies in the domain (NaN never does)."""
        values = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = (values > self.low) if self.low_open else (values >= self.low)
            ok &= (values < self.high) if self.high_open else (values <= self.high)
            if self.whole:
                ok &= values == np.round(values)
        return ok

    def __str__(self) -> str:
        if self.unbounded:
            return self.meaning
        if self.whole and self.high < math.inf:
            return f"{self.meaning} (a whole number in {self.low:g} .. {self.high:g})"
        if self.whole:
            return f"{self.meaning} (a whole number ≥ {self.low:g})"
        if self.high == math.inf:
            return f"{self.meaning} ({'>' if self.low_open else '≥'} {self.low:g})"
        if self.low == -math.inf:
            return f"{self.meaning} ({'<' if self.high_open else '≤'} {self.high:g})"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{self.meaning} in {left}{self.low:g}, {self.high:g}{right}"


REAL = Domain("a real number")
SCORE = Domain("a reward score")
LOGIT = Domain("a logit")
ADVANTAGE = Domain("an advantage")
REWARD = Domain("a reward")
VALUE = Domain("a value estimate")
LOG_PROBABILITY = Domain("a log-probability", high=0.0)
RATIO = Domain("a probability ratio", low=0.0, low_open=True)
TEMPERATURE = Domain("a temperature", low=0.0, low_open=True)
BETA = Domain("a KL strength β", low=0.0, low_open=True)
MARGIN = Domain("a margin", low=0.0)
CLIP = Domain("a clip range ε", low=0.0, high=1.0, low_open=True, high_open=True)
DISCOUNT = Domain("a discount factor", low=0.0, high=1.0)
LABEL_SMOOTHING = Domain("a label-smoothing rate", low=0.0, high=0.5)
INDEX = Domain("a class index", low=0.0, whole=True)
# Ch.1 Pre-training
TOKEN_COUNT = Domain("a number of tokens", low=0.0)
RATE = Domain("a rate", low=0.0, high=1.0)
FLAG = Domain("a 0/1 flag", low=0.0, high=1.0, whole=True)
WIDTH = Domain("a layer width", low=1.0, whole=True)
ACCEPTANCE_RATE = Domain("an acceptance rate", low=0.0, high=1.0)
COUNT = Domain("a count", low=0.0, whole=True)
SIZE = Domain("a size", low=1.0, whole=True)
BIT_WIDTH = Domain("a bit width", low=2.0, high=16.0, whole=True)
EXPONENT = Domain("an exponent", low=0.0)
PENALTY = Domain("a penalty factor", low=0.0, low_open=True)
COST_RATIO = Domain("a cost ratio", low=0.0)
# Ch.2 Generative Models: the transformer's arithmetic
DOT_PRODUCT = Domain("a query-key dot product")
FEATURE = Domain("a feature value")
HEAD_DIM = Domain("a head dimension", low=0.0, low_open=True)
POSITION = Domain("a position", low=0.0, whole=True)
CONTINUOUS_POSITION = Domain("a position", low=0.0)
FEATURE_INDEX = Domain("a feature index", low=0.0, whole=True)
MODEL_WIDTH = Domain("a model width", low=2.0, whole=True)
ROPE_BASE = Domain("a RoPE base", low=1.0, low_open=True)
HEAD_NUMBER = Domain("a head number", low=1.0, whole=True)
QUANTITY = Domain("a count", low=0.0)
POSITIVE_SIZE = Domain("a size", low=0.0, low_open=True)
EPSILON = Domain("a stabilising ε", low=0.0)
FIT_CONSTANT = Domain("a fitted constant", low=0.0, low_open=True)
DEVICES = Domain("a number of devices", low=1.0, whole=True)
ZERO_STAGE = Domain("a ZeRO stage", low=0.0, high=3.0, whole=True)
PROBABILITY = Domain("a probability", low=0.0, high=1.0)
SAMPLES = Domain("a number of samples", low=1.0, whole=True)
RELEVANCE = Domain("a relevance judgement", low=0.0)
CUTOFF = Domain("a rank cut-off k", low=1.0, whole=True)
RELEVANT_COUNT = Domain("a number of relevant documents", low=1.0, whole=True)

DOMAINS: Mapping[str, Mapping[str, Domain]] = MappingProxyType({
    "sigmoid": {"x": REAL},
    "log_sigmoid": {"x": REAL},
    "softplus": {"x": REAL},
    "bradley_terry_prob": {"r_chosen": SCORE, "r_rejected": SCORE},
    "ranking_loss": {"r_chosen": SCORE, "r_rejected": SCORE, "margin": MARGIN},
    "hinge_ranking_loss": {"r_chosen": SCORE, "r_rejected": SCORE, "margin": MARGIN},
    "ranking_error": {"r_chosen": SCORE, "r_rejected": SCORE},
    "kwise_ranking_loss": {"scores": SCORE},
    "dpo_loss": {"policy_chosen_logps": LOG_PROBABILITY, "policy_rejected_logps": LOG_PROBABILITY,
                 "ref_chosen_logps": LOG_PROBABILITY, "ref_rejected_logps": LOG_PROBABILITY,
                 "beta": BETA, "label_smoothing": LABEL_SMOOTHING},
    "ipo_loss": {"policy_chosen_logps": LOG_PROBABILITY, "policy_rejected_logps": LOG_PROBABILITY,
                 "ref_chosen_logps": LOG_PROBABILITY, "ref_rejected_logps": LOG_PROBABILITY,
                 "beta": BETA},
    "ppo_clip_loss": {"ratio": RATIO, "advantage": ADVANTAGE, "clip_eps": CLIP},
    "value_clip_loss": {"values": VALUE, "old_values": VALUE, "returns": REWARD, "clip_eps": CLIP},
    "kl_estimator": {"logp_policy": LOG_PROBABILITY, "logp_ref": LOG_PROBABILITY},
    "gae": {"rewards": REWARD, "values": VALUE, "gamma": DISCOUNT, "lam": DISCOUNT, "last_value": VALUE},
    "softmax": {"logits": LOGIT, "temperature": TEMPERATURE},
    "log_softmax": {"logits": LOGIT, "temperature": TEMPERATURE},
    "entropy": {"logits": LOGIT},
    "cross_entropy": {"logits": LOGIT, "target": INDEX},
    "perplexity": {"token_logps": LOG_PROBABILITY},
    # Ch.1 Pre-training
    "mlm_mask_count": {"n_tokens": TOKEN_COUNT, "mask_rate": RATE, "mask_prob": RATE, "random_prob": RATE},
    "masked_lm_loss": {"token_logps": LOG_PROBABILITY, "selected": FLAG},
    "encoder_layer_params": {"d_model": WIDTH, "d_ff": WIDTH},
    # Ch.5 Inference
    "length_normalised_score": {"logp": LOG_PROBABILITY, "length": SIZE, "alpha": EXPONENT},
    "repetition_penalty": {"logits": LOGIT, "counts": COUNT, "penalty": PENALTY},
    "speculative_expected_tokens": {"alpha": ACCEPTANCE_RATE, "gamma": COUNT},
    "speculative_speedup": {"alpha": ACCEPTANCE_RATE, "gamma": COUNT, "cost_ratio": COST_RATIO},
    "absmax_quantise": {"x": REAL, "bits": BIT_WIDTH},
    "lora_parameter_count": {"d_in": SIZE, "d_out": SIZE, "rank": SIZE},
    # Ch.2 Generative Models: the transformer's arithmetic
    "attention_weights": {"scores": DOT_PRODUCT, "head_dim": HEAD_DIM},
    "causal_attention_weights": {"scores": DOT_PRODUCT, "position": POSITION, "head_dim": HEAD_DIM},
    "layer_norm": {"x": FEATURE, "gain": REAL, "bias": REAL, "eps": EPSILON},
    "sinusoidal_encoding": {"position": CONTINUOUS_POSITION, "index": FEATURE_INDEX, "d_model": MODEL_WIDTH},
    "rope_angle": {"position": REAL, "pair": FEATURE_INDEX, "head_dim": HEAD_DIM, "base": ROPE_BASE},
    "alibi_slope": {"head": HEAD_NUMBER, "n_heads": HEAD_NUMBER},
    "transformer_params": {"n_layers": QUANTITY, "d_model": POSITIVE_SIZE, "vocab_size": QUANTITY,
                           "ff_ratio": POSITIVE_SIZE},
    "training_flops": {"n_params": QUANTITY, "n_tokens": QUANTITY},
    "chinchilla_loss": {"n_params": POSITIVE_SIZE, "n_tokens": POSITIVE_SIZE, "e": REAL, "a": FIT_CONSTANT,
                        "b": FIT_CONSTANT, "alpha": FIT_CONSTANT, "beta": FIT_CONSTANT},
    "chinchilla_optimal_params": {"compute": POSITIVE_SIZE, "a": FIT_CONSTANT, "b": FIT_CONSTANT,
                                  "alpha": FIT_CONSTANT, "beta": FIT_CONSTANT},
    "chinchilla_optimal_tokens": {"compute": POSITIVE_SIZE, "a": FIT_CONSTANT, "b": FIT_CONSTANT,
                                  "alpha": FIT_CONSTANT, "beta": FIT_CONSTANT},
    "kv_cache_bytes": {"n_layers": QUANTITY, "n_kv_heads": QUANTITY, "head_dim": QUANTITY, "tokens": QUANTITY,
                       "bytes_per_value": POSITIVE_SIZE},
    "model_state_bytes": {"n_params": QUANTITY, "data_parallel": DEVICES, "tensor_parallel": DEVICES,
                          "pipeline_parallel": DEVICES, "zero_stage": ZERO_STAGE, "optimizer_bytes": QUANTITY},
    # Ch.3 Prompting
    "majority_vote_accuracy": {"p": PROBABILITY, "k": SAMPLES},
    "plurality_vote_accuracy": {"probs": PROBABILITY, "k": SAMPLES},
    "precision_at_k": {"relevant": RELEVANCE, "k": CUTOFF},
    "recall_at_k": {"relevant": RELEVANCE, "k": CUTOFF, "n_relevant": RELEVANT_COUNT},
    "reciprocal_rank": {"relevant": RELEVANCE},
    "ndcg_at_k": {"gains": RELEVANCE, "k": CUTOFF},
})
"""Each function's numeric arguments and their domains (``axis`` and ``kind`` are not numbers)."""

UNITS: Mapping[str, str] = MappingProxyType({
    "sigmoid": "probability",
    "log_sigmoid": "nats",
    "softplus": "nats",
    "bradley_terry_prob": "probability",
    "ranking_loss": "nats",
    "hinge_ranking_loss": "reward",
    "ranking_error": "errors",
    "kwise_ranking_loss": "nats",
    "dpo_loss": "nats",
    "ipo_loss": "nats²",
    "ppo_clip_loss": "reward",
    "value_clip_loss": "reward²",
    "kl_estimator": "nats",
    "gae": "reward",
    "softmax": "probability",
    "log_softmax": "nats",
    "entropy": "nats",
    "cross_entropy": "nats",
    "perplexity": "dimensionless",
    # Ch.1 Pre-training
    "mlm_mask_count": "tokens",
    "masked_lm_loss": "nats",
    "encoder_layer_params": "parameters",
    # Ch.5 Inference
    "length_normalised_score": "nats",
    "repetition_penalty": "logit",
    "speculative_expected_tokens": "tokens",
    "speculative_speedup": "dimensionless",
    "absmax_quantise": "the unit of x",
    "lora_parameter_count": "parameters",
    # Ch.2 Generative Models: the transformer's arithmetic
    "attention_weights": "probability",
    "causal_attention_weights": "probability",
    "layer_norm": "dimensionless",
    "sinusoidal_encoding": "dimensionless",
    "rope_angle": "radians",
    "alibi_slope": "dimensionless",
    "transformer_params": "parameters",
    "training_flops": "FLOPs",
    "chinchilla_loss": "nats",
    "chinchilla_optimal_params": "parameters",
    "chinchilla_optimal_tokens": "tokens",
    "kv_cache_bytes": "bytes",
    "model_state_bytes": "bytes",
    # Ch.3 Prompting
    "majority_vote_accuracy": "probability",
    "plurality_vote_accuracy": "probability",
    "precision_at_k": "dimensionless",
    "recall_at_k": "dimensionless",
    "reciprocal_rank": "dimensionless",
    "ndcg_at_k": "dimensionless",
})
"""The unit of each function's result: ``nats`` for losses and log-probabilities in natural
logarithms, ``probability``, ``reward`` (the scale of the rewards or advantages given), or
``dimensionless`` (a perplexity is an effective number of choices)."""
