"""Backup benchmark: dump and restore a database with many attempt steps, printed as figures.

Run from the repository root:  python bench/backup.py  [--steps N] [--target-url URL]

Builds a SQLite database (in a temporary folder) holding ``--steps`` question-attempt steps (with
their users, course, quiz, item version, attempts and question attempts), dumps it with
``assessments.backup.dump``, and restores the archive into a new SQLite database, or into
``--target-url`` (an empty database; PostgreSQL for the SQLite-to-PostgreSQL figure). Prints rows
per second each way, the archive's size, and the process's peak memory after each phase: the dump
and the restore stream, so the peak should not grow with ``--steps``. Not part of the tests.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from assessments.backup import dump, restore
from assessments.db import Database
from assessments.migrations import upgrade
from assessments.models import (
    Attempt,
    Course,
    Item,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    Role,
    Step,
    User,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEPS_PER_QUESTION = 4
QUESTIONS_PER_ATTEMPT = 10
CHUNK = 2_000


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def populate(database: Database, steps: int) -> int:
    """Rows in bulk through Core (the services would take far longer than what is measured)."""
    attempts = max(1, steps // (STEPS_PER_QUESTION * QUESTIONS_PER_ATTEMPT))
    with database.engine.begin() as connection:
        connection.execute(insert(Course), [{"slug": "bench", "title": "Bench", "created_at": T0}])
        connection.execute(insert(Item), [{"key": "bench-item", "current_number": 1, "created_at": T0}])
        connection.execute(insert(ItemVersion), [{
            "item_id": 1, "number": 1, "definition": {"id": "bench-item", "params": {"x": [0.1, 0.2]}},
            "content_hash": "0" * 64, "type": "numeric", "title": "Bench", "is_computed": True, "created_at": T0}])
        connection.execute(insert(Quiz), [{"course_id": 1, "title": "Bench", "description": "", "settings": {},
                                           "sections": [], "created_at": T0, "updated_at": T0}])
        connection.execute(insert(User), [{"username": f"s{n}", "display_name": f"Student {n}", "role": Role.STUDENT,
                                           "is_active": True, "created_at": T0} for n in range(attempts)])
        connection.execute(insert(Attempt), [{
            "quiz_id": 1, "user_id": n + 1, "number": 1, "state": "finished", "started_at": T0,
            "finished_at": T0 + timedelta(minutes=20), "marks": 7.5, "max_marks": 10.0} for n in range(attempts)])
        for first in range(0, attempts, CHUNK):
            connection.execute(insert(QuestionAttempt), [{
                "attempt_id": a + 1, "slot": s + 1, "item_version_id": 1, "seed": 1_000_003 * a + s,
                "variant": {"params": {"r_w": [0.5, -1.2], "r_l": [0.1, 0.3]}, "order": [1, 0, 2, 3]},
                "behaviour": "deferredfeedback", "behaviour_options": {}, "max_mark": 1.0}
                for a in range(first, min(first + CHUNK, attempts)) for s in range(QUESTIONS_PER_ATTEMPT)])
        questions = attempts * QUESTIONS_PER_ATTEMPT
        for first in range(0, questions, CHUNK):  # in chunks, so that building is not the memory peak
            connection.execute(insert(Step), [
                {"question_attempt_id": q + 1, "seq": seq, "action": "save", "state": "complete",
                 "fraction": None if seq < 3 else 0.75, "response": {"value": f"{q * 0.001:.3f}"},
                 "data": {"try": 1}, "created_at": T0 + timedelta(seconds=seq, microseconds=q % 1000)}
                for q in range(first, min(first + CHUNK, questions)) for seq in range(STEPS_PER_QUESTION)])
    return attempts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--target-url", help="an empty database to restore into (default: a new SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source_url = f"sqlite:///{Path(folder) / 'source.sqlite3'}"
        upgrade(source_url)
        source = Database(source_url)
        attempts = populate(source, options.steps)
        print(f"source: {attempts} attempts, {attempts * QUESTIONS_PER_ATTEMPT * STEPS_PER_QUESTION} steps; "
              f"peak memory {_peak_mib():.0f} MiB")

        archive = Path(folder) / "backup.zip"
        started = time.perf_counter()
        manifest = dump(source, archive)
        took = time.perf_counter() - started
        source.dispose()
        print(f"dump:    {manifest.total_rows} rows in {took:.2f} s ({manifest.total_rows / took:,.0f} rows/s), "
              f"archive {archive.stat().st_size / 2**20:.1f} MiB; peak memory {_peak_mib():.0f} MiB")

        target = Database(options.target_url or f"sqlite:///{Path(folder) / 'target.sqlite3'}")
        started = time.perf_counter()
        restore(target, archive)
        took = time.perf_counter() - started
        target.dispose()
        print(f"restore: {manifest.total_rows} rows in {took:.2f} s ({manifest.total_rows / took:,.0f} rows/s, "
              f"checks and migration included) into {target.engine.dialect.name}; peak memory {_peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
