"""Ordering: put the options in order, by their listed order or by a computed rank.

Scoring methods (after Moodle's qtype_ordering), with K options:

- ``all_or_nothing``: 1 for exactly the right order;
- ``absolute_position``: the share of options in their right position;
- ``adjacent_pairs`` (the default; Moodle's "relative to the next item, excluding the last"):
  the share of the K−1 neighbouring pairs the student placed that are neighbours, in that order,
  in the right order;
- ``relative_to_correct``: each option scores (K−1) − |its position − its right position|; the
  total over K·(K−1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.items.types import OrderingItem
from engine.qtypes.base import (
    Grade,
    GradeBatch,
    QuestionType,
    Raw,
    ResponseError,
    Responses,
    SelfTestCase,
    Verdict,
)
from engine.qtypes.common import (
    Names,
    as_int,
    batch_value,
    first_true,
    misconception_feedback,
    option_scope,
    per_option,
    render_common,
    render_text,
    response_rows,
)
from engine.variants import Variant


def _sequence(ranks: np.ndarray, descending: bool) -> np.ndarray:
    """Authored option indices in their right order, per variant (stable for ties)."""
    keys = -ranks if descending else ranks
    return np.argsort(keys, axis=-1, kind="stable")


def score_orders(method: str | None, placed: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Fractions for student sequences ``placed`` against ``right`` (both (N, K) authored)."""
    count = placed.shape[-1]
    exact = np.all(placed == right, axis=-1)
    if method == "all_or_nothing":
        return exact.astype(np.float64)
    # right position of every authored option, per row
    position = np.empty_like(right)
    np.put_along_axis(position, right, np.arange(count)[np.newaxis, :].repeat(len(right), 0), axis=-1)
    placed_positions = np.take_along_axis(position, placed, axis=-1)  # right position of each placed
    if method == "absolute_position":
        return np.mean(placed_positions == np.arange(count), axis=-1)
    if method == "relative_to_correct":
        offsets = np.abs(placed_positions - np.arange(count))
        return np.sum((count - 1) - offsets, axis=-1) / (count * (count - 1))
    # adjacent_pairs (default)
    follows = np.diff(placed_positions, axis=-1) == 1
    return np.mean(follows, axis=-1)


class Ordering(QuestionType[OrderingItem]):
    name = "ordering"
    has_options = True
    parse_reads_variant = False

    def option_count(self, item: OrderingItem) -> int:
        return item.options.count

    def prepare(self, item: OrderingItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        count = self.option_count(item)
        ranked = item.options.expand()[0][0].rank is not None
        if ranked:
            ranks = per_option(item.options, "rank", names, batch)
        else:
            ranks = np.tile(np.arange(count, dtype=np.float64), (batch, 1))
        descending = item.order == "descending"
        sequences = []
        for misconception in item.misconceptions.values():
            assert misconception.order_by is not None
            keys = np.stack([
                batch_value(misconception.order_by, option_scope(names, binding, k), batch)
                for k, (_, binding, _) in enumerate(item.options.expand())
            ], axis=1)
            sequences.append(_sequence(keys, descending))
        return {
            "ranks": ranks,
            "sequence": _sequence(ranks, descending),
            "misconception_sequences": (
                np.stack(sequences, axis=1) if sequences else np.zeros((batch, 0, count), np.int64)
            ),
        }

    def render(self, item: OrderingItem, variant: Variant) -> dict[str, Any]:
        expanded = item.options.expand()
        assert variant.order is not None
        data = render_common(item, variant)
        data["options"] = [
            {"id": position, "text": render_text(expanded[k][0].text, variant, expanded[k][1])}
            for position, k in enumerate(variant.order)
        ]
        data["order"] = item.order
        return data

    def parse(self, item: OrderingItem, variant: Variant, raw: Raw) -> tuple[int, ...]:
        order = raw.get("order")
        count = self.option_count(item)
        if not isinstance(order, list | tuple):
            raise ResponseError("put every option in order")
        try:
            positions = tuple(as_int(p, "a position") for p in order)
        except ValueError as exc:
            raise ResponseError("put every option in order") from exc
        if sorted(positions) != list(range(count)):
            raise ResponseError(f"place each of the {count} options exactly once")
        return positions

    def _placed(self, variant: Variant, response: tuple[int, ...]) -> np.ndarray:
        assert variant.order is not None
        return np.array([[variant.order[p] for p in response]])

    def grade(self, item: OrderingItem, variant: Variant, response: tuple[int, ...]) -> Grade:
        placed = self._placed(variant, response)
        right = variant.key["sequence"]
        fraction = float(score_orders(item.scoring.method, placed, right)[0])
        if np.array_equal(placed, right):
            return Grade(1.0)
        matches = np.all(variant.key["misconception_sequences"][0] == placed, axis=-1)
        code = int(first_true(matches))
        if code < 0:
            return Grade(fraction)
        name = list(item.misconceptions)[code]
        says, text = misconception_feedback(item, name, variant)
        return Grade(fraction, (text,), name, says)

    def stack(self, item: OrderingItem, parsed: list[Any]) -> Responses:
        return Responses({"order": np.asarray(parsed, dtype=np.int64)})

    def grade_many(self, item: OrderingItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        shown = responses.data["order"]
        rows = response_rows(responses, len(shown))
        placed = np.take_along_axis(key["order"][rows], shown, axis=-1)
        right = key["sequence"][rows]
        fraction = score_orders(item.scoring.method, placed, right)
        exact = np.all(placed == right, axis=-1)
        matches = np.all(key["misconception_sequences"][rows] == placed[:, np.newaxis, :], axis=-1)
        code = np.where(exact, -1, first_true(matches))
        return GradeBatch(np.where(exact, 1.0, fraction), code, tuple(item.misconceptions))

    def summarise(self, item: OrderingItem, variant: Variant, response: Raw) -> str:
        try:
            positions = self.parse(item, variant, response)
        except ResponseError:
            return "(no valid order)"
        options = self.render(item, variant)["options"]
        return " < ".join(options[p]["text"] for p in positions)

    def correct_response(self, item: OrderingItem, variant: Variant) -> Raw:
        assert variant.order is not None
        display = {authored: position for position, authored in enumerate(variant.order)}
        return {"order": [display[int(k)] for k in variant.key["sequence"][0]]}

    def self_test_cases(self, item: OrderingItem, variant: Variant) -> list[SelfTestCase]:
        right = self.correct_response(item, variant)["order"]
        return [
            SelfTestCase("right", {"order": right}, Verdict.RIGHT),
            SelfTestCase("wrong", {"order": list(reversed(right))}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"order": right[:-1]}, "invalid"),
        ]

