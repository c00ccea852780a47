"""A large quiz's CSV export rendered in the pool's processes, streamed by the serving process.

Rendering the export of 2,000 attempts of 16 questions is seconds of Python (every response as
its student saw it, in the student's own variant, and the cells): in a thread of ``assay serve``
it holds the interpreter lock most of that time, and every student's save in that process waits
its turns at it (``bench/contention.py``). From :data:`APART_AT` listed attempts the serving
process reads only the listed attempts' ids (in the report's order) and hands them,
:data:`~assessments.reports.results.EXPORT_CHUNK` at a time, to the processes of
:mod:`assessments.apart`, each of which reads its chunk from the database itself and renders its
CSV lines; the serving process streams the chunks in order as they come, a few ahead. The bytes
are the ones rendered in the process (the same functions over the same rows; a test compares
them). Where another process cannot open the request's database (an in-memory one, a test's
transaction) or the pool cannot be used, the export is rendered in the process, as before.

The attempts listed are those of the moment the export was asked for; each chunk reads its
attempts when it is rendered, in a transaction of its own. A grade committed while a large
export streams (a regrade, a person's grade) may therefore show in the chunks rendered after it,
where the export rendered in the process reads one snapshot throughout (on SQLite).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from assessments import apart
from assessments.db import Database
from assessments.reports import exports, results
from assessments.reports.responses import responses

APART_AT = 400
"""Listed attempts from which the CSV is rendered in the pool (fewer render in well under a second)."""
log = logging.getLogger("assay")

AHEAD = 3
"""Chunks asked for ahead of the one being sent (a slow reader holds no more than these)."""


def csv_lines(session: Session, attempt_ids: list[int], slots: list[int], now: datetime) -> str:
    """The CSV lines of these attempts (in the report's order)."""
    rows = responses(session, results.attempts_by_id(session, attempt_ids), now)
    return "".join(exports.line(exports.csv_row(row, slots)) for row in rows)


class Timeouts(NamedTuple):
    """The app's database settings a chunk's process opens the database with, as the app does."""

    statement_ms: int
    busy_ms: int


def _rendered_apart(url: str, attempt_ids: list[int], slots: list[int], now: datetime, timeouts: Timeouts) -> str:
    """:func:`csv_lines` in one of the pool's processes, over a connection of its own (opened for
    the chunk: a kept one could outlive the database it opened, a restored file's old inode)."""
    # connects at its first query; no pool is kept past the chunk
    database = Database(url, statement_timeout_ms=timeouts.statement_ms, busy_timeout_ms=timeouts.busy_ms)
    try:
        with database.read_sessions() as session:
            return csv_lines(session, attempt_ids, slots, now)
    finally:
        database.dispose()


def shareable_url(session: Session) -> str | None:
    """The URL another process opens the request's database with, or None where it cannot see
    what this session sees (an in-memory SQLite database; a session bound to a connection, as a
    test's transaction is)."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    url = bind.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def stream_csv(session: Session, url: str, attempt_ids: list[int], slots: list[int],
               now: datetime, timeouts: Timeouts) -> Iterator[str]:
    """The export as :func:`exports.stream_csv` writes it, its chunks rendered in the pool. A chunk
    the pool could not render, for whatever reason (its processes failed, the pool was shut down
    and the chunk cancelled, its process could not read the database), is rendered here, and so are
    the chunks after it: the reply has begun, and a file cut short would pass for a whole one."""
    yield exports.line(exports.csv_header(slots))
    size = results.EXPORT_CHUNK
    chunks = deque(attempt_ids[start:start + size] for start in range(0, len(attempt_ids), size))
    pending: deque[tuple[Future[str], ProcessPoolExecutor, list[int]]] = deque()
    pooled = True
    try:
        while chunks or pending:
            while pooled and chunks and len(pending) < AHEAD:
                try:
                    future, executor = apart.submit(_rendered_apart, url, chunks[0], slots, now, timeouts)
                except (*apart.FAILED, RuntimeError):  # RuntimeError: the pool was shut down meanwhile
                    pooled = False
                    break
                pending.append((future, executor, chunks.popleft()))
            if not pending:
                yield csv_lines(session, chunks.popleft(), slots, now)
                continue
            future, executor, chunk = pending.popleft()
            try:
                text = future.result()
            except Exception as exc:  # noqa: BLE001 - any failure there: the chunk is rendered here
                log.warning("rendering a CSV export in the serving process: a chunk failed in the pool (%r)", exc)
                if isinstance(exc, apart.FAILED):
                    apart.POOL.forget(executor)
                for waiting, _, _ in pending:
                    waiting.cancel()
                chunks.extendleft(reversed([c for _, _, c in pending]))
                pending.clear()
                pooled = False
                text = csv_lines(session, chunk, slots, now)
            yield text
    finally:
        for future, _, _ in pending:
            future.cancel()
