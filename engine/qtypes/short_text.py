"""Short text: a typed answer compared with the item's patterns, first match wins.

Before comparing, runs of white space fold to one space and the ends are trimmed; case is
ignored unless the item is ``case_sensitive``. In a pattern, ``*`` stands for any text (as in
Moodle's short answer); everything else is literal. Patterns may hold computed values.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from engine.items.types import ShortTextItem
from engine.qtypes.base import Grade, QuestionType, Raw, ResponseError, SelfTestCase, Verdict
from engine.qtypes.common import Names, misconception_feedback, render_common, render_text
from engine.variants import Variant

MAX_ANSWER = 500


def normalise(text: str, *, case_sensitive: bool) -> str:
    folded = " ".join(text.split())
    return folded if case_sensitive else folded.casefold()


def pattern_regex(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    parts = [re.escape(p) for p in normalise(pattern, case_sensitive=case_sensitive).split("*")]
    return re.compile("^" + ".*".join(parts) + "$", re.DOTALL)


class ShortText(QuestionType[ShortTextItem]):
    name = "short_text"
    parse_reads_variant = False

    def prepare(self, item: ShortTextItem, names: Names, batch: int) -> dict[str, np.ndarray]:
        return {}  # patterns are rendered per variant when grading

    def render(self, item: ShortTextItem, variant: Variant) -> dict[str, Any]:
        return render_common(item, variant)

    def parse(self, item: ShortTextItem, variant: Variant, raw: Raw) -> str:
        answer = raw.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            raise ResponseError("type an answer")
        if len(answer) > MAX_ANSWER:
            raise ResponseError(f"keep the answer under {MAX_ANSWER} characters")
        return normalise(answer, case_sensitive=item.case_sensitive)

    def grade(self, item: ShortTextItem, variant: Variant, response: str) -> Grade:
        for answer in item.answers:
            regex = pattern_regex(render_text(answer.match, variant), case_sensitive=item.case_sensitive)
            if not regex.match(response):
                continue
            feedback = [render_text(answer.feedback, variant)] if answer.feedback else []
            if answer.misconception:
                says, text = misconception_feedback(item, answer.misconception, variant)
                return Grade(answer.fraction, (*feedback, text), answer.misconception, says)
            return Grade(answer.fraction, tuple(feedback))
        return Grade(0.0)

    def summarise(self, item: ShortTextItem, variant: Variant, response: Raw) -> str:
        answer = response.get("answer")
        return answer if isinstance(answer, str) else ""

    def correct_response(self, item: ShortTextItem, variant: Variant) -> Raw:
        best = next(a for a in item.answers if a.fraction == 1)
        return {"answer": render_text(best.match, variant).replace("*", "")}

    def self_test_cases(self, item: ShortTextItem, variant: Variant) -> list[SelfTestCase]:
        return [
            SelfTestCase("right", self.correct_response(item, variant), Verdict.RIGHT),
            SelfTestCase("wrong", {"answer": "\u2203 no such answer \u2204"}, Verdict.NOT_RIGHT),
            SelfTestCase("invalid", {"answer": "   "}, "invalid"),
        ]
