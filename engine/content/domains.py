"""Arguments fed to the function library outside what they mean, and units that disagree.

Every call an item makes to a library function (in a computed value, a condition, a rank, a
text's field) has its arguments evaluated over the variants checked and held to the domains
the registry declares (:data:`engine.functions.registry.DOMAINS`): a log-probability above 0,
a temperature or a ratio that is not positive. The functions compute a number for any input, so
nothing else would notice that the item asks a question about an impossible model.

A numeric item's declared ``unit`` is held to the unit of its key where the key is plainly one
function's result (``ranking_loss(...)``, its mean, a computed value that is one): a loss in
nats declared as bits is an error.
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.content.findings import Findings, Path_
from engine.expressions import Expression, ExpressionError, compile_expression, evaluate
from engine.functions.registry import DOMAINS, REGISTRY, UNITS, Domain
from engine.items import ItemBase, NumericItem
from engine.items.types import ChoiceOptions
from engine.qtypes.common import option_scope
from engine.variants import VariantBatch

__all__ = ["DomainSite", "check_domains", "domain_sites", "key_unit", "unit_problem"]


@dataclass(frozen=True)
class DomainSite:
    """One argument of one call, with the domain it must lie in."""

    path: Path_
    function: str
    parameter: str
    domain: Domain
    argument: Expression
    looped: bool


@functools.cache
def _parameters(function: str) -> tuple[str, ...]:
    return tuple(inspect.signature(REGISTRY[function].func).parameters)


def _calls(expression: Expression) -> list[tuple[str, str, ast.expr]]:
    found: list[tuple[str, str, ast.expr]] = []
    for node in ast.walk(expression.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        if name not in DOMAINS:
            continue
        parameters = _parameters(name)
        bound = list(zip(parameters, node.args, strict=False))
        bound += [(k.arg, k.value) for k in node.keywords if k.arg is not None]
        found.extend((name, parameter, argument) for parameter, argument in bound)
    return found


def domain_sites(item: ItemBase) -> list[DomainSite]:
    """Every argument of a library call in ``item`` whose domain is bounded."""
    sites = []
    for path, expression, loop in item.expressions():
        for function, parameter, argument in _calls(expression):
            domain = DOMAINS[function].get(parameter)
            if domain is None or domain.unbounded or (
                    isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                continue
            try:
                compiled = compile_expression(ast.unparse(argument))
            except ExpressionError:
                continue
            sites.append(DomainSite(path, function, parameter, domain, compiled, bool(loop)))
    return sites


def _scopes(item: ItemBase, batch: VariantBatch, looped: bool) -> list[Mapping[str, np.ndarray]]:
    options: ChoiceOptions | None = getattr(item, "options", None)
    if not looped or options is None:
        return [batch.values]
    return [option_scope(batch.values, binding, k) for k, (_, binding, _) in enumerate(options.expand())]


def check_domains(item: ItemBase, batch: VariantBatch, sites: list[DomainSite], found: Findings) -> None:
    """Report every site whose argument leaves its domain in some variant of ``batch``."""
    rows = len(batch)
    for site in sites:
        bad = np.zeros(rows, dtype=bool)
        first: np.ndarray | None = None
        for scope in _scopes(item, batch, site.looped):
            try:
                values = evaluate(site.argument, scope)
            except ExpressionError:
                continue  # the expression's own evaluation reports it
            if values.dtype.kind not in "fb":
                continue
            values = np.broadcast_to(values, (rows, *values.shape[1:])).reshape(rows, -1)
            outside = ~site.domain.holds(values)
            here = outside.any(axis=1)
            if here.any() and first is None:
                row = int(np.flatnonzero(here)[0])
                first = values[row][outside[row]]
            bad |= here
        if bad.any():
            message = (f"{site.function}() takes {site.parameter} as {site.domain}, but "
                       f"{site.argument.source!r} is outside it")
            example = f"{site.parameter} = {_numbers(first)}"
            found.in_variants(site.path, message, bad, batch.seeds, _constant(example))


def _constant(text: str) -> Callable[[int], str]:
    def describe(_row: int) -> str:
        return text

    return describe


def _numbers(values: np.ndarray | None) -> str:
    if values is None:
        return "?"
    return ", ".join(f"{float(v):.6g}" for v in values[:4])


# --------------------------------------------------------------------------------------------
# Units

_SAME_UNIT = frozenset({"mean", "sum", "min", "max", "median", "abs"})
_SYNONYMS = {
    "nat": "nats", "nats": "nats", "nats per token": "nats", "nats/token": "nats",
    "bit": "bits", "bits": "bits", "bits per token": "bits",
    "probability": "probability", "prob": "probability",
    "": "dimensionless", "none": "dimensionless", "dimensionless": "dimensionless",
}


def key_unit(item: NumericItem) -> tuple[str, str] | None:
    """The unit of the key, and the function it comes from, when the key is plainly one
    function's result; None when it is anything else (an arithmetic of several, say)."""
    return _unit(compile_expression(item.answer).tree, item, depth=0)


def _unit(node: ast.expr, item: NumericItem, depth: int) -> tuple[str, str] | None:
    """Follow the key through what keeps a unit (a sign, an index, a mean, a computed name) to
    the one library call it is."""
    inner: ast.expr | None = None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = node.operand
    elif isinstance(node, ast.Subscript):
        inner = node.value
    elif isinstance(node, ast.Name) and node.id in item.compute:
        inner = compile_expression(item.compute[node.id]).tree
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in UNITS:
            return UNITS[name], name
        if name in _SAME_UNIT and len(node.args) == 1 and not node.keywords:
            inner = node.args[0]
    return None if inner is None or depth > 8 else _unit(inner, item, depth + 1)


def unit_problem(item: NumericItem) -> str | None:
    """What is wrong with the declared unit, if the key's unit is known and it disagrees."""
    if item.unit is None:
        return None
    found = key_unit(item)
    if found is None:
        return None
    unit, function = found
    declared = _SYNONYMS.get(item.unit.strip().lower(), item.unit.strip().lower())
    if declared == unit:
        return None
    return (f"the unit is {item.unit!r}, but the key is {function}()'s result, in {unit}"
            f"{' (a number of choices, with no unit)' if unit == 'dimensionless' else ''}")
