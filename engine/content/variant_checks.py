"""The checks of one item over a batch of its variants: every check, on every variant checked.

:class:`VariantChecker` takes the variants chunk by chunk (:mod:`engine.content.checker` makes
the chunks) and adds what it finds to the item's :class:`Findings`, counted over all chunks:

- computed values and keys are finite; the author's ``expect`` agrees with the computed key;
- every template renders, and none prints ``nan`` or ``inf`` (:mod:`engine.content.renders`);
- options, prompts and answers never read the same, in text or in value
  (``0.500`` beside ``0.5``);
- single choice: exactly one option right; multiple response: one right and one wrong at least;
  a wrong option that gives a reason is wrong in its conclusion too;
- every misconception leads to an answer a student can give, other than the key and other than
  an earlier misconception's (which would be matched first and hide it); in a numeric item no
  misconception falls within the key's tolerance (reported at the tolerance when the tolerance
  lets a distinct value in, at the misconception when it computes the key);
- ordering: no two ranks tie, within a relative 1e-9 or as the options show them; no
  misconception's order rests on a tie;
- the library's functions are fed arguments inside their domains (:mod:`engine.content.domains`);
- the key graded as a student gives it earns full marks and a wrong response does not (with
  ``grade_many``, over every variant); a numeric key rounded to the precision asked earns full
  marks and one unit off in the last asked digit does not;
- the first variants also go through the question type's own render and self-test, one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.content.domains import check_domains, domain_sites
from engine.content.findings import WARNING, Findings, Path_
from engine.content.guessing import KeyCounts
from engine.content.renders import Rendered, RenderFailure, render_batch, renderings, same_reading
from engine.content.structure import Asked, asked_precision, tolerance_path
from engine.expressions import ExpressionError
from engine.items import ItemBase, NumericItem, OrderingItem
from engine.items.types import ChoiceOptions
from engine.qtypes import ManualGradingRequired, ResponseError, qtype_for
from engine.qtypes.base import FRACTION_EPSILON, Responses
from engine.qtypes.common import batch_value, option_scope
from engine.variants import VariantBatch

__all__ = ["SELF_TESTED", "VariantChecker"]

SELF_TESTED = 5
"""Variants that also go through the question type's own render and self-test, one by one (every
variant is rendered and graded as a batch; these exercise the path a student's request takes)."""
_RELATIVE_TIE = 1e-9
_REASON = re.compile(r",?\s+\b(?:because|since)\b|:\s")
_ASKS_WHY = re.compile(r"\b(?:why|reasons?|reasoning|explains?|explanation|justif\w*|because)\b",
                       re.IGNORECASE)
_GROUP_NOUN = {"options": "option", "prompts": "prompt", "answers": "answer"}


@dataclass(frozen=True)
class _Case:
    """A response graded over every variant: what it is, and whether it must earn full marks."""

    label: str
    data: dict[str, np.ndarray]
    path: Path_
    right: bool
    describe: Callable[[int], str] | None = None


def _ties(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) <= _RELATIVE_TIE * np.maximum(np.abs(a), np.abs(b))


def _conclusion(text: str) -> str | None:
    """The conclusion of an option that gives a reason ("A is better, because ..."): its words
    before the reason, lower-cased; None if it gives no reason or computes its conclusion."""
    parts = _REASON.split(text, maxsplit=1)
    if len(parts) < 2 or "{{" in parts[0]:
        return None
    words = re.sub(r"[^\w\s]", "", parts[0].lower()).split()
    return " ".join(words) or None


