"""Shapes: numpy broadcasting for elementwise functions, arbitrary leading (batch) dimensions for
the functions that work along the last axis. The expression evaluator calls every registered
function with axis 0 holding a batch of variants, so every one of them is exercised here."""

import numpy as np
import pytest

import engine.functions as F
from engine.functions import REGISTRY

from .test_architecture import SHAPE_TESTED_HERE

RNG_SEED = 20240501

# Elementwise functions and how many array arguments they take (positionally).
ELEMENTWISE_ARITY = {
    "sigmoid": 1,
    "log_sigmoid": 1,
    "softplus": 1,
    "bradley_terry_prob": 2,
    "ranking_loss": 3,
    "hinge_ranking_loss": 3,
    "ranking_error": 2,
    "dpo_loss": 4,
    "ipo_loss": 4,
    "ppo_clip_loss": 2,
    "value_clip_loss": 3,
    "kl_estimator": 2,
    # Ch.1 Pre-training
    "mlm_mask_count": 1,
    "encoder_layer_params": 2,
    # Ch.2 Generative Models: the transformer's arithmetic
    "rope_angle": 3,
    "transformer_params": 2,
    "training_flops": 2,
    "chinchilla_loss": 2,
    "chinchilla_optimal_params": 1,
    "chinchilla_optimal_tokens": 1,
    "kv_cache_bytes": 4,
    "model_state_bytes": 4,
    "majority_vote_accuracy": 2,  # Ch.3 Prompting
}

# Elementwise functions whose arguments have a narrower domain than positive reals: how the test
# values (positive, below 3.2) become valid ones.
ELEMENTWISE_DOMAIN = {
    "majority_vote_accuracy": lambda p, k: [p / 3.2, np.ceil(3 * k)],  # a probability, a count
}
WHOLE_NUMBER_ARGUMENTS = {"encoder_layer_params"}  # layer widths: the arguments are rounded up


def _scores(shape):
    return np.random.default_rng(RNG_SEED).uniform(-3.0, 3.0, size=shape)


# Functions along the last axis: a call given the data x of shape (..., n) and its leading shape.
LAST_AXIS_CALLS = {
    "kwise_ranking_loss": lambda x, lead: F.kwise_ranking_loss(x),
    "softmax": lambda x, lead: F.softmax(x, 0.5),
    "log_softmax": lambda x, lead: F.log_softmax(x, 2.0),
    "entropy": lambda x, lead: F.entropy(x),
    "cross_entropy": lambda x, lead: F.cross_entropy(x, np.argmin(x, axis=-1)),
    "perplexity": lambda x, lead: F.perplexity(-np.abs(x)),
    "gae": lambda x, lead: F.gae(x, np.roll(x, 1, axis=-1), 0.9, 0.8, np.ones(lead)),
    # every row selects its first position and those with a positive score
    "masked_lm_loss": lambda x, lead: F.masked_lm_loss(-np.abs(x), (x > 0) | (np.arange(x.shape[-1]) == 0)),
    # Ch.5 Inference: elementwise, but with whole-number arguments drawn from x
    "absmax_quantise": lambda x, lead: F.absmax_quantise(x, 4),
    "length_normalised_score": lambda x, lead: F.length_normalised_score(-np.abs(x), np.ceil(np.abs(x)) + 1, 0.7),
    "repetition_penalty": lambda x, lead: F.repetition_penalty(x, np.floor(np.abs(x)), 1.3),
    "speculative_expected_tokens": lambda x, lead: F.speculative_expected_tokens(np.abs(x) / 3, np.ceil(np.abs(x))),
    "speculative_speedup": lambda x, lead: F.speculative_speedup(np.abs(x) / 3, np.ceil(np.abs(x)), 0.05),
    "lora_parameter_count": lambda x, lead: F.lora_parameter_count(4096, 4096, np.ceil(np.abs(x)) + 1),
    "attention_weights": lambda x, lead: F.attention_weights(x, 16.0),
    "causal_attention_weights": lambda x, lead: F.causal_attention_weights(x, np.full(lead, 2.0), 4.0),
    "layer_norm": lambda x, lead: F.layer_norm(x, 2.0, 0.5),
    # Ch.3 Prompting
    "plurality_vote_accuracy": lambda x, lead: F.plurality_vote_accuracy(
        np.abs(x) / np.sum(np.abs(x), axis=-1, keepdims=True), np.full(lead, 3)),
    "precision_at_k": lambda x, lead: F.precision_at_k(x > 0, np.full(lead, 2)),
    "recall_at_k": lambda x, lead: F.recall_at_k(x > 0, np.full(lead, 2), np.full(lead, 5)),
    "reciprocal_rank": lambda x, lead: F.reciprocal_rank(x > 0),
    "ndcg_at_k": lambda x, lead: F.ndcg_at_k(np.abs(x), np.full(lead, 3)),
}


