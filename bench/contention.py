"""Students saving while an instructor regrades, imports and exports: how long does a save wait?

Run from the repository root:

    python bench/contention.py                     # SQLite, one `assay serve` worker
    python bench/contention.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Issue 21: "no student request waits more than 250 ms for a regrade, an import or a report". The
course of ``bench/regrade.py``: a 16-question quiz with ``--finished`` finished attempts (default
2,000; written as the service writes them), and a second quiz of the same items that ``--students``
students (default 20) are taking: each saves an answer, waits ``--think`` seconds (default 0.5),
and saves again, for the whole run. Served by ``assay serve``; while the students save, an
instructor (over the REST API, one request at a time) in turn:

1. does nothing (the baseline);
2. fixes one numeric item's key, moves the finished quiz to it and commits its regrade (every
   attempt's question replaced and marked again);
3. imports the whole shipped bank (content/) again under new keys (one request, every item checked);
4. exports the finished quiz's results as CSV and asks for its statistics (computed, then kept).

For each phase it prints how long the instructor's requests took and the students' saves made
meanwhile: how many, p50, p99 and the longest, and any error. Prints the machine and the load
average (the machine may be shared). Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx2 as httpx  # noqa: E402
import yaml  # noqa: E402

from bench.load import machine  # noqa: E402
from bench.loadkit import (  # noqa: E402
    CONTENT,
    INSTRUCTOR,
    SERVE_HOST,
    Databases,
    access_tokens,
    free_port,
    percentile,
    plausible,
    run_in_scratch,
    serve_command,
    serving,
    set_up,
)

TARGET_MS = 250.0


@dataclass
class Saves:
    """Every save the students made: (when it was sent, seconds it took, error or None)."""

    made: list[tuple[float, float, str | None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    students: int = 0
    saving: set[str] = field(default_factory=set)
    """The students who have made a first save."""
    everyone: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once every student has made a first save."""

    def between(self, began: float, ended: float) -> tuple[list[float], list[str]]:
        """The saves sent in [began, ended): their latencies and their errors."""
        took = [t for at, t, error in self.made if began <= at < ended and error is None]
        errors = [error for at, _, error in self.made if began <= at < ended and error is not None]
        return took, errors

    def slowest(self, began: float, ended: float, count: int = 3) -> list[tuple[float, float]]:
        """The ``count`` slowest saves sent in [began, ended): (seconds after ``began`` it was
        sent, seconds it took), in the order they were sent."""
        made = sorted(((at - began, t) for at, t, error in self.made if began <= at < ended and error is None),
                      key=lambda pair: -pair[1])[:count]
        return sorted(made)


async def student(saves: Saves, client: httpx.AsyncClient, quiz_id: int, name: str, token: str,
                  think: float) -> None:
    rng = random.Random(name)
    headers = {"authorization": f"Bearer {token}"}
    started = await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    if not started.is_success:
        raise SystemExit(f"a student could not start the quiz: {started.status_code} {started.text[:300]}")
    attempt = started.json()
    questions = [q for q in attempt["questions"] if q["question"]["type"] != "essay"] or attempt["questions"]
    seqs = {q["slot"]: q["seq"] for q in questions}
    await asyncio.sleep(rng.uniform(0, think))
    n = 0
    while not saves.stop.is_set():
        question = questions[n % len(questions)]
        n += 1
        sent = time.perf_counter()
        error = None
        try:
            reply = await client.put(f"/api/v1/attempts/{attempt['id']}/responses/{question['slot']}",
                                     headers=headers, json={"response": plausible(question["question"], rng),
                                                            "seq": seqs[question["slot"]]})
            if reply.is_success:
                seqs[question["slot"]] = reply.json()["seq"]
            else:
                error = f"{reply.status_code} {reply.text[:100]}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        saves.made.append((sent, time.perf_counter() - sent, error))
        saves.saving.add(name)
        if len(saves.saving) == saves.students:
            saves.everyone.set()
        await asyncio.sleep(think * rng.uniform(0.8, 1.2))


def _second_quiz(url: str, quiz_id: int) -> int:
    """A second quiz of the first's items, in the same course, that any number of attempts may take."""
    from assessments.db import Database
    from assessments.models import Quiz, utcnow
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz, pinned

    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            first = session.get(Quiz, quiz_id)
            assert first is not None
            keys = [key for _, key, _ in pinned(session, quiz_id)]
            quiz = add_quiz(session, first.course_id, QuizCreate(
                title="Being taken", settings=QuizSettings(attempts_allowed=None),
                sections=[Section(items=keys)]), created_by_id=None, now=utcnow())
            session.add(quiz)
            session.flush()
            return int(quiz.id)
    finally:
        database.dispose()


