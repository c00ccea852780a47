"""A large quiz's CSV export is rendered in the pool's processes, and its bytes are the ones
rendered in the serving process.

The pool's processes read the database themselves, so what they read must be committed: each
test builds the results report's quiz (:func:`build_scene`) in a database of its own (a SQLite
file, and a PostgreSQL database of its own where one is configured), committed, and asks for the
export over the API as an instructor would: once rendered in the process, once in the pool a
chunk of one attempt at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from assessments import apart
from assessments.app import create_app
from assessments.config import Settings
from assessments.db import Database
from assessments.reports import csv_apart, exports, results
from tests.assessments.conftest import (
    BACKENDS,
    BrokenPool,
    Clock,
    World,
    _drop_postgresql_database,
    banked_database,
    serve_from,
)
from tests.assessments.test_reports_results import FORMULA_NAME, Scene, build_scene


@pytest.fixture(scope="module", autouse=True)
def _stop_the_pool() -> Iterator[None]:
    yield
    apart.shut_down()


@pytest.fixture(params=BACKENDS)
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Scene, TestClient]]:
    """The scene, committed in a database of the test's own, and a client of an app over it."""
    url, database = banked_database(request.param, tmp_path)
    session = database.sessions()
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-" + "x" * 40, grace_seconds=30)
    try:
        with TestClient(serve_from(create_app(settings, database), session, Clock())) as client:
            scene = build_scene(World(session, client))
            session.commit()
            yield scene, client
    finally:
        session.close()
        database.dispose()
        if request.param == "postgresql":
            _drop_postgresql_database(url)


def _export(scene: Scene, client: TestClient, **params: Any) -> bytes:
    room = scene.room
    reply = client.get(f"/api/v1/quizzes/{scene.quiz_id}/attempts/export", headers=room.as_(room.teacher),
                       params={"format": "csv", **params})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == f'attachment; filename="quiz-{scene.quiz_id}-attempts.csv"'
    return reply.content


def test_a_large_export_rendered_in_the_pool_has_the_bytes_rendered_here(
        committed: tuple[Scene, TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    scene, client = committed
    monkeypatch.setattr(csv_apart, "APART_AT", 10**9)
    here = {filters: _export(scene, client, **dict(filters))
            for filters in [(), (("previews", "true"),), (("status", "finished"),)]}
    assert here[()].decode().splitlines()[0].startswith("username,display_name,attempt,")
    assert [line.split(",")[0] for line in here[()].decode().splitlines()[1:]] == ["alice", "bob", "carol"]
    assert "'" + FORMULA_NAME.replace('"', '""') in here[()].decode()

    def not_here(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("rendered in the serving process")

    # Every chunk of one attempt; the pool's processes import the modules afresh, so this
    # process's copies of the renderers are never called.
    monkeypatch.setattr(csv_apart, "APART_AT", 1)
    monkeypatch.setattr(results, "EXPORT_CHUNK", 1)
    monkeypatch.setattr(csv_apart, "csv_lines", not_here)
    monkeypatch.setattr(exports, "csv_row", not_here)
    for filters, expected in here.items():
        assert _export(scene, client, **dict(filters)) == expected, filters


def test_a_broken_pool_renders_the_export_here(committed: tuple[Scene, TestClient],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    scene, client = committed
    monkeypatch.setattr(csv_apart, "APART_AT", 10**9)
    here = _export(scene, client)

    broken = BrokenPool()
    monkeypatch.setattr(apart.POOL, "executor", broken)
    monkeypatch.setattr(csv_apart, "APART_AT", 1)
    monkeypatch.setattr(results, "EXPORT_CHUNK", 2)
    assert _export(scene, client) == here
    assert apart.POOL.executor is not broken


def test_an_export_inside_a_tests_transaction_is_rendered_here(db: Any) -> None:
    assert csv_apart.shareable_url(db) is None  # another process could not see what it holds
    memory = Database("sqlite://")
    with memory.sessions() as session:
        assert csv_apart.shareable_url(session) is None
    memory.dispose()


def test_a_chunk_that_fails_in_the_pool_is_rendered_here_and_the_file_is_whole(
        committed: tuple[Scene, TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk whose process could not read the database (or was cancelled by the pool's shut
    down) is rendered in the serving process, and the chunks after it too: the file is whole."""
    scene, client = committed
    monkeypatch.setattr(csv_apart, "APART_AT", 10**9)
    here = _export(scene, client)
    real_submit = apart.submit
    asked: list[list[int]] = []

    def failing_second(work: Any, url: str, ids: list[int], *rest: Any) -> Any:
        asked.append(ids)
        if len(asked) == 2:
            failed: Future[str] = Future()
            failed.set_exception(OperationalError("SELECT", None, Exception("too many connections")))
            return failed, apart.POOL.get()
        return real_submit(work, url, ids, *rest)

    monkeypatch.setattr(apart, "submit", failing_second)
    monkeypatch.setattr(csv_apart, "APART_AT", 1)
    monkeypatch.setattr(results, "EXPORT_CHUNK", 1)
    assert _export(scene, client) == here
    assert len(asked) == 3  # the first three asked of the pool (AHEAD); after the failure, none
    assert apart.POOL.executor is not None  # a database error is no reason to stop the pool
