"""Single choice and multiple response: options whose correctness is computed per variant.

Responses name options by **display position** (the order this student saw), never by authored
index: an authored index could leak the key where authors list the right option first. The
variant's ``order`` maps display position to authored option.

Multiple response scores like Moodle's multichoice with several answers: each right option
selected earns 1/(number right); with ``wrong_selection_penalty`` each wrong option selected costs
1/(number wrong); the total is clamped to [0, 1] (to [-1, 1] with ``allow_negative``).
``all_or_nothing`` gives 1 only for exactly the right set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.items.types import MultipleResponseItem, SingleChoiceItem
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
    misconception_table,
    per_option,
    render_common,
    render_text,
    response_rows,
)
from engine.variants import Variant

ChoiceItem = SingleChoiceItem | MultipleResponseItem


class _Choice(QuestionType[Any]):
    has_options = True
    parse_reads_variant = False

    def option_count(self, item: ChoiceItem) -> int:
        return item.options.count

    def fixed_positions(self, item: ChoiceItem) -> tuple[int, ...]:
        return tuple(n for n, (o, _, _) in enumerate(item.options.expand()) if o.fixed)

    def prepare(self, item: ChoiceItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        return {
            "correct": per_option(item.options, "correct", names, batch, as_bool=True),
            "misconceptions": misconception_table(item, item.options, "selects", names, batch),
        }

    def render(self, item: ChoiceItem, variant: Variant) -> dict[str, Any]:
        expanded = item.options.expand()
        assert variant.order is not None
        data = render_common(item, variant)
        data["options"] = [
            {"id": position, "text": render_text(expanded[k][0].text, variant, expanded[k][1])}
            for position, k in enumerate(variant.order)
        ]
        data["multiple"] = self.name == "multiple_response"
        return data

    def _option_feedback(self, item: ChoiceItem, variant: Variant, authored: list[int]) -> list[str]:
        expanded = item.options.expand()
        out = []
        for k in authored:
            option, binding, _ = expanded[k]
            if option.feedback:
                out.append(render_text(option.feedback, variant, binding))
        return out

    def _with_misconception(self, item: ChoiceItem, variant: Variant, fraction: float,
                            code: int, feedback: list[str]) -> Grade:
        if code < 0:
            return Grade(fraction, tuple(feedback))
        name = list(item.misconceptions)[code]
        says, text = misconception_feedback(item, name, variant)
        return Grade(fraction, (*feedback, text), name, says)

    def _position(self, raw: Any, count: int) -> int:
        try:
            position = as_int(raw, "a choice")
        except ValueError as exc:
            raise ResponseError("choose one of the options") from exc
        if not 0 <= position < count:
            raise ResponseError(f"choose one of the options (1 to {count})")
        return position


class SingleChoice(_Choice):
    name = "single_choice"

    def parse(self, item: SingleChoiceItem, variant: Variant, raw: Raw) -> int:
        if "choice" not in raw or raw["choice"] is None:
            raise ResponseError("choose one of the options")
        return self._position(raw["choice"], self.option_count(item))

    def grade(self, item: SingleChoiceItem, variant: Variant, response: int) -> Grade:
        assert variant.order is not None
        authored = variant.order[response]
        right = bool(variant.key["correct"][0, authored])
        fraction = 1.0 if right else -item.scoring.negative
        feedback = self._option_feedback(item, variant, [authored])
        code = -1 if right else int(first_true(variant.key["misconceptions"][0, :, authored]))
        return self._with_misconception(item, variant, fraction, code, feedback)

    def stack(self, item: SingleChoiceItem, parsed: list[Any]) -> Responses:
        return Responses({"choice": np.asarray(parsed, dtype=np.int64)})

    def grade_many(self, item: SingleChoiceItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        rows = response_rows(responses, len(responses.data["choice"]))
        authored = key["order"][rows, responses.data["choice"]]
        right = key["correct"][rows, authored]
        fraction = np.where(right, 1.0, -item.scoring.negative)
        chosen = key["misconceptions"][rows, :, authored]  # (N, M)
        code = np.where(right, -1, first_true(chosen))
        return GradeBatch(fraction, code, tuple(item.misconceptions))

    def summarise(self, item: SingleChoiceItem, variant: Variant, response: Raw) -> str:
        try:
            position = self.parse(item, variant, response)
        except ResponseError:
            return "(no valid choice)"
        return self.render(item, variant)["options"][position]["text"]

    def correct_response(self, item: SingleChoiceItem, variant: Variant) -> Raw:
        assert variant.order is not None
        right = [p for p, k in enumerate(variant.order) if variant.key["correct"][0, k]]
        return {"choice": right[0]}

    def self_test_cases(self, item: SingleChoiceItem, variant: Variant) -> list[SelfTestCase]:
        assert variant.order is not None
        wrong = [p for p, k in enumerate(variant.order) if not variant.key["correct"][0, k]]
        return [
            SelfTestCase("right", self.correct_response(item, variant), Verdict.RIGHT),
            SelfTestCase("wrong", {"choice": wrong[0]}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"choice": len(variant.order)}, "invalid"),
        ]


class MultipleResponse(_Choice):
    name = "multiple_response"

    def is_blank(self, raw: Raw | None) -> bool:
        return not raw or not raw.get("choices")

    def parse(self, item: MultipleResponseItem, variant: Variant, raw: Raw) -> tuple[int, ...]:
        choices = raw.get("choices")
        if not isinstance(choices, list | tuple) or not choices:
            raise ResponseError("select at least one option")
        count = self.option_count(item)
        positions = sorted({self._position(c, count) for c in choices})
        if len(positions) != len(choices):
            raise ResponseError("each option can be selected once")
        return tuple(positions)

    def _fraction(self, item: MultipleResponseItem, right_hits: np.ndarray, wrong_hits: np.ndarray,
                  n_right: np.ndarray, n_wrong: np.ndarray, exact: np.ndarray) -> np.ndarray:
        if item.scoring.method == "all_or_nothing":
            return np.where(exact, 1.0, 0.0)
        earned = right_hits / np.maximum(n_right, 1)
        if item.scoring.wrong_selection_penalty:
            earned = earned - wrong_hits / np.maximum(n_wrong, 1)
        return np.clip(earned, -1.0 if item.scoring.allow_negative else 0.0, 1.0)

    def grade(self, item: MultipleResponseItem, variant: Variant,
              response: tuple[int, ...]) -> Grade:
        assert variant.order is not None
        correct = variant.key["correct"][0]
        selected = np.zeros(len(correct), dtype=bool)
        authored = [variant.order[p] for p in response]
        selected[authored] = True
        exact = bool(np.array_equal(selected, correct))
        fraction = float(self._fraction(
            item, np.sum(selected & correct), np.sum(selected & ~correct),
            np.sum(correct), np.sum(~correct), np.asarray(exact),
        ))
        feedback = self._option_feedback(item, variant, sorted(authored))
        table = variant.key["misconceptions"][0]  # (M, K)
        code = -1 if exact else int(first_true(np.all(table == selected, axis=-1)))
        return self._with_misconception(item, variant, fraction, code, feedback)

    def stack(self, item: MultipleResponseItem, parsed: list[Any]) -> Responses:
        selected = np.zeros((len(parsed), self.option_count(item)), dtype=bool)
        for n, positions in enumerate(parsed):
            selected[n, list(positions)] = True
        return Responses({"selected": selected})

    def grade_many(self, item: MultipleResponseItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        shown = responses.data["selected"]  # (N, K) by display position
        rows = response_rows(responses, len(shown))
        selected = np.zeros_like(shown)
        np.put_along_axis(selected, key["order"][rows], shown, axis=1)
        correct = key["correct"][rows]
        exact = np.all(selected == correct, axis=1)
        fraction = self._fraction(
            item,
            np.sum(selected & correct, axis=1), np.sum(selected & ~correct, axis=1),
            np.sum(correct, axis=1), np.sum(~correct, axis=1), exact,
        )
        table = key["misconceptions"][rows]  # (N, M, K)
        matches = np.all(table == selected[:, np.newaxis, :], axis=-1)
        code = np.where(exact, -1, first_true(matches))
        return GradeBatch(fraction.astype(np.float64), code, tuple(item.misconceptions))

    def summarise(self, item: MultipleResponseItem, variant: Variant, response: Raw) -> str:
        try:
            positions = self.parse(item, variant, response)
        except ResponseError:
            return "(no valid selection)"
        options = self.render(item, variant)["options"]
        return "; ".join(options[p]["text"] for p in positions)

    def correct_response(self, item: MultipleResponseItem, variant: Variant) -> Raw:
        assert variant.order is not None
        return {"choices": [p for p, k in enumerate(variant.order) if variant.key["correct"][0, k]]}

    def self_test_cases(self, item: MultipleResponseItem, variant: Variant) -> list[SelfTestCase]:
        assert variant.order is not None
        wrong = [p for p, k in enumerate(variant.order) if not variant.key["correct"][0, k]]
        return [
            SelfTestCase("right", self.correct_response(item, variant), Verdict.RIGHT),
            SelfTestCase("wrong", {"choices": wrong}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"choices": ["first"]}, "invalid"),
        ]

