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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.functions.registry import REGISTRY

__all__ = [
    "MAX_ARRAY_SIZE",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "Expression",
    "ExpressionError",
    "align",
    "as_batch",
    "compile_expression",
    "evaluate",
    "known_functions",
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
            return _check_size(op(a, b))
        except ExpressionError:
            raise
        except ValueError as exc:
            raise ExpressionError(
                f"shapes {left.shape[1:]} and {right.shape[1:]} do not match"
            ) from exc

    return apply


def _power(base: Array, exponent: Array) -> Array:
    if exponent.size and float(np.max(np.abs(exponent))) > MAX_EXPONENT:
        raise ExpressionError(f"exponent too large (at most {MAX_EXPONENT:g} in absolute value)")
    return np.power(base, exponent)


def _unary(op: Callable[[Array], Array]) -> Callable[[Array], Array]:
    def apply(operand: Array) -> Array:
        if not isinstance(operand, np.ndarray):
            raise ExpressionError("operators apply to numbers, not to strings")
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


def _reduction(op: Callable[..., Array]) -> Callable[[Array], Array]:
    """A reduction over the whole per-variant value (``sum(x)`` sums a variant's vector)."""

    def reduce(x: Array) -> Array:
        return op(x, axis=_value_axes(x))

    return reduce


def _last_axis(op: Callable[..., Array], *, as_float: bool = False) -> Callable[[Array], Array]:
    """A function along the last per-variant axis (``argmax``, ``sort``, ``cumsum``)."""

    def apply(x: Array) -> Array:
        if x.ndim < 2:
            raise ExpressionError(f"{getattr(op, '__name__', 'this function')} needs a vector")
        result = op(x, axis=-1)
        return result.astype(np.float64) if as_float else result

    return apply

    return apply


def _extreme(elementwise: Callable[..., Array], whole: Callable[..., Array]) -> Callable[..., Array]:
    """``min(x)`` reduces a vector; ``min(a, b, ...)`` is elementwise, like Python's builtin."""

    def apply(*args: Array) -> Array:
        if len(args) == 1:
            return whole(args[0], axis=_value_axes(args[0]))
        arrays = align(*args)
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
        return _check_size(op(*align(*args)))

    return apply


def _len(x: Array) -> Array:
    if x.ndim < 2:
        raise ExpressionError("len() needs a vector")
    return np.full((1,), float(x.shape[-1]))


def _round(x: Array, ndigits: Array | None = None) -> Array:
    digits = 0 if ndigits is None else _constant_int(ndigits, "round's ndigits")
    return np.round(x, digits)


def _arange(*args: Array) -> Array:
    bounds = [_constant_int(a, "arange's bounds") for a in args]
    if not 1 <= len(bounds) <= 3:
        raise ExpressionError("arange takes 1 to 3 whole numbers")
    result = np.arange(*bounds, dtype=np.float64)
    return _check_size(result[np.newaxis, :])


def _constant_int(value: Array, what: str) -> int:
    arr = np.asarray(value)
    if arr.size != 1 or not np.isfinite(arr).all() or float(arr.flat[0]) != int(arr.flat[0]):
        raise ExpressionError(f"{what} must be one whole number")
    return int(arr.flat[0])


def _count(x: Array) -> Array:
    return np.count_nonzero(x, axis=_value_axes(x)).astype(np.float64)


_BUILTINS: dict[str, Callable[..., Array]] = {
    # reductions over a variant's whole value
    "sum": _reduction(np.sum),
    "mean": _reduction(np.mean),
    "prod": _reduction(np.prod),
    "std": _reduction(np.std),
    "var": _reduction(np.var),
    "median": _reduction(np.median),
    "any": _reduction(np.any),
    "all": _reduction(np.all),
    "count": _count,
    "min": _extreme(np.minimum, np.min),
    "max": _extreme(np.maximum, np.max),
    # along the last axis
    "argmax": _last_axis(np.argmax, as_float=True),
    "argmin": _last_axis(np.argmin, as_float=True),
    "sort": _last_axis(np.sort),
    "argsort": _last_axis(functools.partial(np.argsort, kind="stable"), as_float=True),
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
}
_FORBIDDEN_KEYWORDS = frozenset({"axis"})  # axis 0 is the variant axis: never the author's


def _library_function(name: str, func: Callable[..., Any]) -> Callable[..., Array]:
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
        else:
            keys = list(numeric)
            aligned = dict(zip(keys, align(*numeric.values()), strict=True)) if keys else {}
        bound.arguments.update(aligned)
        try:
            result = func(*bound.args, **bound.kwargs)
        except (ValueError, TypeError) as exc:
            raise ExpressionError(f"{name}(): {exc}") from exc
        return _check_size(np.asarray(result, dtype=np.float64))

    call.__name__ = name
    return call


@functools.cache
def _functions() -> Mapping[str, Callable[..., Array]]:
    table = dict(_BUILTINS)
    for spec in REGISTRY.values():
        table[spec.name] = _library_function(spec.name, spec.func)
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
    return lambda names: functools.reduce(op, align(*[operand(names) for operand in operands]))


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
    return lambda names: np.where(*align(test(names), body(names), orelse(names)))


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

    def call(names: Mapping[str, Any]) -> Array:
        given = {key: value(names) for key, value in keywords}
        return func(*[arg(names) for arg in args], **given)

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
        shape = np.broadcast_shapes(*(v.shape[1:] for v in aligned))
        full = (batch, *shape)
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
            return container[:, slice(*parts)]

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
        return container[:, position + length if position < 0 else position]
    if not np.isfinite(index).all() or not (index == np.round(index)).all():
        raise ExpressionError("an index must be a whole number", source, column)
    positions = index.astype(np.int64)
    if (positions >= length).any() or (positions < -length).any():
        raise ExpressionError(f"index out of range for a vector of {length}", source, column)
    positions = np.where(positions < 0, positions + length, positions)
    if positions.ndim == 1 and positions.shape[0] == 1:
        return container[:, int(positions[0])]
    # per-variant indices: gather row by row (broadcasting only what is not yet the batch's size)
    batch = max(container.shape[0], positions.shape[0])
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
    try:
        with np.errstate(all="ignore"):
            result = expr.run(names)
    except ExpressionError as exc:
        if not exc.source:
            raise ExpressionError(exc.message, expr.source, exc.column) from None
        raise
    except (IndexError, ValueError, TypeError) as exc:
        raise ExpressionError(f"cannot evaluate: {exc}", expr.source) from None
    if not isinstance(result, np.ndarray):
        raise ExpressionError("an expression must give numbers, not text", expr.source)
    return result

