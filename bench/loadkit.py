"""What the load benchmark and the crash-safety test share: a database with a quiz and students,
Assay served by the real ``assay serve`` in a subprocess, the simulated student, and the check
that every acknowledged save is stored.

``bench/load.py`` (the benchmark) and ``tests/assessments/test_crash_safety.py`` import it as
``bench.loadkit`` (``bench/`` is a namespace package under the repository root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
PASSWORD = "load-bench-password"  # noqa: S105 - the simulated students' password, in a throwaway database
INSTRUCTOR = "instructor"
"""The course's one instructor (same password): reads statistics while students work."""
QUESTIONS = 16
QUOTAS = {"numeric": 3, "single_choice": 3, "multiple_response": 3, "true_false": 1, "ordering": 2,
          "matching": 2, "short_text": 1, "essay": 1}
"""How many of the 16 fixed items are of each type (every type the engine has)."""
SERVE_HOST = "127.0.0.1"


# --- databases ---------------------------------------------------------------------------------


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
    import sqlite3

    return Databases("sqlite", f"sqlite:///{workdir / 'assay.sqlite3'}", f"sqlite:///{workdir / 'bare.sqlite3'}",
                     f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")


def scratch_postgresql(url: str, prefixes: Sequence[str]) -> tuple[list[str], str, list[Callable[[], None]]]:
    """New databases ``<prefix>_<random>`` made through ``url``: (their URLs, the server's version,
    the steps that drop them, to run last to first)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    token = secrets.token_hex(4)
    names = [f"{prefix}_{token}" for prefix in prefixes]
    with admin.connect() as connection:
        version = str(connection.scalar(text("SHOW server_version")))
    cleanups: list[Callable[[], None]] = [admin.dispose]

    def drop(name: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    for name in names:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        cleanups.append(lambda name=name: drop(name))  # type: ignore[misc]
    return [parsed.set(database=n).render_as_string(hide_password=False) for n in names], version, cleanups


def postgresql_databases(url: str) -> Databases:
    (assay, bare), version, cleanups = scratch_postgresql(url, ["assay_load", "assay_load_bare"])
    return Databases("postgresql", assay, bare, f"PostgreSQL {version}", cleanups)


def run_in_scratch(prefix: str, postgresql: str | None, keep: bool,
                   run: Callable[[Databases, Path], int]) -> int:
    """``run(databases, workdir)`` with a fresh work folder and the run's database (an SQLite file
    in the folder, or a database made through the ``postgresql`` URL), both removed afterwards
    (the folder kept with ``keep``), also when the run is stopped with SIGTERM."""
    import shutil
    import tempfile

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    databases = postgresql_databases(postgresql) if postgresql else sqlite_databases(workdir)
    if keep:
        print(f"work folder (kept): {workdir}")
    else:
        databases.cleanups.insert(0, lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        return run(databases, workdir)
    finally:
        databases.cleanup()


# --- the quiz and the students, straight into the database -----------------------------------


def pick_items(quotas: dict[str, int] | None = None) -> list[Any]:
    """Fixed items from content/, by type (``quotas``, default QUOTAS), in file order; files that
    do not load are skipped."""
    from engine.content.loader import item_files, load_items

    left = dict(quotas or QUOTAS)
    wanted = sum(left.values())
    chosen: list[Any] = []
    for path in item_files(CONTENT):
        loaded, problems = load_items([path], base=CONTENT)
        if problems or not loaded:
            continue
        entry = loaded[0]
        if left.get(entry.item.type_name, 0) > 0:
            left[entry.item.type_name] -= 1
            chosen.append(entry)
    if len(chosen) != wanted:
        missing = {k: v for k, v in left.items() if v}
        raise SystemExit(f"content/ lacks loadable items for the quiz: still needed {missing}")
    return chosen


def set_up(url: str, students: int, *, quotas: dict[str, int] | None = None,
           quiz_settings: dict[str, Any] | None = None) -> tuple[int, list[str], dict[str, int]]:
    """Migrate, load the items, make the course (with S students and one instructor) and the quiz;
    returns (quiz id, student usernames, items per type). ``quiz_settings`` are QuizSettings fields
    (default: one attempt allowed)."""
    from assessments.auth.passwords import hash_password
    from assessments.bank.service import save_definition
    from assessments.db import Database
    from assessments.migrations import upgrade
    from assessments.models import Course, CourseRole, Enrolment, Role, User
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz

    upgrade(url)
    entries = pick_items(quotas)
    now = datetime.now(UTC)
    password_hash = hash_password(PASSWORD)  # once: argon2 is slow by design
    usernames = [f"student{n:05d}" for n in range(students)]
    settings = QuizSettings(**{"attempts_allowed": 1, **(quiz_settings or {})})
    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            for entry in entries:
                save_definition(session, entry.source.data, source=entry.source.file, actor_id=None, now=now,
                                item=entry.item)
            course = Course(slug="load", title="Load benchmark")
            session.add(course)
            session.flush()
            quiz = add_quiz(session, course.id, QuizCreate(
                title=f"{len(entries)} questions", settings=settings,
                sections=[Section(items=[e.item.id for e in entries])]), created_by_id=None, now=now)
            users = [User(username=u, display_name=u, role=Role.STUDENT, password_hash=password_hash)
                     for u in usernames]
            instructor = User(username=INSTRUCTOR, display_name="Instructor", role=Role.INSTRUCTOR,
                              password_hash=password_hash)
            session.add_all([quiz, *users, instructor])
            session.flush()
            session.add_all([Enrolment(course_id=course.id, user_id=u.id, role=CourseRole.STUDENT) for u in users])
            session.add(Enrolment(course_id=course.id, user_id=instructor.id, role=CourseRole.INSTRUCTOR))
            quiz_id = quiz.id
    finally:
        database.dispose()
    return quiz_id, usernames, dict(Counter(e.item.type_name for e in entries))


# --- servers ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user, system) of a process and all its threads, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def group_cpu_seconds(pgid: int) -> tuple[float, float]:
    """CPU time (user, system) of every process of a process group (a server and its workers)."""
    user = system = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            more = cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # a process gone meanwhile
        user, system = user + more[0], system + more[1]
    return user, system


def named_cpu_seconds(name: str) -> float:
    """CPU time (user + system) of every process of that command name now running (on this host:
    the local PostgreSQL server's, ``postgres``; a process that ended meanwhile is not counted)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                total += sum(cpu_seconds(int(comm.parent.name)))
        except (OSError, ValueError, IndexError):
            continue  # a process gone meanwhile
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((SERVE_HOST, 0))
        return int(probe.getsockname()[1])


ASSAY_SERVE = "import sys; from assessments.cli import app; app(sys.argv[1:], prog_name='assay')"
"""``python -c ASSAY_SERVE <arguments>`` runs the ``assay`` command (this Python, this checkout)."""


def assay_command(*arguments: str) -> list[str]:
    """The argv of ``assay <arguments>`` in a subprocess."""
    return [sys.executable, "-c", ASSAY_SERVE, *arguments]


def serve_command(port: int, workers: int = 1) -> list[str]:
    return assay_command("serve", "--host", SERVE_HOST, "--port", str(port), "--workers", str(workers))


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    """This environment plus ``env``, with the repository root on PYTHONPATH."""
    return {**os.environ, **env, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


@dataclass
class Server:
    """A subprocess in its own process group (a server or a worker) and its log."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def kill(self) -> None:
        """SIGKILL the whole process group (uvicorn's supervisor and its workers): a crash."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)  # uvicorn (and assay worker) stop gracefully
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def launch(name: str, argv: list[str], env: dict[str, str], log: Path, base_url: str = "") -> Server:
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own argv
            argv, cwd=ROOT, env=subprocess_env(env), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(name, process, base_url, log)


def wait_until_serving(server: Server, start_timeout: float = 120.0) -> None:
    deadline = time.monotonic() + start_timeout
    while True:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.process.returncode} before serving:\n"
                             f"{server.tail()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name} did not answer within {start_timeout:.0f} s:\n{server.tail()}")
        time.sleep(0.2)


@contextlib.contextmanager
def serving(name: str, argv: list[str], env: dict[str, str], log: Path, port: int,
            start_timeout: float = 120.0) -> Iterator[Server]:
    """A server subprocess (its own process group); yields once /healthz answers; always stopped."""
    server = launch(name, argv, env, log, f"http://{SERVE_HOST}:{port}")
    try:
        wait_until_serving(server, start_timeout)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def working(env: dict[str, str], log: Path) -> Iterator[Server]:
    """``assay worker`` in a subprocess (its own process group); always stopped."""
    worker = launch("worker", assay_command("worker"), env, log)
    try:
        yield worker
    finally:
        worker.stop()


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


def access_tokens(url: str, usernames: list[str], secret: str) -> dict[str, str]:
    """An access token for each student, as signing in would give them (valid for a day)."""
    from assessments.auth.tokens import issue_access_token
    from assessments.models import User

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            ids = dict(connection.execute(select(User.username, User.id).where(User.username.in_(usernames))).all())
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    return {name: issue_access_token(ids[name], secret, now, 24 * 60)[0] for name in usernames}


def plausible(question: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return RESPONSES[question["type"]](question, rng)


async def assay_student(run: Run, client: httpx.AsyncClient, quiz_id: int, username: str,
                        token: str | None = None) -> None:
    """One student's quiz: start, a save per question, submit, review; signed in with their
    password first (one more request, and a deliberately slow password check) unless ``token``
    is an access token they already hold."""
    rng = random.Random(username)
    if token is None:
        reply = await run.call(client, "sign in", "POST", "/api/v1/auth/token",
                               json={"username": username, "password": PASSWORD})
        if reply is None:
            return
        token = reply.json()["access_token"]
    headers = {"authorization": f"Bearer {token}"}
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


async def drive(run: Run, base_url: str | Sequence[str], jobs: Iterable[Any], concurrency: int, time_limit: float,
                student: Callable[[httpx.AsyncClient, Any], Awaitable[None]]) -> Run:
    """At most ``concurrency`` students at once, each one request at a time, until done or time_limit.

    With several base URLs (app processes behind no balancer), in-flight slot k always talks to
    server k mod N: the students are spread evenly, as a round-robin load balancer would."""
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    per_server = -(-concurrency // len(urls))
    limits = httpx.Limits(max_connections=per_server, max_keepalive_connections=per_server)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, limits=limits, timeout=120.0))
                   for url in urls]
        queue = iter(jobs)

        async def worker(client: httpx.AsyncClient) -> None:
            for job in queue:
                await student(client, job)

        began = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(worker(clients[k % len(clients)]) for k in range(concurrency))),
                                   time_limit)
        except TimeoutError:
            run.timed_out = True
        run.seconds = time.perf_counter() - began
    return run


# --- after the run ---------------------------------------------------------------------------


def stored_saves(url: str) -> dict[tuple[int, int, int], Any]:
    """Every stored save step: (attempt id, slot, seq) -> response."""
    from assessments.models import QuestionAttempt, Step

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {(a, slot, seq): response for a, slot, seq, response in connection.execute(
                select(QuestionAttempt.attempt_id, QuestionAttempt.slot, Step.seq, Step.response)
                .join(Step, Step.question_attempt_id == QuestionAttempt.id).where(Step.action == "save"))}
    finally:
        engine.dispose()


def missing_saves(url: str, acknowledged: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The acknowledged saves whose response is not at their seq in question_attempt_steps."""
    stored = stored_saves(url)
    return [save for save in acknowledged if stored.get(save[:3]) != save[3]]


def lost_saves(url: str, acknowledged: list[tuple[Any, ...]]) -> int:
    return len(missing_saves(url, acknowledged))


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
