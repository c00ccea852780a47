"""The served app keeps what it holds at its start out of the garbage collector's full passes.

A full pass of CPython's collector holds the interpreter lock while it walks every object the
collector tracks; in ``assay serve`` with its modules, the app and its caches that was 120 ms,
during which no request of the process moved (``bench/contention.py`` found the slowest saves
of an import there). What the app holds once started lives as long as the process, so it is
frozen (``gc.freeze``): a full pass then walks only what came after, 13-24 ms in the benchmark.
Only the served app does it (``create_app(sweeper=True)``); an app made in a test or a script
leaves the collector as it is.
"""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from assessments.app import create_app
from assessments.config import Settings
from assessments.db import Database
from assessments.migrations import upgrade


def test_the_served_app_freezes_what_it_holds_at_its_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    upgrade(url)
    database = Database(url)
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-" + "x" * 40, worker_in_process=False,
                        sweep_seconds=3600)
    gc.unfreeze()
    try:
        with TestClient(create_app(settings, database)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0  # an app made in a test: the collector as it was
        with TestClient(create_app(settings, database, sweeper=True)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 100_000  # the modules, the app, its routes
    finally:
        gc.unfreeze()
        database.dispose()
