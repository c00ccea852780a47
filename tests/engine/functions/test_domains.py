"""The registry's declarations of what each argument means and what each result is measured in."""

import inspect

import numpy as np
import pytest

from engine.functions.registry import (
    CLIP,
    DOMAINS,
    INDEX,
    LOG_PROBABILITY,
    REAL,
    REGISTRY,
    TEMPERATURE,
    UNITS,
)

NOT_NUMBERS = {"axis", "kind"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_numeric_argument_has_a_domain(name: str) -> None:
    parameters = set(inspect.signature(REGISTRY[name].func).parameters) - NOT_NUMBERS
    assert set(DOMAINS[name]) == parameters


def test_every_function_has_a_unit() -> None:
    assert set(UNITS) == set(REGISTRY)
    assert UNITS["ranking_loss"] == "nats"
    assert UNITS["bradley_terry_prob"] == "probability"
    assert UNITS["perplexity"] == "dimensionless"


def test_domains_hold_where_the_argument_means_something() -> None:
    values = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan])
    assert LOG_PROBABILITY.holds(values).tolist() == [True, True, False, False, False, False]
    assert TEMPERATURE.holds(values).tolist() == [False, False, True, True, True, False]
    assert CLIP.holds(values).tolist() == [False, False, True, False, False, False]
    assert INDEX.holds(values).tolist() == [False, True, False, True, True, False]
    assert REAL.unbounded and not LOG_PROBABILITY.unbounded


def test_a_domain_reads_as_what_it_is() -> None:
    assert str(LOG_PROBABILITY) == "a log-probability (≤ 0)"
    assert str(TEMPERATURE) == "a temperature (> 0)"
    assert str(CLIP) == "a clip range ε in (0, 1)"
    assert str(DOMAINS["dpo_loss"]["label_smoothing"]) == "a label-smoothing rate in [0, 0.5]"
    assert str(INDEX) == "a class index (a whole number ≥ 0)"
