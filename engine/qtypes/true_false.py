"""True/false: the stem is a statement whose truth is a computed condition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.items.types import TrueFalseItem
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
    batch_value,
    first_true,
    misconception_feedback,
    render_common,
    render_text,
    response_rows,
)
from engine.variants import Variant

_WORDS = {"true": True, "false": False, "t": True, "f": False, "yes": True, "no": False}


class TrueFalse(QuestionType[TrueFalseItem]):
    name = "true_false"
    parse_reads_variant = False

    def prepare(self, item: TrueFalseItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        leads = [
            batch_value(False if m.answer is None else m.answer, names, batch, as_bool=True)
            for m in item.misconceptions.values()
        ]
        return {
            "answer": batch_value(item.answer, names, batch, as_bool=True),
            "misconception_answers": np.stack(leads, axis=1) if leads else np.zeros((batch, 0), bool),
        }

    def render(self, item: TrueFalseItem, variant: Variant) -> dict[str, Any]:
        data = render_common(item, variant)
        data["options"] = [{"id": True, "text": "True"}, {"id": False, "text": "False"}]
        return data

    def parse(self, item: TrueFalseItem, variant: Variant, raw: Raw) -> bool:
        answer = raw.get("answer")
        if isinstance(answer, bool):
            return answer
        if isinstance(answer, str) and answer.strip().lower() in _WORDS:
            return _WORDS[answer.strip().lower()]
        raise ResponseError("answer true or false")

    def grade(self, item: TrueFalseItem, variant: Variant, response: bool) -> Grade:
        right = response == bool(variant.key["answer"][0])
        fraction = 1.0 if right else -item.scoring.negative
        text = item.feedback_true if response else item.feedback_false
        feedback = (render_text(text, variant),) if text else ()
        if right:
            return Grade(fraction, feedback)
        code = int(first_true(variant.key["misconception_answers"][0] == response))
        if code < 0:
            return Grade(fraction, feedback)
        name = list(item.misconceptions)[code]
        says, more = misconception_feedback(item, name, variant)
        return Grade(fraction, (*feedback, more), name, says)

    def stack(self, item: TrueFalseItem, parsed: list[Any]) -> Responses:
        return Responses({"answer": np.asarray(parsed, dtype=bool)})

    def grade_many(self, item: TrueFalseItem, key: Mapping[str, np.ndarray],
                   responses: Responses) -> GradeBatch:
        answer = responses.data["answer"]
        rows = response_rows(responses, len(answer))
        right = answer == key["answer"][rows]
        leads = key["misconception_answers"][rows] == answer[:, np.newaxis]
        code = np.where(right, -1, first_true(leads))
        return GradeBatch(np.where(right, 1.0, -item.scoring.negative), code,
                          tuple(item.misconceptions))

    def summarise(self, item: TrueFalseItem, variant: Variant, response: Raw) -> str:
        try:
            return "True" if self.parse(item, variant, response) else "False"
        except ResponseError:
            return "(no valid answer)"

    def correct_response(self, item: TrueFalseItem, variant: Variant) -> Raw:
        return {"answer": bool(variant.key["answer"][0])}

    def self_test_cases(self, item: TrueFalseItem, variant: Variant) -> list[SelfTestCase]:
        key = bool(variant.key["answer"][0])
        return [
            SelfTestCase("right", {"answer": key}, Verdict.RIGHT),
            SelfTestCase("wrong", {"answer": not key}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"answer": "maybe"}, "invalid"),
        ]
