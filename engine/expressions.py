"""The safe expression language that items compute with.

Items are data: the only computation an item can ask for is an expression in this language. An
expression is parsed by Python's own parser (``ast.parse`` in ``eval`` mode), checked node by node
against an allow-list before anything runs, and compiled once into closures that call numpy
(nothing else is reachable from an expression: no ``eval``, no attribute lookup). The language
has numbers, booleans, short strings (only as function arguments), arithmetic, comparisons,
``and``/``or``/``not``, ``a if c else b``, indexing and slicing, list literals, the function
library (:mod:`engine.functions`), numpy reductions and elementwise maths. It has no attribute
access, no dunder names, no lambdas, comprehensions, f-strings, imports or assignment; exponents,
literals, sizes and the source length are bounded.

Work is bounded before it is done. Every operation works out the shape of its result from the
shapes of its operands (numpy's broadcasting rules, a library function's rows and pairs, an
``arange``'s bounds) and refuses a value of more than :data:`MAX_ARRAY_SIZE` numbers before numpy
allocates anything; then it charges its work to the :class:`WorkBudget` in force (one per
evaluation, or one that a caller opens with :func:`work_budget` around a whole batch of variants),
which refuses once :data:`MAX_WORK` units are spent. The units are deterministic (numbers
computed, weighted, plus a fixed cost per operation), so an item is accepted or refused alike on
every machine.

Values are **batched**. Axis 0 of every value is the variant axis: evaluating once over a batch of
B variants gives every student's value at once, and a single variant is a batch of one. A literal
has a batch axis of length 1 and broadcasts against any batch. The rest of the shape is the value
as the author sees it (a scalar, or a vector of options), and every operation follows numpy's
broadcasting on that per-variant shape; :func:`align` pads the per-variant axes so that numpy's
right-aligned broadcasting never mixes the batch axis with a vector axis.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.functions.registry import REGISTRY, FunctionSpec

__all__ = [
    "MAX_ARRAY_SIZE",
    "MAX_CHECK_WORK",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_ROUND_DIGITS",
    "MAX_WORK",
    "Expression",
    "ExpressionError",
    "WorkBudget",
    "align",
    "as_batch",
    "charge",
    "compile_expression",
    "evaluate",
    "known_functions",
    "work_budget",
]

MAX_LENGTH = 2000
"""Longest expression source, in characters."""
MAX_NODES = 400
"""Most syntax-tree nodes in one expression."""
MAX_EXPONENT = 1024.0
"""Largest absolute exponent ``**`` accepts (``9**9**9`` is refused, not computed)."""
MAX_LITERAL = 1e15
"""Largest absolute numeric literal."""
MAX_ARRAY_SIZE = 100_000
"""Most elements any one value may hold (across the batch)."""
MAX_STRING = 64
"""Longest string literal (strings only name options such as ``kind="k3"``)."""
MAX_ROUND_DIGITS = 15
"""Most decimal places ``round(x, digits)`` takes, either way (float64 holds about 15 digits)."""

MAX_WORK = 1_000_000_000
"""Most work units (:class:`WorkBudget`) one evaluation may spend: an expression evaluated on its
own, or an item's values for a batch of up to 200 variants or for one student's variant."""
MAX_CHECK_WORK = 2 * MAX_WORK
"""Most work units checking an item as it is saved may spend: its 200 variants generated (at most
:data:`MAX_WORK` of it), every text filled in for each, the self-tests graded."""
MAX_TEXT_WORK = MAX_WORK // 5
"""Most work units filling in one text may spend (its fields, then their numbers formatted), as
part of its item's budget when there is one."""
OPERATION_COST = 20_000
"""Work units of one operation or built-in function, whatever its size (its Python overhead)."""
NUMBER_COST = 10
"""Work units per number an operation or built-in function computes (an addition takes about 1 ns
a number, exp about 10)."""
LIBRARY_CALL_COST = 500_000
"""Work units of one call of a library function, whatever its size (binding its arguments,
checking them, compensated sums)."""
LIBRARY_NUMBER_COST = 400
"""Work units per number a library function computes (each is several numpy passes: from 1 ns a
number for ``ranking_error`` to 400 for ``value_clip_loss``)."""
SORT_COST = 4 * NUMBER_COST
"""Work units per number of a sort, an argsort or a median (n log n, not n)."""
STEP_COST = 300_000
"""Work units per step of a library function that loops over its last axis (``gae``)."""

Array = np.ndarray
Evaluator = Callable[[Mapping[str, Any]], Any]
"""A compiled expression node: the value of its subtree for batched names."""


