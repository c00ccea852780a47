"""End of term: a database as a course has it after a term, served by `assay serve`, and what its users wait for.

Run from the repository root:

    python bench/term.py                          # SQLite, 2,000 students (a minute or two to build)
    python bench/term.py --students 500           # the smaller size, to see growth
    python bench/term.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The database: one course, S students and an instructor, 10 published quizzes of the same 16
items (every question type; ``bench/loadkit.py``), and one finished attempt per student per quiz
(10 S attempts, 160 S question attempts, 480 S steps: start, save, finish). The first
``--templates`` students of each quiz take it through the service itself (start, a plausible
answer to every question, submit); every other student's attempt is a copy of one of those, made
by SQL: the same variants (seeds), answers, marks and times, under the student's own user and ids.
Each copied row is one the service could have written (a seed is drawn at random, and two students
may draw the same).

Then Assay is served by ``assay serve`` (a subprocess) and each page or API call an instructor or a
student waits for is asked ``--repeat`` times, one at a time: the median and the slowest are
printed, with the machine and its load average (it may be shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and bench/engine.py would shadow the
# engine package: look packages up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx2 as httpx  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.load import machine  # noqa: E402
from bench.loadkit import (  # noqa: E402
    INSTRUCTOR,
    PASSWORD,
    QUESTIONS,
    SERVE_HOST,
    Databases,
    free_port,
    plausible,
    run_in_scratch,
    serve_command,
    serving,
    set_up,
)

QUIZZES = 10
CHUNK = 5000
"""Rows per INSERT statement while copying."""


# --- building the term ---------------------------------------------------------------------------


def add_quizzes(url: str, first_quiz: int, count: int) -> list[int]:
    """``count - 1`` more published quizzes of the first quiz's items, in its course."""
    from assessments.db import Database
    from assessments.models import Quiz
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz

    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            quiz = session.get(Quiz, first_quiz)
            assert quiz is not None
            now = datetime.now(UTC)
            ids = [first_quiz]
            for n in range(2, count + 1):
                made = add_quiz(session, quiz.course_id, QuizCreate(
                    title=f"Week {n}", settings=QuizSettings(attempts_allowed=1),
                    sections=[Section(**s) for s in quiz.sections]), created_by_id=None, now=now)
                ids.append(made.id)
            return ids
    finally:
        database.dispose()


def take(url: str, quiz_ids: list[int], usernames: list[str]) -> None:
    """Each student takes each quiz through the service: start, answer every question, submit."""
    from assessments.attempts import service
    from assessments.attempts.schemas import SaveRequest
    from assessments.bank.service import rendered_question
    from assessments.db import Database
    from assessments.deps import ALL_SCOPES, Principal
    from assessments.models import User

    database = Database(url)
    try:
        for username in usernames:
            rng = random.Random(username)
            with database.sessions() as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                principal = Principal(user, ALL_SCOPES, "access")
                for quiz_id in quiz_ids:
                    now = datetime.now(UTC)
                    started = service.start(session, principal, quiz_id, now)
                    assert started.questions is not None
                    for asked, qa in started.questions:
                        response = plausible(rendered_question(qa.variant), rng)
                        service.save(session, principal, started.attempt.id, asked.slot,
                                     SaveRequest(response=response, seq=qa.last_step.seq), now, 30)
                    service.submit(session, principal, started.attempt.id, now)
                    session.commit()
    finally:
        database.dispose()


