"""Statistics and gradebook benchmark: what an instructor waits for at 500 and 2,000 attempts (and 100,000).

Run from the repository root:  python bench/quiz_statistics.py  [--sizes 500 2000 100000] [--postgresql URL]

For each size, builds a database (SQLite in a temporary folder, or a scratch PostgreSQL database
made through ``--postgresql URL``): the load benchmark's 16 fixed questions of every type (the
essay left out, so that every attempt has a total), one quiz, and that many students. A few
students take the quiz through the REST API (start, a save per question, submit); every other
attempt is a copy of one of theirs made by SQL (the attempt, its question attempts and their
steps, their answer summaries and the attempt's packed summaries: rows the service wrote, under
another student). Nine more quizzes get one finished
attempt per student with its total only (what the gradebook reads), so that the gradebook is
students × 10 quizzes, as at the end of a term.

Then it times, through the application (FastAPI's test client, one request at a time):
``GET /api/v1/quizzes/{id}/statistics`` cold (the kept statistics dropped first; wall clock and
CPU time) and cached,
``GET /api/v1/courses/{course}/gradebook`` and its streamed CSV; medians of a few asks (the reply
read whole, not decoded). Prints the machine and the load average with the figures. Also runs
against a code base from before the kept statistics and the CSV (those figures are left out).
Not part of the tests.
"""

# ruff: noqa: E402 - the path is set before the imports (see below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/quiz_statistics.py``, this file's folder comes first on the path, and this file
# would be imported for the standard library's ``statistics``: take the folder off, put the root on.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import functools
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, insert, select, text

from assessments import models
from assessments.app import create_app
from assessments.config import Settings
from assessments.models import Attempt, AttemptState, QuestionAttempt, Quiz, Step, User

AnswerSummary: Any = getattr(models, "AnswerSummary", None)
"""None in a code base from before answer summaries."""
AttemptSummary: Any = getattr(models, "AttemptSummary", None)
"""None in a code base from before packed attempt summaries."""
from bench.loadkit import INSTRUCTOR, access_tokens, plausible, scratch_postgresql, set_up

QUOTAS = {"numeric": 3, "single_choice": 4, "multiple_response": 3, "true_false": 1, "ordering": 2,
          "matching": 2, "short_text": 1}
"""16 questions of every automatically graded type."""
TEMPLATES = 24
"""Students who take the quiz through the API; the others' attempts copy theirs."""
OTHER_QUIZZES = 9
SECRET = "bench-statistics-" + "x" * 40
CHUNK = 5_000
STUDENTS_PER_WRITE = 5_000
COLD_ASKS = 5
"""Statistics computed this many times (the kept ones dropped before each): the median is printed,
wall clock and the process's CPU time (which other work on a shared host disturbs less)."""
GRADEBOOK_UP_TO = 2_000
"""Larger sizes time the statistics only (a gradebook of 100,000 students is not this benchmark's)."""


def take(client: TestClient, quiz_id: int, token: str, rng: random.Random) -> None:
    headers = {"authorization": f"Bearer {token}"}
    reply = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    reply.raise_for_status()
    attempt = reply.json()
    for question in attempt["questions"]:
        client.put(f"/api/v1/attempts/{attempt['id']}/responses/{question['slot']}", headers=headers,
                   json={"response": plausible(question["question"], rng), "seq": question["seq"]}).raise_for_status()
    client.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=headers).raise_for_status()


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(table), rows[start:start + CHUNK])