class ExpressionError(ValueError):
    """An expression that cannot be accepted or evaluated.

    ``source`` is the expression, ``column`` the 0-based offset of the offending node when known.
    The message never contains a value computed from a variant, so it is safe to show.
    """

    def __init__(self, message: str, source: str = "", column: int | None = None) -> None:
        self.message = message
        self.source = source
        self.column = column
        where = f" at column {column + 1}" if column is not None else ""
        super().__init__(f"{message}{where} in expression {source!r}" if source else message)


# --------------------------------------------------------------------------------------------
# The work budget


class WorkBudget:
    """The work that evaluating an item may do, counted in units before each operation runs.

    A unit is about a nanosecond of computing on the machine the costs were measured on (see
    :data:`OPERATION_COST` and its kin): each operation costs a fixed amount plus an amount per
    number it computes, worked out from the shapes of its operands before it runs. The count
    depends only on the item, its seeds and its texts, never on the machine or the clock, so the
    same item is accepted or refused everywhere. Charging past ``limit`` (or past the limit of the
    ``parent`` budget that this one is part of) raises :class:`ExpressionError`.
    """

    __slots__ = ("limit", "parent", "used", "what")

    def __init__(self, limit: int = MAX_WORK, parent: WorkBudget | None = None,
                 what: str = "the item's values") -> None:
        self.limit = limit
        self.parent = parent
        self.what = what
        self.used = 0

    def charge(self, units: int) -> None:
        """Count ``units`` here and in every budget this one is part of; raise if any is spent."""
        spent: WorkBudget | None = None
        budget: WorkBudget | None = self
        while budget is not None:
            budget.used += units
            if spent is None and budget.used > budget.limit:
                spent = budget
            budget = budget.parent
        if spent is not None:
            raise ExpressionError(
                f"too much computation: more than {spent.limit:,} work units (about a nanosecond "
                f"each) for {spent.what}; use fewer or shorter vectors, or fewer values"
            )


_BUDGET: ContextVar[WorkBudget | None] = ContextVar("assay_work_budget", default=None)


class _BudgetScope:
    """The block of :func:`work_budget` (a class, not a generator: it wraps every text)."""

    __slots__ = ("budget", "token")

    def __init__(self, budget: WorkBudget) -> None:
        self.budget = budget
        self.token: Token[WorkBudget | None] | None = None

    def __enter__(self) -> WorkBudget:
        self.token = _BUDGET.set(self.budget)
        return self.budget

    def __exit__(self, *_exc: object) -> None:
        if self.token is not None:
            _BUDGET.reset(self.token)
            self.token = None


def work_budget(limit: int = MAX_WORK, what: str = "the item's values") -> AbstractContextManager[WorkBudget]:
    """Count every evaluation inside the block against a budget of ``limit`` units.

    Inside another budget's block the new budget is part of the outer one: its work counts
    against both, so a nested block can never grant more than its caller allowed (and may allow
    less). Outside any block, each :func:`evaluate` has a budget of its own.
    """
    return _BudgetScope(WorkBudget(limit, _BUDGET.get(), what))


def charge(units: int) -> None:
    """Charge ``units`` to the budget in force (outside one, to a budget of :data:`MAX_WORK`)."""
    budget = _BUDGET.get()
    (budget if budget is not None else WorkBudget()).charge(units)


def _reserve(numbers: int, *, cost: int = NUMBER_COST, base: int = OPERATION_COST) -> None:
    """Before an operation computes ``numbers`` numbers: refuse a value larger than
    :data:`MAX_ARRAY_SIZE`, then charge the work (``base`` plus ``cost`` per number)."""
    if numbers > MAX_ARRAY_SIZE:
        raise ExpressionError(f"a value would hold {numbers} numbers (at most {MAX_ARRAY_SIZE})")
    budget = _BUDGET.get()
    (budget if budget is not None else WorkBudget()).charge(base + cost * numbers)


def _broadcast(*arrays: Array) -> tuple[int, ...]:
    """The shape numpy's broadcasting gives ``arrays`` (already aligned), without computing it."""
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = " and ".join(str(a.shape[1:]) for a in arrays)
        raise ExpressionError(f"shapes {shapes} do not match") from None


# --------------------------------------------------------------------------------------------
# Batched values


def as_batch(value: Any) -> Array:
    """Lift a plain value (a literal, a list, a per-variant array) to a batch of one."""
    arr = value if isinstance(value, np.ndarray) and value.dtype != object else np.asarray(value)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "fb":
        raise ExpressionError(f"a value of type {arr.dtype} is not a number")
    return arr[np.newaxis, ...]


def align(*arrays: Array) -> list[Array]:
    """Pad per-variant axes (after axis 0) so all arrays have the same number of dimensions."""
    ndim = max(a.ndim for a in arrays)
    return [
        a if a.ndim == ndim else a.reshape(a.shape[:1] + (1,) * (ndim - a.ndim) + a.shape[1:])
        for a in arrays
    ]


