"""Checking an import's items away from the process that serves students.

Checking an item draws and checks thousands of its variants: seconds of numpy and Python for a
bank of a few hundred items. Done in a thread of ``assay serve``, that work holds the interpreter
lock for most of those seconds, and every student's save in the same process waits its turns at
it (saves of 400-500 ms while a 263-item bank was imported; `bench/contention.py`). An import of
:data:`SPREAD_AT` items or more is checked in a pool of processes of its own (started from a fresh
interpreter, never forked from the threaded server; kept for the next import), leaving one core to
the serving process where there is more than one. Fewer items are checked in the process: a
process's start costs more than checking them. The problems are the same either way (each item is
checked apart from the others); if the pool cannot be used (it broke, or the platform cannot start
processes), the items are checked in the process.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from engine.content.checker import available_cores, variant_problems
from engine.items import ItemBase

T = TypeVar("T")

log = logging.getLogger("assay")

SPREAD_AT = 8
"""Items from which an import is checked in the pool."""

Found = list[tuple[tuple[str | int, ...], str]]
"""One item's errors as (path in the definition, message)."""

_in_pool = False
"""True in the pool's own processes, which check in themselves (a pool never starts another)."""


def _in_the_pool() -> None:
    global _in_pool  # noqa: PLW0603 - the process's one flag, set once at its start
    _in_pool = True


def _problems(item: ItemBase) -> Found:
    found, _ = variant_problems(item)
    return [(tuple(path), message) for path, message in found]


class _Pool:
    """The checking processes, started at the first large import and kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        with self.lock:
            if self.executor is None:
                self.executor = ProcessPoolExecutor(max(1, available_cores() - 1), initializer=_in_the_pool,
                                                    mp_context=multiprocessing.get_context("spawn"))
            return self.executor

    def forget(self, broken: ProcessPoolExecutor | None = None) -> None:
        """Stop the processes (``broken``'s only if they are still the pool's); the next large
        import starts new ones."""
        with self.lock:
            executor = self.executor
            if broken is not None and executor is not broken:
                return
            self.executor = None
        if executor is not None:
            executor.shutdown(wait=broken is None, cancel_futures=True)


_POOL = _Pool()


def problems_of(items: Sequence[ItemBase]) -> list[Found]:
    """Each item's errors (the variant checks of :func:`engine.content.checker.variant_problems`),
    in the items' order."""
    if len(items) < SPREAD_AT or _in_pool:
        return [_problems(item) for item in items]
    executor = _POOL.get()
    try:
        return list(executor.map(_problems, items, chunksize=max(1, len(items) // 32)))
    except (BrokenProcessPool, OSError) as exc:  # an OOM-killed worker, no processes allowed, ...
        log.warning("checking %d items in the serving process: the checking processes failed (%s)", len(items), exc)
        _POOL.forget(executor)
        return [_problems(item) for item in items]


def apart(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in one of the pool's processes (a function of a module, its arguments and
    its outcome picklable; an exception it raises is raised here), or in this process if the
    pool cannot be used."""
    if _in_pool:
        return work(*args)
    executor = _POOL.get()
    try:
        return executor.submit(work, *args).result()
    except (BrokenProcessPool, OSError) as exc:
        log.warning("%s in the serving process: the checking processes failed (%s)", work.__name__, exc)
        _POOL.forget(executor)
        return work(*args)


def shut_down() -> None:
    """Stop the checking processes (at the app's shutdown; a later import starts them again)."""
    _POOL.forget()
