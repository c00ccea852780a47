"""Pieces every question type shares: evaluating per-option expressions over a batch, rendering
the common part of a question, and turning misconception flags into feedback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.expressions import ExpressionError, compile_expression, evaluate
from engine.texts import render

if TYPE_CHECKING:
    from engine.items import ItemBase
    from engine.items.types import ChoiceOptions
    from engine.variants import Variant

Names = Mapping[str, np.ndarray]


def with_loop(names: Names, binding: Mapping[str, int]) -> Names:
    if not binding:
        return names
    scope = dict(names)
    scope.update({k: np.array([float(v)]) for k, v in binding.items()})
    return scope


def option_scope(names: Names, binding: Mapping[str, int], index: int) -> Names:
    """The names an option's expressions see: its loop binding, and ``i`` its index."""
    return with_loop(names, {**binding, "i": binding.get("i", index)})


def batch_value(source: str | bool, names: Names, batch: int, *, as_bool: bool = False) -> np.ndarray:
    """An expression (or a literal bool) evaluated to one value per variant: shape (batch,)."""
    if isinstance(source, bool):
        return np.full(batch, source)
    result = evaluate(compile_expression(source), names)
    if result.ndim > 1:
        if result.size // result.shape[0] != 1:
            raise ExpressionError("must give one value per variant, not a vector", source)
        result = result.reshape(result.shape[0])
    if result.shape != (batch,):
        result = np.broadcast_to(result, (batch,))
    return result.astype(bool) if as_bool else result.astype(np.float64)  # a copy either way


def per_option(options: ChoiceOptions, field: str, names: Names, batch: int,
               *, as_bool: bool = False) -> np.ndarray:
    """``field`` of every option, shape (batch, options)."""
    columns = []
    for option, binding, _ in options.expand():
        source = getattr(option, field)
        columns.append(batch_value(source, with_loop(names, binding), batch, as_bool=as_bool))
    return np.stack(columns, axis=1)


def misconception_table(item: ItemBase, options: ChoiceOptions, field: str, names: Names,
                        batch: int) -> np.ndarray:
    """Per misconception, per option, whether it leads to that option: (batch, M, options)."""
    expanded = options.expand()
    table = np.zeros((batch, len(item.misconceptions), len(expanded)), dtype=bool)
    for m, (name, misconception) in enumerate(item.misconceptions.items()):
        source = getattr(misconception, field)
        for k, (option, binding, _) in enumerate(expanded):
            if source is not None:
                table[:, m, k] = batch_value(source, option_scope(names, binding, k), batch, as_bool=True)
            if option.misconception == name:
                table[:, m, k] = True
    return table


def render_text(text: str | None, variant: Variant, binding: Mapping[str, int] | None = None) -> str:
    if not text:
        return ""
    return render(text, variant.names(**(binding or {})))


def render_common(item: ItemBase, variant: Variant) -> dict[str, Any]:
    """The part of a question every type shows: never the key."""
    return {
        "type": item.type_name,
        "title": item.title,
        "stem": render_text(item.stem, variant),
        "max_mark": item.max_mark,
    }


def misconception_feedback(item: ItemBase, name: str, variant: Variant) -> tuple[str, str]:
    """(what the misconception says, its feedback rendered for this variant)."""
    misconception = item.misconceptions[name]
    text = render_text(misconception.feedback, variant) if misconception.feedback else misconception.says
    return misconception.says, text


def first_true(flags: np.ndarray) -> np.ndarray:
    """Index of the first True along the last axis, -1 where there is none."""
    if flags.shape[-1] == 0:
        return np.full(flags.shape[:-1], -1)
    return np.where(flags.any(axis=-1), flags.argmax(axis=-1), -1)


def response_rows(responses: Any, count: int) -> np.ndarray:
    """The key row each of ``count`` responses answers (row n by default)."""
    if responses.variant_index is None:
        return np.arange(count)
    return np.asarray(responses.variant_index)


def as_int(value: Any, what: str) -> int:
    """A whole number from a JSON value, or a ValueError that says what was wrong."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{what} must be a whole number")