def _check_size(result: Array) -> Array:
    if result.size > MAX_ARRAY_SIZE:
        raise ExpressionError(f"a value would hold {result.size} numbers (at most {MAX_ARRAY_SIZE})")
    return result


def _binary(op: Callable[[Array, Array], Array]) -> Callable[[Array, Array], Array]:
    def apply(left: Array, right: Array) -> Array:
        if not isinstance(left, np.ndarray) or not isinstance(right, np.ndarray):
            raise ExpressionError("operators apply to numbers, not to strings")
        a, b = align(left, right)
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ExpressionError(f"shapes {left.shape[1:]} and {right.shape[1:]} do not match") from None
        _reserve(math.prod(shape))
        return _check_size(op(a, b))

    return apply


def _power(base: Array, exponent: Array) -> Array:
    if exponent.size and float(np.max(np.abs(exponent))) > MAX_EXPONENT:
        raise ExpressionError(f"exponent too large (at most {MAX_EXPONENT:g} in absolute value)")
    return np.power(base, exponent)


def _unary(op: Callable[[Array], Array]) -> Callable[[Array], Array]:
    def apply(operand: Array) -> Array:
        if not isinstance(operand, np.ndarray):
            raise ExpressionError("operators apply to numbers, not to strings")
        _reserve(operand.size)
        return op(operand)

    return apply


_OPERATORS: dict[type, Callable[..., Array]] = {
    ast.Add: _binary(np.add),
    ast.Sub: _binary(np.subtract),
    ast.Mult: _binary(np.multiply),
    ast.Div: _binary(np.true_divide),
    ast.FloorDiv: _binary(np.floor_divide),
    ast.Mod: _binary(np.mod),
    ast.Pow: _binary(_power),
    ast.USub: _unary(np.negative),
    ast.UAdd: _unary(np.positive),
    ast.Not: _unary(np.logical_not),
    ast.Eq: _binary(np.equal),
    ast.NotEq: _binary(np.not_equal),
    ast.Lt: _binary(np.less),
    ast.LtE: _binary(np.less_equal),
    ast.Gt: _binary(np.greater),
    ast.GtE: _binary(np.greater_equal),
}


# --------------------------------------------------------------------------------------------
# Functions an expression may call


def _value_axes(a: Array) -> tuple[int, ...]:
    return tuple(range(1, a.ndim))


def _reduction(op: Callable[..., Array], cost: int = NUMBER_COST) -> Callable[[Array], Array]:
    """A reduction over the whole per-variant value (``sum(x)`` sums a variant's vector)."""

    def reduce(x: Array) -> Array:
        _reserve(x.size, cost=cost)  # a reduction reads every number (a median sorts them)
        return op(x, axis=_value_axes(x))

    return reduce


def _last_axis(op: Callable[..., Array], *, as_float: bool = False,
               cost: int = NUMBER_COST) -> Callable[[Array], Array]:
    """A function along the last per-variant axis (``argmax``, ``sort``, ``cumsum``)."""

    def apply(x: Array) -> Array:
        if x.ndim < 2:
            raise ExpressionError(f"{getattr(op, '__name__', 'this function')} needs a vector")
        _reserve(x.size, cost=cost)
        result = op(x, axis=-1)
        return result.astype(np.float64) if as_float else result

    return apply


def _extreme(elementwise: Callable[..., Array], whole: Callable[..., Array]) -> Callable[..., Array]:
    """``min(x)`` reduces a vector; ``min(a, b, ...)`` is elementwise, like Python's builtin."""

    def apply(*args: Array) -> Array:
        if len(args) == 1:
            _reserve(args[0].size)
            return whole(args[0], axis=_value_axes(args[0]))
        arrays = align(*args)
        _reserve(math.prod(_broadcast(*arrays)), cost=NUMBER_COST * (len(arrays) - 1))
        return functools.reduce(elementwise, arrays)

    return apply


def _elementwise(op: Callable[..., Array], least: int = 1, most: int | None = None) -> Callable[..., Array]:
    """``op`` over aligned batches, given ``least`` to ``most`` numbers (default: exactly ``least``).

    The count is checked: numpy's functions take more positional arguments than an expression
    should reach (``exp(x, x)`` would pass ``x`` as ``out`` and overwrite a variant's value)."""
    name = getattr(op, "__name__", "function")
    most = least if most is None else most
    count = f"{least}" if least == most else f"{least} to {most}"

    def apply(*args: Array) -> Array:
        if not least <= len(args) <= most:
            raise ExpressionError(f"{name}() takes {count} number{'s' if most > 1 else ''}, not {len(args)}")
        for a in args:
            if not isinstance(a, np.ndarray):
                raise ExpressionError(f"{name} takes numbers")
        arrays = align(*args)
        _reserve(math.prod(_broadcast(*arrays)), cost=NUMBER_COST * len(arrays))
        return _check_size(op(*arrays))

    return apply


