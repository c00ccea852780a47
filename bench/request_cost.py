"""Request cost: the server's CPU per request of each kind, one request at a time, Assay and bare.

Run from the repository root:

    python bench/request_cost.py                  # 3 rounds of 200 students, SQLite
    python bench/request_cost.py --rounds 5 --students 300

``bench/load.py`` measures throughput under load; this measures what that load is made of, with
nothing else running in the server (no concurrency, no lock waits): the CPU time (user + system,
read from ``/proc``, so Linux only) that the real ``assay serve`` (uvicorn, one worker) spends per
request, over HTTP on 127.0.0.1, for the quiz of ``bench/load.py`` (16 items, every question type).

Each round measures, on students of its own:

- **phase by phase**: half the students all start, then all save each answer, then all submit,
  then all read the review: the CPU per request of each kind;
- **in turn**: the other half each take the whole quiz before the next begins (as a student of
  ``bench/load.py`` does): the CPU per student;
- **bare**: the bare reference app (``bench/load_bare.py``, served the same way), one insert per
  request, as many requests as the students made: the CPU per insert.

It prints each round and the medians, the ratio of the CPU costs (what ``bench/load.py``'s ratio
comes to when the server's CPU is all that limits it) and what a request of Assay may cost for a
ratio of 0.6. The machine's other work inflates CPU times too: compare figures within a round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and bench/engine.py would shadow the
# engine package: look packages up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx2 as httpx  # noqa: E402

from bench.load import BARE_SERVE, PER_STUDENT, machine  # noqa: E402
from bench.load_bare import create_table  # noqa: E402
from bench.loadkit import (  # noqa: E402
    QUESTIONS,
    SERVE_HOST,
    Server,
    access_tokens,
    cpu_seconds,
    free_port,
    plausible,
    serve_command,
    serving,
    set_up,
    sqlite_databases,
)

TARGET = 0.6
KINDS = ("start", "save", "submit", "review")
PER_KIND = {"start": 1, "save": QUESTIONS, "submit": 1, "review": 1}
"""Requests of each kind per student."""

Send = Callable[[str, str, str | None, Any], Awaitable[Any]]
"""(method, path, bearer token or None, JSON body or None) -> the reply's JSON (raises on non-2xx)."""


def process_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its threads, from /proc."""
    return sum(cpu_seconds(pid))


# --- requests ------------------------------------------------------------------------------------


def http_sender(client: httpx.AsyncClient) -> Send:
    async def send(method: str, path: str, token: str | None, body: Any) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        reply = await client.request(method, path, headers=headers, json=body)
        if not reply.is_success:
            raise SystemExit(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
        return reply.json()

    return send


# --- the phases ----------------------------------------------------------------------------------


async def start(send: Send, quiz_id: int, token: str) -> Any:
    return await send("POST", f"/api/v1/quizzes/{quiz_id}/attempts", token, None)


async def save_each(send: Send, attempt: Any, name: str, token: str) -> None:
    """A plausible answer to each question (the same for a student in every run)."""
    rng = random.Random(name)
    for question in attempt["questions"]:
        await send("PUT", f"/api/v1/attempts/{attempt['id']}/responses/{question['slot']}", token,
                   {"response": plausible(question["question"], rng), "seq": question["seq"]})


async def submit(send: Send, attempt: Any, token: str) -> None:
    await send("POST", f"/api/v1/attempts/{attempt['id']}/submit", token, None)


async def review(send: Send, attempt: Any, token: str) -> None:
    await send("GET", f"/api/v1/attempts/{attempt['id']}", token, None)


async def assay_phases(send: Send, clock: Callable[[], float], quiz_id: int, students: list[str],
                       tokens: dict[str, str]) -> dict[str, float]:
    """Every student starts, then every student saves each answer, submits, reads the review:
    CPU seconds per request of each kind."""
    spent: dict[str, float] = {}
    attempts: dict[str, Any] = {}
    began = clock()
    for name in students:
        attempts[name] = await start(send, quiz_id, tokens[name])
    spent["start"] = clock() - began
    began = clock()
    for name in students:
        await save_each(send, attempts[name], name, tokens[name])
    spent["save"] = clock() - began
    began = clock()
    for name in students:
        await submit(send, attempts[name], tokens[name])
    spent["submit"] = clock() - began
    began = clock()
    for name in students:
        await review(send, attempts[name], tokens[name])
    spent["review"] = clock() - began
    return {kind: seconds / (len(students) * PER_KIND[kind]) for kind, seconds in spent.items()}


async def whole_quizzes(send: Send, clock: Callable[[], float], quiz_id: int, students: list[str],
                        tokens: dict[str, str]) -> float:
    """Each student takes the whole quiz before the next begins (as a student of ``bench/load.py``
    does): CPU seconds per student."""
    began = clock()
    for name in students:
        attempt = await start(send, quiz_id, tokens[name])
        await save_each(send, attempt, name, tokens[name])
        await submit(send, attempt, tokens[name])
        await review(send, attempt, tokens[name])
    return (clock() - began) / len(students)


async def bare_phase(send: Send, clock: Callable[[], float], requests: int) -> float:
    """CPU seconds per insert of the bare app."""
    began = clock()
    for n in range(requests):
        await send("POST", "/rows", None, {"student": n % 1000, "n": n, "payload": {"answer": f"{n}.0"}})
    return (clock() - began) / requests


# --- the servers ---------------------------------------------------------------------------------


@dataclass
class Round:
    phases: dict[str, float]
    """CPU seconds per request of each kind, phase by phase."""
    whole: float
    """CPU seconds per student taking the whole quiz in turn."""
    bare: float
    """CPU seconds per insert of the bare app."""

    @property
    def summed(self) -> float:
        """CPU seconds per student, summed from the phases."""
        return sum(self.phases[kind] * PER_KIND[kind] for kind in KINDS)

    @property
    def ratio(self) -> float:
        """The bare insert's CPU over the mean CPU of a request of a student in turn."""
        return self.bare * PER_STUDENT / self.whole


