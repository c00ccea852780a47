"""Load benchmark: simulated students take a 16-question quiz against a real Assay server.

Run from the repository root:

    python bench/load.py                       # SQLite (a fresh file in a temporary folder)
    python bench/load.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/load.py --postgresql URL --app-processes 2 --with-worker     # scale-out

What it does, in one run, bounded in time and cleaning up after itself:

1. makes a fresh database (a temporary SQLite file; or, with ``--postgresql URL``, a database
   ``assay_load_<random>`` created through URL and dropped at the end), applies the migrations,
   loads 16 fixed items from ``content/`` (every question type), a course, S students (written
   straight into the database with one precomputed argon2 hash) and a quiz of the 16 items;
2. serves Assay as ``assay serve`` does (the real command, uvicorn, one worker by default) in a
   subprocess on a free 127.0.0.1 port, and drives S students through it with an async HTTP
   client, at most C students (so C requests) in flight: start, save each of the 16
   answers (a plausible valid response per question type, from the question's render data),
   submit, review. Then it checks that every acknowledged save is in ``question_attempt_steps``;
3. serves the bare reference app (``bench/load_bare.py``: FastAPI, one POST that inserts one row
   through SQLAlchemy, Assay's own engine settings) on a fresh database of the same kind with the
   same uvicorn settings, and drives it with the same client, the same concurrency and the same
   number of requests per student;
4. prints requests/s, p50/p99 latency (and per request kind), errors (any non-2xx, or no reply),
   lost responses, and the ratio of Assay's requests/s to the bare app's.

Scale-out (issue 8): ``--app-processes N`` serves Assay (and the bare app) as N separate
``assay serve`` processes on N ports, the client spreading the students across them as a
round-robin load balancer would; ``--with-worker`` turns the servers' in-process job worker off
(``ASSAY_WORKER_IN_PROCESS=false``), runs one ``assay worker`` process beside them, and has the
course's instructor ask for the quiz's statistics every two seconds during the load with
``ASSAY_STATISTICS_INLINE_ATTEMPTS=0``, so every ask queues a statistics job for the worker. The run
then waits for the queue to drain and fails on a failed job or an exception in the worker's log.

Figures (issue 4): with SQLite, 2,000 students, zero errors, zero lost responses, ratio >= 0.6.
Figures (issue 8): with PostgreSQL, two app processes and one worker, zero errors, zero lost.
``--profile DIR`` records the (first) Assay server with py-spy (if installed) into DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and bench/engine.py would shadow the
# engine package: look packages up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx2 as httpx  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402

from bench.loadkit import (  # noqa: E402
    INSTRUCTOR,
    PASSWORD,
    QUESTIONS,
    SERVE_HOST,
    Databases,
    Run,
    Server,
    access_tokens,
    assay_student,
    drive,
    free_port,
    launch,
    lost_saves,
    postgresql_databases,
    serve_command,
    server_errors,
    set_up,
    sqlite_databases,
    summary,
    wait_until_serving,
    working,
)

STATISTICS_EVERY = 2.0
"""Seconds between the instructor's statistics requests (--with-worker)."""
JOBS_DRAIN_SECONDS = 300.0
PER_STUDENT = QUESTIONS + 3
"""Requests per student: start, 16 saves, submit, review (and a sign-in first, with --sign-in)."""


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


# --- servers ---------------------------------------------------------------------------------


BARE_SERVE = ("import sys, uvicorn; uvicorn.run('bench.load_bare:create_app', factory=True, host=sys.argv[1], "
              "port=int(sys.argv[2]), workers=int(sys.argv[3]), log_level='info')")
"""The bare app is served as ``assay serve`` serves Assay (assessments/cli.py): uvicorn.run with a
factory, the same host, port, workers and log level (uvicorn's defaults for the rest)."""


@contextlib.contextmanager
def serving_all(name: str, commands: list[tuple[list[str], int]], env: dict[str, str],
                logs: list[Path]) -> Iterator[list[Server]]:
    """Servers started together, each (argv, port); yields once every one answers /healthz; always stopped."""
    with contextlib.ExitStack() as stack:
        servers = []
        for k, ((argv, port), log) in enumerate(zip(commands, logs, strict=True)):
            server = launch(name if len(commands) == 1 else f"{name} {k + 1}", argv, env, log,
                            f"http://{SERVE_HOST}:{port}")
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            wait_until_serving(server)
        yield servers


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
         *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []),
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



# --- the clients -----------------------------------------------------------------------------


async def bare_student(run: Run, client: httpx.AsyncClient, student: int, requests: int) -> None:
    for n in range(requests):
        reply = await run.call(client, "insert", "POST", "/rows",
                               json={"student": student, "n": n, "payload": {"answer": f"{student}.{n}"}})
        if reply is not None:
            run.acknowledged.append((reply.json()["id"],))
    run.students_done += 1