def test_every_registered_function_has_a_shape_test():
    assert set(ELEMENTWISE_ARITY) | set(LAST_AXIS_CALLS) | SHAPE_TESTED_HERE == set(REGISTRY)
    assert not set(ELEMENTWISE_ARITY) & set(LAST_AXIS_CALLS)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_ARITY))
def test_elementwise_functions_broadcast_3_1_with_1_4_to_3_4(name):
    arity = ELEMENTWISE_ARITY[name]
    shapes = [(3, 1) if i % 2 == 0 else (1, 4) for i in range(max(arity, 2))]
    args = [np.abs(_scores(shape)) + 0.1 for shape in shapes]
    if name in WHOLE_NUMBER_ARGUMENTS:
        args = [np.ceil(a) for a in args]
    if arity == 1:  # one argument: broadcast it from the two shapes first
        args = [args[0] + args[1]]
    if name in ELEMENTWISE_DOMAIN:
        args = ELEMENTWISE_DOMAIN[name](*args)
    out = REGISTRY[name].func(*args)
    assert out.shape == (3, 4)
    assert out.dtype == np.float64
    for i in range(3):
        for j in range(4):
            scalars = [a[i if a.shape[0] == 3 else 0, j if a.shape[1] == 4 else 0] for a in args]
            assert out[i, j] == REGISTRY[name].func(*scalars)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_ARITY))
def test_elementwise_functions_return_a_zero_dimensional_array_for_scalars(name):
    scalar = 1.0 if name in WHOLE_NUMBER_ARGUMENTS else 0.5
    args = [scalar] * ELEMENTWISE_ARITY[name]
    if name in ELEMENTWISE_DOMAIN:
        args = ELEMENTWISE_DOMAIN[name](*args)
    out = REGISTRY[name].func(*args)
    assert isinstance(out, np.ndarray)
    assert out.shape == ()
    assert out.dtype == np.float64


@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
@pytest.mark.parametrize("name", sorted(LAST_AXIS_CALLS))
def test_last_axis_functions_treat_leading_dimensions_as_a_batch(name, lead):
    call = LAST_AXIS_CALLS[name]
    x = _scores((*lead, 4))
    out = call(x, lead)
    spec = REGISTRY[name]
    assert out.shape == (lead if spec.reduces_last_axis else (*lead, 4))
    assert out.dtype == np.float64
    for index in np.ndindex(*lead):
        np.testing.assert_array_equal(out[index], call(x[index], ()))


def test_the_batch_of_variants_on_axis_0_does_not_mix_with_the_last_axis():
    # 4 variants of 4 logits: a square batch would silently broadcast wrongly if the temperature
    # were matched against the class axis instead of the variants.
    logits = _scores((4, 4))
    temperatures = np.array([0.5, 1.0, 2.0, 4.0])
    together = F.softmax(logits, temperatures)
    for v in range(4):
        np.testing.assert_array_equal(together[v], F.softmax(logits[v], temperatures[v]))
