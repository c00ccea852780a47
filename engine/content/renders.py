"""Every text of an item rendered for a whole batch of variants at once.

The checker renders each template of each variant it checks: the stem, the solution, every
option's text and feedback, every misconception's feedback, the true/false feedback, a matching
item's prompts, answers and distractors, a short-text item's patterns and feedback. A field is
evaluated once over the batch (as :func:`engine.texts.render` does for one row), so a call that
fails or a value that prints ``nan`` or ``inf`` is found in every variant, not only in the
variant a student happens to get. Texts that a student tells apart (options, prompts, answers)
are also formatted row by row, each distinct value once, and read back as the numbers a student
sees, so that two of them can be compared by value as well as by text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.content.findings import Path_
from engine.expressions import ExpressionError, evaluate
from engine.items import ItemBase
from engine.items.types import ChoiceOptions, MatchingItem, ShortTextItem, TrueFalseItem
from engine.qtypes.common import with_loop
from engine.texts import Field, format_value, parse_template
from engine.variants import VariantBatch

__all__ = ["RenderFailure", "Rendered", "Rendering", "render_batch", "renderings", "same_reading"]

_LITERAL_NUMBER = re.compile(r"(?<![\w.\\])-?\d+(?:\.\d+)?(?![\w.])")
_SHOWN_NUMBER = re.compile(r"^[-+]?(?:\d[\d,_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?%?$")
_RELATIVE_TIE = 1e-9


@dataclass(frozen=True)
class Rendering:
    """One template rendered with one loop binding: where it is authored and what it is."""

    path: Path_
    text: str
    label: str
    binding: Mapping[str, int] = field(default_factory=dict)
    group: str | None = None
    """Texts a student tells apart are compared within their group (options, prompts, answers)."""
    member: int = 0
    """The option's (prompt's, answer's) index within its group, as authored."""


def _option_renderings(options: ChoiceOptions) -> list[Rendering]:
    found = []
    for k, (option, binding, path) in enumerate(options.expand()):
        found.append(Rendering((*path, "text"), option.text, f"option {k + 1}", binding, "options", k))
        if option.feedback:
            found.append(Rendering((*path, "feedback"), option.feedback, f"option {k + 1}'s feedback", binding))
    return found


def _matching_renderings(item: MatchingItem) -> list[Rendering]:
    found = []
    for n, pair in enumerate(item.pairs):
        found.append(Rendering(("pairs", n, "prompt"), pair.prompt, f"prompt {n + 1}", {}, "prompts", n))
        found.append(Rendering(("pairs", n, "answer"), pair.answer, f"answer {n + 1}", {}, "answers", n))
    found += [Rendering(("distractors", n, "text"), d.text, f"distractor {n + 1}", {}, "answers", len(item.pairs) + n)
              for n, d in enumerate(item.distractors)]
    return found


def _short_text_renderings(item: ShortTextItem) -> list[Rendering]:
    found = []
    for n, answer in enumerate(item.answers):
        found.append(Rendering(("answers", n, "match"), answer.match, f"answer pattern {n + 1}"))
        if answer.feedback:
            found.append(Rendering(("answers", n, "feedback"), answer.feedback, f"answer {n + 1}'s feedback"))
    return found


def renderings(item: ItemBase) -> list[Rendering]:
    """Every template of ``item``, each with the bindings it is rendered with."""
    found = [Rendering(("stem",), item.stem, "the stem")]
    if item.solution:
        found.append(Rendering(("solution",), item.solution, "the solution"))
    found += [Rendering(("misconceptions", name, "feedback"), m.feedback, f"misconception {name!r}'s feedback")
              for name, m in item.misconceptions.items() if m.feedback]
    options: ChoiceOptions | None = getattr(item, "options", None)
    if options is not None:
        found += _option_renderings(options)
    if isinstance(item, TrueFalseItem):
        found += [Rendering((name,), text, f"the {name.replace('_', ' ')}")
                  for name in ("feedback_true", "feedback_false") if (text := getattr(item, name))]
    if isinstance(item, MatchingItem):
        found += _matching_renderings(item)
    if isinstance(item, ShortTextItem):
        found += _short_text_renderings(item)
    return found


@dataclass
class RenderFailure:
    """A field that cannot be rendered, or prints something a student must never see."""

    field: str
    message: str
    bad: np.ndarray | None = None
    """The variants where it happens (None: in all, the field cannot be evaluated)."""
    example: np.ndarray | None = None


@dataclass
class Number:
    """One number a text shows: the value behind it, and the value as a student reads it."""

    value: np.ndarray
    shown: np.ndarray


@dataclass
class Rendered:
    """A rendering over a batch: its texts and its numbers (only for texts compared), and what
    went wrong."""

    texts: np.ndarray | None = None
    skeletons: np.ndarray | str | None = None
    """The text with every number written ``#`` (what is left to tell two texts apart): one
    string for every row, unless the text prints a true/false."""
    computed: bool = False
    """Whether the text shows a computed value (two fixed texts are compared as texts only)."""
    numbers: list[Number] = field(default_factory=list)
    failures: list[RenderFailure] = field(default_factory=list)


