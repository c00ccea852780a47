"""The database: engine, sessions, and the one commit point.

A request's session commits once, when the endpoint has succeeded, and rolls back on any error;
nothing else calls ``commit()``. SQLite runs in WAL mode with foreign keys on and a busy timeout,
so concurrent requests queue for the write lock instead of failing.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own busy handler queues other processes
    fcntl = None  # type: ignore[assignment]

__all__ = ["PHASED", "READ_ONLY", "Database", "RequestSession", "done_reading", "mark_read_only", "phased",
           "reading", "session_scope", "written"]

SQLITE_BUSY_MS = 30_000
STATEMENT_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int = SQLITE_BUSY_MS) -> None:
    # Let SQLAlchemy own transactions (pysqlite's own BEGIN handling is off; see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives a crash of the process (the test_crash_safety SIGKILL); an OS
    # crash or a power cut may lose the last commits, which synchronous=FULL would keep.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()


def _locked(why: str) -> OperationalError:
    """SQLite's "database is locked", as SQLAlchemy raises it (the app answers 503 to it)."""
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"database is locked ({why})"))


class _WriteLock:
    """One SQLite writer at a time, queued on locks instead of SQLite's busy handler.

    SQLite lets one connection write at a time; a connection that finds the lock taken sleeps in
    its busy handler and polls (after a few tries, every 50-100 ms), so under load the lock sits
    free while the writers that want it sleep. Writers of one process wait on a thread lock
    instead and get it the moment it is released; the one holding it then takes a lock on a file
    beside the database (``<database>-writer``, POSIX ``flock``) that the writers of other
    processes (``assay serve --workers N``, ``assay worker``, the CLI) take too, polled every few
    tenths of a millisecond. Both are taken at ``BEGIN IMMEDIATE`` and released when the
    connection goes back to the pool (after its commit or rollback); the operating system releases
    the file's lock if its process dies.
    """

    KEY = "assay_write_lock"

    def __init__(self, timeout: float, path: str | None = None) -> None:
        self.lock = threading.Lock()
        self.timeout = timeout
        self.path = path
        self.file: int | None = None

    def begin(self, connection: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front: a read-then-write transaction cannot be
        # refused half-way with "database is locked" when another writer got there first. A
        # transaction marked read-only (GET requests, sign-in) reads a snapshot without the lock, so
        # it never queues behind writers nor holds them up (WAL readers and the writer run together).
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        info = connection.connection.info  # the pooled connection's: it outlives this Connection
        if not info.get(self.KEY):
            deadline = time.monotonic() + self.timeout
            if not self.lock.acquire(timeout=self.timeout):
                raise _locked("waited for this process's other writers")
            if not self._lock_file(deadline):
                self.lock.release()
                raise _locked("waited for other processes' writers")
            info[self.KEY] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.release(info)
            raise

    def _lock_file(self, deadline: float) -> bool:
        if self.path is None or fcntl is None:
            return True  # an in-memory database, or no flock here: SQLite's busy handler still applies
        if self.file is None:
            self.file = os.open(f"{self.path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(2 * pause, 0.002)
            else:
                return True

    def release(self, info: dict[Any, Any]) -> None:
        if info.pop(self.KEY, False):
            if self.file is not None and fcntl is not None:
                fcntl.flock(self.file, fcntl.LOCK_UN)
            self.lock.release()

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        self.release(record.info)

    def invalidate(self, _dbapi_connection: Any, record: Any, _exception: Any = None) -> None:
        self.release(record.info)

    def close(self) -> None:
        if self.file is not None:
            os.close(self.file)
            self.file = None


READ_ONLY = "assay_read_only"


def mark_read_only(session: Session) -> None:
    """Begin the session's transaction as a reader (call before its first query)."""
    session.connection(execution_options={READ_ONLY: True})


READ_NEXT = "assay_read_next"
"""``session.info`` key: the session's next transactions read (see :class:`RequestSession`)."""
READ_ENGINE = "assay_read_engine"


class RequestSession(Session):
    """A session that can be told, between transactions, that what comes next only reads.

    With ``info[READ_NEXT]`` set, its transactions begin on the database's read engine (on SQLite:
    ``BEGIN``, a snapshot without the write lock) when they begin, not at once: a request that has
    written and committed and then reads nothing more opens no transaction at all.
    """

    def get_bind(self, mapper: Any = None, **kwargs: Any) -> Any:
        bind = super().get_bind(mapper, **kwargs)
        if self.info.get(READ_NEXT) and isinstance(bind, Engine):
            return self.info.get(READ_ENGINE, bind)
        return bind


def _read_next(session: Session) -> None:
    """The session's next transaction reads: lazily where the session can say so (a request's
    session, bound to an engine), else at once (a session bound to a caller's connection)."""
    if isinstance(session, RequestSession) and isinstance(session.bind, Engine):
        session.info[READ_NEXT] = True
    else:
        mark_read_only(session)


PHASED = "assay_phased"
"""``session.info`` key of a request's session: its transactions may be ended part-way through
the request (:func:`reading`, :func:`done_reading`, :func:`written`). Any other session (the CLI's,
a job's, a caller's own ``with session.begin():``) keeps one transaction, and these do nothing."""


def phased(session: Session) -> Session:
    """Let a request's session end its transactions part-way (see :data:`PHASED`)."""
    session.info[PHASED] = True
    return session


def reading(session: Session) -> None:
    """Read in a transaction of its own, as a reader, if none is open yet.

    With :func:`done_reading`, a request that writes can do its reading and its thinking (the
    caller's credentials, a question rebuilt and a response graded) before it takes SQLite's write
    lock, and hold the lock only to check that nothing moved meanwhile and to write.
    """
    if session.info.get(PHASED) and not session.in_transaction():
        _read_next(session)


def written(session: Session) -> None:
    """Commit what the request has written, now and in this thread, then go on reading.

    The request's own commit (the session dependency) comes only after the endpoint has returned
    and its reply has been built, a trip through the event loop later: on SQLite the write lock
    would be held all that while. The busiest writes (saves, starts, submits) end their write
    transaction here instead; what the request does afterwards only reads.
    """
    if session.info.get(PHASED):
        session.commit()
        _read_next(session)


def done_reading(session: Session) -> None:
    """End the read transaction (nothing was written: its commit only ends it; what it loaded
    stays loaded). The session's next statement begins a transaction that may write."""
    if session.info.get(PHASED):
        if session.in_transaction():
            session.commit()
        session.info.pop(READ_NEXT, None)


class Database:
    """One engine and its session factory.

    Every connection carries a timeout: SQLite waits ``busy_timeout_ms`` for the write lock, and
    PostgreSQL cancels a statement running past ``statement_timeout_ms`` (0: never), sent as the
    connection's startup ``options`` (behind PgBouncer in transaction mode, set it on the role).
    """

    def __init__(self, url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
                 busy_timeout_ms: int = SQLITE_BUSY_MS, **engine_options: Any) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
            if url.removeprefix("sqlite://").strip("/") not in ("", ":memory:"):
                options.update(pool_size=24, max_overflow=8)  # as many as the app lets hold a session
        else:
            options.update(pool_size=20, max_overflow=20)
            if url.startswith("postgresql") and statement_timeout_ms:
                given = make_url(url).query.get("options")
                startup = f"-c statement_timeout={int(statement_timeout_ms)}"
                options["connect_args"] = {"options": f"{given} {startup}" if isinstance(given, str) else startup}
        options.update(engine_options)
        self.engine: Engine = create_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=busy_timeout_ms))
            path = make_url(url).database or ""
            on_disk = path not in ("", ":memory:") and not path.startswith("file:")
            self.write_lock = _WriteLock(busy_timeout_ms / 1000, str(Path(path).resolve()) if on_disk else None)
            event.listen(self.engine, "begin", self.write_lock.begin)
            event.listen(self.engine, "checkin", self.write_lock.checkin)
            event.listen(self.engine, "invalidate", self.write_lock.invalidate)
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self.sessions = sessionmaker(self.engine, class_=RequestSession, expire_on_commit=False,
                                     info={READ_ENGINE: self.read_engine})
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        """Sessions whose transactions read (on SQLite: a snapshot, without the write lock)."""

    def session(self) -> Iterator[Session]:
        """The request's session: commit on success, roll back on error (the one commit point)."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
        if self.is_sqlite:
            self.write_lock.close()


@contextmanager
def session_scope(database: Database) -> Iterator[Session]:
    """A unit of work outside a request (CLI commands, jobs): the same commit rule."""
    yield from database.session()