def shipped_bank_renamed(suffix: str, retitled: str = "") -> tuple[str, int]:
    """The shipped content (every item file under content/) as one YAML stream, every item under a
    new key (its related keys too, where they name shipped items), as an instructor would import a
    copy of the bank; and how many items. With ``retitled``, every title ends with it: the same
    items changed, as an instructor imports a revised copy again."""
    from engine.content.loader import item_files

    items = []
    for path in item_files(CONTENT):
        items.extend(item for item in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                     if isinstance(item, dict) and "id" in item)
    keys = {item["id"] for item in items}
    for item in items:
        item["id"] = f"{item['id']}{suffix}"
        if retitled:
            item["title"] = f"{item.get('title') or item['id']}{retitled}"
        if isinstance(item.get("related"), list):
            item["related"] = [f"{key}{suffix}" if key in keys else key for key in item["related"]]
    return yaml.safe_dump_all(items, sort_keys=False, allow_unicode=True), len(items)


class Instructor:
    """The instructor's requests, one at a time, each timed."""

    def __init__(self, client: httpx.AsyncClient, token: str, bank: tuple[str, int],
                 revised: tuple[str, int]) -> None:
        self.client = client
        self.bank, self.revised = bank, revised
        """The YAML the import sends and how many items, made before the students start: made
        in the import's phase, it held this client's event loop for a second or two, and then
        every student's waiting save went out at once, a burst that queued at the server."""
        self.headers = {"authorization": f"Bearer {token}"}
        self.timings: list[tuple[str, float]] = []

    async def call(self, what: str, method: str, url: str, *, headers: dict[str, str] | None = None,
                   **options: Any) -> httpx.Response:
        began = time.perf_counter()
        reply = await self.client.request(method, url, headers={**self.headers, **(headers or {})}, timeout=600.0,
                                          **options)
        self.timings.append((what, time.perf_counter() - began))
        if not reply.is_success:
            raise SystemExit(f"{what}: {reply.status_code} {reply.text[:500]}")
        return reply

    async def regrade(self, quiz_id: int) -> None:
        quiz = (await self.call("read the quiz", "GET", f"/api/v1/quizzes/{quiz_id}")).json()
        keys = [key for section in quiz["sections"] for key in section.get("items", [])]
        for key in keys:
            definition = (await self.call("read an item", "GET", f"/api/v1/items/{key}")).json()["definition"]
            if definition.get("type") != "numeric":
                continue
            saved = await self.client.put(f"/api/v1/items/{key}", headers=self.headers,
                                          json={**definition, "answer": f"2 * ({definition['answer']})"})
            if saved.is_success:
                break
        else:
            raise SystemExit("no numeric item of the quiz takes a doubled answer")
        await self.call("move the quiz to the new version", "POST", f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false",
                        json={"items": [key]})
        await self.call("regrade (commit)", "POST", f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=false")

    async def import_bank(self, revised: bool = False) -> None:
        body, count = self.revised if revised else self.bank
        await self.call(f"import {count} items ({len(body) / 1e6:.1f} MB of YAML)", "POST",
                        "/api/v1/items/import?format=yaml", content=body.encode(),
                        headers={"content-type": "application/yaml"})

    async def reports(self, quiz_id: int) -> None:
        await self.call("results CSV", "GET", f"/api/v1/quizzes/{quiz_id}/attempts/export?format=csv")
        await self.call("statistics (computed)", "GET", f"/api/v1/quizzes/{quiz_id}/statistics")
        await self.call("statistics (kept)", "GET", f"/api/v1/quizzes/{quiz_id}/statistics")


async def drive(base_url: str, finished_quiz: int, taken_quiz: int, students: list[str], tokens: dict[str, str],
                instructor_token: str, think: float, baseline: float) -> list[str]:
    saves = Saves(students=len(students))
    bank, revised = shipped_bank_renamed("-again"), shipped_bank_renamed("-again", " (revised)")
    limits = httpx.Limits(max_connections=len(students) + 8, max_keepalive_connections=len(students) + 8)
    lines = []
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0) as client:
        tasks = [asyncio.create_task(student(saves, client, taken_quiz, name, tokens[name], think))
                 for name in students]
        try:
            await saves.everyone.wait()  # every student started and saving
            instructor = Instructor(client, instructor_token, bank, revised)
            phases: list[tuple[str, Any]] = [
                ("nothing (baseline)", lambda: asyncio.sleep(baseline)),
                ("regrade of the finished quiz", lambda: instructor.regrade(finished_quiz)),
                ("import of the whole bank under new keys", instructor.import_bank),
                ("import of the same items again, every one revised", lambda: instructor.import_bank(revised=True)),
                ("results CSV and statistics of the finished quiz", lambda: instructor.reports(finished_quiz)),
            ]
            for name, phase in phases:
                instructor.timings.clear()
                began = time.perf_counter()
                await phase()
                ended = time.perf_counter()
                took, errors = saves.between(began, ended)
                ms = [1000 * t for t in took]
                met = "meets" if ms and max(ms) < TARGET_MS and not errors else "does not meet"
                lines.append(f"while the instructor does {name}: {ended - began:.2f} s")
                for what, seconds in instructor.timings:
                    if what != "read an item":
                        lines.append(f"    {what}: {1000 * seconds:.0f} ms")
                lines.append(f"  students' saves meanwhile: {len(ms)}, p50 {percentile(ms, 0.5):.1f} ms, "
                             f"p99 {percentile(ms, 0.99):.1f} ms, longest {max(ms, default=float('nan')):.1f} ms; "
                             f"errors {len(errors)} ({met} the {TARGET_MS:.0f} ms target)")
                lines.append("    slowest saves sent at (s after the phase began): " + ", ".join(
                    f"+{at:.2f} s ({1000 * t:.0f} ms)" for at, t in saves.slowest(began, ended)))
                lines.extend(f"    error: {error}" for error in sorted(set(errors))[:5])
        finally:
            saves.stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    return lines


