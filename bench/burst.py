"""Exam-start burst: students arrive at a fixed rate (open loop), each starts the quiz and saves a first answer.

Run from the repository root:

    python bench/burst.py --rate 100                  # SQLite, 2,000 students, 100 arrivals per second
    python bench/burst.py --rate 33 --students 2000
    python bench/burst.py --rate 100 --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/burst.py --rate 100 --prepare none   # as before: every start generates its variants

An open loop: student k arrives at k / rate seconds whatever the server is doing (a closed loop,
where the next student waits for the last, hides a queue). Each student holds an access token (as
after signing in), starts the 16-question quiz of ``bench/loadkit.py`` (every question type) and
saves an answer to its first question. A start refused with 503 is tried again after the
``Retry-After`` the server sent (as the start page does by itself); the student's wait runs from
arrival to the acknowledged save, retries included.

Before serving, the quiz's starts are prepared as publishing it would have them prepared
(``--prepare before``, the default: :mod:`assessments.attempts.prepared`, timed), or not at all
(``--prepare none``). Prints the students' waits (p50, p99, max), each request kind's latency, the
errors (any reply but 2xx, and the server's 503 refusals counted apart), the machine and its
load average (the machine may be shared: read the figures with it).

Target (issue 21): p99 < 1 s and no errors at 100 arrivals per second, 2,000 students, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and bench/engine.py would shadow the
# engine package: look packages up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx2 as httpx  # noqa: E402

from bench.load import machine, profiling  # noqa: E402
from bench.loadkit import (  # noqa: E402
    QUESTIONS,
    SERVE_HOST,
    Databases,
    access_tokens,
    free_port,
    group_cpu_seconds,
    named_cpu_seconds,
    percentile,
    plausible,
    run_in_scratch,
    serve_command,
    server_errors,
    serving,
    set_up,
)

RETRIES = 30
"""A student gives up after this many refusals (the start page would keep trying)."""


@dataclass
class Burst:
    """What one burst measured."""

    waits: list[float] = field(default_factory=list)
    """Per student who got in: arrival to acknowledged first save, retries included (seconds)."""
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"start": [], "save": []})
    errors: Counter[str] = field(default_factory=Counter)
    resent: Counter[str] = field(default_factory=Counter)
    """Starts sent again on a new connection, the kept-alive one closed under them (by kind of error)."""
    refused: int = 0
    """503 replies with Retry-After (the server shedding load); not errors: the student tried again."""
    retried_students: int = 0
    gave_up: int = 0
    late: list[float] = field(default_factory=list)
    """How far behind its arrival time each student was launched (the client keeping up)."""

    async def call(self, client: httpx.AsyncClient, kind: str, method: str, url: str,
                   **options: Any) -> tuple[httpx.Response | None, float | None]:
        """One request: (the reply if 2xx, None otherwise; seconds to wait before trying again if
        it was refused with 503 and Retry-After)."""
        began = time.perf_counter()
        try:
            try:
                reply = await client.request(method, url, **options)
            except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
                # A kept-alive connection the server closed as it was reused (a student back after
                # Retry-After, past the server's keep-alive): a browser sends the request again on
                # a new connection, and so does the student. Only a start, which resumes the open
                # attempt if the first one did arrive; counted apart.
                if kind != "start":
                    raise
                self.resent[type(exc).__name__] += 1
                reply = await client.request(method, url, **options)
        except httpx.HTTPError as exc:
            self.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None, None
        self.latencies[kind].append(time.perf_counter() - began)
        if reply.status_code == 503 and "retry-after" in reply.headers:
            self.refused += 1
            return None, float(reply.headers["retry-after"])
        if not reply.is_success:
            self.errors[f"{kind}: {reply.status_code} {reply.text[:100]}"] += 1
            return None, None
        return reply, None


async def student(burst: Burst, client: httpx.AsyncClient, quiz_id: int, username: str, token: str,
                  arrival: float) -> None:
    headers = {"authorization": f"Bearer {token}"}
    rng = random.Random(username)
    for tries in range(RETRIES):
        reply, wait = await burst.call(client, "start", "POST", f"/api/v1/quizzes/{quiz_id}/attempts",
                                       headers=headers)
        if reply is not None:
            break
        if wait is None:
            return
        if tries == 0:
            burst.retried_students += 1
        await asyncio.sleep(wait * rng.uniform(1.0, 1.25))  # as the page: after Retry-After, a little spread
    else:
        burst.gave_up += 1
        return
    attempt = reply.json()
    first = attempt["questions"][0]
    saved, _ = await burst.call(client, "save", "PUT", f"/api/v1/attempts/{attempt['id']}/responses/{first['slot']}",
                                headers=headers, json={"response": plausible(first["question"], rng),
                                                       "seq": first["seq"]})
    if saved is not None:
        burst.waits.append(time.perf_counter() - arrival)


async def arrive(burst: Burst, base_url: str, quiz_id: int, tokens: list[tuple[str, str]], rate: float,
                 time_limit: float) -> float:
    """Launch student k at k / rate seconds; wait for all of them (or ``time_limit``); the seconds taken."""
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0) as client:
        began = time.perf_counter()
        tasks = []
        for k, (username, token) in enumerate(tokens):
            due = began + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            burst.late.append(max(0.0, time.perf_counter() - due))
            tasks.append(asyncio.create_task(student(burst, client, quiz_id, username, token, due)))
        _, pending = await asyncio.wait(tasks, timeout=max(1.0, time_limit - (time.perf_counter() - began)))
        for task in pending:
            task.cancel()
        if pending:
            burst.errors["not finished within the time limit"] += len(pending)
        return time.perf_counter() - began


def prepare_all(url: str, quiz_id: int) -> tuple[int, int, float]:
    """Prepare every student's start, batch after batch as the jobs would: (students, variants, seconds)."""
    from assessments.attempts.prepared import prepare
    from assessments.db import Database
    from assessments.models import utcnow

    database = Database(url)
    students = variants = 0
    began = time.perf_counter()
    try:
        while True:
            with database.sessions() as session, session.begin():
                done = prepare(session, quiz_id, utcnow())
            students += done.students
            variants += done.variants
            if not done.left:
                break
    finally:
        database.dispose()
    return students, variants, time.perf_counter() - began