class VariantChecker:
    """One item's checks, fed batches of variants in seed order."""

    def __init__(self, item: ItemBase, found: Findings) -> None:
        self.item = item
        self.found = found
        self.qtype = qtype_for(item)
        self.renderings = renderings(item)
        self.sites = domain_sites(item)
        self.keys = KeyCounts(item)
        # the precision a student types to, held for a computed item (a fixed one, imported from
        # GIFT with a tolerance of ±5, say, says no more than its tolerance) or a declared one
        self.asked: Asked | None = (
            asked_precision(item)[0]
            if isinstance(item, NumericItem) and (item.is_computed or item.precision is not None) else None)
        self.deferred = Findings()  # misconceptions inside the tolerance: placed when all is counted
        self.conditional = Findings()  # errors only if they hold in every variant
        self.when_some: dict[tuple[Path_, str], tuple[str | None, str]] = {}
        self.total = 0
        self.self_tested = 0

    # --- the whole batch ----------------------------------------------------------------------

    def check(self, batch: VariantBatch) -> None:
        self.total += len(batch)
        self._finite(batch)
        {
            "single_choice": self._choice,
            "multiple_response": self._choice,
            "numeric": self._numeric,
            "true_false": self._true_false,
            "ordering": self._ordering,
        }.get(self.item.type_name, lambda _batch: None)(batch)
        self._expect(batch)
        rendered = self._render(batch)
        if isinstance(self.item, OrderingItem):
            self._ordering_ties(batch, rendered)
        check_domains(self.item, batch, self.sites, self.found)
        self._graded(batch)
        self.keys.add(batch.key)
        if self.self_tested < SELF_TESTED and not self.found.errors():
            self._one_by_one(batch)

    def _every(self, path: Path_, message: str, bad: np.ndarray, batch: VariantBatch, *,
               sometimes: str | None = None, sometimes_message: str | None = None) -> None:
        """A problem that is an error when it holds in every variant; when it holds in only some,
        it is ``sometimes_message`` with severity ``sometimes`` (or nothing, when that is None)."""
        self.conditional.in_variants(path, message, bad, batch.seeds)
        self.when_some[(path, message)] = (sometimes, sometimes_message or message)

    def finish(self) -> None:
        """Place what could be placed only with every variant counted, and the warnings."""
        for finding in self.conditional:
            severity, message = self.when_some[(finding.path, finding.message)]
            if finding.count == self.total:
                moved = self.found.add(finding.path, finding.message)
            elif severity is not None:
                moved = self.found.add(finding.path, message, severity=severity)
            else:
                continue
            moved.count, moved.seeds, moved.example = finding.count, finding.seeds, finding.example
        for finding in self.deferred:
            misconception = str(finding.path[1])
            if finding.count == self.total:
                path: Path_ = finding.path
                message = (f"misconception {misconception!r} gives the key, within its tolerance, "
                           "so it is not a wrong answer")
            else:
                path = ("tolerance",) if "tolerance" in self.item.model_fields_set else ("answer",)
                message = (f"the tolerance lets in misconception {misconception!r}: it accepts the "
                           "misconception's value as the key")
            moved = self.found.add(path, message)
            moved.count, moved.seeds, moved.example = finding.count, finding.seeds, finding.example
        self.keys.report(self.found)

    def _finite(self, batch: VariantBatch) -> None:
        for name in self.item.compute:
            value = batch.values[name]
            if value.dtype.kind != "f":
                continue
            bad = ~np.isfinite(value).reshape(len(batch), -1).all(axis=1)
            self.found.in_variants(("compute", name), f"{name!r} is not finite", bad, batch.seeds)
        for name, value in batch.key.items():
            if value.dtype.kind == "f":
                bad = ~np.isfinite(value).reshape(len(batch), -1).all(axis=1)
                self.found.in_variants(self._key_path(name), f"the key ({name}) is not finite", bad,
                                       batch.seeds)

    def _key_path(self, name: str) -> Path_:
        if name.startswith("misconception"):
            return ("misconceptions",)
        if self.item.type_name in {"numeric", "true_false"}:
            return ("answer",)
        return ("options",)

    # --- choice -------------------------------------------------------------------------------

    def _choice(self, batch: VariantBatch) -> None:
        item, found, seeds = self.item, self.found, batch.seeds
        correct = batch.key["correct"]
        count = correct.sum(axis=1)
        single = item.type_name == "single_choice"
        if single:
            found.in_variants(("options",), "exactly one option must be correct", count != 1, seeds,
                              lambda r: f"{int(count[r])} are")
        else:
            found.in_variants(("options",), "at least one option must be correct and one incorrect",
                              (count == 0) | (count == correct.shape[1]), seeds)
        table = batch.key["misconceptions"]  # (B, M, K)
        names = list(item.misconceptions)
        for m, name in enumerate(names):
            selects = table[:, m, :]
            path: Path_ = ("misconceptions", name, "selects")
            if single:
                found.in_variants(path, f"misconception {name!r} selects no incorrect option, so it "
                                  "is not a wrong answer", ~(selects & ~correct).any(axis=1), seeds)
                earlier = table[:, :m, :].any(axis=1)
                hidden = (selects & ~correct).any(axis=1) & ~(selects & ~correct & ~earlier).any(axis=1)
                if m:
                    self._every(path, f"misconception {name!r} selects only options an earlier "
                                "misconception is matched to first, so its feedback never shows",
                                hidden, batch)
                continue
            found.in_variants(path, f"misconception {name!r} selects exactly the correct options, so "
                              "it is not a wrong answer", (selects == correct).all(axis=1), seeds)
            self._every(path, f"misconception {name!r} selects no option in any variant, so it is "
                        "never matched: say what a student who thinks so would select",
                        np.asarray(~selects.any(axis=1)), batch, sometimes=WARNING,
                        sometimes_message=f"misconception {name!r} selects no option, where a student "
                        "who thinks so would have nothing to submit: keep at least one option it "
                        "selects (a constraint), or say what such a student would select")
            for e in range(m):
                same = (table[:, e, :] == selects).all(axis=1) & selects.any(axis=1)
                self._every(path, f"misconception {name!r} selects the same options as "
                            f"{names[e]!r}, which is matched first, so its feedback never shows",
                            same, batch)
        self._conclusions(batch, correct)

    def _conclusions(self, batch: VariantBatch, correct: np.ndarray) -> None:
        """A wrong option must be wrong in its conclusion, not only in its reason."""
        options: ChoiceOptions = self.item.options  # type: ignore[attr-defined]
        if options.listed is None:
            return
        asks_why = bool(_ASKS_WHY.search(self.item.stem))
        conclusions = {n: _conclusion(o.text) for n, o in enumerate(options.listed)}
        for n, option in enumerate(options.listed):
            wrong = ~correct[:, n]
            if option.conclusion is not None:
                holds = batch_value(option.conclusion, option_scope(batch.values, {}, n), len(batch),
                                    as_bool=True)
                self.found.in_variants(("options", n, "conclusion"), f"option {n + 1} is marked wrong "
                                       "but its conclusion holds: a wrong option must be wrong in "
                                       "its conclusion, or the stem must ask for the reason",
                                       wrong & holds, batch.seeds)
                continue
            if asks_why or conclusions[n] is None or not wrong.any():
                continue
            for other, said in conclusions.items():
                if other != n and said == conclusions[n] and _REASON.search(option.text):
                    self.found.in_variants(
                        ("options", n, "text"), f"option {n + 1} draws the conclusion of option "
                        f"{other + 1} ({said!r}), which is right there, yet option {n + 1} is marked "
                        "wrong: a wrong option must be wrong in its conclusion, or the stem must "
                        "ask for the reason", wrong & correct[:, other], batch.seeds)
            if re.search(r"\b(?:because|since)\b", option.text):
                self.found.add(("options", n, "text"), f"option {n + 1} gives a reason and is "
                               "wrong: declare its conclusion (conclusion: a condition, or false) so "
                               "the checker can prove it wrong in its conclusion, not only in its "
                               "reason", severity=WARNING)

    # --- numeric ------------------------------------------------------------------------------

    def _numeric(self, batch: VariantBatch) -> None:
        key, seeds = batch.key, batch.seeds
        names = list(self.item.misconceptions)
        values = key["misconception_values"]
        near = np.abs(values - key["answer"][:, None]) <= key["width"][:, None]
        for m, name in enumerate(names):

            def described(r: int, m: int = m) -> str:
                return f"key {key['answer'][r]:.6g}, misconception {values[r, m]:.6g}"

            self.deferred.in_variants(("misconceptions", name, "value"), name, near[:, m], seeds, described)
            for e in range(m):
                same = np.abs(values[:, m] - values[:, e]) <= key["misconception_widths"][:, e]
                self._every(("misconceptions", name, "value"), f"misconception {name!r} gives the same "
                            f"answer as {names[e]!r}, which is matched first, so its feedback never shows",
                            same, batch)

    # --- true/false ---------------------------------------------------------------------------

    def _true_false(self, batch: VariantBatch) -> None:
        answers = batch.key["misconception_answers"]
        same = answers == batch.key["answer"][:, None]
        names = list(self.item.misconceptions)
        for m, name in enumerate(names):
            self.found.in_variants(("misconceptions", name, "answer"), f"misconception {name!r} gives the "
                                   "right answer", same[:, m], batch.seeds)
            for e in range(m):
                self._every(("misconceptions", name, "answer"), f"misconception {name!r} gives the same answer "
                            f"as {names[e]!r}, which is matched first, so its feedback never shows",
                            answers[:, m] == answers[:, e], batch)

    # --- ordering -----------------------------------------------------------------------------

    def _ordering(self, batch: VariantBatch) -> None:
        item: OrderingItem = self.item  # type: ignore[assignment]
        key, seeds = batch.key, batch.seeds
        sequences = key["misconception_sequences"]
        same = (sequences == key["sequence"][:, None, :]).all(axis=-1)
        names = list(item.misconceptions)
        expanded = item.options.expand()
        for m, (name, misconception) in enumerate(item.misconceptions.items()):
            path: Path_ = ("misconceptions", name, "order_by")
            self.found.in_variants(path, f"misconception {name!r} gives the right order", same[:, m], seeds)
            for e in range(m):
                self._every(path, f"misconception {name!r} gives the same order as {names[e]!r}, "
                            "which is matched first, so its feedback never shows",
                            (sequences[:, m] == sequences[:, e]).all(axis=-1), batch)
            if misconception.order_by is None:
                continue
            try:
                keys = np.stack([batch_value(misconception.order_by, option_scope(batch.values, b, k), len(batch))
                                 for k, (_, b, _) in enumerate(expanded)], axis=1)
            except (ExpressionError, ValueError):
                continue
            tied = np.zeros(len(batch), dtype=bool)
            for a in range(len(expanded)):
                for b in range(a + 1, len(expanded)):
                    tied |= _ties(keys[:, a], keys[:, b])
            self.found.in_variants(path, f"misconception {name!r} ties two options "
                                   "(its order_by gives them equal keys), so the order it leads to "
                                   "is decided by their listing, not by the belief", tied, seeds,
                                   _keys_at(keys))

    def _ordering_ties(self, batch: VariantBatch, rendered: dict[int, Rendered]) -> None:
        """Ranks tie within a relative 1e-9, or when the options show them and they read the same."""
        item: OrderingItem = self.item  # type: ignore[assignment]
        expanded = item.options.expand()
        if any(o.rank is None for o, _, _ in expanded):
            return
        ranks = batch.key["ranks"]
        shown: list[np.ndarray | None] = []
        for k in range(len(expanded)):
            text = rendered.get(k)
            match = None
            if text is not None:
                for number in text.numbers:
                    if np.array_equal(number.value, ranks[:, k]):
                        match = number.shown
                        break
            shown.append(match)
        template = item.options.template is not None
        for a in range(len(expanded)):
            for b in range(a + 1, len(expanded)):
                tied = _ties(ranks[:, a], ranks[:, b])
                shown_a, shown_b = shown[a], shown[b]
                if shown_a is not None and shown_b is not None:
                    tied |= shown_a == shown_b
                path: Path_ = ("options", "rank") if template else ("options", b, "rank")
                self.found.in_variants(
                    path, "two options tie on their rank (within a relative 1e-9, or as the options "
                    "show them), so their order is ambiguous", tied, batch.seeds, _pair_at(ranks, a, b))

    # --- the author's typed key ---------------------------------------------------------------

    def _expect(self, batch: VariantBatch) -> None:
        item, key = self.item, batch.key
        expect = item.expect
        if expect is None:
            return
        if item.type_name == "numeric":
            assert isinstance(expect, float | int)
            bad = np.abs(key["answer"] - float(expect)) > key["width"]

            def computed(r: int) -> str:
                return f"{float(key['answer'][r]):.6g}"
        elif item.type_name == "true_false":
            bad = key["answer"] != bool(expect)

            def computed(r: int) -> str:
                return str(bool(key["answer"][r])).lower()
        elif item.type_name == "ordering":
            bad = ~(key["sequence"] == np.asarray(expect)).all(axis=1)

            def computed(r: int) -> str:
                return str(key["sequence"][r].tolist())
        else:
            wanted = np.zeros(key["correct"].shape[1], dtype=bool)
            wanted[list(expect)] = True  # type: ignore[arg-type]
            bad = ~(key["correct"] == wanted).all(axis=1)

            def computed(r: int) -> str:
                return str(np.flatnonzero(key["correct"][r]).tolist())
        self.found.in_variants(("expect",), f"the declared key {expect!r} disagrees with the computed key",
                               bad, batch.seeds, lambda r: f"computed {computed(r)}")

    # --- texts --------------------------------------------------------------------------------

    def _render(self, batch: VariantBatch) -> dict[int, Rendered]:
        """Render every template; compare the texts a student tells apart. Returns the options'
        renderings by authored index (for ordering ties)."""
        groups: dict[str, list[tuple[Any, Rendered]]] = {}
        options: dict[int, Rendered] = {}
        for rendering in self.renderings:
            rendered = render_batch(rendering, batch, texts=rendering.group is not None)
            for failure in rendered.failures:
                self._render_failure(rendering.path, failure, batch)
            if rendering.group is None or rendered.texts is None:
                continue
            groups.setdefault(rendering.group, []).append((rendering, rendered))
            if rendering.group == "options":
                options[rendering.member] = rendered
                self.keys.see_options(rendering.member, rendered.texts)
        for group, members in groups.items():
            noun = _GROUP_NOUN[group]
            for j, (later, b) in enumerate(members):
                for earlier, a in members[:j]:
                    identical, same_value = same_reading(a, b)
                    pair = f"{noun}s {earlier.member + 1} and {later.member + 1}"

                    def example(r: int, a: Rendered = a, b: Rendered = b, pair: str = pair) -> str:
                        first, second = a.texts, b.texts
                        if first is None or second is None:
                            return pair
                        return f"{pair}: {first[r]!r} and {second[r]!r}"

                    self.found.in_variants(later.path, f"two {noun}s read the same", identical,
                                           batch.seeds, example)
                    self.found.in_variants(later.path, f"two {noun}s show the same value in another "
                                           "format", same_value, batch.seeds, example)
        return options

    def _render_failure(self, path: Path_, failure: RenderFailure, batch: VariantBatch) -> None:
        if failure.bad is None:
            self.found.add(path, failure.message, needle=failure.field)
        else:
            self.found.in_variants(path, failure.message, failure.bad, batch.seeds, needle=failure.field)

    # --- grading the key, as a student would give it --------------------------------------------

    def _graded(self, batch: VariantBatch) -> None:
        """The key as a response earns full marks and a wrong response does not, in every variant."""
        key = dict(batch.key)
        if batch.order is not None:
            key["order"] = batch.order
        rows = np.arange(len(batch))
        valid = self._valid_keys(batch)
        for case in self._responses(batch):
            try:
                graded = self.qtype.grade_many(self.item, key, Responses(case.data, rows))
            except NotImplementedError:
                return
            right = graded.fraction >= 1 - FRACTION_EPSILON
            bad = (right if not case.right else ~right) & valid
            verdict = "does not earn full marks" if case.right else "earns full marks"

            def example(r: int, case: _Case = case, fraction: np.ndarray = graded.fraction) -> str:
                shown = case.describe(r) if case.describe else ""
                return f"{shown}{', ' if shown else ''}fraction {fraction[r]:.6g}"

            self.found.in_variants(case.path, f"{case.label} {verdict}", bad, batch.seeds, example)

    def _valid_keys(self, batch: VariantBatch) -> np.ndarray:
        """Variants whose key is sound (the checks above report the others)."""
        if self.item.type_name in {"single_choice", "multiple_response"}:
            count = batch.key["correct"].sum(axis=1)
            if self.item.type_name == "single_choice":
                return np.asarray(count == 1)
            return np.asarray((count > 0) & (count < batch.key["correct"].shape[1]))
        return np.ones(len(batch), dtype=bool)

    def _responses(self, batch: VariantBatch) -> list[_Case]:
        kind, key = self.item.type_name, batch.key
        if kind == "numeric":
            return self._numeric_responses(batch)
        if kind == "true_false":
            answer = key["answer"]
            return [_Case("the key", {"answer": answer}, ("answer",), right=True),
                    _Case("the wrong answer", {"answer": ~answer}, ("answer",), right=False)]
        return self._option_responses(batch) if batch.order is not None else []

    def _option_responses(self, batch: VariantBatch) -> list[_Case]:
        """Right and wrong responses by display position, for the types that shuffle options."""
        kind, key = self.item.type_name, batch.key
        assert batch.order is not None
        display = np.argsort(batch.order, axis=1)  # authored option -> display position
        cases: list[_Case] = []
        if kind == "single_choice":
            correct = key["correct"]
            right = np.take_along_axis(display, correct.argmax(axis=1)[:, None], axis=1)[:, 0]
            wrong = np.take_along_axis(display, (~correct).argmax(axis=1)[:, None], axis=1)[:, 0]
            cases = [_Case("the correct option", {"choice": right}, ("options",), right=True),
                     _Case("a wrong option", {"choice": wrong}, ("options",), right=False)]
        elif kind == "multiple_response":
            selected = np.take_along_axis(key["correct"], batch.order, axis=1)
            cases = [_Case("the correct options", {"selected": selected}, ("options",), right=True),
                     _Case("the other options", {"selected": ~selected}, ("options",), right=False)]
        elif kind == "ordering":
            order = np.take_along_axis(display, key["sequence"], axis=1)
            cases = [_Case("the right order", {"order": order}, ("options",), right=True),
                     _Case("the reverse order", {"order": order[:, ::-1]}, ("options",), right=False)]
        elif kind == "matching":
            matches = np.take_along_axis(display, key["answer_of"], axis=1)
            cases = [_Case("every right match", {"matches": matches}, ("pairs",), right=True),
                     _Case("every prompt matched to the next one's answer",
                           {"matches": np.roll(matches, -1, axis=1)}, ("pairs",), right=False)]
        return cases

    def _numeric_responses(self, batch: VariantBatch) -> list[_Case]:
        answer, width = batch.key["answer"], batch.key["width"]
        far = answer + np.maximum(10 * width, 1.0)
        item = self.item
        assert isinstance(item, NumericItem)
        cases = [_Case("a response far from the key (by ten times its tolerance)", {"answer": far},
                       tolerance_path(item), right=False,
                       describe=lambda r: f"{far[r]:.6g} for a key of {answer[r]:.6g}")]
        asked = self.asked
        if asked is None:
            return cases
        typed, unit = _rounded(answer, asked)
        up, _ = _rounded(typed + unit, asked)
        down, _ = _rounded(typed - unit, asked)
        # a key halfway between two roundings has both as right answers (half up, half to even):
        # only a response more than half a unit from the key is off by one
        halfway = np.abs(np.abs(typed - answer) - unit / 2) <= 1e-9 * np.maximum(np.abs(answer), unit)
        up = np.where(halfway & (up - answer <= unit / 2 * (1 + 1e-9)), up + unit, up)
        down = np.where(halfway & (answer - down <= unit / 2 * (1 + 1e-9)), down - unit, down)
        digit = (f"{_ordinal(asked.sigfigs)} significant figure" if asked.sigfigs
                 else f"{_ordinal(asked.decimals)} decimal" if asked.decimals else "units digit")
        where = tolerance_path(item)
        if where == ("precision",):
            where = ("tolerance",) if "tolerance" in item.model_fields_set else ("answer",)

        def typed_as(values: np.ndarray) -> Callable[[int], str]:
            return lambda r: f"{_shown(values[r], asked)} for a key of {answer[r]:.10g}"

        return [
            *cases,
            _Case(f"the key rounded to {asked} (from {asked.origin})", {"answer": typed}, where,
                  right=True, describe=typed_as(typed)),
            _Case(f"a response one unit above in the {digit}", {"answer": up}, where, right=False,
                  describe=typed_as(up)),
            _Case(f"a response one unit below in the {digit}", {"answer": down}, where, right=False,
                  describe=typed_as(down)),
        ]

    # --- the question type's own path, one variant at a time -----------------------------------

    def _one_by_one(self, batch: VariantBatch) -> None:
        item, qtype = self.item, self.qtype
        for row in range(min(len(batch), SELF_TESTED - self.self_tested)):
            variant = batch[row]
            self.self_tested += 1
            try:
                qtype.render(item, variant)
                key = qtype.correct_response(item, variant)
                qtype.summarise(item, variant, key)
                results = qtype.self_test(item, variant)
            except ManualGradingRequired:
                continue
            except (ExpressionError, ResponseError, ValueError, IndexError) as exc:
                self.found.add((), f"the question type cannot render or grade it: {exc}")
                return
            for result in results:
                if not result.passed:
                    self.found.in_variants((), f"self-test: the {result.case.label} response graded "
                                           f"{result.outcome}, not {result.case.expect}",
                                           np.array([True]), np.array([variant.seed]),
                                           _detail(result.detail))