def copy_attempts(url: str, quiz_ids: list[int], templates: list[str], others: list[str]) -> int:  # noqa: C901
    """Every student in ``others`` gets, for each quiz, a copy of a template student's attempt
    (round robin): the attempt, its question attempts and their steps, with new ids and the
    student's own user (and steps' actor). Returns the rows written."""
    from sqlalchemy import create_engine

    from assessments.models import Attempt, QuestionAttempt, Step, User

    engine = create_engine(url)
    written = 0
    try:
        with engine.begin() as connection:
            ids = dict(connection.execute(select(User.username, User.id)).all())
            template_ids = {ids[name] for name in templates}
            attempts = [dict(r._mapping) for r in connection.execute(
                select(Attempt.__table__).where(Attempt.user_id.in_(template_ids), Attempt.quiz_id.in_(quiz_ids))
                .order_by(Attempt.id))]
            questions = [dict(r._mapping) for r in connection.execute(
                select(QuestionAttempt.__table__).where(QuestionAttempt.attempt_id.in_([a["id"] for a in attempts]))
                .order_by(QuestionAttempt.id))]
            steps = [dict(r._mapping) for r in connection.execute(
                select(Step.__table__).where(Step.question_attempt_id.in_([q["id"] for q in questions]))
                .order_by(Step.id))]
            by_attempt: dict[int, list[dict[str, Any]]] = {}
            for q in questions:
                by_attempt.setdefault(q["attempt_id"], []).append(q)
            by_question: dict[int, list[dict[str, Any]]] = {}
            for s in steps:
                by_question.setdefault(s["question_attempt_id"], []).append(s)
            per_quiz: dict[int, list[dict[str, Any]]] = {}
            for a in attempts:
                per_quiz.setdefault(a["quiz_id"], []).append(a)
            next_id = {table: (connection.scalar(select(func.max(column))) or 0) + 1
                       for table, column in (("a", Attempt.id), ("q", QuestionAttempt.id), ("s", Step.id))}
            rows: dict[str, list[dict[str, Any]]] = {"a": [], "q": [], "s": []}

            def flush(final: bool = False) -> None:
                nonlocal written
                for key, table in (("a", Attempt.__table__), ("q", QuestionAttempt.__table__), ("s", Step.__table__)):
                    if rows[key] and (final or len(rows["s"]) >= CHUNK):
                        connection.execute(insert(table), rows[key])
                        written += len(rows[key])
                        rows[key] = []

            for k, username in enumerate(others):
                user_id = ids[username]
                for quiz_id in quiz_ids:
                    template = per_quiz[quiz_id][k % len(per_quiz[quiz_id])]
                    attempt_id = next_id["a"]
                    next_id["a"] += 1
                    rows["a"].append({**template, "id": attempt_id, "user_id": user_id})
                    for q in by_attempt[template["id"]]:
                        qa_id = next_id["q"]
                        next_id["q"] += 1
                        rows["q"].append({**q, "id": qa_id, "attempt_id": attempt_id})
                        for s in by_question[q["id"]]:
                            rows["s"].append({**s, "id": next_id["s"], "question_attempt_id": qa_id,
                                              "actor_id": user_id if s["actor_id"] is not None else None})
                            next_id["s"] += 1
                flush()
            flush(final=True)
            if connection.dialect.name == "postgresql":
                for table in ("attempts", "question_attempts", "question_attempt_steps"):
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
                                            f"(SELECT max(id) FROM {table}))"))
    finally:
        engine.dispose()
    return written


def counts(url: str) -> str:
    from sqlalchemy import create_engine

    from assessments.models import Attempt, QuestionAttempt, Step

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = [connection.scalar(select(func.count()).select_from(t)) for t in (Attempt, QuestionAttempt, Step)]
    finally:
        engine.dispose()
    return f"{found[0]:,} attempts, {found[1]:,} question attempts, {found[2]:,} steps"


# --- what users wait for ------------------------------------------------------------------------


def sign_in_page(client: httpx.Client, username: str) -> None:
    """A browser's sign-in: the login form's CSRF token, then the form."""
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    reply = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    if reply.is_error:
        raise SystemExit(f"could not sign {username} in: {reply.status_code}")


def timed(client: httpx.Client, path: str, repeat: int, **options: Any) -> tuple[float, float, int, int]:
    """(median, slowest) seconds of ``repeat`` GETs of ``path``, the last reply's status and size."""
    times = []
    status = size = 0
    for _ in range(repeat):
        began = time.perf_counter()
        reply = client.get(path, **options)
        times.append(time.perf_counter() - began)
        status, size = reply.status_code, len(reply.content)
    return statistics.median(times), max(times), status, size


