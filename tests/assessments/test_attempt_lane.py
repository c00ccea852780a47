"""On SQLite, quiz-taking requests are worked on a few at a time (``sqlite_attempt_concurrency``):
the lane admits that many works of :meth:`Credentials.run` at once, the others wait their turn, and
every one of them still runs and commits. PostgreSQL has no lane."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from assessments.app import create_app
from assessments.auth.tokens import FIRST_GENERATION
from assessments.config import Settings
from assessments.db import Database, done_reading, phased
from assessments.deps import Credentials, Principal
from assessments.migrations import upgrade
from assessments.models import Role, User, utcnow


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'lane.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with database.sessions() as session, session.begin():
        session.add_all([User(username=f"student{n}", display_name=f"Student {n}", role=Role.STUDENT)
                         for n in range(6)])
    yield database
    database.dispose()  # its connections and the writer lock file


def run_together(database: Database, lane: threading.Semaphore | None, works: int) -> tuple[int, list[int]]:
    """``works`` requests' works at once, each a student writing a row and holding on for a
    moment: (the most that ran at the same time, the users whose rows were committed)."""
    running = 0
    most = 0
    guard = threading.Lock()

    def work(principal: Principal, session: Session) -> None:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with guard:
            running -= 1
        done_reading(session)  # as the service does: read and think, then write under the write lock
        session.execute(text("UPDATE users SET display_name = 'done' WHERE id = :id"), {"id": principal.user.id})

    async def one(user_id: int) -> None:
        session = phased(database.sessions())
        try:
            credentials = Credentials("PUT", "access", user_id=user_id, generation=FIRST_GENERATION, lane=lane)
            await credentials.run(session, utcnow(), lambda principal: work(principal, session))
        finally:
            session.close()

    async def all_of_them() -> None:
        async with anyio.create_task_group() as group:
            for user_id in range(1, works + 1):
                group.start_soon(one, user_id)

    anyio.run(all_of_them)
    with database.engine.connect() as connection:
        done = sorted(connection.scalars(text("SELECT id FROM users WHERE display_name = 'done'")))
    return most, done


def test_a_lane_of_one_works_one_request_at_a_time_and_every_one_commits(sqlite_database: Database) -> None:
    most, done = run_together(sqlite_database, threading.BoundedSemaphore(1), 5)
    assert most == 1
    assert done == [1, 2, 3, 4, 5]


def test_a_wider_lane_lets_that_many_in_and_no_more(sqlite_database: Database) -> None:
    most, done = run_together(sqlite_database, threading.BoundedSemaphore(3), 6)
    assert 2 <= most <= 3  # (the works write one at a time: they overlap while they think)
    assert done == [1, 2, 3, 4, 5, 6]


def test_without_a_lane_nothing_waits_for_one(sqlite_database: Database) -> None:
    most, done = run_together(sqlite_database, None, 4)
    assert most >= 2
    assert done == [1, 2, 3, 4]


def test_the_app_sets_its_lane_from_the_settings_on_sqlite_only(database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40, sqlite_attempt_concurrency=2)
    app = create_app(settings, database)
    with TestClient(app):
        lane = app.state.attempt_lane
        if database.is_sqlite:
            assert lane.acquire(blocking=False) and lane.acquire(blocking=False)
            assert not lane.acquire(blocking=False)  # two at once, and no more
            lane.release()
            lane.release()
        else:
            assert lane is None


def test_the_setting_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="sqlite_attempt_concurrency"):
        Settings(sqlite_attempt_concurrency=0)