def _scope(batch: VariantBatch, binding: Mapping[str, int]) -> Mapping[str, np.ndarray]:
    return with_loop(batch.values, binding)


def _field_values(part: Field, scope: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    value = evaluate(part.expression, scope)
    value = np.broadcast_to(value, (rows, *value.shape[1:])) if value.shape[0] != rows else value
    return value.reshape(rows, -1)


def _read(shown: str) -> float:
    """A number as a student reads it (``50%`` is 0.5); NaN if it is not a number."""
    text = shown.strip().replace(",", "").replace("_", "")
    if not text or not _SHOWN_NUMBER.match(text):
        return np.nan
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        return float(text) * scale
    except ValueError:
        return np.nan


def render_batch(rendering: Rendering, batch: VariantBatch, *, texts: bool = False) -> Rendered:
    """Evaluate every field of ``rendering`` over ``batch``; with ``texts``, format each row."""
    out = Rendered()
    rows = len(batch)
    scope = _scope(batch, rendering.binding)
    template = parse_template(rendering.text)
    pieces: list[np.ndarray | str] = []
    skeleton: list[np.ndarray | str] = []
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
            skeleton.append(_LITERAL_NUMBER.sub("#", part))
            if texts:
                out.numbers += _literal_numbers(part, rows)
            continue
        source = part.expression.source
        out.computed = True
        try:
            values = _field_values(part, scope, rows)
        except ExpressionError as exc:
            out.failures.append(RenderFailure(source, f"cannot render {rendering.label}: {exc}"))
            return out
        if values.dtype.kind == "f":
            finite = np.isfinite(values)
            if not finite.all():
                bad = ~finite.all(axis=1)
                word = "nan" if np.isnan(values[bad]).any() else "inf"
                out.failures.append(RenderFailure(
                    source, f"{rendering.label} prints {word} for {{{{ {source} }}}}", bad))
        if texts:
            printed, inverse = _format_rows(values, part.spec)
            shown = printed[inverse]
            pieces.append(shown)
            if values.dtype.kind == "b":
                skeleton.append(shown)
            else:
                skeleton.append(", ".join(["#"] * values.shape[1]))
                out.numbers += _numbers(values, printed, inverse)
    if texts and not out.failures:
        out.texts = _join(pieces, rows)
        words = [p for p in skeleton if isinstance(p, str)]
        out.skeletons = "".join(words) if len(words) == len(skeleton) else _join(skeleton, rows)
    return out


def _literal_numbers(text: str, rows: int) -> list[Number]:
    """The numbers written in a template's own text (``0.5`` in "a tie costs 0.5")."""
    found = []
    for match in _LITERAL_NUMBER.finditer(text):
        full = np.full(rows, float(match.group(0)))
        found.append(Number(full, full))
    return found


def _format_rows(values: np.ndarray, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct row's value as :func:`engine.texts.format_value` prints it, and the row of
    every variant in them (each distinct value is formatted once)."""
    if values.shape[1] == 1:
        unique, inverse = np.unique(values[:, 0], return_inverse=True)
    else:
        unique, inverse = np.unique(values, axis=0, return_inverse=True)
    printed = np.array([format_value(v, spec) for v in unique], dtype=object)
    return printed, inverse.reshape(-1)


def _numbers(values: np.ndarray, printed: np.ndarray, inverse: np.ndarray) -> list[Number]:
    """The numbers a field shows, read back from each distinct printed text."""
    width = values.shape[1]
    read = np.full((len(printed), width), np.nan)
    for n, text in enumerate(printed):
        parts = str(text).split(", ")
        if len(parts) == width:
            read[n] = [_read(p) for p in parts]
    return [Number(values[:, column].astype(np.float64), read[inverse, column]) for column in range(width)]


def _join(pieces: list[np.ndarray | str], rows: int) -> np.ndarray:
    text = np.full(rows, "", dtype=object)
    for piece in pieces:
        text = text + piece
    return text


def same_reading(a: Rendered, b: Rendered) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether two texts read the same (identical), and whether they show the same
    values in another format (the same words around numbers that are equal as shown, or equal
    behind the display to a relative 1e-9: ``0.500`` beside ``0.5``, ``50%`` beside ``0.5``).
    Two texts that show no computed value are compared as texts only."""
    assert a.texts is not None
    assert b.texts is not None
    identical = (a.texts == b.texts).astype(bool)
    rows = len(identical)
    if (a.skeletons is None or b.skeletons is None or len(a.numbers) != len(b.numbers)
            or not (a.computed or b.computed)):
        return identical, np.zeros(rows, dtype=bool)
    same = np.broadcast_to(np.asarray(a.skeletons == b.skeletons, dtype=bool), (rows,)).copy()
    if not same.any():
        return identical, same
    for x, y in zip(a.numbers, b.numbers, strict=True):
        scale = np.maximum(np.abs(x.value), np.abs(y.value))
        with np.errstate(invalid="ignore"):
            close = np.abs(x.value - y.value) <= _RELATIVE_TIE * scale
        same &= (x.shown == y.shown) | close
    return identical, same & ~identical