def _len(x: Array) -> Array:
    if x.ndim < 2:
        raise ExpressionError("len() needs a vector")
    _reserve(1)
    return np.full((1,), float(x.shape[-1]))


def _round(x: Array, ndigits: Array | None = None) -> Array:
    if not isinstance(x, np.ndarray):
        raise ExpressionError("round takes numbers")
    digits = 0 if ndigits is None else _constant_int(ndigits, "round's ndigits")
    if abs(digits) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round's ndigits must lie between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    _reserve(x.size)
    return np.round(x, digits)


def _arange(*args: Array) -> Array:
    if not 1 <= len(args) <= 3:  # arange(stop), arange(start, stop), arange(start, stop, step)
        raise ExpressionError("arange takes 1 to 3 whole numbers")
    bounds = [_constant_int(a, "arange's bounds") for a in args]
    if any(abs(b) > MAX_LITERAL for b in bounds):
        raise ExpressionError(f"arange's bounds must lie within ±{MAX_LITERAL:g}")
    start, stop, step = [0, *bounds, 1] if len(bounds) == 1 else [*bounds, 1][:3]
    if step == 0:
        raise ExpressionError("arange's step cannot be zero")
    _reserve(len(range(start, stop, step)))  # Python's range knows the length without the numbers
    result = np.arange(*bounds, dtype=np.float64)
    return _check_size(result[np.newaxis, :])


def _constant_int(value: Array, what: str) -> int:
    arr = np.asarray(value)
    if arr.size != 1 or not np.isfinite(arr).all() or float(arr.flat[0]) != int(arr.flat[0]):
        raise ExpressionError(f"{what} must be one whole number")
    return int(arr.flat[0])


def _count(x: Array) -> Array:
    _reserve(x.size)
    return np.count_nonzero(x, axis=_value_axes(x)).astype(np.float64)


_BUILTINS: dict[str, Callable[..., Array]] = {
    # reductions over a variant's whole value
    "sum": _reduction(np.sum),
    "mean": _reduction(np.mean),
    "prod": _reduction(np.prod),
    "std": _reduction(np.std),
    "var": _reduction(np.var),
    "median": _reduction(np.median, SORT_COST),
    "any": _reduction(np.any),
    "all": _reduction(np.all),
    "count": _count,
    "min": _extreme(np.minimum, np.min),
    "max": _extreme(np.maximum, np.max),
    # along the last axis
    "argmax": _last_axis(np.argmax, as_float=True),
    "argmin": _last_axis(np.argmin, as_float=True),
    "sort": _last_axis(np.sort, cost=SORT_COST),
    "argsort": _last_axis(functools.partial(np.argsort, kind="stable"), as_float=True, cost=SORT_COST),
    "cumsum": _last_axis(np.cumsum),
    "len": _len,
    # elementwise maths
    "abs": _elementwise(np.abs),
    "exp": _elementwise(np.exp),
    "log": _elementwise(np.log),
    "log2": _elementwise(np.log2),
    "log10": _elementwise(np.log10),
    "log1p": _elementwise(np.log1p),
    "expm1": _elementwise(np.expm1),
    "sqrt": _elementwise(np.sqrt),
    "sin": _elementwise(np.sin),
    "cos": _elementwise(np.cos),
    "tanh": _elementwise(np.tanh),
    "floor": _elementwise(np.floor),
    "ceil": _elementwise(np.ceil),
    "sign": _elementwise(np.sign),
    "minimum": _elementwise(np.minimum, 2),
    "maximum": _elementwise(np.maximum, 2),
    "clip": _elementwise(np.clip, 3),
    "where": _elementwise(np.where, 3),
    "isclose": _elementwise(np.isclose, 2, 4),  # a, b, rtol, atol
    "round": _round,
    "arange": _arange,
}


# Library functions that work along the last axis: which arguments carry that axis. Their other
# numeric arguments are per row (one temperature per distribution, one target per row).
_VECTOR_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "softmax": ("logits",),
    "log_softmax": ("logits",),
    "entropy": ("logits",),
    "cross_entropy": ("logits",),
    "perplexity": ("token_logps",),
    "kwise_ranking_loss": ("scores",),
    "gae": ("rewards", "values"),
    "masked_lm_loss": ("token_logps", "selected"),
    "absmax_quantise": ("x",),
    "attention_weights": ("scores",),
    "causal_attention_weights": ("scores",),
    "layer_norm": ("x",),
    # Ch.3 Prompting
    "plurality_vote_accuracy": ("probs",),
    "precision_at_k": ("relevant",),
    "recall_at_k": ("relevant",),
    "reciprocal_rank": ("relevant",),
    "ndcg_at_k": ("gains",),
}
_FORBIDDEN_KEYWORDS = frozenset({"axis"})  # axis 0 is the variant axis: never the author's


