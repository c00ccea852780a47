"""Item definitions: the content format as pydantic models, one per question type."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from engine.items.base import Expr, ItemBase, Misconception, Scoring
from engine.items.metadata import Tags
from engine.items.params import ParamSpec
from engine.items.types import (
    EssayItem,
    Item,
    MatchingItem,
    MultipleResponseItem,
    NumericItem,
    OptionSpec,
    OrderingItem,
    PartialAnswer,
    Rubric,
    ShortTextItem,
    SingleChoiceItem,
    Tolerance,
    TrueFalseItem,
)
from engine.items.units import Units

__all__ = [
    "QUESTION_TYPES",
    "EssayItem",
    "Expr",
    "Item",
    "ItemBase",
    "ItemProblems",
    "MatchingItem",
    "Misconception",
    "MultipleResponseItem",
    "NumericItem",
    "OptionSpec",
    "OrderingItem",
    "ParamSpec",
    "PartialAnswer",
    "Rubric",
    "Scoring",
    "ShortTextItem",
    "SingleChoiceItem",
    "Tags",
    "Tolerance",
    "TrueFalseItem",
    "Units",
    "parse_item",
]

QUESTION_TYPES = (
    "single_choice",
    "multiple_response",
    "true_false",
    "numeric",
    "ordering",
    "matching",
    "short_text",
    "essay",
)

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Item)


class ItemProblems(ValueError):
    """An item whose structure is valid but whose parts do not fit together.

    ``problems`` lists (path, message); a path such as ``("compute", "loss")`` says where.
    """

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))


def parse_item(data: Any) -> ItemBase:
    """Validate a plain mapping (from YAML, JSON or a request) into its item model.

    Raises :class:`pydantic.ValidationError` (structure) or :class:`ItemProblems` (meaning);
    both say where.
    """
    item: ItemBase = _ADAPTER.validate_python(data)
    problems = item.problems()
    if problems:
        raise ItemProblems(problems)
    return item
