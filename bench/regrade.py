"""Regrade at term scale: one quiz of 16 questions, 2,000 finished attempts, one item's key fixed.

Run from the repository root:

    python bench/regrade.py                                  # SQLite (a scratch file)
    python bench/regrade.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/regrade.py --students 500                   # a smaller class

It builds the quiz of the load benchmark (16 items of every type from content/, deferred feedback,
the essay graded by a person), then 2,000 finished attempts written straight into the database as
the service writes them (each question started, a response saved: the key of the student's own
variant or a plausible other one, finished, the essay graded by hand; every row made by the engine
from the student's own seed), and on PostgreSQL the tables vacuumed and analysed as autovacuum
would. An administrator then fixes one numeric item's key over the REST API (a new version whose
answer is doubled) and moves the quiz to it, and the regrade is timed as an instructor asks for it
(``POST /api/v1/quizzes/{id}/regrade``, in-process through the app): the dry run, then the commit.
It prints the figures, the machine and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from assessments.app import create_app  # noqa: E402
from assessments.attempts.service import slot_seed  # noqa: E402
from assessments.auth.passwords import hash_password  # noqa: E402
from assessments.auth.tokens import issue_access_token  # noqa: E402
from assessments.bank.service import item_model, rendered_question  # noqa: E402
from assessments.config import Settings  # noqa: E402
from assessments.db import Database  # noqa: E402
from assessments.models import (  # noqa: E402
    Attempt,
    AttemptState,
    Course,
    CourseRole,
    Enrolment,
    QuestionAttempt,
    Quiz,
    Role,
    Step,
    User,
)
from bench.loadkit import INSTRUCTOR, PASSWORD, plausible, scratch_postgresql, set_up  # noqa: E402
from bench.start_cost import machine  # noqa: E402
from engine.attempts import Action  # noqa: E402
from engine.attempts import QuestionAttempt as EngineAttempt  # noqa: E402
from engine.behaviours import behaviour_for  # noqa: E402
from engine.qtypes import qtype_for  # noqa: E402
from engine.variants import generate_batch  # noqa: E402

try:
    from assessments.reports import summaries as SUMMARIES  # noqa: N812
except ImportError:  # a code base from before answer summaries
    SUMMARIES = None

SECRET = "regrade-bench-" + "s" * 40
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RIGHT_SHARE = 0.6
"""Share of responses that are the key of the student's own variant (the rest: plausible others)."""


def _template(session: Any, quiz_id: int) -> list[dict[str, Any]]:
    """The quiz's slots as a start lays them out: version, mark, behaviour (from a real start's rows)."""
    quiz = session.get(Quiz, quiz_id)
    from assessments.quizzes.service import build_slots, settings_of

    settings = settings_of(quiz)
    out = []
    for slot in build_slots(session, quiz, 0, 0):  # fixed items: the same slots for everyone
        model = item_model(slot.version)
        name = "manualgraded" if model.type_name == "essay" else settings.behaviour.value
        out.append({"slot": slot.number, "version": slot.version, "model": model, "mark": slot.mark,
                    "behaviour": name, "shuffle": settings.shuffle_options})
    return out


