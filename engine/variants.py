"""Seeded, deterministic variants: each student's own numbers, and the key derived from them.

A variant is a function of the item version and an integer seed, nothing else: the same pair
gives the same variant on any machine (``numpy.random.default_rng`` and PCG64 are specified to
the bit, and grid parameters are rounded to their step's decimals). Generation, per seed:

1. draw every parameter in declaration order from ``default_rng(seed)``: one call for as many
   doubles as the parameters need, mapped to each distribution (:meth:`ParamSpec.from_uniform`);
2. evaluate ``compute`` in order;
3. if any constraint (over parameters and computed values) fails, draw them all again from the
   same generator, at most :data:`MAX_DRAWS` times, then give up with a :class:`VariantError`
   that says so; the question type prepares the key from the values;
4. shuffle the options (those not ``fixed``) with the same generator, if the item shuffles (a
   matching item's answer pool always: see ``QuestionType.always_shuffles``).

:func:`generate_batch` does this for many seeds at once: the draws are per seed, every
expression is evaluated once over the whole batch. A single variant is a batch of one, so the
two paths cannot disagree.

Generation is bounded: one :func:`~engine.expressions.work_budget` covers every draw and every
evaluation of a batch (redraws included), and the numbers its values hold together are at most
:data:`MAX_VALUES`; past either, a :class:`VariantError` says which value, before the work is done.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.expressions import (
    MAX_ARRAY_SIZE,
    MAX_WORK,
    NUMBER_COST,
    OPERATION_COST,
    ExpressionError,
    charge,
    compile_expression,
    evaluate,
    work_budget,
)
from engine.streams import SeedStreams
from engine.texts import render_rows

if TYPE_CHECKING:
    from engine.items import ItemBase

__all__ = ["MAX_DRAWS", "MAX_VALUES", "Variant", "VariantBatch", "VariantError", "generate", "generate_batch",
           "text_problems"]

MAX_DRAWS = 1000
"""How many times a variant's parameters are redrawn before its constraints are declared unmeetable."""

MAX_VALUES = 1_000_000
"""Most numbers the parameters and computed values of one batch may hold together (8 MB). A value
counts once per variant, as it is stored: ``arange(1000)`` holds 200,000 numbers in 200 variants."""

BUDGET_VARIANTS = 200
"""Variants one :data:`~engine.expressions.MAX_WORK` covers (as many as the content checker
checks): a batch of more seeds, which only code asks for, gets a budget in proportion."""

PASS_ROWS = 10_000
"""Most seeds one pass of a large batch makes (numpy's arrays long enough that a pass costs
little more per row; see :func:`_in_passes`)."""

SPECULATIVE_ROWS = 64
"""Candidate draws evaluated together while few variants still fail their constraints (a pass of
the expressions costs about the same for one row as for 64)."""


