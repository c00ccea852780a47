"""What every item carries, whatever its question type.

An item is a tagged record: identity and metadata, a Markdown stem, the parameters drawn per
student, the constraints they must meet, the values computed from them, named misconceptions, a
worked solution and scoring options. The question-type models in :mod:`engine.items.types` add the
parts that make a response right or wrong.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from engine.expressions import Expression, compile_expression, known_functions
from engine.items.limits import (
    MAX_COMPUTE,
    MAX_CONSTRAINTS,
    MAX_LINKS,
    MAX_LONG_TEXT_LENGTH,
    MAX_MISCONCEPTIONS,
    MAX_NAME_LENGTH,
    MAX_OPTIONS,
    MAX_PARAMS,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    at_most,
)
from engine.items.metadata import Slug, Tags
from engine.items.params import ParamSpec
from engine.texts import parse_template

__all__ = [
    "MAX_OPTIONS",
    "Expr",
    "ForEach",
    "ItemBase",
    "LongTemplate",
    "LongText",
    "Misconception",
    "Scoring",
    "Template",
    "Text",
]

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = frozenset({"pi", "e", "i", "j", "k"})  # constants and loop variables


def _check_expression(source: str) -> str:
    compile_expression(source)
    return source


Expr = Annotated[str, AfterValidator(_check_expression)]
"""A pydantic field type: the source of a checked expression."""


def _check_template(source: str) -> str:
    parse_template(source)
    return source


# The length is checked first (a constraint pydantic applies before any validator), so an
# over-long text is refused before it is parsed.
Template = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH), AfterValidator(_check_template)]
"""A pydantic field type: a short text (an option, a feedback) whose ``{{ }}`` fields are checked."""
LongTemplate = Annotated[str, StringConstraints(max_length=MAX_LONG_TEXT_LENGTH),
                         AfterValidator(_check_template)]
"""A stem or a solution: a text of up to :data:`MAX_LONG_TEXT_LENGTH` characters with fields."""
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
"""A short plain text (a misconception's ``says``, a rubric level's description)."""
LongText = Annotated[str, StringConstraints(max_length=MAX_LONG_TEXT_LENGTH)]
"""A long plain text (a rubric criterion's guidance for graders)."""
Title = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE_LENGTH)]


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a valid name (a letter, then letters, digits or _)")
    return name


Identifier = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH), AfterValidator(_check_identifier)]


class ForEach(BaseModel):
    """``for_each: i in 0..3``: a template repeated for i = 0, 1, 2, 3."""

    model_config = ConfigDict(frozen=True)

    variable: str
    start: int
    stop: int  # inclusive

    @classmethod
    def parse(cls, text: str) -> ForEach:
        match = re.fullmatch(r"\s*([a-z])\s+in\s+(-?\d+)\s*\.\.\s*(-?\d+)\s*", text)
        if not match:
            raise ValueError(f"for_each must read like 'i in 0..3', not {text!r}")
        start, stop = int(match.group(2)), int(match.group(3))
        if not 0 <= start <= stop or stop - start + 1 > MAX_OPTIONS:
            raise ValueError(f"for_each range must be ascending and at most {MAX_OPTIONS} long")
        return cls(variable=match.group(1), start=start, stop=stop)

    @property
    def values(self) -> range:
        return range(self.start, self.stop + 1)


class Misconception(BaseModel):
    """A named wrong way of thinking, and what it leads a student to answer.

    Which field says what it leads to depends on the question type: ``selects`` (a condition over
    an option's index ``i``) for choice items, ``value`` for numeric items, ``answer`` for
    true/false (a condition) and short text (a text), ``order_by`` (a key) for ordering items.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    says: Text = Field(min_length=1)
    feedback: Template | None = None
    selects: Expr | None = None
    value: Expr | None = None
    answer: bool | Expr | None = None
    order_by: Expr | None = None

    @property
    def leads_to(self) -> str | None:
        for name in ("selects", "value", "answer", "order_by"):
            if getattr(self, name) is not None:
                return name
        return None


class Scoring(BaseModel):
    """How a response's fraction is worked out; each question type accepts its own methods."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal[
        "all_or_nothing",
        "partial",
        "absolute_position",
        "relative_to_correct",
        "adjacent_pairs",
        "rubric",
    ] | None = None
    wrong_selection_penalty: bool = True
    negative: float = Field(default=0.0, ge=0.0, le=1.0)
    """Fraction taken away for a wrong single answer (negative marking); 0 for none."""
    allow_negative: bool = False
    """Whether an item's fraction may go below zero (only with negative marking)."""