def _rounded(values: np.ndarray, asked: Asked) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as a student types them to the precision asked, and one unit of their last
    digit (rounding that carries into a new digit, 9.996 to 10.0, takes the new digit's unit)."""
    if asked.decimals is not None:
        return np.round(values, asked.decimals), np.full_like(values, 10.0 ** -asked.decimals)
    assert asked.sigfigs is not None

    def unit_of(x: np.ndarray) -> np.ndarray:
        magnitude = np.where(x != 0, np.abs(x), 1.0)
        return np.asarray(10.0 ** (np.floor(np.log10(magnitude)) - asked.sigfigs + 1))

    scale = unit_of(values)
    typed = np.round(values / scale) * scale
    return typed, unit_of(typed)


def _keys_at(keys: np.ndarray) -> Callable[[int], str]:
    def describe(r: int) -> str:
        return "keys " + ", ".join(f"{v:.6g}" for v in keys[r])

    return describe


def _pair_at(ranks: np.ndarray, a: int, b: int) -> Callable[[int], str]:
    def describe(r: int) -> str:
        return f"options {a + 1} and {b + 1}: {ranks[r, a]:.10g} and {ranks[r, b]:.10g}"

    return describe


def _detail(text: str) -> Callable[[int], str]:
    def describe(_r: int) -> str:
        return text

    return describe


def _ordinal(n: int | None) -> str:
    n = int(n or 0)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _shown(value: float, asked: Asked) -> str:
    if asked.decimals is not None:
        return f"{value:.{asked.decimals}f}"
    assert asked.sigfigs is not None
    return f"{float(f'{value:.{asked.sigfigs - 1}e}'):.{max(asked.sigfigs, 1)}g}"