def run(args: argparse.Namespace, databases: Databases, workdir: Path) -> int:
    from sqlalchemy import select

    from assessments.db import Database
    from assessments.models import User
    from bench.burst import prepare_all
    from bench.regrade import _admin, build

    print(f"machine: {machine()}; load average before {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"database: {databases.version}; `assay serve --workers {args.workers}` on {SERVE_HOST}")
    began = time.perf_counter()
    finished_quiz, usernames, _ = set_up(databases.assay_url, args.finished + args.students)
    database = Database(databases.assay_url)
    try:
        with database.sessions() as session:
            ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(usernames))).all())
            instructor_id = session.scalars(select(User.id).where(User.username == INSTRUCTOR)).one()
        done, taking = usernames[:args.finished], usernames[args.finished:]
        build(database, finished_quiz, [ids[name] for name in done], instructor_id)
        admin_id = _admin(database, "load")
    finally:
        database.dispose()
    taken_quiz = _second_quiz(databases.assay_url, finished_quiz)
    for quiz in (finished_quiz, taken_quiz):  # as publishing has them prepared, before the students come
        prepare_all(databases.assay_url, quiz)
    secret = secrets.token_urlsafe(48)
    tokens = access_tokens(databases.assay_url, taking, secret)
    from datetime import UTC, datetime

    from assessments.auth.tokens import issue_access_token
    admin_token = issue_access_token(admin_id, secret, datetime.now(UTC), 60)[0]
    print(f"set up in {time.perf_counter() - began:.1f} s: {args.finished} finished attempts of a 16-question quiz; "
          f"{args.students} students taking another, a save every {args.think:g} s each")
    env = {"ASSAY_DATABASE_URL": databases.assay_url, "ASSAY_DATA_DIR": str(workdir / "data"),
           "ASSAY_SECRET_KEY": secret}
    port = free_port()
    with serving("assay", serve_command(port, args.workers), env, workdir / "assay.log", port) as server:
        lines = asyncio.run(drive(server.base_url, finished_quiz, taken_quiz, taking, tokens, admin_token,
                                  args.think, args.baseline))
        load = os.getloadavg()
    print("\n".join(lines))
    print(f"load average after {' '.join(f'{x:.1f}' for x in load)} (1, 5, 15 min; other processes share the cores)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finished", type=int, default=2000, help="finished attempts of the quiz regraded")
    parser.add_argument("--students", type=int, default=20, help="students saving meanwhile")
    parser.add_argument("--think", type=float, default=0.5, help="seconds between a student's saves")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds of the baseline phase")
    parser.add_argument("--workers", type=int, default=1, help="`assay serve --workers` (default 1)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="a PostgreSQL URL to create (and drop) the database through")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server log, SQLite file)")
    args = parser.parse_args()
    if not 1 <= args.finished <= 100_000 or not 1 <= args.students <= 1_000 or not 0.01 <= args.think <= 60:
        parser.error("--finished must be 1..100000, --students 1..1000 and --think 0.01..60")
    return run_in_scratch("assay-contention-", args.postgresql, args.keep,
                          lambda databases, workdir: run(args, databases, workdir))


if __name__ == "__main__":
    sys.exit(main())