def _library_function(spec: FunctionSpec) -> Callable[..., Array]:
    name, func = spec.name, spec.func
    signature = inspect.signature(func)
    vector_args = _VECTOR_ARGUMENTS.get(name, ())

    def call(*args: Any, **kwargs: Any) -> Array:
        if _FORBIDDEN_KEYWORDS & kwargs.keys():
            raise ExpressionError(f"{name}() works along the last axis; 'axis' cannot be given")
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ExpressionError(f"{name}(): {exc}") from exc
        numeric = {
            k: v for k, v in bound.arguments.items() if isinstance(v, np.ndarray)
        }
        if vector_args:
            vectors = [k for k in vector_args if k in numeric]
            aligned = dict(zip(vectors, align(*(numeric[k] for k in vectors)), strict=True))
            ndim = max(a.ndim for a in aligned.values())
            if ndim < 2:
                raise ExpressionError(f"{name}() needs a vector for {vectors[0]!r}")
            for k, v in numeric.items():
                if k in aligned:
                    continue
                aligned[k] = align(v, np.empty((1,) * (ndim - 1)))[0]
            _reserve_library_call(spec, [aligned[k] for k in vectors],
                                  [v for k, v in aligned.items() if k not in vectors])
        else:
            keys = list(numeric)
            aligned = dict(zip(keys, align(*numeric.values()), strict=True)) if keys else {}
            size = math.prod(_broadcast(*aligned.values())) if aligned else 1
            _reserve(size, cost=LIBRARY_NUMBER_COST, base=LIBRARY_CALL_COST)
        bound.arguments.update(aligned)
        try:
            result = func(*bound.args, **bound.kwargs)
        except (ValueError, TypeError) as exc:
            raise ExpressionError(f"{name}(): {exc}") from exc
        return _check_size(np.asarray(result, dtype=np.float64))

    call.__name__ = name
    return call


def _reserve_library_call(spec: FunctionSpec, vectors: list[Array], per_row: list[Array]) -> None:
    """Refuse or charge a call along the last axis before it runs, as the function will shape it:
    its vectors broadcast together, and each row of them meets its per-row parameters (a
    temperature of shape (B, N) against logits (B, K) makes B×N rows of K, not B rows)."""
    series = _broadcast(*vectors)
    length = series[-1]
    if spec.max_length is not None and length > spec.max_length:
        raise ExpressionError(f"{spec.name}() takes vectors of at most {spec.max_length} numbers, not {length}")
    try:
        rows = math.prod(np.broadcast_shapes(series[:-1], *(p.shape for p in per_row)))
    except ValueError:
        raise ExpressionError(f"{spec.name}(): its parameters do not match the rows of its vectors") from None
    per_row_numbers = length * (length - 1) // 2 if spec.pairwise else length
    steps = length if spec.loops_over_last_axis else 0
    _reserve(rows * per_row_numbers, cost=LIBRARY_NUMBER_COST, base=LIBRARY_CALL_COST + steps * STEP_COST)


@functools.cache
def _functions() -> Mapping[str, Callable[..., Array]]:
    table = dict(_BUILTINS)
    for spec in REGISTRY.values():
        table[spec.name] = _library_function(spec)
    return table


def known_functions() -> frozenset[str]:
    """Every function name an expression may call."""
    return frozenset(_functions())


_CONSTANTS: dict[str, Array] = {
    "pi": np.array([math.pi]),
    "e": np.array([math.e]),
    # YAML spells booleans in lower case; so may expressions
    "true": np.array([True]),
    "false": np.array([False]),
}


# --------------------------------------------------------------------------------------------
# The static check: which syntax is allowed at all

_ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Name,
    ast.Constant,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Load,
    ast.And,
    ast.Or,
    *_OPERATORS.keys(),
)

