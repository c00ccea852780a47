"""The registry of public functions, the documentation contract and the package's imports."""

import ast
import dataclasses
import doctest
import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import engine.functions as F
from engine.functions import REGISTRY, FunctionSpec, get

PUBLIC_FUNCTIONS = {
    "sigmoid", "log_sigmoid", "softplus", "bradley_terry_prob", "ranking_loss",
    "hinge_ranking_loss", "ranking_error", "kwise_ranking_loss", "dpo_loss", "ppo_clip_loss",
    "kl_estimator", "gae", "softmax", "log_softmax", "cross_entropy", "perplexity",
    "value_clip_loss", "ipo_loss", "entropy",
    "mlm_mask_count", "masked_lm_loss", "encoder_layer_params",  # Ch.1 Pre-training
    # Ch.5 Inference
    "length_normalised_score", "repetition_penalty", "speculative_expected_tokens",
    "speculative_speedup", "absmax_quantise", "lora_parameter_count",
    # Ch.2 Generative Models: the transformer's arithmetic
    "attention_weights", "causal_attention_weights", "layer_norm", "sinusoidal_encoding", "rope_angle",
    "alibi_slope", "transformer_params", "training_flops", "chinchilla_loss", "chinchilla_optimal_params",
    "chinchilla_optimal_tokens", "kv_cache_bytes", "model_state_bytes",
    # Ch.3 Prompting
    "majority_vote_accuracy", "plurality_vote_accuracy", "precision_at_k", "recall_at_k",
    "reciprocal_rank", "ndcg_at_k",
}  # fmt: skip
REDUCING_LAST_AXIS = {"kwise_ranking_loss", "cross_entropy", "perplexity", "entropy", "masked_lm_loss",
                      # Ch.3 Prompting
                      "plurality_vote_accuracy", "precision_at_k", "recall_at_k", "reciprocal_rank",
                      "ndcg_at_k"}
MODULES = [
    importlib.import_module(f"engine.functions.{info.name}") for info in pkgutil.iter_modules(F.__path__)
]


def test_registry_lists_exactly_the_public_functions():
    assert set(REGISTRY) == PUBLIC_FUNCTIONS
    assert set(F.__all__) == PUBLIC_FUNCTIONS | {"REGISTRY", "FunctionSpec", "get"}


@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_each_spec_holds_the_module_level_function(name):
    spec = REGISTRY[name]
    assert spec.name == name
    assert spec.func is getattr(F, name)
    assert spec.func.__name__ == name
    assert spec.reference


def test_reduces_last_axis_marks_exactly_the_reducing_functions():
    assert {name for name, spec in REGISTRY.items() if spec.reduces_last_axis} == REDUCING_LAST_AXIS


def test_work_beyond_the_vector_is_declared_with_a_longest_vector():
    """kwise_ranking_loss forms K(K-1)/2 pairs and gae steps through T in Python: each takes a
    bounded vector from an item; the others cost what their broadcast inputs hold."""
    assert {name: spec.max_length for name, spec in REGISTRY.items() if spec.max_length} == {
        "kwise_ranking_loss": 64, "gae": 1000, "plurality_vote_accuracy": 5}
    assert {name for name, spec in REGISTRY.items() if spec.pairwise} == {"kwise_ranking_loss"}
    assert {name for name, spec in REGISTRY.items() if spec.loops_over_last_axis} == {"gae"}


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        REGISTRY["eval"] = REGISTRY["sigmoid"]  # type: ignore[index]


def test_function_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        REGISTRY["sigmoid"].func = print  # type: ignore[misc]


def test_get_returns_the_spec():
    assert get("ranking_loss") is REGISTRY["ranking_loss"]
    assert isinstance(get("gae"), FunctionSpec)


def test_get_of_an_unknown_name_lists_the_known_names_and_suggests_one():
    with pytest.raises(KeyError) as raised:
        get("ranking_los")
    message = str(raised.value)
    assert "did you mean 'ranking_loss'?" in message
    assert all(name in message for name in PUBLIC_FUNCTIONS)


def _normalised(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_docstring_holds_formula_sections_reference_and_example(name):
    doc = REGISTRY[name].func.__doc__
    assert doc is not None
    assert ".. math::" in doc
    for section in ("Parameters", "Returns", "References", "Examples"):
        assert re.search(rf"^\s*{section}\n\s*-{{{len(section)}}}$", doc, re.MULTILINE), section
    assert re.search(r"^\s*\.\. \[1\] ", doc, re.MULTILINE)  # a numbered citation
    assert ">>> " in doc


@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_displayed_formula_and_summary_match_the_docstring(name):
    spec = REGISTRY[name]
    doc = spec.func.__doc__ or ""
    assert _normalised(spec.latex) in _normalised(doc)
    assert spec.summary == doc.strip().splitlines()[0]


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_docstring_examples_run(module):
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0


def test_package_imports_only_numpy_and_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"numpy", "engine", "__future__"}
    for path in Path(F.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