def forget_queued_preparation(url: str) -> None:
    """``--prepare none``: drop the preparation job publishing queued, so every start generates."""
    from sqlalchemy import delete

    from assessments.attempts.prepared import PREPARE_JOB
    from assessments.db import Database
    from assessments.models import Job

    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            session.execute(delete(Job).where(Job.kind == PREPARE_JOB))
    finally:
        database.dispose()


def report(burst: Burst, args: argparse.Namespace, seconds: float) -> list[str]:
    got_in = len(burst.waits)
    ms = 1000.0
    lines = [
        (f"{args.students} students arriving at {args.rate:g}/s (open loop) over {args.students / args.rate:.1f} s; "
         f"all done in {seconds:.1f} s"),
        (f"  start + first save, arrival to acknowledged save (retries included): {got_in} students; "
         f"p50 {percentile(burst.waits, 0.5) * ms:.0f} ms, p99 {percentile(burst.waits, 0.99) * ms:.0f} ms, "
         f"max {max(burst.waits, default=float('nan')) * ms:.0f} ms"),
    ]
    for kind, values in burst.latencies.items():
        lines.append(f"  {kind:<6} {len(values):>6} requests, p50 {percentile(values, 0.5) * ms:7.1f} ms, "
                     f"p99 {percentile(values, 0.99) * ms:7.1f} ms")
    lines.append(f"  errors {sum(burst.errors.values())}; 503 refusals (Retry-After) {burst.refused}, "
                 f"{burst.retried_students} students refused at least once, {burst.gave_up} gave up; "
                 f"client launched students p99 {percentile(burst.late, 0.99) * ms:.0f} ms late")
    lines.extend(f"    error x{n}: {what}" for what, n in burst.errors.most_common(6))
    if burst.resent:
        lines.append("  starts sent again on a new connection (the kept-alive one closed as it was reused): "
                     + ", ".join(f"{n} after {what}" for what, n in burst.resent.most_common()))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000, help="students arriving (default 2000)")
    parser.add_argument("--rate", type=float, default=100.0, help="arrivals per second (default 100)")
    parser.add_argument("--workers", type=int, default=1, help="`assay serve --workers` (default 1)")
    parser.add_argument("--prepare", choices=["before", "none"], default="before",
                        help="prepare the quiz's starts before it opens (default) or not at all")
    parser.add_argument("--start-queue-limit", type=int, default=None, metavar="N",
                        help="the server's ASSAY_START_QUEUE_LIMIT (default: the setting's default)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="a PostgreSQL URL to create (and drop) the database through")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds before the burst is stopped")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server log, SQLite file)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="record the server with py-spy into DIR")
    args = parser.parse_args()
    if not 1 <= args.students <= 100_000 or not 0.1 <= args.rate <= 10_000 or not 1 <= args.workers <= 64:
        parser.error("--students must be 1..100000, --rate 0.1..10000 and --workers 1..64")

    return run_in_scratch("assay-burst-", args.postgresql, args.keep,
                          lambda databases, workdir: run(args, databases, workdir))


