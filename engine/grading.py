"""Grading many responses to one item version at once (regrades, analytics, simulations).

Keys come from a :class:`~engine.variants.VariantBatch` (one row per variant); each response
says which row it answers. The question type's ``grade_many`` then works on whole arrays, and
gives exactly what :meth:`QuestionType.grade` gives one by one (tests hold it to that).
Types whose answers are free text (short text, essays) have no array form; for them
:func:`grade_responses` grades one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.qtypes import GradeBatch, ResponseError, Responses, qtype_for
from engine.variants import VariantBatch

__all__ = ["ParsedResponses", "grade_arrays", "grade_responses", "parse_responses"]


class ParsedResponses(Responses):
    """Responses as arrays, plus which were invalid (a format error: not graded, fraction NaN)."""

    def __init__(self, data: dict[str, np.ndarray], variant_index: np.ndarray,
                 invalid: np.ndarray) -> None:
        super().__init__(data, variant_index)
        self.invalid = invalid


def _key(batch: VariantBatch) -> dict[str, np.ndarray]:
    key = dict(batch.key)
    if batch.order is not None:
        key["order"] = batch.order
    return key


def grade_arrays(batch: VariantBatch, responses: Responses) -> GradeBatch:
    """Grade parsed responses held as arrays (see each type's ``stack``) in one numpy pass."""
    item = batch.item
    return qtype_for(item).grade_many(item, _key(batch), responses)


def parse_responses(batch: VariantBatch, raw: Sequence[Any],
                    variant_index: Sequence[int] | np.ndarray) -> ParsedResponses:
    """Parse raw responses one by one (format checks are per response) and stack them."""
    item = batch.item
    qtype = qtype_for(item)
    rows = np.asarray(variant_index, dtype=np.int64)
    if len(rows) != len(raw):
        raise ValueError("give one variant row per response")
    parsed: list[Any] = []
    invalid = np.zeros(len(raw), dtype=bool)
    first = batch[0]
    fallback = qtype.correct_response(item, first)  # placeholder for invalid rows
    placeholder = qtype.parse(item, first, fallback)
    reads_variant = qtype.parse_reads_variant
    for n, response in enumerate(raw):
        try:
            parsed.append(qtype.parse(item, batch[int(rows[n])] if reads_variant else first, response))
        except ResponseError:
            invalid[n] = True
            parsed.append(placeholder)
    stacked = qtype.stack(item, parsed)
    return ParsedResponses(stacked.data, rows, invalid)


def grade_responses(batch: VariantBatch, raw: Sequence[Any],
                    variant_index: Sequence[int] | np.ndarray) -> GradeBatch:
    """Grade raw responses: parse each, then grade all at once where the type allows.

    Invalid responses get a NaN fraction and no misconception.
    """
    item = batch.item
    qtype = qtype_for(item)
    if item.type_name == "essay":
        raise ValueError("essays are graded by a person against the rubric, not in bulk")
    try:
        parsed = parse_responses(batch, raw, variant_index)
        result = qtype.grade_many(item, _key(batch), parsed)
        fraction = np.where(parsed.invalid, np.nan, result.fraction)
        code = np.where(parsed.invalid, -1, result.misconception)
        return GradeBatch(fraction, code, result.names)
    except NotImplementedError:
        return _one_by_one(batch, raw, variant_index)


def _one_by_one(batch: VariantBatch, raw: Sequence[Any],
                variant_index: Sequence[int] | np.ndarray) -> GradeBatch:
    item = batch.item
    qtype = qtype_for(item)
    names = tuple(item.misconceptions)
    fraction = np.full(len(raw), np.nan)
    code = np.full(len(raw), -1)
    for n, response in enumerate(raw):
        variant = batch[int(variant_index[n])]
        try:
            grade = qtype.grade(item, variant, qtype.parse(item, variant, response))
        except ResponseError:
            continue
        fraction[n] = grade.fraction
        code[n] = names.index(grade.misconception) if grade.misconception else -1
    return GradeBatch(fraction, code, names)