_REFUSALS: dict[type, str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.NamedExpr: "assignment is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "star arguments are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed",
    ast.BitAnd: "bitwise operators are not allowed (use 'and')",
    ast.BitOr: "bitwise operators are not allowed (use 'or')",
    ast.BitXor: "bitwise operators are not allowed",
    ast.Invert: "bitwise operators are not allowed (use 'not')",
    ast.LShift: "bitwise operators are not allowed",
    ast.RShift: "bitwise operators are not allowed",
    ast.MatMult: "matrix multiplication is not allowed",
    ast.In: "'in' is not allowed",
    ast.NotIn: "'not in' is not allowed",
    ast.Is: "'is' is not allowed (use ==)",
    ast.IsNot: "'is not' is not allowed (use !=)",
}


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked expression, ready to evaluate many times.

    ``names`` are the variables it reads and ``functions`` the functions it calls, so that a
    content checker can verify them before any variant exists.
    """

    source: str
    tree: ast.expr
    names: frozenset[str]
    functions: frozenset[str]
    run: Evaluator = field(compare=False, repr=False)
    """The tree compiled to closures (:func:`_compile`): names in, the value out."""

    def __call__(self, names: Mapping[str, Any]) -> Array:
        return evaluate(self, names)


def _check_node(node: ast.AST, source: str, parents: list[ast.AST]) -> None:
    column = getattr(node, "col_offset", None)
    refusal = _REFUSALS.get(type(node))
    if refusal is not None:
        raise ExpressionError(refusal, source, column)
    if not isinstance(node, _ALLOWED_NODES):
        raise ExpressionError(f"{type(node).__name__} is not allowed", source, column)
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionError(f"names starting with '_' are not allowed ({node.id})", source, column)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            raise ExpressionError("attribute access is not allowed", source, node.func.col_offset)
        if not isinstance(node.func, ast.Name):
            raise ExpressionError("only named functions can be called", source, column)
        if any(k.arg is None for k in node.keywords):
            raise ExpressionError("** arguments are not allowed", source, column)
    if isinstance(node, ast.Constant):
        _check_constant(node, source, parents)


def _check_constant(node: ast.Constant, source: str, parents: list[ast.AST]) -> None:
    value = node.value
    column = node.col_offset
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if not math.isfinite(float(value)) or abs(value) > MAX_LITERAL:
            raise ExpressionError(f"number literal too large (at most {MAX_LITERAL:g})", source, column)
        return
    if isinstance(value, str):
        parent = parents[-1] if parents else None
        if not isinstance(parent, ast.keyword | ast.Call):
            raise ExpressionError("strings are only allowed as function arguments", source, column)
        if len(value) > MAX_STRING:
            raise ExpressionError(f"string literal too long (at most {MAX_STRING})", source, column)
        return
    raise ExpressionError(f"{type(value).__name__} literals are not allowed", source, column)


def _walk(node: ast.AST, source: str, parents: list[ast.AST], counter: list[int]) -> None:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ExpressionError(f"expression too complex (more than {MAX_NODES} parts)", source)
    _check_node(node, source, parents)
    parents.append(node)
    for child in ast.iter_child_nodes(node):
        _walk(child, source, parents, counter)
    parents.pop()


def _parse(text: str) -> ast.Expression:
    """Python's parser, then the allow-list walk; any refusal is an :class:`ExpressionError`."""
    try:
        module = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        column = (exc.offset - 1) if exc.offset else None
        raise ExpressionError(f"not a valid expression: {exc.msg}", text, column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nested too deeply", text) from None
    try:
        _walk(module, text, [], [0])
    except RecursionError:
        raise ExpressionError("expression nested too deeply", text) from None
    return module


@functools.lru_cache(maxsize=8192)
def compile_expression(source: str) -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` if anything is not allowed.

    Nothing is evaluated here. The result is cached: items share their compiled expressions.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, not {type(source).__name__}")
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long ({len(text)} characters, at most {MAX_LENGTH})")
    module = _parse(text)
    names = set()
    functions = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            functions.add(node.func.id)
        elif isinstance(node, ast.Name):
            names.add(node.id)
    names -= functions
    unknown = functions - known_functions()
    if unknown:
        raise ExpressionError(f"unknown function {min(unknown)!r}", text)
    return Expression(text, module.body, frozenset(names - _CONSTANTS.keys()), frozenset(functions),
                      _compile(module.body, text))


# --------------------------------------------------------------------------------------------
# Evaluation


def _compile(node: ast.AST, source: str) -> Evaluator:
    """A closure per checked node, so that evaluating walks no tree and dispatches on nothing.

    Each closure calls the same helpers and numpy functions in the same order as an interpreter
    of the tree would (operands left to right, a call's keyword arguments before its positional
    ones, as ``f(*args, **kwargs)`` evaluates), so values and errors are those of a tree walk.
    """
    compiler = _COMPILERS.get(type(node))
    if compiler is None:
        message = f"Sorry, {type(node).__name__} is not available in this evaluator"

        def unavailable(_names: Mapping[str, Any]) -> Any:
            raise ExpressionError(message, source)

        return unavailable
    return compiler(node, source)


def _compile_constant(node: ast.Constant, _source: str) -> Evaluator:
    value = node.value
    if isinstance(value, str):
        return lambda _names: value
    dtype = bool if isinstance(value, bool) else np.float64
    return lambda _names: np.array([value], dtype=dtype)  # a new array each time: callers own it


def _compile_name(node: ast.Name, source: str) -> Evaluator:
    name = node.id
    # Names first, then the constants (pi, e, true, false), then a function by its name.
    fallback: Any = _CONSTANTS.get(name, _functions().get(name))
    if fallback is None:
        message = f"'{name}' is not defined for expression '{source}'"

        def undefined(names: Mapping[str, Any]) -> Any:
            if name in names:
                return names[name]
            raise ExpressionError(message, source)

        return undefined

    def lookup(names: Mapping[str, Any]) -> Any:
        return names.get(name, fallback)

    return lookup


def _compile_binop(node: ast.BinOp, source: str) -> Evaluator:
    operator = _OPERATORS[type(node.op)]
    left, right = _compile(node.left, source), _compile(node.right, source)
    return lambda names: operator(left(names), right(names))


def _compile_unaryop(node: ast.UnaryOp, source: str) -> Evaluator:
    operator = _OPERATORS[type(node.op)]
    operand = _compile(node.operand, source)
    return lambda names: operator(operand(names))


def _compile_boolop(node: ast.BoolOp, source: str) -> Evaluator:
    op = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
    operands = [_compile(v, source) for v in node.values]

    def combine(names: Mapping[str, Any]) -> Array:
        arrays = align(*[operand(names) for operand in operands])
        _reserve(math.prod(_broadcast(*arrays)), cost=NUMBER_COST * (len(arrays) - 1))
        return functools.reduce(op, arrays)

    return combine


_AND = _binary(np.logical_and)


def _compile_compare(node: ast.Compare, source: str) -> Evaluator:
    first = _compile(node.left, source)
    steps = [(_OPERATORS[type(op)], _compile(comparator, source))
             for op, comparator in zip(node.ops, node.comparators, strict=True)]

    def compare(names: Mapping[str, Any]) -> Array:
        left = first(names)
        result: Array | None = None
        for operator, comparator in steps:
            right = comparator(names)
            step = operator(left, right)
            result = step if result is None else _AND(result, step)
            left = right
        assert result is not None
        return result

    return compare


def _compile_ifexp(node: ast.IfExp, source: str) -> Evaluator:
    test, body, orelse = (_compile(n, source) for n in (node.test, node.body, node.orelse))

    def choose(names: Mapping[str, Any]) -> Array:
        arrays = align(test(names), body(names), orelse(names))
        _reserve(math.prod(_broadcast(*arrays)))
        return np.where(*arrays)

    return choose


def _compile_call(node: ast.Call, source: str) -> Evaluator:
    assert isinstance(node.func, ast.Name)  # the static check allows only named functions
    name = node.func.id
    func = _functions().get(name)
    args = [_compile(a, source) for a in node.args]
    keywords: list[tuple[str, Evaluator]] = []
    for keyword in node.keywords:
        assert keyword.arg is not None  # the static check refuses ** arguments
        keywords.append((keyword.arg, _compile(keyword.value, source)))
    if func is None:
        message = f"Function '{name}' not defined, for expression '{source}'."

        def undefined(_names: Mapping[str, Any]) -> Any:
            raise ExpressionError(message, source)

        return undefined

    numbers_only = name in _BUILTINS  # text names an option of a library function, nothing else

    def call(names: Mapping[str, Any]) -> Array:
        given = {key: value(names) for key, value in keywords}
        values = [arg(names) for arg in args]
        if numbers_only and any(isinstance(v, str) for v in [*values, *given.values()]):
            raise ExpressionError(f"{name}() takes numbers, not text", source)
        return func(*values, **given)

    return call


def _compile_sequence(node: ast.List | ast.Tuple, source: str) -> Evaluator:
    elements = [_compile(e, source) for e in node.elts]

    def sequence(names: Mapping[str, Any]) -> Array:
        if not elements:
            raise ExpressionError("empty lists are not allowed", source)
        values = [element(names) for element in elements]
        if any(not isinstance(v, np.ndarray) for v in values):
            raise ExpressionError("lists hold numbers only", source)
        aligned = align(*values)
        batch = max(v.shape[0] for v in aligned)
        try:
            shape = np.broadcast_shapes(*(v.shape[1:] for v in aligned))
        except ValueError:
            raise ExpressionError("the elements of a list have shapes that do not match", source) from None
        full = (batch, *shape)
        _reserve(batch * len(aligned) * math.prod(shape))
        return _check_size(np.stack([v if v.shape == full else np.broadcast_to(v, full) for v in aligned], axis=1))

    return sequence


def _compile_slice(node: ast.Slice, source: str) -> Evaluator:
    """A slice that is not a subscript's whole index (``x[1:2, 0]``): a plain slice object."""
    parts = [None if part is None else _compile(part, source) for part in (node.lower, node.upper, node.step)]
    return lambda names: slice(*(None if part is None else part(names) for part in parts))


def _compile_subscript(node: ast.Subscript, source: str) -> Evaluator:
    container_of = _compile(node.value, source)
    column = node.col_offset

    def vector(names: Mapping[str, Any]) -> Array:
        container = container_of(names)
        if not isinstance(container, np.ndarray) or container.ndim < 2:
            raise ExpressionError("only vectors can be indexed", source, column)
        return container

    if isinstance(node.slice, ast.Slice):
        bounds = [None if part is None else _compile(part, source)
                  for part in (node.slice.lower, node.slice.upper, node.slice.step)]

        def sliced(names: Mapping[str, Any]) -> Array:
            container = vector(names)
            parts = [None if bound is None else _constant_int(bound(names), "a slice bound") for bound in bounds]
            if parts[2] == 0:
                raise ExpressionError("slice step cannot be zero", source, column)
            result = container[:, slice(*parts)]  # a view: nothing is copied
            _reserve(0)
            return result

        return sliced

    index_of = _compile(node.slice, source)

    def indexed(names: Mapping[str, Any]) -> Array:
        container = vector(names)
        index = index_of(names)
        if not isinstance(index, np.ndarray):
            raise ExpressionError("an index must be a number", source, column)
        return _take(container, index, source, column)

    return indexed


_COMPILERS: dict[type, Callable[[Any, str], Evaluator]] = {
    ast.Constant: _compile_constant,
    ast.Name: _compile_name,
    ast.BinOp: _compile_binop,
    ast.UnaryOp: _compile_unaryop,
    ast.BoolOp: _compile_boolop,
    ast.Compare: _compile_compare,
    ast.IfExp: _compile_ifexp,
    ast.Call: _compile_call,
    ast.List: _compile_sequence,
    ast.Tuple: _compile_sequence,
    ast.Slice: _compile_slice,
    ast.Subscript: _compile_subscript,
}


def _take(container: Array, index: Array, source: str, column: int) -> Array:
    """``container[index]`` per variant, along the first per-variant axis."""
    length = container.shape[1]
    if index.shape == (1,) and index.dtype == np.float64:
        # One index for every variant (a literal, a loop variable): plain Python, same checks.
        value = float(index[0])
        if not (math.isfinite(value) and value.is_integer()):
            raise ExpressionError("an index must be a whole number", source, column)
        position = int(value)
        if not -length <= position < length:
            raise ExpressionError(f"index out of range for a vector of {length}", source, column)
        _reserve(0)  # a view: nothing is copied
        return container[:, position + length if position < 0 else position]
    if not np.isfinite(index).all() or not (index == np.round(index)).all():
        raise ExpressionError("an index must be a whole number", source, column)
    positions = index.astype(np.int64)
    if (positions >= length).any() or (positions < -length).any():
        raise ExpressionError(f"index out of range for a vector of {length}", source, column)
    positions = np.where(positions < 0, positions + length, positions)
    if positions.ndim == 1 and positions.shape[0] == 1:
        _reserve(0)
        return container[:, int(positions[0])]
    # per-variant indices: gather row by row (broadcasting only what is not yet the batch's size)
    batch = max(container.shape[0], positions.shape[0])
    _reserve(batch * math.prod(positions.shape[1:]) * math.prod(container.shape[2:]))
    rows = np.arange(batch).reshape((batch,) + (1,) * (positions.ndim - 1))
    if positions.shape[0] != batch:
        positions = np.broadcast_to(positions, (batch, *positions.shape[1:]))
    if container.shape[0] != batch:
        container = np.broadcast_to(container, (batch, *container.shape[1:]))
    return container[rows, positions]


def evaluate(expression: Expression | str, names: Mapping[str, Any]) -> Array:
    """Evaluate over batched ``names``; return a batched array (axis 0 of length 1 or B).

    ``names`` maps each variable to an array whose axis 0 is the variant axis.
    """
    expr = compile_expression(expression) if isinstance(expression, str) else expression
    missing = expr.names - names.keys()
    if missing:
        raise ExpressionError(f"unknown name {min(missing)!r}", expr.source)
    own = _BUDGET.set(WorkBudget()) if _BUDGET.get() is None else None
    try:
        with np.errstate(all="ignore"):
            result = expr.run(names)
    except ExpressionError as exc:
        if not exc.source:
            raise ExpressionError(exc.message, expr.source, exc.column) from None
        raise
    except (IndexError, ValueError, TypeError, ArithmeticError, MemoryError) as exc:
        # ArithmeticError: numpy's OverflowError for a number too large for an integer argument
        raise ExpressionError(f"cannot evaluate: {exc}", expr.source) from None
    finally:
        if own is not None:
            _BUDGET.reset(own)
    if not isinstance(result, np.ndarray):
        raise ExpressionError("an expression must give numbers, not text", expr.source)
    return result