class VariantError(ValueError):
    """A variant that cannot be made: constraints never met, or a key that is not finite."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        self.path = path
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class VariantBatch:
    """Many variants of one item version, column-wise.

    ``values`` holds every parameter and computed value with axis 0 the variant; ``order`` maps
    display position to authored option (row per variant); ``key`` is the question type's key.
    """

    item: ItemBase
    seeds: np.ndarray
    values: dict[str, np.ndarray]
    order: np.ndarray | None
    key: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, row: int) -> Variant:
        pick = slice(row, row + 1)
        return Variant(
            item=self.item,
            seed=int(self.seeds[row]),
            values={k: v[pick] for k, v in self.values.items()},
            order=None if self.order is None else tuple(int(x) for x in self.order[row]),
            key={k: v[pick] for k, v in self.key.items()},
        )


@dataclass(frozen=True, slots=True)
class Variant:
    """One student's instance of an item: stored (seed, params, order) and derived (the key).

    ``values`` and ``key`` keep a leading variant axis of length 1 so that expressions and
    templates evaluate on them directly. Nothing here may be sent to a student as it is: render
    through the question type.
    """

    item: ItemBase
    seed: int
    values: dict[str, np.ndarray]
    order: tuple[int, ...] | None
    key: dict[str, np.ndarray]

    def value(self, name: str) -> Any:
        """A parameter or computed value as the author sees it (a float or a list)."""
        return self.values[name][0].tolist()

    @property
    def params(self) -> dict[str, Any]:
        return {name: self.value(name) for name in self.item.params}

    def names(self, **loop: int) -> dict[str, np.ndarray]:
        """The evaluation scope, with loop variables such as ``i`` bound."""
        if not loop:
            return self.values
        scope = dict(self.values)
        scope.update({k: np.array([float(v)]) for k, v in loop.items()})
        return scope

    def to_json(self) -> dict[str, Any]:
        """What is stored with a question attempt: enough to rebuild and to audit the variant."""
        return {
            "seed": self.seed,
            "params": self.params,
            "order": None if self.order is None else list(self.order),
        }


def _draw(item: ItemBase, streams: SeedStreams, rows: np.ndarray, width: int,
          candidates: int) -> dict[str, np.ndarray]:
    """``candidates`` successive draws of every parameter for each of ``rows`` (row-major: the
    draws of ``rows[0]`` first), read ahead of each row's stream without moving it: ``k × width``
    doubles read at once are the doubles of ``k`` calls for ``width``."""
    numbers = len(rows) * candidates * width
    _hold(numbers, 0, "params", ("params",))
    try:
        charge(OPERATION_COST * (1 + len(item.params)) + NUMBER_COST * numbers)  # the doubles, then each mapping
    except ExpressionError as exc:
        raise VariantError(f"params: {exc}", ("params",)) from exc
    uniforms = streams.doubles(rows, candidates * width).reshape(len(rows) * candidates, width)
    drawn: dict[str, np.ndarray] = {}
    column = 0
    for name, spec in item.params.items():
        drawn[name] = spec.from_uniform(uniforms[:, column : column + spec.width])
        column += spec.width
    return drawn


def _hold(numbers: int, held: int, what: str, path: tuple[str | int, ...]) -> int:
    """``held`` plus ``numbers`` about to be stored; a :class:`VariantError` past :data:`MAX_VALUES`."""
    total = held + numbers
    if total > MAX_VALUES:
        raise VariantError(
            f"{what}: the item's values would hold more than {MAX_VALUES:,} numbers for these "
            f"variants (a value counts once per variant); use shorter vectors or fewer values",
            path,
        )
    return total


def _compute(item: ItemBase, scope: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
    """Evaluate ``compute`` in order into ``scope`` for ``rows`` variants; return the new values."""
    computed: dict[str, np.ndarray] = {}
    held = sum(rows * math.prod(value.shape[1:]) for value in scope.values())
    for name, source in item.compute.items():
        try:
            result = evaluate(compile_expression(source), scope)
        except ExpressionError as exc:
            raise VariantError(f"compute {name!r}: {exc}", ("compute", name)) from exc
        held = _hold(rows * math.prod(result.shape[1:]), held, f"compute {name!r}", ("compute", name))
        if result.shape[0] != rows:
            result = np.broadcast_to(result, (rows, *result.shape[1:]))
        scope[name] = computed[name] = result
    return computed


def _satisfied(item: ItemBase, scope: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    ok = np.ones(rows, dtype=bool)
    for n, source in enumerate(item.constraints):
        try:
            result = evaluate(compile_expression(source), scope)
        except ExpressionError as exc:
            raise VariantError(f"constraint {source!r}: {exc}", ("constraints", n)) from exc
        if result.ndim > 1:
            result = np.all(result, axis=tuple(range(1, result.ndim)))
        ok &= np.broadcast_to(result.astype(bool), ok.shape)
    return ok


def generate_batch(item: ItemBase, seeds: Iterable[int] | np.ndarray) -> VariantBatch:
    """Variants of ``item`` for every seed, identical to :func:`generate` seed by seed.

    The whole batch (draws, redraws, computed values, the key) is one work budget of
    :data:`~engine.expressions.MAX_WORK` per :data:`BUDGET_VARIANTS` seeds (within any budget in
    force): an item that asks for too much raises :class:`VariantError` naming the value that
    ran out of it. More than :data:`BUDGET_VARIANTS` seeds are made in passes (:func:`_in_passes`),
    so that a regrade's tens of thousands of seeds stay within the limits each value and each
    batch has, as the content checker's 200 do.
    """
    seed_array = np.asarray(list(seeds) if not isinstance(seeds, np.ndarray) else seeds, dtype=np.int64)
    if seed_array.ndim != 1 or (seed_array < 0).any():
        raise VariantError("seeds must be non-negative integers")
    if len(seed_array) > BUDGET_VARIANTS:
        return _in_passes(item, seed_array)
    return _budgeted(item, seed_array)


def _budgeted(item: ItemBase, seed_array: np.ndarray) -> VariantBatch:
    with work_budget(MAX_WORK * max(1, -(-len(seed_array) // BUDGET_VARIANTS))):
        return _generate(item, seed_array)


def _in_passes(item: ItemBase, seed_array: np.ndarray) -> VariantBatch:
    """The batch made in passes: the first :data:`BUDGET_VARIANTS` seeds (which an item that was
    saved is known to make), then passes as long as the numbers those variants hold per row
    allow (a quarter of :data:`~engine.expressions.MAX_ARRAY_SIZE` for the widest value, of
    :data:`MAX_VALUES` for them all, at most :data:`PASS_ROWS`). A pass that still runs out
    (an expression's intermediate wider than any value) is made again :data:`BUDGET_VARIANTS`
    seeds at a time. Each variant depends on its own seed only, so the rows are the same."""
    first = _budgeted(item, seed_array[:BUDGET_VARIANTS])
    arrays = [*first.values.values(), *first.key.values()]
    widest = max((math.prod(a.shape[1:]) for a in arrays), default=1)
    held = sum(math.prod(a.shape[1:]) for a in first.values.values())
    rows = max(BUDGET_VARIANTS, min(PASS_ROWS, MAX_ARRAY_SIZE // (4 * max(widest, 1)),
                                    MAX_VALUES // (4 * max(held, 1))))
    parts = [first]
    for start in range(BUDGET_VARIANTS, len(seed_array), rows):
        chunk = seed_array[start:start + rows]
        try:
            parts.append(_budgeted(item, chunk))
        except VariantError:
            if len(chunk) <= BUDGET_VARIANTS:
                raise
            parts += [_budgeted(item, chunk[at:at + BUDGET_VARIANTS]) for at in range(0, len(chunk), BUDGET_VARIANTS)]
    return _joined(item, seed_array, parts)


def _joined(item: ItemBase, seed_array: np.ndarray, parts: list[VariantBatch]) -> VariantBatch:
    """One batch of the passes' rows, in order."""
    def stacked(name: str, of: list[dict[str, np.ndarray]]) -> np.ndarray:
        return np.concatenate([part[name] for part in of])

    values = [p.values for p in parts]
    keys = [p.key for p in parts]
    order = None if parts[0].order is None else np.concatenate([p.order for p in parts if p.order is not None])
    return VariantBatch(item, seed_array, {name: stacked(name, values) for name in parts[0].values},
                        order, {name: stacked(name, keys) for name in parts[0].key})


def _generate(item: ItemBase, seed_array: np.ndarray) -> VariantBatch:
    from engine.qtypes import qtype_for

    batch = len(seed_array)
    streams = SeedStreams(seed_array)  # default_rng(seed) for every seed, as arrays
    width = sum(spec.width for spec in item.params.values())
    values: dict[str, np.ndarray] = {
        name: np.empty((batch, *spec.shape), dtype=np.float64) for name, spec in item.params.items()
    }
    # Draw, compute, check; redraw only the rows whose constraints fail. A row left pending draws
    # several candidates at once (as many as its share of the batch's first pass allows, and as
    # the last pass's rate of success says it needs) and keeps the first that meets the
    # constraints, its stream then moved on only past the draws it used: the same variant as one
    # draw at a time, without a pass of every expression per draw.
    pending = np.arange(batch)
    draws = 0
    rate: float | None = None
    while len(pending):
        if draws >= MAX_DRAWS:
            raise VariantError(
                f"the constraints were not all met after {MAX_DRAWS} draws "
                f"(seed {int(seed_array[pending[0]])}): widen the parameter ranges or relax them",
                ("constraints",),
            )
        k = _candidates(len(pending), batch, rate, MAX_DRAWS - draws) if item.constraints else 1
        scope = _draw(item, streams, pending, width, k)
        computed = _compute(item, scope, len(pending) * k)
        ok = _satisfied(item, scope, len(pending) * k) if item.constraints else np.ones(len(pending) * k, bool)
        rate = float(ok.mean())
        by_row = ok.reshape(len(pending), k)
        met = by_row.any(axis=1)
        first = by_row.argmax(axis=1)
        kept = (np.arange(len(pending)) * k + first)[met]
        done = pending[met]
        for name, result in {**scope, **computed}.items():
            if name not in values:
                values[name] = np.empty((batch, *result.shape[1:]), dtype=result.dtype)
            values[name][done] = result[kept]
        streams.advance(pending, np.where(met, first + 1, k) * width)  # as if it had stopped there
        pending = pending[~met]
        draws += k

    qtype = qtype_for(item)
    shuffles = item.shuffle or qtype.always_shuffles
    order = _shuffle(shuffles, qtype.option_count(item), qtype.fixed_positions(item), streams)
    try:
        key = qtype.prepare(item, values, batch)
    except ValueError as exc:  # an ExpressionError, or a condition that gives a vector
        raise VariantError(f"cannot work out the key: {exc}", _path_of(item, exc)) from exc
    return VariantBatch(item, seed_array, values, order, key)


def _path_of(item: ItemBase, error: ValueError) -> tuple[str | int, ...]:
    """Where the expression an error names is authored (the item itself when it names none)."""
    source = getattr(error, "source", "")
    for path, expression, _ in item.expressions():
        if source and expression.source == source:
            return path
    return ()


def _candidates(pending: int, batch: int, rate: float | None, left: int) -> int:
    """Candidate draws per pending row: enough for 99% of them to meet the constraints at the
    last pass's rate of success, within the rows of the batch's first pass (so that no value
    grows past the first pass's size) or :data:`SPECULATIVE_ROWS`, and the draws left."""
    room = max(SPECULATIVE_ROWS, batch) // pending
    if rate is None or rate <= 0:
        wanted = room
    elif rate >= 1:
        wanted = 1
    else:
        wanted = math.ceil(math.log(0.01) / math.log1p(-rate))
    return max(1, min(room, wanted, left))


def _shuffle(shuffles: bool, count: int, fixed: tuple[int, ...], streams: SeedStreams) -> np.ndarray | None:
    if count == 0:
        return None
    order = np.tile(np.arange(count), (len(streams), 1))
    if not shuffles:
        return order
    movable = np.array([n for n in range(count) if n not in fixed], dtype=np.int64)
    order[:, movable] = movable[streams.permutations(len(movable))]  # rng.permutation, per seed
    return order


def generate(item: ItemBase, seed: int) -> Variant:
    """The variant of ``item`` for ``seed``."""
    return generate_batch(item, [seed])[0]


def text_problems(batch: VariantBatch, rows: int | None = None) -> list[tuple[tuple[str | int, ...], str]]:
    """Every text of the batch's item filled in for its first ``rows`` variants (all by default;
    an option template once per option), as (path, message) for each text that cannot be: an
    expression that fails for some of these numbers, a text longer than
    :data:`~engine.texts.MAX_RENDERED_LENGTH` once filled in, or the work budget run out.

    Each field is evaluated once over the batch, as :func:`generate_batch` evaluates values.
    """
    count = len(batch) if rows is None else min(rows, len(batch))
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for path, text, binding in batch.item.templates():
        if any(path == seen for seen, _ in problems):
            continue
        scope: dict[str, np.ndarray] = dict(batch.values)
        scope.update({k: np.array([float(v)]) for k, v in binding.items()})
        try:
            render_rows(text, scope, range(count))
        except ExpressionError as exc:
            problems.append((path, f"cannot fill in this text: {exc}"))
    return problems