def run(args: argparse.Namespace, databases: Databases, workdir: Path) -> int:
    print(f"machine: {machine()}; load average before {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"database: {databases.version}; `assay serve --workers {args.workers}` on {SERVE_HOST}")
    began = time.perf_counter()
    quiz_id, usernames, _ = set_up(databases.assay_url, args.students)
    secret = secrets.token_urlsafe(48)
    tokens = access_tokens(databases.assay_url, usernames, secret)
    print(f"set up in {time.perf_counter() - began:.1f} s: {args.students} students, a quiz of {QUESTIONS} items")
    if args.prepare == "before":
        students, variants, seconds = prepare_all(databases.assay_url, quiz_id)
        print(f"prepared {students} students' starts ({variants} variants) in {seconds:.1f} s")
    else:
        forget_queued_preparation(databases.assay_url)
        print("not prepared: every start generates its variants")
    env = {"ASSAY_DATABASE_URL": databases.assay_url, "ASSAY_DATA_DIR": str(workdir / "data"),
           "ASSAY_SECRET_KEY": secret}
    if args.start_queue_limit is not None:
        env["ASSAY_START_QUEUE_LIMIT"] = str(args.start_queue_limit)
    port = free_port()
    log = workdir / "assay.log"
    burst = Burst()
    with serving("assay", serve_command(port, args.workers), env, log, port) as server, \
            profiling(server.process.pid, args.profile):
        server_cpu, client_cpu = group_cpu_seconds(server.process.pid), time.process_time()
        database_cpu = named_cpu_seconds("postgres") if args.postgresql else 0.0
        seconds = asyncio.run(arrive(burst, server.base_url, quiz_id, [(u, tokens[u]) for u in usernames],
                                     args.rate, args.time_limit))
        server_cpu = tuple(b - a for a, b in zip(server_cpu, group_cpu_seconds(server.process.pid), strict=True))
        client_cpu = time.process_time() - client_cpu
        database_cpu = named_cpu_seconds("postgres") - database_cpu if args.postgresql else 0.0
        load = os.getloadavg()
    lines = report(burst, args, seconds)
    user, system = server_cpu
    lines.append(f"  CPU during the burst: the server {user + system:.1f} s "
                 f"({1000 * (user + system) / args.students:.1f} ms "
                 f"a student, {1000 * system / args.students:.1f} of it in the kernel), the client {client_cpu:.1f} s "
                 f"({1000 * client_cpu / args.students:.1f} ms a student)")
    if args.postgresql:
        lines.append(f"  the database server's processes on this host (`postgres`) {database_cpu:.1f} s "
                     f"({1000 * database_cpu / args.students:.1f} ms a student; "
                     "its other work in, processes ended meanwhile out)")
    if burst.errors:
        lines += server_errors(log)
    print("\n".join(lines))
    print(f"load average after {' '.join(f'{x:.1f}' for x in load)} (1, 5, 15 min; other processes share the cores)")
    return 0 if not burst.errors and not burst.gave_up else 1


if __name__ == "__main__":
    sys.exit(main())
