"""Vectorised grading gives exactly what grading one by one gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.grading import grade_responses
from engine.qtypes import ResponseError, qtype_for
from engine.variants import VariantBatch, generate_batch
from tests.engine import samples


def random_response(kind: str, batch: VariantBatch, row: int, rng: np.random.Generator) -> dict[str, Any]:
    variant = batch[row]
    count = 0 if variant.order is None else len(variant.order)
    roll = rng.random()
    if roll < 0.05:
        return {"nonsense": True}  # invalid: a format error, never graded
    if kind == "single_choice":
        return {"choice": int(rng.integers(count))}
    if kind == "multiple_response":
        picks = rng.random(count) < 0.5
        picks[rng.integers(count)] = True
        return {"choices": [int(p) for p in np.flatnonzero(picks)]}
    if kind == "numeric":
        key = batch.key
        candidates = [key["answer"][row], *key["misconception_values"][row], rng.normal()]
        return {"answer": f"{candidates[int(rng.integers(len(candidates)))]:.4g}"}
    if kind == "true_false":
        return {"answer": bool(rng.random() < 0.5)}
    if kind == "ordering":
        return {"order": [int(p) for p in rng.permutation(count)]}
    if kind == "matching":
        pairs = len(batch.item.pairs)  # type: ignore[attr-defined]
        return {"matches": [int(rng.integers(count)) for _ in range(pairs)]}
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "text",
    [samples.SEED, samples.SINGLE, samples.NUMERIC, samples.TRUE_FALSE, samples.ORDERING,
     samples.MATCHING, samples.SHORT],
)
def test_vectorised_grading_equals_one_by_one(text: str) -> None:
    item = samples.item(text)
    qtype = qtype_for(item)
    batch = generate_batch(item, range(40))
    rng = np.random.default_rng(2024)
    rows = rng.integers(0, len(batch), size=400)
    if item.type_name == "short_text":
        raw = [{"answer": str(rng.choice(["Bradley Terry", "luce", "softmax", "no idea"]))} for _ in rows]
    else:
        raw = [random_response(item.type_name, batch, int(r), rng) for r in rows]
    result = grade_responses(batch, raw, rows)
    for n, (response, row) in enumerate(zip(raw, rows, strict=True)):
        variant = batch[int(row)]
        try:
            one = qtype.grade(item, variant, qtype.parse(item, variant, response))
        except ResponseError:
            assert np.isnan(result.fraction[n])
            assert result.misconception_name(n) is None
            continue
        assert result.fraction[n] == pytest.approx(one.fraction, abs=1e-12), response
        assert result.misconception_name(n) == one.misconception, response


def test_essays_are_not_graded_in_bulk() -> None:
    batch = generate_batch(samples.item(samples.ESSAY), [0])
    with pytest.raises(ValueError, match="graded by a person"):
        grade_responses(batch, [{"text": "an answer"}], [0])


def test_one_variant_row_per_response() -> None:
    batch = generate_batch(samples.item(samples.NUMERIC), [0])
    with pytest.raises(ValueError, match="one variant row per response"):
        grade_responses(batch, [{"answer": "1"}], [0, 0])


@pytest.mark.parametrize(
    "text",
    [samples.SEED, samples.SINGLE, samples.NUMERIC, samples.TRUE_FALSE, samples.ORDERING,
     samples.MATCHING, samples.SHORT, samples.ESSAY],
)
def test_a_type_that_parses_without_the_variant_parses_the_same_with_any(text: str) -> None:
    """``parse_reads_variant = False`` lets :func:`parse_responses` skip making each response's
    variant; it holds only if every variant parses a response alike (right, wrong, invalid)."""
    item = samples.item(text)
    qtype = qtype_for(item)
    if qtype.parse_reads_variant:
        pytest.skip(f"{qtype.name} reads the variant")
    batch = generate_batch(item, range(12))
    raw: list[Any] = [{"nonsense": True}, {}]
    for row in range(len(batch)):
        raw += [dict(case.response) for case in qtype.self_test_cases(item, batch[row])]
    for response in raw:
        outcomes = set()
        for row in range(len(batch)):
            try:
                outcomes.add(repr(qtype.parse(item, batch[row], response)))
            except ResponseError as exc:
                outcomes.add(f"error: {exc}")
        assert len(outcomes) == 1, (response, outcomes)