def build(database: Database, quiz_id: int, students: list[int], instructor_id: int) -> int:
    """Every student's finished attempt, written as the service writes one; returns the step count."""
    rng = random.Random(7)
    with database.sessions() as session, session.begin():
        slots = _template(session, quiz_id)
        seeds = {s["slot"]: [slot_seed(1_000_003 * user + 17, s["slot"]) for user in students] for s in slots}
        batches = {s["slot"]: generate_batch(s["model"] if s["shuffle"] or not s["model"].shuffle
                                             else s["model"].model_copy(update={"shuffle": False}),
                                             seeds[s["slot"]]) for s in slots}
        connection = session.connection()
        max_marks = sum(s["mark"] for s in slots)
        steps_written = 0
        for start in range(0, len(students), 250):
            chunk = list(enumerate(students))[start:start + 250]
            attempt_rows, question_rows, engine = [], [], {}
            for n, user in chunk:
                at = T0 + timedelta(seconds=n)
                marks = 0.0
                for s in slots:
                    variant = batches[s["slot"]][n]
                    qtype = qtype_for(s["model"])
                    if rng.random() < RIGHT_SHARE:
                        response = dict(qtype.correct_response(s["model"], variant))
                    else:
                        response = plausible(rendered_question(variant), rng)
                    qa = EngineAttempt.start(variant, behaviour_for(s["behaviour"]), actor=str(user), at=at,
                                             max_mark=s["mark"])
                    qa.process(Action.SAVE, response, actor=str(user), at=at + timedelta(minutes=5))
                    qa.process(Action.FINISH, actor=str(user), at=at + timedelta(minutes=20))
                    if qa.state.value == "needsgrading":
                        qa.process(Action.MANUAL_GRADE, actor=str(instructor_id), at=at + timedelta(days=1),
                                   fraction=0.5, comment="Graded by hand.")
                    marks += qa.mark or 0.0
                    engine[(user, s["slot"])] = qa
                    question_rows.append({"user": user, "slot": s["slot"], "item_version_id": s["version"].id,
                                          "seed": variant.seed, "behaviour": s["behaviour"], "behaviour_options": {},
                                          "variant": {**variant.to_json(), "shuffle": s["shuffle"]},
                                          "max_mark": s["mark"]})
                attempt_rows.append({"quiz_id": quiz_id, "user_id": user, "number": 1, "state": AttemptState.FINISHED,
                                     "started_at": at, "finished_at": at + timedelta(minutes=20), "marks": marks,
                                     "max_marks": max_marks, "preview": False})
            ids = dict(connection.execute(insert(Attempt).returning(Attempt.user_id, Attempt.id), attempt_rows).all())
            for row in question_rows:
                row["attempt_id"] = ids[row.pop("user")]
            qa_ids = {(a, s): i for a, s, i in connection.execute(
                insert(QuestionAttempt).returning(QuestionAttempt.attempt_id, QuestionAttempt.slot,
                                                  QuestionAttempt.id), question_rows)}
            users = {a: u for u, a in ids.items()}
            step_rows = [{"question_attempt_id": qa_id, "seq": step.seq, "action": step.action.value,
                          "state": step.state.value, "fraction": step.fraction, "response": step.response,
                          "data": step.to_json(), "created_at": step.at,
                          "actor_id": instructor_id if step.manual else users[attempt_id]}
                         for (attempt_id, slot), qa_id in qa_ids.items()
                         for step in engine[(users[attempt_id], slot)].steps]
            connection.execute(insert(Step), step_rows)
            steps_written += len(step_rows)
            if SUMMARIES is not None:  # what submitting writes (a code base from before them has none)
                SUMMARIES.write(session, list(ids.values()))
    return steps_written


def settle(database: Database) -> None:
    """On PostgreSQL, the tables as a term's would be by the time a key is fixed: vacuumed and
    analysed by autovacuum (which would otherwise start on the 98,000 fresh steps during the timed
    requests, the planner knowing nothing of them). Nothing runs ``ANALYZE`` on an SQLite database."""
    if not database.is_sqlite:
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def _admin(database: Database, course_slug: str) -> int:
    with database.sessions() as session, session.begin():
        admin = User(username="bench-admin", display_name="Admin", role=Role.ADMIN,
                     password_hash=hash_password(PASSWORD))
        session.add(admin)
        session.flush()
        course = session.scalars(select(Course).where(Course.slug == course_slug)).one()
        session.add(Enrolment(course_id=course.id, user_id=admin.id, role=CourseRole.INSTRUCTOR))
        return admin.id


