"""The ML function library of Assay: the real functions behind computed answers.

Every function takes scalars, lists or arrays of real numbers, broadcasts them with numpy's rules,
computes in float64 and returns a float64 ``numpy.ndarray`` (0-d for scalar inputs). Functions that
work along an axis work along the last one; every leading axis is a batch (the expression evaluator
passes a batch of variants along axis 0), and per-row parameters such as a temperature or a
discount broadcast against those leading axes.

Numerical contract, for every finite input:

* no numpy warning and no ``nan``; never ``-0.0``;
* the value is accurate to about 1e-12 relative wherever it lies in the float64 range, including
  extremes such as ``ranking_loss(1000, -1000) == 0`` and ``ranking_loss(-1000, 1000) == 2000``
  (log-sum-exp with the maximum shifted out, ``exp(-|x|)`` and ``log1p``), and including
  cancellation: sums such as ``r_c - r_r - m`` and IPO's ``h - 1/(2β)`` are formed with
  error-free transformations (see ``_arithmetic``), and GAE carries its returns in two floats;
* a quantity of a formula (a reward difference, a log-ratio, a return) whose true value lies beyond
  the float64 range (about 1.8e308) saturates to ±inf, its correctly rounded value, and the
  function returns the corresponding limit. Only inputs near 1e308 get there.

Parameters out of their domain (a temperature or beta <= 0, a discount outside [0, 1], an unknown
KL estimator, a non-integral class index) raise ``ValueError`` naming the parameter.

``REGISTRY`` lists every public function with its formula in LaTeX, for the expression evaluator
and for display; ``get(name)`` looks one up.
"""

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
from engine.functions.registry import REGISTRY, FunctionSpec, get

__all__ = [
    "REGISTRY",
    "FunctionSpec",
    "absmax_quantise",
    "alibi_slope",
    "attention_weights",
    "bradley_terry_prob",
    "causal_attention_weights",
    "chinchilla_loss",
    "chinchilla_optimal_params",
    "chinchilla_optimal_tokens",
    "cross_entropy",
    "dpo_loss",
    "encoder_layer_params",
    "entropy",
    "gae",
    "get",
    "hinge_ranking_loss",
    "ipo_loss",
    "kl_estimator",
    "kv_cache_bytes",
    "kwise_ranking_loss",
    "layer_norm",
    "length_normalised_score",
    "log_sigmoid",
    "log_softmax",
    "lora_parameter_count",
    "majority_vote_accuracy",
    "masked_lm_loss",
    "mlm_mask_count",
    "model_state_bytes",
    "ndcg_at_k",
    "perplexity",
    "plurality_vote_accuracy",
    "ppo_clip_loss",
    "precision_at_k",
    "ranking_error",
    "ranking_loss",
    "recall_at_k",
    "reciprocal_rank",
    "repetition_penalty",
    "rope_angle",
    "sigmoid",
    "sinusoidal_encoding",
    "softmax",
    "softplus",
    "speculative_expected_tokens",
    "speculative_speedup",
    "training_flops",
    "transformer_params",
    "value_clip_loss",
]