def _grouped(rows: list[dict[str, Any]], key: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return out


def _summaries_of(connection: Any, question_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The answer summaries of these question attempts (none in a code base from before them)."""
    if AnswerSummary is None:
        return {}
    return {r.question_attempt_id: dict(r._mapping) for r in connection.execute(
        select(AnswerSummary.__table__).where(AnswerSummary.question_attempt_id.in_(question_ids)))}


def _packed_of(connection: Any, attempt_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The packed summaries of these attempts (none in a code base from before them). They name no
    attempt or question attempt inside, so a copy under another attempt id is what the service
    would write for the copied attempt."""
    if AttemptSummary is None:
        return {}
    return {r.attempt_id: [dict(r._mapping)] for r in connection.execute(
        select(AttemptSummary.__table__).where(AttemptSummary.attempt_id.in_(attempt_ids)))}


def _other_quizzes(engine: Engine, quiz_id: int, templates: list[dict[str, Any]], students: list[int],
                   next_attempt: int) -> None:
    """Nine more quizzes like the first, each with one finished attempt (a total only) per student."""
    quiz_ids = [quiz_id]
    with engine.begin() as connection:
        quiz = dict(connection.execute(select(Quiz.__table__).where(Quiz.id == quiz_id)).one()._mapping)
        copy = {c: v for c, v in quiz.items() if c != "id"}
        quiz_ids.extend(int(connection.execute(insert(Quiz.__table__).values({**copy, "title": f"Quiz {k + 2}"}))
                            .inserted_primary_key[0]) for k in range(OTHER_QUIZZES))
    rng = random.Random(7)
    everyone = [t["user_id"] for t in templates] + students
    extra = [{**templates[0], "id": next_attempt + n, "quiz_id": quiz_ids[1 + n // len(everyone)],
              "user_id": everyone[n % len(everyone)], "marks": float(rng.randint(0, 16))}
             for n in range(OTHER_QUIZZES * len(everyone))]
    _insert(engine, Attempt.__table__, extra)


def copy_attempts(engine: Engine, quiz_id: int) -> None:
    """Every student without an attempt gets a copy of a template attempt (round robin), with its
    question attempts, their steps, answer summaries and packed attempt summaries (where the code
    base has them); then one finished attempt (a total only) at each other quiz."""
    with engine.connect() as connection:
        templates = [dict(r._mapping) for r in connection.execute(
            select(Attempt.__table__).where(Attempt.quiz_id == quiz_id).order_by(Attempt.id))]
        questions = [dict(r._mapping) for r in connection.execute(
            select(QuestionAttempt.__table__).where(QuestionAttempt.attempt_id.in_([t["id"] for t in templates])))]
        steps = [dict(r._mapping) for r in connection.execute(
            select(Step.__table__).where(Step.question_attempt_id.in_([q["id"] for q in questions])))]
        summaries = _summaries_of(connection, [q["id"] for q in questions])
        packed = _packed_of(connection, [t["id"] for t in templates])
        taken = {t["user_id"] for t in templates}
        students = [u for u, in connection.execute(
            select(User.id).where(User.username.like("student%")).order_by(User.id)) if u not in taken]
        next_attempt = int(connection.scalar(select(func.max(Attempt.id))) or 0) + 1
        next_question = int(connection.scalar(select(func.max(QuestionAttempt.id))) or 0) + 1
        next_step = int(connection.scalar(select(func.max(Step.id))) or 0) + 1
    by_attempt, by_question = _grouped(questions, "attempt_id"), _grouped(steps, "question_attempt_id")
    attempts_out: list[dict[str, Any]] = []
    questions_out: list[dict[str, Any]] = []
    steps_out: list[dict[str, Any]] = []
    summaries_out: list[dict[str, Any]] = []
    packed_out: list[dict[str, Any]] = []

    def write_out() -> None:
        """Insert what is built so far (in pieces: 100,000 students' rows at once take gigabytes)."""
        for table, rows in ((Attempt.__table__, attempts_out), (QuestionAttempt.__table__, questions_out),
                            (Step.__table__, steps_out), (getattr(AnswerSummary, "__table__", None), summaries_out),
                            (getattr(AttemptSummary, "__table__", None), packed_out)):
            if rows:
                _insert(engine, table, rows)
                rows.clear()

    for n, student in enumerate(students):
        template = templates[n % len(templates)]
        attempts_out.append({**template, "id": next_attempt, "user_id": student})
        packed_out.extend({**row, "attempt_id": next_attempt} for row in packed.get(template["id"], []))
        for q in by_attempt[template["id"]]:
            questions_out.append({**q, "id": next_question, "attempt_id": next_attempt})
            if q["id"] in summaries:
                summaries_out.append({**summaries[q["id"]], "question_attempt_id": next_question,
                                      "attempt_id": next_attempt})
            steps_out.extend({**s, "id": next_step + k, "question_attempt_id": next_question}
                             for k, s in enumerate(by_question[q["id"]]))
            next_step += len(by_question[q["id"]])
            next_question += 1
        next_attempt += 1
        if len(attempts_out) == STUDENTS_PER_WRITE:
            write_out()
    write_out()
    _other_quizzes(engine, quiz_id, templates, students, next_attempt)
    if engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        with engine.begin() as connection:
            for table in ("attempts", "question_attempts", "question_attempt_steps"):  # our own names
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                                        f"(SELECT max(id) FROM {table}))"))


def check(holds: bool, said: str) -> None:
    if not holds:
        raise SystemExit(f"unexpected reply: {said}")


def median_seconds(ask: Callable[[], Any], times: int) -> float:
    """The median time of ``times`` asks (only the ask: its reply is checked apart)."""
    taken = []
    for _ in range(times):
        began = time.perf_counter()
        ask()
        taken.append(time.perf_counter() - began)
    return statistics.median(taken)


def run(url: str, students: int) -> dict[str, float]:
    began = time.perf_counter()
    quiz_id, usernames, _ = set_up(url, students, quotas=QUOTAS)
    with tempfile.TemporaryDirectory() as data_dir:
        # computed at once whatever the size (the application hands a quiz above 2,000 attempts
        # to a background job): the figure is the computation's
        settings = Settings(database_url=url, secret_key=SECRET, data_dir=Path(data_dir),
                            statistics_inline_attempts=max(students, 2000))
        tokens = access_tokens(url, [*usernames[:TEMPLATES], INSTRUCTOR], SECRET)
        with TestClient(create_app(settings)) as client:
            for n, username in enumerate(usernames[:TEMPLATES]):
                take(client, quiz_id, tokens[username], random.Random(n))
            engine = create_engine(url)
            copy_attempts(engine, quiz_id)
            with engine.connect() as connection:
                counted = connection.scalar(select(func.count(Attempt.id)).where(
                    Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED))
                steps = connection.scalar(select(func.count(Step.id)))
            print(f"  built {counted:,} attempts of 16 questions ({steps:,} steps) "
                  f"in {time.perf_counter() - began:.0f} s")
            headers = {"authorization": f"Bearer {tokens[INSTRUCTOR]}"}

            def statistics_ask() -> Any:
                return client.get(f"/api/v1/quizzes/{quiz_id}/statistics", headers=headers)

            def forget() -> None:
                """Drop the kept statistics (a code base from before they were kept has none)."""
                with engine.begin() as connection:
                    if "quiz_statistics" in sqlalchemy.inspect(connection).get_table_names():
                        connection.execute(text("DELETE FROM quiz_statistics"))

            cpu: list[float] = []

            def cold_timed() -> float:
                forget()
                began = time.process_time()
                wall = median_seconds(statistics_ask, 1)
                cpu.append(time.process_time() - began)
                return wall

            forget()
            reply = statistics_ask()  # warms the process (imports, item models); checked, not timed
            check(reply.status_code == 200 and reply.json()["attempts"] == counted, reply.text[:200])
            figures = {"statistics, cold": statistics.median(cold_timed() for _ in range(COLD_ASKS))}
            figures["statistics, cold (CPU time of the process)"] = statistics.median(cpu)
            figures["statistics, kept"] = median_seconds(statistics_ask, 5)

            def gradebook() -> Any:
                return client.get("/api/v1/courses/load/gradebook", headers=headers)

            def gradebook_csv() -> Any:
                return client.get("/api/v1/courses/load/gradebook", params={"format": "csv"}, headers=headers)

            if students > GRADEBOOK_UP_TO:
                engine.dispose()
                return figures
            reply = gradebook()
            check(reply.status_code == 200 and len(reply.json()["students"]) == students, reply.text[:200])
            figures["gradebook (JSON)"] = median_seconds(gradebook, 5)
            reply = gradebook_csv()
            if reply.status_code != 422:  # a code base from before the CSV refuses format=csv
                check(reply.status_code == 200 and reply.text.count("\n") == students + 1, reply.text[:200])
                figures["gradebook (CSV, streamed)"] = median_seconds(gradebook_csv, 5)
            engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--postgresql", metavar="URL", help="a PostgreSQL server to make scratch databases on")
    args = parser.parse_args()
    import sqlite3

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for size in args.sizes:
        cleanups: list[Callable[[], None]] = []
        if args.postgresql:
            (url,), version, cleanups = scratch_postgresql(args.postgresql, ["assay_statistics"])
            database = f"PostgreSQL {version}"
        else:
            workdir = tempfile.mkdtemp(prefix="assay-statistics-")
            url, database = f"sqlite:///{workdir}/assay.sqlite3", f"SQLite {sqlite3.sqlite_version}"
            cleanups = [functools.partial(shutil.rmtree, workdir, ignore_errors=True)]  # 2.3 GB at 100,000
        print(f"{size:,} students, {database}:")
        try:
            for name, seconds in run(url, size).items():
                print(f"  {name}: {seconds * 1000:,.0f} ms")
        finally:
            for step in reversed(cleanups):
                step()
        print(f"  load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
