"""One model per question type: the parts of an item that decide what a right answer is.

Choice, ordering and matching items list their options either one by one or as a template
repeated ``for_each: i in 0..3``; either way :meth:`ChoiceOptions.expand` yields one
:class:`OptionSpec` per option with its loop binding, so question types never care which way an
author wrote them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.expressions import Expression, compile_expression
from engine.items.base import MAX_OPTIONS, Expr, ForEach, ItemBase, LongText, Template, Text, Title
from engine.items.limits import MAX_ANSWERS, MAX_LEVELS, MAX_RUBRIC_CRITERIA, at_most
from engine.items.metadata import Slug
from engine.items.units import Units, unit_key, unit_name_problem
from engine.texts import parse_template

__all__ = [
    "ChoiceOptions",
    "Distractor",
    "EssayItem",
    "Item",
    "MatchingItem",
    "MultipleResponseItem",
    "NumericItem",
    "OptionSpec",
    "OrderingItem",
    "PartialAnswer",
    "Precision",
    "Rubric",
    "RubricCriterion",
    "RubricLevel",
    "ShortTextAnswer",
    "ShortTextItem",
    "SingleChoiceItem",
    "Tolerance",
    "TrueFalseItem",
]

MAX_PARTIAL_ANSWERS = 20

Path = tuple[str | int, ...]
Found = list[tuple[Path, Expression, frozenset[str]]]
Templates = list[tuple[Path, str, dict[str, int]]]


class OptionSpec(BaseModel):
    """One option as authored. ``correct`` and ``rank`` may be expressions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Template
    correct: bool | Expr = False
    rank: Expr | None = None
    """Ordering items: the value the options are sorted by."""
    feedback: Template | None = None
    misconception: Slug | None = None
    fixed: bool = False
    """Keep this option in place when options are shuffled (e.g. 'none of these')."""
    conclusion: bool | Expr | None = None
    """Choice items: whether the option's conclusion holds, when the option also gives a reason
    ("A is better, because ..."). Never used to grade: the checker proves a wrong option wrong
    in its conclusion, not only in its reason."""

    @field_validator("rank", mode="before")
    @classmethod
    def _number_rank(cls, value: Any) -> Any:
        """``rank: 2`` is the expression ``2`` (a listed order written out)."""
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class OptionTemplate(OptionSpec):
    """``for_each: i in 0..3`` plus an option whose fields may use ``i``."""

    for_each: ForEach

    @field_validator("for_each", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return ForEach.parse(value) if isinstance(value, str) else value


class ChoiceOptions(BaseModel):
    """The options of a choice, ordering or matching item: a list or a template."""

    model_config = ConfigDict(frozen=True)

    listed: Annotated[tuple[OptionSpec, ...], at_most(MAX_OPTIONS, "options")] | None = None
    template: OptionTemplate | None = None

    @model_validator(mode="before")
    @classmethod
    def _either(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            return {"listed": data}
        if isinstance(data, dict) and "for_each" in data:
            return {"template": data}
        return data

    @model_validator(mode="after")
    def _count(self) -> Self:
        count = len(self.expand())
        if not 2 <= count <= MAX_OPTIONS:
            raise ValueError(f"an item needs 2 to {MAX_OPTIONS} options, not {count}")
        return self

    @property
    def count(self) -> int:
        """How many options :meth:`expand` gives (without making them: parsing a response asks)."""
        if self.listed is not None:
            return len(self.listed)
        assert self.template is not None
        return len(self.template.for_each.values)

    def expand(self) -> list[tuple[OptionSpec, dict[str, int], Path]]:
        """Each option with its loop binding and the path it was authored at."""
        if self.listed is not None:
            return [(o, {}, ("options", n)) for n, o in enumerate(self.listed)]
        assert self.template is not None
        t = self.template
        return [(t, {t.for_each.variable: v}, ("options",)) for v in t.for_each.values]

    @property
    def loop_variables(self) -> frozenset[str]:
        return frozenset({self.template.for_each.variable}) if self.template else frozenset()


def _text_expressions(path: Path, text: str | None, scope: frozenset[str] = frozenset()) -> Found:
    """The expressions inside one text's ``{{ }}`` fields."""
    return [(path, e, scope) for e in parse_template(text).expressions] if text else []


def _option_expressions(options: ChoiceOptions, fields: tuple[str, ...]) -> Found:
    found: Found = []
    seen: set[int] = set()
    for option, binding, path in options.expand():
        if id(option) in seen:  # a template: check once, with its loop variable in scope
            continue
        seen.add(id(option))
        scope = frozenset(binding)
        for name in ("text", "feedback"):
            found.extend(_text_expressions((*path, name), getattr(option, name), scope))
        for name in fields:
            source = getattr(option, name)
            if isinstance(source, str):
                found.append(((*path, name), compile_expression(source), scope))
    return found


def _texts_of(parts: list[tuple[Path, Any]], *names: str, binding: dict[str, int] | None = None) -> Templates:
    """The texts ``names`` of each (path, part) that has them, with the loop binding."""
    return [((*path, name), text, dict(binding or {})) for path, part in parts for name in names
            if (text := getattr(part, name))]


def _option_templates(options: ChoiceOptions) -> Templates:
    found: Templates = []
    for option, binding, path in options.expand():
        found.extend(_texts_of([(path, option)], "text", "feedback", binding=binding))
    return found


def _misconception_expressions(item: ItemBase, field: str, scope: frozenset[str]) -> Found:
    found: Found = []
    for name, m in item.misconceptions.items():
        source = getattr(m, field)
        if isinstance(source, str):
            found.append((("misconceptions", name, field), compile_expression(source), scope))
    return found


Problems = list[tuple[Path, str]]


def _leads_to(item: ItemBase, allowed: str, linked: frozenset[str] = frozenset()) -> Problems:
    """Each misconception must say what it leads to (or be named by an option or answer)."""
    problems: Problems = []
    for name, m in item.misconceptions.items():
        if m.leads_to == allowed or (m.leads_to is None and name in linked):
            continue
        if m.leads_to is None:
            message = f"misconception {name!r} must say what it leads to with {allowed!r}"
            if allowed == "selects":
                message += " or be named by an option"
        else:
            message = f"a {item.type_name} misconception takes {allowed!r}, not {m.leads_to!r}"
        problems.append((("misconceptions", name), message))
    return problems


def _methods(item: ItemBase, allowed: tuple[str | None, ...]) -> Problems:
    if item.scoring.method in allowed:
        return []
    names = ", ".join(str(a) for a in allowed if a)
    message = f"scoring method {item.scoring.method!r} does not apply to {item.type_name} items"
    return [(("scoring", "method"), f"{message} (use {names})")]


def _none_named(item: ItemBase, reason: str) -> Problems:
    return [(("misconceptions", name), reason) for name in item.misconceptions]


class _ChoiceItem(ItemBase):
    options: ChoiceOptions

    def _expect_kind(self) -> tuple[str, int]:
        return ("indices", len(self.options.expand()))

    def _type_expressions(self) -> Found:
        return [
            *_option_expressions(self.options, ("correct", "conclusion")),
            *_misconception_expressions(self, "selects", self.options.loop_variables | {"i"}),
        ]

    def _type_templates(self) -> Templates:
        return _option_templates(self.options)

    def _type_problems(self) -> Problems:
        linked = frozenset(o.misconception for o, _, _ in self.options.expand() if o.misconception)
        problems = _leads_to(self, "selects", linked)
        for option, _, path in self.options.expand():
            if option.rank is not None:
                problems.append(((*path, "rank"), "rank is for ordering items"))
            if option.misconception and option.misconception not in self.misconceptions:
                problems.append(((*path, "misconception"),
                                 f"unknown misconception {option.misconception!r}"))
        methods = (None, "all_or_nothing") if self.type_name == "single_choice" else (
            None, "partial", "all_or_nothing")
        return problems + _methods(self, methods)


class SingleChoiceItem(_ChoiceItem):
    """Exactly one option is correct; negative marking optional."""

    type: Literal["single_choice"]


class MultipleResponseItem(_ChoiceItem):
    """Select all that apply: Moodle-style partial credit or all-or-nothing."""

    type: Literal["multiple_response"]


class TrueFalseItem(ItemBase):
    """The stem is a statement; ``answer`` (a condition) says whether it is true."""

    type: Literal["true_false"]

    def _expect_kind(self) -> tuple[str, int]:
        return ("bool", 0)
    answer: bool | Expr
    feedback_true: Template | None = None
    feedback_false: Template | None = None
    shuffle: bool = False

    def _type_expressions(self) -> Found:
        found: Found = _misconception_expressions(self, "answer", frozenset())
        if isinstance(self.answer, str):
            found.append((("answer",), compile_expression(self.answer), frozenset()))
        for name in ("feedback_true", "feedback_false"):
            found.extend(_text_expressions((name,), getattr(self, name)))
        return found

    def _type_templates(self) -> Templates:
        return _texts_of([((), self)], "feedback_true", "feedback_false")

    def _type_problems(self) -> Problems:
        return _leads_to(self, "answer") + _methods(self, (None, "all_or_nothing"))


class Tolerance(BaseModel):
    """How close a numeric answer must be: exactly one of absolute, relative, sigfigs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    absolute: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    relative: float | None = Field(default=None, ge=0, lt=1, allow_inf_nan=False)
    sigfigs: int | None = Field(default=None, ge=1, le=15)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if sum(x is not None for x in (self.absolute, self.relative, self.sigfigs)) != 1:
            raise ValueError("declare exactly one of absolute, relative or sigfigs")
        return self

    @property
    def mode(self) -> str:
        return "absolute" if self.absolute is not None else (
            "relative" if self.relative is not None else "sigfigs"
        )


class PartialAnswer(BaseModel):
    """Another accepted value of a numeric item, worth part of the mark (Moodle's numerical
    answers after the first; GIFT's ``=%50%1822:2``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Expr | None = None
    """Computed like the item's answer; the answer itself when omitted, so that a wider
    ``tolerance`` earns part of the mark."""
    tolerance: Tolerance | None = None
    """The item's tolerance when omitted."""
    fraction: float = Field(gt=0, lt=1)
    feedback: Template | None = None


class Precision(BaseModel):
    """The precision the stem asks a student to give: significant figures or decimal places.

    The checker grades the key rounded to it (full marks) and one unit off in its last digit
    (no marks), so that the tolerance fits what a student types.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigfigs: int | None = Field(default=None, ge=1, le=15)
    decimals: int | None = Field(default=None, ge=0, le=15)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.sigfigs is None) == (self.decimals is None):
            raise ValueError("declare exactly one of sigfigs or decimals")
        return self


class NumericItem(ItemBase):
    """A number, right within a tolerance of the computed ``answer``.

    A response takes the credit of the first range that holds it: the answer's (1), then each of
    ``partial_credit`` in order, then each misconception's (0, with its feedback). ``units``
    lets a response carry a unit (see :mod:`engine.items.units`)."""

    type: Literal["numeric"]

    def _expect_kind(self) -> tuple[str, int]:
        return ("number", 0)
    answer: Expr
    tolerance: Tolerance = Field(default_factory=lambda: Tolerance(relative=0.01))
    precision: Precision | None = None
    """What the stem asks for (three significant figures, two decimal places); by default what
    the tolerance implies (``sigfigs: n``, or ``absolute: t`` as the decimals it rounds to)."""
    unit: str | None = Field(default=None, max_length=40)
    shuffle: bool = False
    partial_credit: tuple[PartialAnswer, ...] = Field(default=(), max_length=MAX_PARTIAL_ANSWERS)
    units: Units | None = None

    def typed_precision(self) -> Precision | None:
        """The precision a student types to: ``precision`` if declared, else what the tolerance
        implies (``sigfigs: n``; ``absolute: t`` as the fewest decimals whose half unit is at
        most t); None for a relative tolerance or one of 0."""
        if self.precision is not None:
            return self.precision
        if self.tolerance.sigfigs is not None:
            return Precision(sigfigs=self.tolerance.sigfigs)
        if self.tolerance.absolute:
            decimals = math.ceil(-math.log10(2 * self.tolerance.absolute) - 1e-9)
            return Precision(decimals=min(15, max(0, decimals)))
        return None

    def _type_expressions(self) -> Found:
        found: Found = [
            (("answer",), compile_expression(self.answer), frozenset()),
            *_misconception_expressions(self, "value", frozenset()),
        ]
        for n, partial in enumerate(self.partial_credit):
            if partial.value is not None:
                found.append((("partial_credit", n, "value"), compile_expression(partial.value), frozenset()))
            found.extend(_text_expressions(("partial_credit", n, "feedback"), partial.feedback))
        return found

    def _type_problems(self) -> Problems:
        problems = _leads_to(self, "value") + _methods(self, (None, "all_or_nothing"))
        if self.partial_credit and self.scoring.method == "all_or_nothing":
            problems.append((("partial_credit",), "partial credit cannot go with all-or-nothing scoring"))
        if self.units is not None:
            problems.extend(self._unit_problems(self.units))
        return problems

    def _unit_problems(self, units: Units) -> Problems:
        if self.unit is None:
            return [(("units",), "units need the unit of the answer: give the item a unit")]
        problem = unit_name_problem(self.unit, before=units.before)
        if problem:
            return [(("unit",), problem)]
        if any(unit_key(name) == unit_key(self.unit) for name in units.multipliers):
            return [(("units", "multipliers"), f"{self.unit!r} is the answer's own unit (its multiplier is 1)")]
        return []


class OrderingItem(ItemBase):
    """Put the options in order: by their listed order, or by a computed ``rank``."""

    type: Literal["ordering"]

    def _expect_kind(self) -> tuple[str, int]:
        return ("indices", len(self.options.expand()))
    options: ChoiceOptions
    order: Literal["ascending", "descending"] = "ascending"

    def _type_expressions(self) -> Found:
        return [
            *_option_expressions(self.options, ("rank",)),
            *_misconception_expressions(self, "order_by", self.options.loop_variables | {"i"}),
        ]

    def _type_templates(self) -> Templates:
        return _option_templates(self.options)

    def _type_problems(self) -> Problems:
        problems = _leads_to(self, "order_by") + _methods(
            self, (None, "all_or_nothing", "absolute_position", "relative_to_correct",
                   "adjacent_pairs"))
        ranks = [o.rank is not None for o, _, _ in self.options.expand()]
        if any(ranks) and not all(ranks):
            message = "give every option a rank, or none (then the listed order is the right one)"
            problems.append((("options",), message))
        for option, _, path in self.options.expand():
            if option.correct is not False or option.misconception or option.conclusion is not None:
                message = "ordering options take text and rank, not correct, conclusion or misconception"
                problems.append((path, message))
        if not self.shuffle:
            problems.append((("shuffle",), "an ordering item must shuffle its options"))
        return problems


class MatchPair(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Template
    answer: Template


class Distractor(BaseModel):
    """A wrong answer in a matching item's pool, optionally the one a misconception leads to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Template
    misconception: Slug | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        return {"text": data} if isinstance(data, str) else data


class MatchingItem(ItemBase):
    """Match each prompt to one answer; extra answers may be distractors."""

    type: Literal["matching"]
    pairs: Annotated[tuple[MatchPair, ...], at_most(MAX_OPTIONS, "pairs")] = Field(min_length=2)
    distractors: Annotated[tuple[Distractor, ...], at_most(MAX_OPTIONS, "distractors")] = ()

    def _type_expressions(self) -> Found:
        found: Found = []
        for n, pair in enumerate(self.pairs):
            for name in ("prompt", "answer"):
                found.extend(_text_expressions(("pairs", n, name), getattr(pair, name)))
        for n, distractor in enumerate(self.distractors):
            found.extend(_text_expressions(("distractors", n, "text"), distractor.text))
        return found

    def _type_templates(self) -> Templates:
        return (_texts_of([(("pairs", n), pair) for n, pair in enumerate(self.pairs)], "prompt", "answer")
                + _texts_of([(("distractors", n), d) for n, d in enumerate(self.distractors)], "text"))

    def _type_problems(self) -> Problems:
        linked = frozenset(d.misconception for d in self.distractors if d.misconception)
        problems: Problems = []
        for n, distractor in enumerate(self.distractors):
            if distractor.misconception and distractor.misconception not in self.misconceptions:
                problems.append((("distractors", n, "misconception"),
                                 f"unknown misconception {distractor.misconception!r}"))
        for name, m in self.misconceptions.items():
            if m.leads_to is not None or name not in linked:
                message = "in a matching item, name it on a distractor (and nothing else)"
                problems.append((("misconceptions", name), f"misconception {name!r}: {message}"))
        return problems + _methods(self, (None, "partial", "all_or_nothing"))


class ShortTextAnswer(BaseModel):
    """An accepted (or anticipated wrong) answer. ``*`` in ``match`` stands for any text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Template = Field(min_length=1, max_length=200)
    fraction: float = Field(default=1.0, ge=0, le=1)
    """Credit for this answer: 1 by default, 0 by default when it names a misconception."""
    feedback: Template | None = None
    misconception: Slug | None = None

    @model_validator(mode="before")
    @classmethod
    def _misconceptions_earn_nothing(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("misconception") and "fraction" not in data:
            return {**data, "fraction": 0.0}
        return data


class ShortTextItem(ItemBase):
    """A short typed answer, compared after normalising case and spaces."""

    type: Literal["short_text"]
    answers: Annotated[tuple[ShortTextAnswer, ...], at_most(MAX_ANSWERS, "answers")] = Field(min_length=1)
    case_sensitive: bool = False
    shuffle: bool = False

    def _type_expressions(self) -> Found:
        found: Found = []
        for n, a in enumerate(self.answers):
            for name in ("match", "feedback"):
                found.extend(_text_expressions(("answers", n, name), getattr(a, name)))
        return found

    def _type_templates(self) -> Templates:
        return _texts_of([(("answers", n), a) for n, a in enumerate(self.answers)], "match", "feedback")

    def _type_problems(self) -> Problems:
        problems: Problems = []
        if not any(a.fraction == 1 for a in self.answers):
            problems.append((("answers",), "at least one answer must have fraction 1"))
        linked = set()
        for n, a in enumerate(self.answers):
            if a.misconception:
                linked.add(a.misconception)
                if a.misconception not in self.misconceptions:
                    problems.append((("answers", n, "misconception"),
                                     f"unknown misconception {a.misconception!r}"))
        for name, m in self.misconceptions.items():
            if m.leads_to is not None or name not in linked:
                message = "in a short-text item, name it on an answer (and nothing else)"
                problems.append((("misconceptions", name), f"misconception {name!r}: {message}"))
        return problems + _methods(self, (None, "all_or_nothing"))


class RubricLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    points: float = Field(ge=0, le=1000, allow_inf_nan=False)
    label: Title
    description: Text = ""


class RubricCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    title: Title
    description: LongText = ""
    levels: Annotated[tuple[RubricLevel, ...], at_most(MAX_LEVELS, "levels")] = Field(min_length=2)

    @property
    def max_points(self) -> float:
        return max(level.points for level in self.levels)


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: Annotated[tuple[RubricCriterion, ...], at_most(MAX_RUBRIC_CRITERIA, "criteria")] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("rubric criteria need distinct ids")
        if self.max_points <= 0:
            raise ValueError("a rubric must be able to award points")
        return self

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.criteria)


class ResponseLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_words: int = Field(default=0, ge=0)
    max_words: int = Field(default=2000, ge=1, le=20000)


class EssayItem(ItemBase):
    """A written answer, graded by hand against a rubric."""

    type: Literal["essay"]
    rubric: Rubric
    response: ResponseLimits = Field(default_factory=ResponseLimits)
    shuffle: bool = False

    def _type_problems(self) -> Problems:
        return _none_named(self, "essay items are graded by rubric; name no misconceptions") + (
            _methods(self, (None, "rubric")))


Item = Annotated[
    SingleChoiceItem
    | MultipleResponseItem
    | TrueFalseItem
    | NumericItem
    | OrderingItem
    | MatchingItem
    | ShortTextItem
    | EssayItem,
    Field(discriminator="type"),
]
