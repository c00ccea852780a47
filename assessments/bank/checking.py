"""Checking an import's items away from the process that serves students.

Checking an item draws and checks thousands of its variants: seconds of numpy and Python for a
bank of a few hundred items. Done in a thread of ``assay serve``, that work holds the interpreter
lock for most of those seconds, and every student's save in the same process waits its turns at
it (saves of 400-500 ms while a 263-item bank was imported; `bench/contention.py`). An import of
:data:`SPREAD_AT` items or more is checked in the pool of :mod:`assessments.apart` (processes
started from a fresh interpreter, kept for the next import), leaving one core to the serving
process where there is more than one. Fewer items are checked in the process: a
process's start costs more than checking them. The problems are the same either way (each item is
checked apart from the others); if the pool cannot be used (it broke, or the platform cannot start
processes), the items are checked in the process.
"""

from __future__ import annotations

from collections.abc import Sequence

from assessments import apart
from engine.content.checker import variant_problems
from engine.items import ItemBase

SPREAD_AT = 8
"""Items from which an import is checked in the pool."""

Found = list[tuple[tuple[str | int, ...], str]]
"""One item's errors as (path in the definition, message)."""


def _problems(item: ItemBase) -> Found:
    found, _ = variant_problems(item)
    return [(tuple(path), message) for path, message in found]


def problems_of(items: Sequence[ItemBase]) -> list[Found]:
    """Each item's errors (the variant checks of :func:`engine.content.checker.variant_problems`),
    in the items' order."""
    if len(items) < SPREAD_AT:
        return [_problems(item) for item in items]
    return apart.map_(_problems, items, chunksize=max(1, len(items) // 32))
