"""Matching: pair each prompt with one answer from a shuffled pool (pair answers + distractors).

Prompts show in authored order; the answer pool is shuffled per variant, so a response names
answers by display position. The pool is always shuffled, whatever the item's ``shuffle`` or a
quiz's ``shuffle_options`` say: prompt n's answer is the n-th authored entry, so a pool in
authored order would show every key straight down the list. ``partial`` (the default) scores
the share of prompts matched right; ``all_or_nothing`` needs every one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.items.types import MatchingItem
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
    first_true,
    misconception_feedback,
    render_common,
    render_text,
    response_rows,
)
from engine.variants import Variant


class Matching(QuestionType[MatchingItem]):
    name = "matching"
    has_options = True
    parse_reads_variant = False
    always_shuffles = True

    def option_count(self, item: MatchingItem) -> int:
        return len(item.pairs) + len(item.distractors)

    def prepare(self, item: MatchingItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        # Prompt p's answer is pool entry p, whatever the numbers: the key is structural. Pool
        # entries past the pairs are distractors; ``misconception_of`` names each one's (or -1).
        names_ = list(item.misconceptions)
        codes = [-1] * len(item.pairs) + [
            names_.index(d.misconception) if d.misconception else -1 for d in item.distractors
        ]
        return {
            "answer_of": np.tile(np.arange(len(item.pairs)), (batch, 1)),
            "misconception_of": np.tile(np.asarray(codes, dtype=np.int64), (batch, 1)),
        }

    def _pool(self, item: MatchingItem) -> list[str]:
        return [pair.answer for pair in item.pairs] + [d.text for d in item.distractors]

    def render(self, item: MatchingItem, variant: Variant) -> dict[str, Any]:
        assert variant.order is not None
        pool = self._pool(item)
        data = render_common(item, variant)
        data["prompts"] = [
            {"id": n, "text": render_text(pair.prompt, variant)} for n, pair in enumerate(item.pairs)
        ]
        data["answers"] = [
            {"id": position, "text": render_text(pool[k], variant)}
            for position, k in enumerate(variant.order)
        ]
        return data

    def is_blank(self, raw: Raw | None) -> bool:
        matches = (raw or {}).get("matches")
        return not matches or all(m is None for m in matches)

    def parse(self, item: MatchingItem, variant: Variant, raw: Raw) -> tuple[int, ...]:
        matches = raw.get("matches")
        if not isinstance(matches, list | tuple) or len(matches) != len(item.pairs):
            raise ResponseError(f"match each of the {len(item.pairs)} prompts")
        count = self.option_count(item)
        try:
            chosen = tuple(as_int(m, "an answer") for m in matches)
        except ValueError as exc:
            raise ResponseError(f"match each of the {len(item.pairs)} prompts") from exc
        if any(not 0 <= c < count for c in chosen):
            raise ResponseError("choose answers from the list")
        return chosen

    def _fraction(self, item: MatchingItem, right: np.ndarray) -> np.ndarray:
        if item.scoring.method == "all_or_nothing":
            return np.all(right, axis=-1).astype(np.float64)
        return np.mean(right, axis=-1)

    def grade(self, item: MatchingItem, variant: Variant, response: tuple[int, ...]) -> Grade:
        assert variant.order is not None
        authored = np.array([variant.order[c] for c in response])
        right = authored == variant.key["answer_of"][0]
        fraction = float(self._fraction(item, right))
        chosen = variant.key["misconception_of"][0][authored]
        code = int(chosen[first_true(chosen >= 0)]) if (chosen >= 0).any() else -1
        if code < 0:
            return Grade(fraction)
        name = list(item.misconceptions)[code]
        says, text = misconception_feedback(item, name, variant)
        return Grade(fraction, (text,), name, says)

    def stack(self, item: MatchingItem, parsed: list[Any]) -> Responses:
        return Responses({"matches": np.asarray(parsed, dtype=np.int64)})

    def grade_many(self, item: MatchingItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        shown = responses.data["matches"]
        rows = response_rows(responses, len(shown))
        authored = np.take_along_axis(key["order"][rows], shown, axis=-1)
        right = authored == key["answer_of"][rows]
        chosen = np.take_along_axis(key["misconception_of"][rows], authored, axis=-1)
        first = first_true(chosen >= 0)
        picked = np.take_along_axis(chosen, np.maximum(first, 0)[:, np.newaxis], axis=-1)[:, 0]
        code = np.where(first >= 0, picked, -1)
        return GradeBatch(self._fraction(item, right), code, tuple(item.misconceptions))

    def summarise(self, item: MatchingItem, variant: Variant, response: Raw) -> str:
        try:
            chosen = self.parse(item, variant, response)
        except ResponseError:
            return "(no valid matching)"
        data = self.render(item, variant)
        return "; ".join(
            f"{data['prompts'][p]['text']} -> {data['answers'][c]['text']}" for p, c in enumerate(chosen)
        )

    def correct_response(self, item: MatchingItem, variant: Variant) -> Raw:
        assert variant.order is not None
        display = {authored: position for position, authored in enumerate(variant.order)}
        return {"matches": [display[p] for p in range(len(item.pairs))]}

    def self_test_cases(self, item: MatchingItem, variant: Variant) -> list[SelfTestCase]:
        right = self.correct_response(item, variant)["matches"]
        wrong = right[1:] + right[:1]  # every prompt gets its neighbour's answer
        return [
            SelfTestCase("right", {"matches": right}, Verdict.RIGHT),
            SelfTestCase("wrong", {"matches": wrong}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"matches": right[:-1]}, "invalid"),
        ]
