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
from engine.functions.distributions import (
    cross_entropy,
    entropy,
    log_softmax,
    perplexity,
    softmax,
)
from engine.functions.policy import kl_estimator, ppo_clip_loss, value_clip_loss
from engine.functions.preference import dpo_loss, ipo_loss
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