def fix_a_key(client: TestClient, headers: dict[str, str], quiz_id: int, keys: list[str]) -> str:
    """A new version of the first numeric item whose answer doubles, and the quiz moved to it."""
    for key in keys:
        definition = client.get(f"/api/v1/items/{key}", headers=headers).json()["definition"]
        if definition.get("type") != "numeric":
            continue
        saved = client.put(f"/api/v1/items/{key}", headers=headers,
                           json={**definition, "answer": f"2 * ({definition['answer']})"})
        if saved.status_code != 200:
            continue
        moved = client.post(f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false", headers=headers, json={"items": [key]})
        assert moved.status_code == 200, moved.text
        return key
    raise SystemExit("no numeric item of the quiz takes a doubled answer")


def profile(database: Database, admin_id: int, quiz_id: int) -> None:
    """Where the time goes: the dry run and the commit called in-process under cProfile (then
    rolled back, so that the timed requests find the same work)."""
    import cProfile
    import pstats

    from assessments.auth.tokens import ALL_SCOPES
    from assessments.deps import Account, Principal
    from assessments.grading import regrade

    for dry_run in (True, False):
        with database.sessions() as session:
            user = session.get(User, admin_id)
            principal = Principal(Account.of(user), ALL_SCOPES, "access")
            profiler = cProfile.Profile()
            profiler.enable()
            regrade.regrade(session, principal, quiz_id, dry_run=dry_run, now=datetime.now(UTC))
            profiler.disable()
            session.rollback()
        print(f"--- {'dry run' if dry_run else 'commit'} ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def watch_write_transactions() -> list[float]:
    """Each write transaction of a commit, from its first statement to its commit (seconds): how
    long a batch holds SQLite's write lock (the app runs in this process)."""
    from assessments.grading import regrade

    held: list[float] = []
    write, written = regrade._write, regrade.written

    def timed_write(*args: Any, **kwargs: Any) -> Any:
        held.append(time.perf_counter())
        return write(*args, **kwargs)

    def timed_written(session: Any) -> None:
        written(session)
        held[-1] = time.perf_counter() - held[-1]

    regrade._write, regrade.written = timed_write, timed_written
    return held


def timed(client: TestClient, url: str, headers: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    """Seconds the request took, and this process's CPU seconds meanwhile (the app runs in it: on a
    shared machine the CPU time says what the regrade costs, whatever else the cores were doing)."""
    began, cpu = time.perf_counter(), time.process_time()
    reply = client.post(url, headers=headers)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    assert reply.status_code == 200, reply.text[:500]
    body: dict[str, Any] = reply.json()
    return seconds, cpu, body


def print_figures(key: str, backend: str, students: int, sizes: tuple[int, int, int, float],
                  dry_run: tuple[float, float, dict[str, Any]], commit: tuple[float, float, dict[str, Any]],
                  held: list[float]) -> None:
    attempts, questions, steps, built = sizes
    dry_seconds, dry_cpu, dry = dry_run
    commit_seconds, commit_cpu, committed = commit
    changed = sum(1 for s in committed["students"] for a in s["attempts"] if a["old_marks"] != a["new_marks"])
    load = os.getloadavg()
    held_ms = sorted(1000 * h for h in held)
    print(f"regrade of one quiz after one item's key changed ({key}): {backend}")
    print(f"  data: {students} students, {attempts} attempts, {questions} question attempts "
          f"(after the commit), {steps} steps; built in {built:.1f} s")
    print(f"  dry run: {dry_seconds:.2f} s, {dry_cpu:.2f} s of CPU ({dry['questions']} question attempts to replay)")
    print(f"  commit:  {commit_seconds:.2f} s, {commit_cpu:.2f} s of CPU ({committed['questions']} replaced; "
          f"{changed} attempts' marks changed)")
    print(f"  write transactions: {len(held_ms)}, median {held_ms[len(held_ms) // 2]:.0f} ms, "
          f"longest {held_ms[-1]:.0f} ms")
    print(f"  machine: {machine()}")
    print(f"  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--postgresql", metavar="URL", help="run on PostgreSQL (a scratch database made there)")
    parser.add_argument("--profile", action="store_true", help="where the time goes (cProfile)")
    args = parser.parse_args()
    cleanups: list[Any] = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.postgresql:
            (url,), version, cleanups = scratch_postgresql(args.postgresql, ["assay_regrade"])
            backend = f"PostgreSQL {version}"
        else:
            import sqlite3

            url = f"sqlite:///{Path(scratch) / 'regrade.sqlite3'}"
            backend = f"SQLite {sqlite3.sqlite_version} (WAL)"
        try:
            began = time.perf_counter()
            quiz_id, usernames, _ = set_up(url, args.students)
            database = Database(url)
            with database.sessions() as session:
                students = list(session.scalars(select(User.id).where(User.username.in_(usernames))
                                                .order_by(User.id)))
                instructor_id = session.scalars(select(User.id).where(User.username == INSTRUCTOR)).one()
            steps = build(database, quiz_id, students, instructor_id)
            admin_id = _admin(database, "load")
            settle(database)
            built = time.perf_counter() - began
            app = create_app(Settings(data_dir=Path(scratch), secret_key=SECRET), database)
            token = issue_access_token(admin_id, SECRET, datetime.now(UTC), 600)[0]
            headers = {"authorization": f"Bearer {token}"}
            with TestClient(app) as client:
                quiz = client.get(f"/api/v1/quizzes/{quiz_id}", headers=headers).json()
                keys = [item for section in quiz["sections"] for item in section.get("items", [])]
                key = fix_a_key(client, headers, quiz_id, keys)
                if args.profile:
                    profile(database, admin_id, quiz_id)
                dry_seconds, dry_cpu, dry = timed(client, f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=true", headers)
                held = watch_write_transactions()
                commit_seconds, commit_cpu, committed = timed(
                    client, f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=false", headers)
            with database.sessions() as session:
                attempts = session.scalar(select(func.count()).select_from(Attempt)) or 0
                questions = session.scalar(select(func.count()).select_from(QuestionAttempt)) or 0
            database.dispose()
        finally:
            for cleanup in reversed(cleanups):
                cleanup()
    print_figures(key, backend, args.students, (attempts, questions, steps, built), (dry_seconds, dry_cpu, dry),
                  (commit_seconds, commit_cpu, committed), held)

if __name__ == "__main__":
    main()