class ItemBase(BaseModel):
    """The fields common to every question type. Mirrors one ``item_versions`` row's definition."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    id: Slug
    title: Title
    tags: Tags = Field(default_factory=lambda: Tags({}))
    concepts: Annotated[tuple[Slug, ...], at_most(MAX_LINKS, "concepts")] = ()
    related: Annotated[tuple[Slug, ...], at_most(MAX_LINKS, "related items")] = ()
    stem: LongTemplate = Field(min_length=1)
    params: Annotated[dict[Identifier, ParamSpec], at_most(MAX_PARAMS, "parameters")] = Field(
        default_factory=dict)
    constraints: Annotated[tuple[Expr, ...], at_most(MAX_CONSTRAINTS, "constraints")] = ()
    compute: Annotated[dict[Identifier, Expr], at_most(MAX_COMPUTE, "computed values")] = Field(
        default_factory=dict)
    misconceptions: Annotated[dict[Slug, Misconception], at_most(MAX_MISCONCEPTIONS, "misconceptions")] = Field(
        default_factory=dict)
    solution: LongTemplate | None = None
    scoring: Scoring = Field(default_factory=Scoring)
    max_mark: float = Field(default=1.0, gt=0, le=1000)
    shuffle: bool = True
    expect: bool | float | Annotated[tuple[int, ...], at_most(MAX_OPTIONS, "indices")] | None = None
    """A key the author states by hand (a number, true/false, or authored option indices).

    Never used to grade: the checker holds it against the computed key in every variant, so a
    typed belief that the function contradicts is caught before a student sees the item.
    """

    @field_validator("params", "compute")
    @classmethod
    def _not_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = _RESERVED & value.keys()
        if clash:
            raise ValueError(f"{min(clash)!r} is reserved (constants and loop variables)")
        return value

    @field_validator("misconceptions", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``name: expression`` is short for ``name: {says: name, value: expression}``."""
        if isinstance(value, dict):
            return {
                k: ({"says": k.replace("-", " "), "value": v} if isinstance(v, str) else v)
                for k, v in value.items()
            }
        return value

    # --- derived views -----------------------------------------------------------------------

    @property
    def type_name(self) -> str:
        return str(getattr(self, "type", ""))

    @property
    def is_computed(self) -> bool:
        """True when the item's numbers are drawn per student."""
        return any(p.is_random for p in self.params.values())

    def expressions(self) -> list[tuple[tuple[str | int, ...], Expression, frozenset[str]]]:
        """Every expression with its location and the loop variables in scope there.

        The content checker uses this to verify names before any variant exists.
        """
        found: list[tuple[tuple[str | int, ...], Expression, frozenset[str]]] = []
        none: frozenset[str] = frozenset()
        for n, source in enumerate(self.constraints):
            found.append((("constraints", n), compile_expression(source), none))
        for name, source in self.compute.items():
            found.append((("compute", name), compile_expression(source), none))
        for path, text in self._texts():
            found.extend((path, e, none) for e in parse_template(text).expressions)  # one text
        found.extend(self._type_expressions())
        return found

    def _texts(self) -> list[tuple[tuple[str | int, ...], str]]:
        texts: list[tuple[tuple[str | int, ...], str]] = [(("stem",), self.stem)]
        if self.solution:
            texts.append((("solution",), self.solution))
        for name, m in self.misconceptions.items():
            if m.feedback:
                texts.append((("misconceptions", name, "feedback"), m.feedback))
        return texts

    def _type_expressions(self) -> list[tuple[tuple[str | int, ...], Expression, frozenset[str]]]:
        return []

    def templates(self) -> list[tuple[tuple[str | int, ...], str, dict[str, int]]]:
        """Every text with its location and each loop binding it is filled in with (an option
        template once per option), as the question types render them: what a check of the item
        fills in to prove that every text can be, within its bounds."""
        return [(path, text, {}) for path, text in self._texts()] + self._type_templates()

    def _type_templates(self) -> list[tuple[tuple[str | int, ...], str, dict[str, int]]]:
        return []

    # --- semantic checks: problems with paths, so that a file can say which line -------------

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What is wrong beyond the structure: unknown names, mismatched parts, scoring."""
        return self._name_problems() + self._type_problems() + self._expect_problems(
            *self._expect_kind()
        )

    def _expect_kind(self) -> tuple[str, int]:
        return ("none", 0)

    def _type_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        return []

    def _expect_problems(self, kind: str, count: int = 0) -> list[tuple[tuple[str | int, ...], str]]:
        """``expect`` must have the shape of this type's key: a number, a bool, or indices."""
        value = self.expect
        if value is None:
            return []
        ok = {
            "number": isinstance(value, float | int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "indices": isinstance(value, tuple)
            and all(0 <= n < count for n in value)
            and len(set(value)) == len(value),
        }.get(kind, False)
        if ok:
            return []
        wanted = {"number": "a number", "bool": "true or false",
                  "indices": f"a list of option indices from 0 to {count - 1}"}.get(kind)
        if wanted is None:
            return [(("expect",), f"{self.type_name} items take no expect")]
        return [(("expect",), f"expect must be {wanted}")]

    def _name_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every expression may read only parameters, earlier computed values and its loop variable."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        params = set(self.params)
        computed = list(self.compute)
        functions = known_functions()
        for path, expression, loop in self.expressions():
            if path[0] == "compute":
                scope = params | set(computed[: computed.index(str(path[1]))])
            else:
                scope = params | set(computed)
            for name in sorted(expression.names - scope - loop):
                hint = " (a function: call it)" if name in functions else ""
                if name in self.compute and path[0] == "compute":
                    hint = " (computed later: a computed value reads only earlier ones)"
                problems.append((path, f"unknown name {name!r} in {expression.source!r}{hint}"))
        return problems