async def instructor(run: Run, base_url: str, quiz_id: int, stop: asyncio.Event) -> None:
    """The instructor asks for the quiz's statistics every STATISTICS_EVERY seconds until ``stop``
    (a 202 reply is a job queued for the worker; a 200 reply is a job's finished result)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as client:
        reply = await run.call(client, "sign in", "POST", "/api/v1/auth/token",
                               json={"username": INSTRUCTOR, "password": PASSWORD})
        if reply is None:
            return
        headers = {"authorization": f"Bearer {reply.json()['access_token']}"}
        while not stop.is_set():
            reply = await run.call(client, "statistics", "GET", f"/api/v1/quizzes/{quiz_id}/statistics",
                                   headers=headers)
            if reply is not None:
                run.acknowledged.append((reply.status_code,))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATISTICS_EVERY)


async def drive_assay(assay: Run, staff: Run | None, urls: list[str], usernames: list[str], quiz_id: int,
                      args: argparse.Namespace, tokens: dict[str, str]) -> None:
    """The students, and (with a worker) the instructor asking for statistics while they work."""
    stop = asyncio.Event()
    asking = asyncio.create_task(instructor(staff, urls[-1], quiz_id, stop)) if staff is not None else None
    try:
        await drive(assay, urls, usernames, args.concurrency, args.time_limit,
                    lambda client, username: assay_student(assay, client, quiz_id, username, tokens.get(username)))
    finally:
        stop.set()
        if asking is not None:
            await asking


# --- after the run ---------------------------------------------------------------------------


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


def drained_jobs(url: str, timeout: float = JOBS_DRAIN_SECONDS) -> tuple[Counter[str], list[str]]:
    """Waits until no job is queued or running (or ``timeout``): jobs by state, and the errors any
    job recorded (a retried job keeps its last error)."""
    from assessments.models import Job, JobState

    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                states: Counter[str] = Counter({str(state): n for state, n in connection.execute(
                    select(Job.state, func.count()).group_by(Job.state))})
                failures = connection.execute(
                    select(Job.id, Job.kind, Job.state, Job.error).where(Job.error.is_not(None)))
                errors = [f"job {i} ({kind}, {state}): {str(error)[:160]}" for i, kind, state, error in failures]
            if not states[JobState.QUEUED] + states[JobState.RUNNING] or time.monotonic() > deadline:
                return states, errors
            time.sleep(0.5)
    finally:
        engine.dispose()


def worker_summary(staff: Run, states: Counter[str], errors: list[str], log: Path) -> tuple[list[str], bool]:
    replies = Counter(code for (code,) in staff.acknowledged)
    logged = server_errors(log)
    lines = [f"worker: the instructor asked for statistics {len(staff.acknowledged)} times "
             f"({replies[202]} queued a job, {replies[200]} read a finished job's result), errors "
             f"{staff.error_count}; jobs " + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none")
             + f"; {len(errors)} job error(s); worker log: {'exceptions' if logged else 'no exceptions'}"]
    lines += [f"    {error}" for error in errors[:5]]
    lines += [f"    error x{count}: {what}" for what, count in staff.errors.most_common(5)]
    lines += logged
    ok = (staff.error_count == 0 and not errors and not logged and set(states) <= {"done"}
          and states["done"] > 0)
    return lines, ok


# --- the run -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000, help="simulated students (default 2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="students (= requests) in flight (default 64)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server (default 1)")
    parser.add_argument("--app-processes", type=int, default=1, metavar="N",
                        help="separate `assay serve` processes on N ports, students spread across them (default 1)")
    parser.add_argument("--with-worker", action="store_true",
                        help="one `assay worker` process works the job queue (the servers do not); an instructor "
                             "asks for statistics during the load, each ask a job")
    parser.add_argument("--postgresql", metavar="URL",
                        help="a PostgreSQL URL to create (and afterwards drop) the run's databases through")
    parser.add_argument("--time-limit", type=float, default=900.0,
                        help="seconds each drive may take before it is stopped (default 900)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="record the Assay server with py-spy into DIR")
    parser.add_argument("--sign-in", action="store_true",
                        help="each student first signs in with a password (argon2) instead of holding a token")
    parser.add_argument("--skip-bare", action="store_true", help="drive only Assay (no ratio)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs, SQLite files)")
    args = parser.parse_args()
    if not 1 <= args.students <= 100_000 or not 1 <= args.concurrency <= 1000:
        parser.error("--students must be 1..100000 and --concurrency 1..1000")
    if not 1 <= args.app_processes <= 16:
        parser.error("--app-processes must be 1..16")

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


def _logs(workdir: Path, name: str, count: int) -> list[Path]:
    return [workdir / f"{name}{'' if k == 0 else k + 1}.log" for k in range(count)]


def run_all(args: argparse.Namespace, databases: Databases, workdir: Path) -> int:
    print(f"machine: {machine()}; load average before the run {os.getloadavg()[0]:.1f}")
    print(f"database: {databases.version}; server: uvicorn as `assay serve` runs it, {args.workers} worker(s), "
          f"on {SERVE_HOST}; client: httpx2.AsyncClient, {args.concurrency} in flight")
    if args.app_processes > 1 or args.with_worker:
        print(f"scale-out: {args.app_processes} app process(es) on as many ports, the students spread across them; "
              + ("one `assay worker` process works the job queue" if args.with_worker else
                 "each server works the job queue itself"))
    began = time.perf_counter()
    quiz_id, usernames, types = set_up(databases.assay_url, args.students)
    secret = secrets.token_urlsafe(48)
    per_student = PER_STUDENT + (1 if args.sign_in else 0)
    tokens = {} if args.sign_in else access_tokens(databases.assay_url, usernames, secret)
    print(f"set up in {time.perf_counter() - began:.1f} s: {args.students} students, a quiz of {QUESTIONS} items "
          f"({', '.join(f'{n} {t}' for t, n in sorted(types.items()))}); {per_student} requests per student "
          + ("(sign in with a password, start, 16 saves, submit, review)" if args.sign_in else
             "(start, 16 saves, submit, review; each student holds an access token, as after signing in)"))
    env = {"ASSAY_DATABASE_URL": databases.assay_url, "ASSAY_DATA_DIR": str(workdir / "data"),
           "ASSAY_SECRET_KEY": secret}
    assay, ok = run_assay(args, env, workdir, quiz_id, usernames, tokens)
    bare = None if args.skip_bare else run_bare(args, {**env, "ASSAY_DATABASE_URL": databases.bare_url}, workdir,
                                                per_student)
    print(f"load average after the run {os.getloadavg()[0]:.1f} (other processes on this machine share its cores)")
    if bare is not None and bare.seconds and assay.seconds:
        ratio = (assay.requests / assay.seconds) / (bare.requests / bare.seconds)
        print(f"ratio of Assay's requests/s to the bare endpoint's: {ratio:.2f} (target >= 0.6)")
    return 0 if ok else 1


def run_assay(args: argparse.Namespace, env: dict[str, str], workdir: Path, quiz_id: int,
              usernames: list[str], tokens: dict[str, str]) -> tuple[Run, bool]:
    """Serves Assay (and, with --with-worker, one worker) and drives the students; prints the figures."""
    if args.with_worker:
        env = {**env, "ASSAY_WORKER_IN_PROCESS": "false", "ASSAY_STATISTICS_INLINE_ATTEMPTS": "0"}
    ports = [free_port() for _ in range(args.app_processes)]
    logs = _logs(workdir, "assay", args.app_processes)
    worker_log = workdir / "worker.log"
    worker_lines: list[str] = []
    jobs_ok = True
    with contextlib.ExitStack() as stack:
        if args.with_worker:
            stack.enter_context(working(env, worker_log))
        servers = stack.enter_context(serving_all("assay", [(serve_command(p, args.workers), p) for p in ports],
                                                  env, logs))
        stack.enter_context(profiling(servers[0].process.pid, args.profile))
        assay = Run("Assay")
        staff = Run("instructor") if args.with_worker else None
        asyncio.run(drive_assay(assay, staff, [s.base_url for s in servers], usernames, quiz_id, args, tokens))
        # checked while the servers still run: an acknowledged save must already be committed
        lost = lost_saves(env["ASSAY_DATABASE_URL"], assay.acknowledged)
        if staff is not None:
            states, job_errors = drained_jobs(env["ASSAY_DATABASE_URL"])
            worker_lines, jobs_ok = worker_summary(staff, states, job_errors, worker_log)
    lines = summary(assay, lost, "acknowledged saves")
    lines.insert(1, f"    {assay.students_done} of {args.students} students finished")
    lines += [line for log in logs for line in server_errors(log)] if assay.error_count else []
    print("\n" + "\n".join(lines + worker_lines), flush=True)
    return assay, assay.error_count == 0 and lost == 0 and not assay.timed_out and jobs_ok


def run_bare(args: argparse.Namespace, env: dict[str, str], workdir: Path, per_student: int) -> Run:
    """Serves the bare reference app as Assay was served and drives it with as many requests."""
    from bench.load_bare import create_table

    create_table(env["ASSAY_DATABASE_URL"])
    ports = [free_port() for _ in range(args.app_processes)]
    commands = [([sys.executable, "-c", BARE_SERVE, SERVE_HOST, str(p), str(args.workers)], p) for p in ports]
    with serving_all("bare", commands, env, _logs(workdir, "bare", args.app_processes)) as servers:
        bare = Run("bare")
        asyncio.run(drive(bare, [s.base_url for s in servers], range(args.students), args.concurrency,
                          args.time_limit, lambda client, student: bare_student(bare, client, student, per_student)))
        lost = lost_rows(env["ASSAY_DATABASE_URL"], bare.acknowledged)
    print("\n".join(summary(bare, lost, "acknowledged inserts")))
    return bare


if __name__ == "__main__":
    sys.exit(main())
