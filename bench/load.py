"""Load benchmark: simulated students take a 16-question quiz against a real Assay server.

Run from the repository root:

    python bench/load.py                       # SQLite (a fresh file in a temporary folder)
    python bench/load.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres

What it does, in one run, bounded in time and cleaning up after itself:

1. makes a fresh database (a temporary SQLite file; or, with ``--postgresql URL``, a database
   ``assay_load_<random>`` created through URL and dropped at the end), applies the migrations,
   loads 16 fixed items from ``content/`` (every question type), a course, S students (written
   straight into the database with one precomputed argon2 hash) and a quiz of the 16 items;
2. serves Assay as ``assay serve`` does (the real command, uvicorn, one worker by default) in a
   subprocess on a free 127.0.0.1 port, and drives S students through it with an async HTTP
   client, at most C students (so C requests) in flight: sign in, start, save each of the 16
   answers (a plausible valid response per question type, from the question's render data),
   submit, review. Then it checks that every acknowledged save is in ``question_attempt_steps``;
3. serves the bare reference app (``bench/load_bare.py``: FastAPI, one POST that inserts one row
   through SQLAlchemy, Assay's own engine settings) on a fresh database of the same kind with the
   same uvicorn settings, and drives it with the same client, the same concurrency and the same
   number of requests per student;
4. prints requests/s, p50/p99 latency (and per request kind), errors (any non-2xx, or no reply),
   lost responses, and the ratio of Assay's requests/s to the bare app's.

Figures (issue 4): with SQLite, 2,000 students, zero errors, zero lost responses, ratio >= 0.6.
``--profile DIR`` records the Assay server with py-spy (if installed) into DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and bench/engine.py would shadow the
# engine package: look packages up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx2 as httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

ROOT = _HERE.parent
CONTENT = ROOT / "content"
PASSWORD = "load-bench-password"  # noqa: S105 - the simulated students' password, in a throwaway database
QUESTIONS = 16
QUOTAS = {"numeric": 3, "single_choice": 3, "multiple_response": 3, "true_false": 1, "ordering": 2,
          "matching": 2, "short_text": 1, "essay": 1}
"""How many of the 16 fixed items are of each type (every type the engine has)."""
SERVE_HOST = "127.0.0.1"


# --- the machine and the databases ----------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


@dataclass
class Databases:
    """The fresh databases of one run (Assay's and the bare app's) and how to remove them."""

    kind: str
    assay_url: str
    bare_url: str
    version: str
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def cleanup(self) -> None:
        for step in reversed(self.cleanups):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - cleaning up must try every step
                print(f"cleanup: {exc}", file=sys.stderr)


def sqlite_databases(workdir: Path) -> Databases:
    return Databases("sqlite", f"sqlite:///{workdir / 'assay.sqlite3'}", f"sqlite:///{workdir / 'bare.sqlite3'}",
                     f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")


def postgresql_databases(url: str) -> Databases:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    token = secrets.token_hex(4)
    names = [f"assay_load_{token}", f"assay_load_bare_{token}"]
    with admin.connect() as connection:
        version = connection.scalar(text("SHOW server_version"))
    databases = Databases("postgresql", "", "", f"PostgreSQL {version}")

    def drop(name: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    for name in names:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        databases.cleanups.append(lambda name=name: drop(name))  # type: ignore[misc]
    databases.cleanups.insert(0, admin.dispose)
    assay, bare = (parsed.set(database=n).render_as_string(hide_password=False) for n in names)
    databases.assay_url, databases.bare_url = assay, bare
    return databases


# --- the quiz and the students, straight into the database -----------------------------------


def pick_items() -> list[Any]:
    """16 items from content/, by type (QUOTAS), in file order; files that do not load are skipped."""
    from engine.content.loader import item_files, load_items

    chosen: list[Any] = []
    left = dict(QUOTAS)
    for path in item_files(CONTENT):
        loaded, problems = load_items([path], base=CONTENT)
        if problems or not loaded:
            continue
        entry = loaded[0]
        if left.get(entry.item.type_name, 0) > 0:
            left[entry.item.type_name] -= 1
            chosen.append(entry)
    if len(chosen) != QUESTIONS:
        missing = {k: v for k, v in left.items() if v}
        raise SystemExit(f"content/ lacks loadable items for the quiz: still needed {missing}")
    return chosen


def set_up(url: str, students: int) -> tuple[int, list[str], dict[str, int]]:
    """Migrate, load the items, make the course, students and quiz; returns (quiz id, usernames, types)."""
    from assessments.auth.passwords import hash_password
    from assessments.bank.service import save_definition
    from assessments.db import Database
    from assessments.migrations import upgrade
    from assessments.models import Course, CourseRole, Enrolment, Quiz, Role, User
    from assessments.quizzes.schemas import QuizSettings, Section

    upgrade(url)
    entries = pick_items()
    now = datetime.now(UTC)
    password_hash = hash_password(PASSWORD)  # once: argon2 is slow by design
    usernames = [f"student{n:05d}" for n in range(students)]
    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            for entry in entries:
                save_definition(session, entry.source.data, source=entry.source.file, actor_id=None, now=now,
                                item=entry.item)
            course = Course(slug="load", title="Load benchmark")
            session.add(course)
            session.flush()
            quiz = Quiz(course_id=course.id, title="Sixteen questions",
                        settings=QuizSettings(attempts_allowed=1).model_dump(mode="json"),
                        sections=[Section(items=[e.item.id for e in entries]).model_dump(
                            mode="json", exclude_defaults=True)],
                        created_at=now, updated_at=now)
            users = [User(username=u, display_name=u, role=Role.STUDENT, password_hash=password_hash)
                     for u in usernames]
            session.add_all([quiz, *users])
            session.flush()
            session.add_all([Enrolment(course_id=course.id, user_id=u.id, role=CourseRole.STUDENT) for u in users])
            quiz_id = quiz.id
    finally:
        database.dispose()
    return quiz_id, usernames, dict(Counter(e.item.type_name for e in entries))


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((SERVE_HOST, 0))
        return int(probe.getsockname()[1])


ASSAY_SERVE = "import sys; from assessments.cli import app; app(sys.argv[1:], prog_name='assay')"
BARE_SERVE = ("import sys, uvicorn; uvicorn.run('bench.load_bare:create_app', factory=True, host=sys.argv[1], "
              "port=int(sys.argv[2]), workers=int(sys.argv[3]), log_level='info')")
"""The bare app is served as ``assay serve`` serves Assay (assessments/cli.py): uvicorn.run with a
factory, the same host, port, workers and log level (uvicorn's defaults for the rest)."""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)  # uvicorn shuts down gracefully
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@contextlib.contextmanager
def serving(name: str, argv: list[str], env: dict[str, str], log: Path, port: int,
            start_timeout: float = 120.0) -> Iterator[Server]:
    """A server subprocess (its own process group); yields once /healthz answers; always stopped."""
    full_env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own argv
            argv, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    server = Server(name, process, f"http://{SERVE_HOST}:{port}", log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode} before serving:\n{server.tail()}")
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not answer within {start_timeout:.0f} s:\n{server.tail()}")
            time.sleep(0.2)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def profiling(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy on the server (all threads) while the block runs, when asked for and installed."""
    spy = shutil.which("py-spy")
    if out is None:
        yield
        return
    if spy is None:
        print("--profile: py-spy is not installed (pip install py-spy); running without it", file=sys.stderr)
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    folded = out / "assay.folded"
    recorder = subprocess.Popen(  # noqa: S603 - our own argv
        [spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "100", "--format", "raw",
         "--output", str(folded), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        try:
            recorder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        print(f"profile: {folded} (collapsed stacks, for flame graph tools)")
        print("\n".join(profile_summary(folded)))


def profile_summary(folded: Path, top: int = 25) -> list[str]:
    """The functions the server spent its samples in (inclusive), from py-spy's collapsed stacks."""
    if not folded.exists():
        return ["profile: py-spy wrote nothing"]
    inclusive: Counter[str] = Counter()
    total = 0
    for line in folded.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    lines = [f"profile: {total} samples (all threads); functions by share of samples, inclusive:"]
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return lines


# --- the client ------------------------------------------------------------------------------


@dataclass
class Run:
    """What one drive measured."""

    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    invalid: int = 0
    students_done: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    acknowledged: list[tuple[Any, ...]] = field(default_factory=list)
    """Assay: (attempt id, slot, seq, response) of every acknowledged save; bare: (row id,)."""

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    async def call(self, client: httpx.AsyncClient, kind: str, method: str, url: str,
                   **options: Any) -> httpx.Response | None:
        """One request; None (and an error counted) for no reply or a non-2xx reply."""
        began = time.perf_counter()
        try:
            reply = await client.request(method, url, **options)
        except httpx.HTTPError as exc:
            self.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None
        self.latencies[kind].append(time.perf_counter() - began)
        if not reply.is_success:
            detail = reply.text[:120].replace("\n", " ")
            self.errors[f"{kind}: {reply.status_code} {detail}"] += 1
            return None
        return reply


ESSAY_WORDS = ["the", "reward", "model", "drifts", "because", "KL", "penalty", "is", "too", "weak"]
SHORT_ANSWERS = ["the reward model", "Bradley-Terry", "teacher forcing", "PPO"]


def _essay(question: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    low, high = question.get("min_words") or 1, question.get("max_words") or 200
    return {"text": " ".join(rng.choice(ESSAY_WORDS) for _ in range(min(high, max(low, 60))))}


def _ids(question: dict[str, Any], group: str = "options") -> list[Any]:
    return [entry["id"] for entry in question.get(group, [])]


RESPONSES: dict[str, Callable[[dict[str, Any], random.Random], dict[str, Any]]] = {
    "single_choice": lambda q, rng: {"choice": rng.choice(_ids(q))},
    "multiple_response": lambda q, rng: {"choices": sorted(rng.sample(_ids(q), rng.randint(1, len(_ids(q)))))},
    "true_false": lambda _q, rng: {"answer": rng.choice([True, False])},
    "numeric": lambda _q, rng: {"answer": f"{rng.uniform(-3, 3):.3g}"},
    "ordering": lambda q, rng: {"order": rng.sample(_ids(q), len(_ids(q)))},
    "matching": lambda q, rng: {"matches": [rng.choice(_ids(q, "answers")) for _ in q["prompts"]]},
    "short_text": lambda _q, rng: {"answer": rng.choice(SHORT_ANSWERS)},
    "essay": _essay,
}
"""A valid response to a question of each type from its render data (right or wrong at random)."""


def plausible(question: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return RESPONSES[question["type"]](question, rng)


async def assay_student(run: Run, client: httpx.AsyncClient, quiz_id: int, username: str) -> None:
    rng = random.Random(username)
    reply = await run.call(client, "sign in", "POST", "/api/v1/auth/token",
                           json={"username": username, "password": PASSWORD})
    if reply is None:
        return
    headers = {"authorization": f"Bearer {reply.json()['access_token']}"}
    reply = await run.call(client, "start", "POST", f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    if reply is None:
        return
    attempt = reply.json()
    attempt_id = attempt["id"]
    for question in attempt["questions"]:
        response = plausible(question["question"], rng)
        reply = await run.call(client, "save", "PUT", f"/api/v1/attempts/{attempt_id}/responses/{question['slot']}",
                               headers=headers, json={"response": response, "seq": question["seq"]})
        if reply is not None:
            saved = reply.json()
            run.acknowledged.append((attempt_id, question["slot"], saved["seq"], response))
            if saved["state"] == "invalid":
                run.invalid += 1
    if await run.call(client, "submit", "POST", f"/api/v1/attempts/{attempt_id}/submit", headers=headers) is None:
        return
    if await run.call(client, "review", "GET", f"/api/v1/attempts/{attempt_id}", headers=headers) is None:
        return
    run.students_done += 1


async def bare_student(run: Run, client: httpx.AsyncClient, student: int, requests: int) -> None:
    for n in range(requests):
        reply = await run.call(client, "insert", "POST", "/rows",
                               json={"student": student, "n": n, "payload": {"answer": f"{student}.{n}"}})
        if reply is not None:
            run.acknowledged.append((reply.json()["id"],))
    run.students_done += 1


async def drive(run: Run, base_url: str, jobs: Iterable[Any], concurrency: int, time_limit: float,
                student: Callable[[httpx.AsyncClient, Any], Awaitable[None]]) -> Run:
    """At most ``concurrency`` students at once, each one request at a time, until done or time_limit."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0) as client:
        queue = iter(jobs)

        async def worker() -> None:
            for job in queue:
                await student(client, job)

        began = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), time_limit)
        except TimeoutError:
            run.timed_out = True
        run.seconds = time.perf_counter() - began
    return run


# --- after the run ---------------------------------------------------------------------------


def lost_saves(url: str, acknowledged: list[tuple[Any, ...]]) -> int:
    """Acknowledged saves whose response is not at their seq in question_attempt_steps."""
    from assessments.models import QuestionAttempt, Step

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            stored = {(a, slot, seq): response for a, slot, seq, response in connection.execute(
                select(QuestionAttempt.attempt_id, QuestionAttempt.slot, Step.seq, Step.response)
                .join(Step, Step.question_attempt_id == QuestionAttempt.id).where(Step.action == "save"))}
    finally:
        engine.dispose()
    return sum(1 for a, slot, seq, response in acknowledged if stored.get((a, slot, seq)) != response)


def lost_rows(url: str, acknowledged: list[tuple[Any, ...]]) -> int:
    from bench.load_bare import Row

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            ids = set(connection.scalars(select(Row.id)))
            assert connection.scalar(select(func.count()).select_from(Row)) == len(ids)
    finally:
        engine.dispose()
    return sum(1 for (row_id,) in acknowledged if row_id not in ids)


def server_errors(log: Path, top: int = 5) -> list[str]:
    """The exceptions the server logged, most frequent first (their last line of traceback)."""
    found: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            name = line.split(":", 1)[0]
            if name and " " not in name and name.endswith(("Error", "Exception", "Timeout")):
                found[line[:160]] += 1
    return [f"    server logged x{n}: {what}" for what, n in found.most_common(top)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(run: Run, lost: int, saves_label: str) -> list[str]:
    every = [v for values in run.latencies.values() for v in values]
    rate = run.requests / run.seconds if run.seconds else 0.0
    lines = [
        f"{run.name}: {run.requests} requests in {run.seconds:.1f} s = {rate:,.0f} requests/s; "
        f"latency p50 {percentile(every, 0.5) * 1000:.1f} ms, p99 {percentile(every, 0.99) * 1000:.1f} ms; "
        f"errors {run.error_count}; lost responses {lost} of {len(run.acknowledged)} {saves_label}"
        + ("; STOPPED AT THE TIME LIMIT" if run.timed_out else ""),
    ]
    if len(run.latencies) > 1:
        for kind, values in run.latencies.items():
            mean = sum(values) / len(values)
            lines.append(f"    {kind:<8} {len(values):>6} requests, p50 {percentile(values, 0.5) * 1000:7.1f} ms, "
                         f"p99 {percentile(values, 0.99) * 1000:7.1f} ms, mean {mean * 1000:7.1f} ms")
    lines.extend(f"    error x{count}: {what}" for what, count in run.errors.most_common(8))
    if run.invalid:
        lines.append(f"    {run.invalid} saves were stored as invalid responses (the bench's answers should be valid)")
    return lines


# --- the run -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000, help="simulated students (default 2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="students (= requests) in flight (default 64)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server (default 1)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="a PostgreSQL URL to create (and afterwards drop) the run's databases through")
    parser.add_argument("--time-limit", type=float, default=900.0,
                        help="seconds each drive may take before it is stopped (default 900)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="record the Assay server with py-spy into DIR")
    parser.add_argument("--skip-bare", action="store_true", help="drive only Assay (no ratio)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs, SQLite files)")
    args = parser.parse_args()
    if not 1 <= args.students <= 100_000 or not 1 <= args.concurrency <= 1000:
        parser.error("--students must be 1..100000 and --concurrency 1..1000")

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)  # killed: still stop the servers and drop the databases
    workdir = Path(tempfile.mkdtemp(prefix="assay-load-"))
    databases = postgresql_databases(args.postgresql) if args.postgresql else sqlite_databases(workdir)
    if args.keep:
        print(f"work folder (kept): {workdir}")
    else:
        databases.cleanups.insert(0, lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        return run_all(args, databases, workdir)
    finally:
        databases.cleanup()


def run_all(args: argparse.Namespace, databases: Databases, workdir: Path) -> int:
    print(f"machine: {machine()}; load average before the run {os.getloadavg()[0]:.1f}")
    print(f"database: {databases.version}; server: uvicorn as `assay serve` runs it, {args.workers} worker(s), "
          f"on {SERVE_HOST}; client: httpx2.AsyncClient, {args.concurrency} in flight")
    began = time.perf_counter()
    quiz_id, usernames, types = set_up(databases.assay_url, args.students)
    per_student = QUESTIONS + 4
    print(f"set up in {time.perf_counter() - began:.1f} s: {args.students} students, a quiz of {QUESTIONS} items "
          f"({', '.join(f'{n} {t}' for t, n in sorted(types.items()))}); {per_student} requests per student "
          "(sign in, start, 16 saves, submit, review)")
    env = {"ASSAY_DATABASE_URL": databases.assay_url, "ASSAY_DATA_DIR": str(workdir / "data"),
           "ASSAY_SECRET_KEY": secrets.token_urlsafe(48)}

    port = free_port()
    argv = [sys.executable, "-c", ASSAY_SERVE, "serve", "--host", SERVE_HOST, "--port", str(port),
            "--workers", str(args.workers)]
    with serving("assay", argv, env, workdir / "assay.log", port) as server, \
            profiling(server.process.pid, args.profile):
        assay = Run("Assay")
        asyncio.run(drive(assay, server.base_url, usernames, args.concurrency, args.time_limit,
                          lambda client, username: assay_student(assay, client, quiz_id, username)))
        # checked while the server still runs: an acknowledged save must already be committed
        assay_lost = lost_saves(databases.assay_url, assay.acknowledged)
    lines = summary(assay, assay_lost, "acknowledged saves")
    lines.insert(1, f"    {assay.students_done} of {args.students} students finished")
    lines += server_errors(workdir / "assay.log") if assay.error_count else []
    print("\n" + "\n".join(lines), flush=True)
    lines = []

    bare: Run | None = None
    if not args.skip_bare:
        from bench.load_bare import create_table

        create_table(databases.bare_url)
        port = free_port()
        argv = [sys.executable, "-c", BARE_SERVE, SERVE_HOST, str(port), str(args.workers)]
        with serving("bare", argv, {**env, "ASSAY_DATABASE_URL": databases.bare_url}, workdir / "bare.log",
                     port) as server:
            bare = Run("bare")
            asyncio.run(drive(bare, server.base_url, range(args.students), args.concurrency, args.time_limit,
                              lambda client, student: bare_student(bare, client, student, per_student)))
            bare_lost = lost_rows(databases.bare_url, bare.acknowledged)
        lines += summary(bare, bare_lost, "acknowledged inserts")

    print("\n".join(lines))
    print(f"load average after the run {os.getloadavg()[0]:.1f} (other processes on this machine share its cores)")
    ok = assay.error_count == 0 and assay_lost == 0 and not assay.timed_out
    if bare is not None and bare.seconds and assay.seconds:
        ratio = (assay.requests / assay.seconds) / (bare.requests / bare.seconds)
        print(f"ratio of Assay's requests/s to the bare endpoint's: {ratio:.2f} (target >= 0.6)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
