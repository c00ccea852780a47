"""SQLite writers queue on locks (not on SQLite's polling busy handler): a thread lock in their
process, then a file lock shared with other processes. Nothing they do leaves a lock taken."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text

from assessments.db import Database, mark_read_only


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'writes.sqlite3'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (writer INTEGER, n INTEGER)"))
    return database


def held(database: Database) -> bool:
    return database.write_lock.lock.locked()


def test_concurrent_writers_all_commit_one_at_a_time(database: Database) -> None:
    def write(writer: int) -> None:
        for n in range(25):
            with database.sessions() as session, session.begin():
                session.execute(text("INSERT INTO t VALUES (:w, :n)"), {"w": writer, "n": n})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*), count(DISTINCT writer) FROM t")).one() == (300, 12)
    assert not held(database)


def test_the_lock_is_held_by_a_write_until_it_ends_however_it_ends(database: Database) -> None:
    with database.sessions() as session:
        session.execute(text("INSERT INTO t VALUES (1, 1)"))
        assert held(database)
        session.commit()
        assert not held(database)
        session.execute(text("INSERT INTO t VALUES (1, 2)"))
        session.rollback()
        assert not held(database)
    with pytest.raises(Exception, match="no such table"), database.sessions() as session, session.begin():
        session.execute(text("INSERT INTO missing VALUES (1)"))
    assert not held(database)
    with database.sessions() as session:
        session.execute(text("INSERT INTO t VALUES (1, 3)"))
    assert not held(database)  # closed without commit: rolled back, released
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1]


def test_readers_do_not_wait_for_the_writer(database: Database) -> None:
    with database.sessions() as writer:
        writer.execute(text("INSERT INTO t VALUES (1, 1)"))
        with database.sessions() as reader:
            mark_read_only(reader)
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # its snapshot
        writer.commit()


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(database: Database) -> None:
    database.write_lock.timeout = 0.05
    with database.sessions() as first:
        first.execute(text("INSERT INTO t VALUES (1, 1)"))
        failed: list[BaseException] = []

        def second() -> None:
            try:
                with database.sessions() as session, session.begin():
                    session.execute(text("INSERT INTO t VALUES (2, 1)"))
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                failed.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
        first.commit()
    assert len(failed) == 1 and "database is locked" in str(failed[0])
    assert not held(database)


# --- writers of several processes (``assay serve --workers N``, ``assay worker``) ---------------

def _write_rows(url: str, writer: int, rows: int, started: Any) -> None:
    database = Database(url)
    started.wait()
    for n in range(rows):
        with database.sessions() as session, session.begin():
            session.execute(text("INSERT INTO t VALUES (:w, :n)"), {"w": writer, "n": n})
    database.dispose()


def _hold_the_write_lock(url: str, holding: Any) -> None:
    database = Database(url)
    session = database.sessions()
    session.execute(text("INSERT INTO t VALUES (99, 1)"))  # BEGIN IMMEDIATE: both locks taken
    holding.set()
    time.sleep(60)  # until killed


def test_writers_of_several_processes_all_commit(database: Database) -> None:
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    processes = [context.Process(target=_write_rows, args=(database.url, w, 40, started)) for w in range(3)]
    for process in processes:
        process.start()
    started.set()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*), count(DISTINCT writer) FROM t")).one() == (120, 3)


def test_another_process_s_writer_holds_writers_off_until_it_dies(database: Database) -> None:
    context = multiprocessing.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=_hold_the_write_lock, args=(database.url, holding))
    holder.start()
    try:
        assert holding.wait(timeout=60)
        database.write_lock.timeout = 0.05
        with pytest.raises(Exception, match=r"database is locked \(waited for other processes' writers\)"), \
                database.sessions() as session, session.begin():
            session.execute(text("INSERT INTO t VALUES (1, 1)"))
        assert not held(database)  # this process's lock is not left taken by the refusal
    finally:
        holder.kill()  # SIGKILL: the operating system releases its file lock
        holder.join(timeout=60)
    database.write_lock.timeout = 30
    with database.sessions() as session, session.begin():  # SQLite rolled the dead writer back
        session.execute(text("INSERT INTO t VALUES (1, 2)"))
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT writer, n FROM t")).all() == [(1, 2)]


def test_a_request_cancelled_mid_write_rolls_back_and_gives_the_lock_back(database: Database) -> None:
    """A request's session, torn down by a cancellation (its client gone, a server shutting down):
    the rollback still runs, so the write is undone and the next writer does not wait for the lock."""
    from types import SimpleNamespace

    import anyio
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request

    from assessments.deps import get_session

    app = SimpleNamespace(state=SimpleNamespace(database=database))
    request = Request({"type": "http", "method": "POST", "app": app, "headers": [], "path": "/"})

    async def cancelled_request() -> None:
        teardown = cast("AsyncGenerator[Any, None]", get_session(request))
        session = await teardown.__anext__()
        await run_in_threadpool(session.execute, text("INSERT INTO t VALUES (1, 1)"))
        assert held(database)
        with anyio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(anyio.get_cancelled_exc_class()):
                await teardown.athrow(anyio.get_cancelled_exc_class()())

    anyio.run(cancelled_request)
    assert not held(database)
    with database.sessions() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
