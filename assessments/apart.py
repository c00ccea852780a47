"""Work done away from the process that serves students: a pool of processes of its own.

``assay serve`` answers every request of a worker process in threads that share one interpreter
lock. Seconds of Python in one of them (checking an import's items, reading its YAML, rendering
a large export) hold that lock most of the time, and every student's save in the same process
waits its turns at it, each turn up to the interpreter's switch interval (``bench/contention.py``:
saves of 400-800 ms). Such work runs here instead: in a pool of processes started from a fresh
interpreter (never forked from the threaded server), at the first piece of work and kept for the
next, one fewer than the cores so that one is left to serving where there is more than one. A
piece of work is a function of a module with picklable arguments and outcome; the pool's
processes import its module afresh. If the pool cannot be used (a process was killed, or the
platform cannot start processes), callers do the work in the process, as before. The processes
run at a lower priority (:data:`NICENESS`): on a machine whose cores are all busy they take what
serving leaves.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from engine.content.checker import available_cores

log = logging.getLogger("assay")

T = TypeVar("T")
A = TypeVar("A")

FAILED = (BrokenProcessPool, OSError)
"""What the pool raises when it cannot do the work (an OOM-killed process, no processes allowed)."""

in_pool = False
"""True in the pool's own processes, which do their work themselves (a pool never starts another)."""


NICENESS = 10
"""How much less the pool's processes ask of the CPU than the serving process (``os.nice``): where
the cores are all busy, students' requests (and the database server on the same machine) come
first, and the pool has what they leave."""


def _in_the_pool() -> None:
    global in_pool  # noqa: PLW0603 - the process's one flag, set once at its start
    in_pool = True
    if hasattr(os, "nice"):
        try:
            os.nice(NICENESS)
        except OSError:  # not allowed here: the same work at the same priority
            log.info("the pool's processes run at the serving process's priority")


class _Pool:
    """The processes, started at the first piece of work and kept."""

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
        """Stop the processes (``broken``'s only if they are still the pool's); the next piece of
        work starts new ones."""
        with self.lock:
            executor = self.executor
            if broken is not None and executor is not broken:
                return
            self.executor = None
        if executor is not None:
            executor.shutdown(wait=broken is None, cancel_futures=True)


POOL = _Pool()


def submit(work: Callable[..., T], *args: Any) -> tuple[Future[T], ProcessPoolExecutor]:
    """``work(*args)`` sent to the pool: its future, and the pool's executor (to :meth:`forget
    <_Pool.forget>` if the future fails with one of :data:`FAILED`). Raises one of :data:`FAILED`
    if the pool cannot take it."""
    executor = POOL.get()
    try:
        return executor.submit(work, *args), executor
    except FAILED:
        POOL.forget(executor)
        raise


def run(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in one of the pool's processes (an exception it raises is raised here), or
    in this process if the pool cannot be used or this is one of its processes."""
    return _there_or_here(lambda executor: executor.submit(work, *args).result(), lambda: work(*args),
                          work.__name__)


def map_(work: Callable[[A], T], items: Sequence[A], *, chunksize: int = 1) -> list[T]:
    """``work`` of each item, in the items' order, spread over the pool's processes (``chunksize``
    items a trip), or in this process as :func:`run` says."""
    return _there_or_here(lambda executor: list(executor.map(work, items, chunksize=chunksize)),
                          lambda: [work(item) for item in items], work.__name__)


def _there_or_here(there: Callable[[ProcessPoolExecutor], T], here: Callable[[], T], what: str) -> T:
    if in_pool:
        return here()
    executor = POOL.get()
    try:
        return there(executor)
    except (*FAILED, RuntimeError, CancelledError) as exc:  # also: shut down meanwhile (at the app's end)
        log.warning("%s in the serving process: the pool's processes failed (%s)", what, exc)
        POOL.forget(executor)
        return here()


def shut_down() -> None:
    """Stop the pool's processes (at the app's shutdown; later work starts them again)."""
    POOL.forget()