async def measure(assay: Server, bare: Server, quiz_id: int, students: list[str], tokens: dict[str, str],
                  rounds: int) -> list[Round]:
    """``rounds`` rounds, each on its own slice of ``students``."""
    per_round = len(students) // rounds
    half = per_round // 2
    assay_cpu, bare_cpu = (lambda: process_seconds(assay.process.pid)), (lambda: process_seconds(bare.process.pid))
    results = []
    async with httpx.AsyncClient(base_url=assay.base_url, timeout=120.0) as assay_client, \
            httpx.AsyncClient(base_url=bare.base_url, timeout=120.0) as bare_client:
        to_assay, to_bare = http_sender(assay_client), http_sender(bare_client)
        # Warm both up first (imports, caches, the first connections): not measured.
        await whole_quizzes(to_assay, time.process_time, quiz_id, students[-1:], tokens)
        await bare_phase(to_bare, time.process_time, 200)
        for k in range(rounds):
            mine = students[k * per_round:(k + 1) * per_round]
            phases = await assay_phases(to_assay, assay_cpu, quiz_id, mine[:half], tokens)
            whole = await whole_quizzes(to_assay, assay_cpu, quiz_id, mine[half:], tokens)
            inserts = await bare_phase(to_bare, bare_cpu, per_round * PER_STUDENT)
            results.append(Round(phases, whole, inserts))
            print(f"round {k + 1}: {line(results[-1])}", flush=True)
    return results


def line(result: Round) -> str:
    ms = 1000.0
    kinds = ", ".join(f"{kind} {result.phases[kind] * ms:.2f}" for kind in KINDS)
    return (f"{kinds} ms; per student {result.summed * ms:.1f} ms phase by phase, {result.whole * ms:.1f} in turn; "
            f"bare insert {result.bare * ms:.2f} ms; ratio {result.ratio:.2f}")


# --- the report ----------------------------------------------------------------------------------


def report(results: list[Round]) -> list[str]:
    ms = 1000.0
    median = statistics.median
    phases = {kind: median(r.phases[kind] for r in results) for kind in KINDS}
    whole, bare = median(r.whole for r in results), median(r.bare for r in results)
    lines = [f"medians of {len(results)} round(s): CPU of `assay serve` per request, phase by phase"]
    lines += [f"    {kind:<8}{phases[kind] * ms:8.2f} ms   x{PER_KIND[kind]} per student "
              f"({phases[kind] / bare:.1f} bare inserts)" for kind in KINDS]
    summed = sum(phases[k] * PER_KIND[k] for k in KINDS)
    lines.append(f"    summed: {summed * ms:.1f} ms per student, {summed / PER_STUDENT * ms:.2f} ms per request")
    lines.append(f"a student taking the whole quiz in turn: {whole * ms:.1f} ms, {whole / PER_STUDENT * ms:.2f} ms "
                 "per request")
    lines.append(f"the bare app: {bare * ms:.2f} ms per insert")
    lines.append(f"ratio of the CPU costs (bare insert / Assay's mean request in turn): "
                 f"{median(r.ratio for r in results):.2f} (the median of the rounds' ratios)")
    lines.append(f"for a ratio of {TARGET}, a request of Assay may cost {bare / TARGET * ms:.2f} ms of CPU on the mean "
                 f"({bare / TARGET * PER_STUDENT * ms:.1f} ms per student)")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--students", type=int, default=200,
                        help="students per round (default 200: half phase by phase, half in turn)")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 50 or not 4 <= args.students <= 10_000:
        parser.error("--rounds must be 1..50 and --students 4..10000")
    if not Path("/proc/self/stat").exists():
        parser.error("this benchmark reads the servers' CPU time from /proc (Linux)")
    workdir = Path(tempfile.mkdtemp(prefix="assay-cost-"))
    try:
        databases = sqlite_databases(workdir)
        print(f"machine: {machine()}; load average before the run {os.getloadavg()[0]:.1f}")
        quiz_id, usernames, _ = set_up(databases.assay_url, args.rounds * args.students + 1)
        secret = secrets.token_urlsafe(48)
        tokens = access_tokens(databases.assay_url, usernames, secret)
        env = {"ASSAY_DATABASE_URL": databases.assay_url, "ASSAY_DATA_DIR": str(workdir / "data"),
               "ASSAY_SECRET_KEY": secret}
        print(f"database: {databases.version}; servers: `assay serve` and the bare app (uvicorn, one worker each) "
              f"on {SERVE_HOST}, one request at a time; {args.students} students per round, {PER_STUDENT} "
              "requests each")
        create_table(databases.bare_url)
        assay_port, bare_port = free_port(), free_port()
        bare_argv = [sys.executable, "-c", BARE_SERVE, SERVE_HOST, str(bare_port), "1"]
        with serving("assay", serve_command(assay_port), env, workdir / "assay.log", assay_port) as assay, \
                serving("bare", bare_argv, {**env, "ASSAY_DATABASE_URL": databases.bare_url}, workdir / "bare.log",
                        bare_port) as bare:
            results = asyncio.run(measure(assay, bare, quiz_id, usernames, tokens, args.rounds))
        print("\n".join(report(results)))
        print(f"load average after the run {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