def measure(base_url: str, url: str, quiz_ids: list[int], student: str, repeat: int,
            with_statistics: bool) -> list[str]:
    from sqlalchemy import create_engine

    from assessments.models import Attempt, Course, User

    engine = create_engine(url)
    with engine.connect() as connection:
        course = connection.scalar(select(Course.slug))
        attempt = connection.scalar(select(Attempt.id).join(User, User.id == Attempt.user_id)
                                    .where(User.username == student, Attempt.quiz_id == quiz_ids[0]))
    engine.dispose()
    quiz = quiz_ids[0]
    lines = []
    with httpx.Client(base_url=base_url, timeout=300.0) as staff, httpx.Client(base_url=base_url, timeout=300) as mine:
        token = staff.post("/api/v1/auth/token", json={"username": INSTRUCTOR, "password": PASSWORD}).json()
        api = {"authorization": f"Bearer {token['access_token']}"}
        sign_in_page(staff, INSTRUCTOR)
        sign_in_page(mine, student)
        asks: list[tuple[str, httpx.Client, str, dict[str, Any]]] = [
            ("results page (instructor)", staff, f"/quizzes/{quiz}/manage", {}),
            ("results API (JSON)", staff, f"/api/v1/quizzes/{quiz}/grades",
             {"headers": api, "params": {"format": "json"}}),
            ("grades CSV", staff, f"/api/v1/quizzes/{quiz}/grades", {"headers": api, "params": {"format": "csv"}}),
            ("course gradebook (API)", staff, f"/api/v1/courses/{course}/gradebook", {"headers": api}),
            ("dashboard (instructor)", staff, "/", {}),
            ("dashboard (student)", mine, "/", {}),
            ("quiz page (student)", mine, f"/quizzes/{quiz}", {}),
            ("review of an attempt (student)", mine, f"/attempts/{attempt}/review", {}),
        ]
        if with_statistics:
            asks.append(("quiz statistics (API)", staff, f"/api/v1/quizzes/{quiz}/statistics", {"headers": api}))
        for name, client, path, options in asks:
            median, slowest, status, size = timed(client, path, repeat, **options)
            lines.append(f"  {name:<32} median {median * 1000:8.1f} ms, slowest {slowest * 1000:8.1f} ms "
                         f"(HTTP {status}, {size:,} bytes)")
    return lines


# --- the run -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000, help="students (default 2000)")
    parser.add_argument("--quizzes", type=int, default=QUIZZES, help=f"quizzes (default {QUIZZES})")
    parser.add_argument("--templates", type=int, default=8,
                        help="students per quiz who take it through the service; the rest are copies (default 8)")
    parser.add_argument("--repeat", type=int, default=5, help="times each page or call is asked (default 5)")
    parser.add_argument("--statistics", action="store_true", help="also time the quiz statistics (slow today)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="a PostgreSQL URL to create (and drop) the database through")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server log, SQLite file)")
    args = parser.parse_args()
    if not 1 <= args.templates <= args.students <= 100_000 or not 1 <= args.quizzes <= 50:
        parser.error("--templates must be 1..students, --students at most 100000, --quizzes 1..50")

    return run_in_scratch("assay-term-", args.postgresql, args.keep,
                          lambda databases, workdir: run(args, databases, workdir))


def step(name: str, work: Callable[[], Any]) -> Any:
    began = time.perf_counter()
    result = work()
    print(f"  {name}: {time.perf_counter() - began:.1f} s", flush=True)
    return result


def run(args: argparse.Namespace, databases: Databases, workdir: Path) -> int:
    print(f"machine: {machine()}; load average before {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"database: {databases.version}; `assay serve --workers 1` on {SERVE_HOST}")
    url = databases.assay_url
    print(f"building the term: {args.students} students, {args.quizzes} quizzes of {QUESTIONS} questions")
    first, usernames, _ = step("course, items, students, first quiz", lambda: set_up(url, args.students))
    quiz_ids = step("the other quizzes", lambda: add_quizzes(url, first, args.quizzes))
    templates, others = usernames[: args.templates], usernames[args.templates:]
    step(f"{len(templates)} students take every quiz through the service", lambda: take(url, quiz_ids, templates))
    rows = step("the others' attempts copied by SQL", lambda: copy_attempts(url, quiz_ids, templates, others))
    print(f"  {rows:,} rows copied; the database holds {counts(url)}")
    env = {"ASSAY_DATABASE_URL": url, "ASSAY_DATA_DIR": str(workdir / "data"),
           "ASSAY_SECRET_KEY": secrets.token_urlsafe(48)}
    port = free_port()
    with serving("assay", serve_command(port), env, workdir / "assay.log", port) as server:
        time.sleep(2.0)  # the in-process worker's first jobs (publishing queued them) run now, not during timing
        print(f"what users wait for ({args.repeat} asks each, one at a time):")
        lines = measure(server.base_url, url, quiz_ids, others[0] if others else templates[0], args.repeat,
                        args.statistics)
        print("\n".join(lines), flush=True)
        load = os.getloadavg()
    print(f"load average after {' '.join(f'{x:.1f}' for x in load)} (1, 5, 15 min; other processes share the cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
