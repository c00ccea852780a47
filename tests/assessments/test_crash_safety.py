"""Crash safety (issue 8): ``assay serve`` is killed with SIGKILL in the middle of a 200-student load.

On a fresh database (an SQLite file; on PostgreSQL, when ``ASSAY_TEST_DATABASE_URL`` is set, a
scratch database made and dropped here), a quiz with a time limit is served by the real ``assay
serve`` in a subprocess, and 200 simulated students (``bench/loadkit.py``, the load benchmark's own
student answers) start it and save their answers, 32 requests in flight. Once a third of the saves
have been acknowledged, the server's whole process group gets SIGKILL: no shutdown, no flush, the
requests in flight cut off. Then, with the server still dead:

- every acknowledged save is in ``question_attempt_steps`` at the seq its reply gave, with the
  response that was sent;
- every attempt is consistent: each question attempt's seqs run 0, 1, 2, ... with no gap, every
  stored state is a state, the engine rebuilds every question attempt from its steps, and an
  attempt's state, finish time and total agree with its questions' states and marks.

The server is started again on the same database; the students whose requests failed resume
(tokens signed before the crash still work) and save what was not acknowledged; half the students
submit, the other half leave their attempts open. ``assay attempts sweep`` at the real time closes
nothing; ``assay attempts sweep --now`` past the time limit closes and grades exactly the open
attempts, and the server then refuses a save in one of them.

Students get their bearer tokens from the service's own token function instead of 200 argon2
sign-ins (slow by design, and not what is under test).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from assessments.attempts import repository
from assessments.attempts.service import engine_attempts, totals
from assessments.cli import app
from assessments.config import get_settings
from assessments.db import Database
from assessments.models import Attempt, AttemptState
from bench.loadkit import (
    Run,
    Server,
    access_tokens,
    drive,
    free_port,
    missing_saves,
    plausible,
    scratch_postgresql,
    serve_command,
    server_errors,
    serving,
    set_up,
)
from engine.states import QuestionState
from tests.assessments.conftest import BACKENDS, PG_URL

pytestmark = pytest.mark.slow

STUDENTS = 200
CONCURRENCY = 32
QUOTAS = {"numeric": 1, "single_choice": 1, "multiple_response": 1, "ordering": 1}
"""A short quiz of auto-graded types (no essay: every finished attempt has a total to check)."""
QUESTIONS = sum(QUOTAS.values())
KILL_AFTER = STUDENTS * QUESTIONS // 3
"""Acknowledged saves before the SIGKILL: a third of the run."""
TIME_LIMIT_MINUTES = 30
"""Far beyond the two drives' bounds (DRIVE_LIMIT_SECONDS each): no attempt is overdue before the
test moves the sweep's clock."""
GRACE_SECONDS = 30
SECRET = "crash-safety-secret-" + "k" * 40
BUSY_RETRIES = 20
MARKS_TOLERANCE = 1e-9
DRIVE_LIMIT_SECONDS = 300.0
"""A bound, never a measurement: a hung server fails the test instead of hanging it."""


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        return
    assert PG_URL is not None
    (url,), _, cleanups = scratch_postgresql(PG_URL, ["assay_crash"])
    try:
        yield url
    finally:
        for step in reversed(cleanups):
            step()


@dataclass
class Student:
    username: str
    headers: dict[str, str]
    submits: bool
    """Half the students submit; the others leave their attempt open for the sweep."""
    attempt_id: int | None = None
    saved: dict[int, int] = field(default_factory=dict)
    """slot -> the seq of the acknowledged save."""
    done: bool = False


@dataclass
class Crowd:
    """The students and what the server acknowledged to them."""

    quiz_id: int
    students: list[Student]
    acknowledged: list[tuple[int, int, int, dict[str, Any]]] = field(default_factory=list)
    failed_requests: int = 0
    refusals: list[str] = field(default_factory=list)
    """Replies no student should get (anything but 2xx and 503 database_busy)."""
    server: Server | None = None
    """The server to kill once KILL_AFTER saves are acknowledged (phase one only)."""
    killed: bool = False

    async def request(self, client: httpx.AsyncClient, method: str, url: str, **options: Any) -> Any:
        """The reply's JSON; None when there was no reply (the server is gone). A busy server's 503
        (nothing changed) is retried, as a browser's autosave would."""
        for _ in range(BUSY_RETRIES):
            try:
                reply = await client.request(method, url, **options)
            except httpx.HTTPError:
                self.failed_requests += 1
                return None
            if reply.status_code == 503:  # database_busy (nothing changed): try again
                await asyncio.sleep(0.2)
                continue
            if not reply.is_success:
                self.refusals.append(f"{method} {url}: {reply.status_code} {reply.text[:200]}")
                return None
            return reply.json()
        self.refusals.append(f"{method} {url}: still busy after {BUSY_RETRIES} tries")
        return None

    async def take(self, client: httpx.AsyncClient, student: Student) -> None:
        """Start (or resume) the attempt, save every answer not yet acknowledged, maybe submit;
        stop at the first request that gets no reply."""
        if self.killed:
            return
        headers = student.headers
        if student.attempt_id is None:
            view = await self.request(client, "POST", f"/api/v1/quizzes/{self.quiz_id}/attempts", headers=headers)
        else:
            view = await self.request(client, "GET", f"/api/v1/attempts/{student.attempt_id}", headers=headers)
        if view is None:
            return
        student.attempt_id = view["id"]
        if view["state"] == AttemptState.FINISHED.value:
            # the submit was committed but its reply was lost in the crash
            student.done = student.submits and len(student.saved) == QUESTIONS
            if not student.done:
                self.refusals.append(f"attempt {view['id']} of {student.username} finished unasked")
            return
        for question in view["questions"]:
            slot = question["slot"]
            if slot in student.saved:
                continue
            response = plausible(question["question"], random.Random(f"{student.username}:{slot}"))
            saved = await self.request(client, "PUT", f"/api/v1/attempts/{view['id']}/responses/{slot}",
                                       headers=headers, json={"response": response, "seq": question["seq"]})
            if saved is None:
                return
            student.saved[slot] = saved["seq"]
            self.acknowledged.append((view["id"], slot, saved["seq"], response))
            if self.server is not None and not self.killed and len(self.acknowledged) >= KILL_AFTER:
                self.server.kill()  # blocks the event loop for a moment: every other request is in flight
                self.killed = True
        if student.submits and await self.request(client, "POST", f"/api/v1/attempts/{view['id']}/submit",
                                                  headers=headers) is None:
            return
        student.done = True

    async def run(self, base_url: str, students: list[Student]) -> None:
        done = await drive(Run("crash"), base_url, students, CONCURRENCY, DRIVE_LIMIT_SECONDS, self.take)
        assert not done.timed_out


STATES = {state.value for state in QuestionState}


def run_apart(work: Coroutine[Any, Any, None]) -> None:
    """Run the crowd's event loop on a thread of its own: this worker may already run one (a browser
    test's Playwright, when pytest-xdist gives both to one process)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()


def inconsistencies(url: str, questions: int) -> list[str]:
    """What is wrong with any attempt's stored steps (empty when nothing is)."""
    database = Database(url)
    try:
        with database.sessions() as session:
            return [problem for attempt in session.scalars(select(Attempt).order_by(Attempt.id))
                    for problem in attempt_problems(session, attempt, questions)]
    finally:
        database.dispose()


def attempt_problems(session: Session, attempt: Attempt, questions: int) -> list[str]:
    rows = repository.question_attempts(session, attempt.id)
    steps = repository.steps_of(session, [r.id for r in rows])
    where = f"attempt {attempt.id}"
    problems = [] if len(rows) == questions else [f"{where}: {len(rows)} question attempts, not {questions}"]
    for row in rows:
        seqs = [s.seq for s in steps[row.id]]
        if seqs != list(range(len(seqs))):
            problems.append(f"{where} slot {row.slot}: seqs {seqs}")
        problems += [f"{where} slot {row.slot} seq {s.seq}: state {s.state!r}" for s in steps[row.id]
                     if s.state not in STATES]
    try:
        rebuilt = engine_attempts(session, attempt)
    except Exception as exc:  # noqa: BLE001 - every attempt is checked, each failure named
        return [*problems, f"{where}: the engine cannot rebuild it: {exc}"]
    problems += [f"{where} slot {row.slot}: rebuilt as {qa.state} in {len(qa.steps)} steps" for row, qa in rebuilt
                 if len(qa.steps) != len(steps[row.id]) or qa.state.value != steps[row.id][-1].state]
    finished = [qa.state.is_finished() for _, qa in rebuilt]
    if attempt.state == AttemptState.FINISHED:
        marks, waiting = totals(rebuilt)
        if not all(finished) or attempt.finished_at is None or waiting:
            problems.append(f"{where}: finished, but its questions are {[qa.state for _, qa in rebuilt]}")
        elif attempt.marks is None or marks is None or abs(attempt.marks - marks) > MARKS_TOLERANCE:
            problems.append(f"{where}: total {attempt.marks}, its questions' marks add up to {marks}")
    elif any(finished) or attempt.finished_at is not None or attempt.marks is not None:
        problems.append(f"{where}: in progress, but finished_at {attempt.finished_at}, marks {attempt.marks}, "
                        f"questions finished {finished}")
    return problems


def attempts_by_state(url: str) -> dict[AttemptState, list[Attempt]]:
    database = Database(url)
    try:
        with database.sessions() as session:
            found: dict[AttemptState, list[Attempt]] = {state: [] for state in AttemptState}
            for attempt in session.scalars(select(Attempt)):
                found[attempt.state].append(attempt)
            return found
    finally:
        database.dispose()


def students_of(url: str, usernames: list[str]) -> list[Student]:
    tokens = access_tokens(url, usernames, SECRET)
    return [Student(name, {"authorization": f"Bearer {tokens[name]}"}, submits=n % 2 == 0)
            for n, name in enumerate(usernames)]


def sweep(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, now: datetime | None = None) -> str:
    """``assay attempts sweep`` (in this process: the command, not a subprocess) on the test's database."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["attempts", "sweep", *(["--now", now.isoformat()] if now else [])])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    return done.output.strip()


def test_a_killed_server_loses_no_acknowledged_save_and_the_sweep_closes_what_is_overdue(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quiz_id, usernames, types = set_up(database_url, STUDENTS, quotas=QUOTAS,
                                       quiz_settings={"time_limit_minutes": TIME_LIMIT_MINUTES})
    assert types == QUOTAS
    crowd = Crowd(quiz_id, students_of(database_url, usernames))
    env = {"ASSAY_DATABASE_URL": database_url, "ASSAY_DATA_DIR": str(tmp_path / "data"),
           "ASSAY_SECRET_KEY": SECRET, "ASSAY_GRACE_SECONDS": str(GRACE_SECONDS)}

    # 1. the load, and SIGKILL a third of the way through
    port = free_port()
    with serving("assay", serve_command(port), env, tmp_path / "killed.log", port) as server:
        crowd.server = server
        run_apart(crowd.run(server.base_url, crowd.students))
        assert crowd.killed, f"only {len(crowd.acknowledged)} saves were acknowledged"
        assert server.process.returncode == -9  # SIGKILL
    interrupted = [s for s in crowd.students if not s.done]
    assert len(crowd.acknowledged) >= KILL_AFTER
    assert interrupted, "every student finished before the kill"
    assert crowd.refusals == []

    # 2. with the server dead: every acknowledged save is stored, every attempt consistent
    assert missing_saves(database_url, crowd.acknowledged) == []
    assert inconsistencies(database_url, QUESTIONS) == []

    # 3. restart on the same database; the interrupted students resume and finish their part
    crowd.server, crowd.killed, crowd.failed_requests = None, False, 0
    port = free_port()
    log = tmp_path / "restarted.log"
    with serving("assay", serve_command(port), env, log, port) as server:
        run_apart(crowd.run(server.base_url, interrupted))
        assert crowd.failed_requests == 0
        assert crowd.refusals == []
        assert all(s.done and len(s.saved) == QUESTIONS for s in crowd.students)
        assert missing_saves(database_url, crowd.acknowledged) == []
        attempts = attempts_by_state(database_url)
        open_ids = sorted(a.id for a in attempts[AttemptState.IN_PROGRESS])
        assert open_ids == sorted(s.attempt_id or 0 for s in crowd.students if not s.submits)
        assert len(attempts[AttemptState.FINISHED]) == STUDENTS // 2

        # 4. the sweep: nothing is overdue now; past the time limit, exactly the open attempts are
        assert sweep(env, monkeypatch) == "closed 0 overdue attempt(s)"
        deadline = max(a.deadline_at for a in attempts[AttemptState.IN_PROGRESS] if a.deadline_at)
        later = deadline + timedelta(seconds=GRACE_SECONDS + 1)
        assert sweep(env, monkeypatch, later) == f"closed {len(open_ids)} overdue attempt(s)"
        swept = next(s for s in crowd.students if not s.submits)
        slot = min(swept.saved)
        reply = httpx.put(f"{server.base_url}/api/v1/attempts/{swept.attempt_id}/responses/{slot}",
                          headers=swept.headers, json={"response": {"answer": "1"}, "seq": swept.saved[slot]})
        assert reply.status_code == 409, reply.text
        assert reply.json()["error"]["code"] == "attempt_finished"
    assert server_errors(log) == []

    attempts = attempts_by_state(database_url)
    assert attempts[AttemptState.IN_PROGRESS] == []
    closed = [a for a in attempts[AttemptState.FINISHED] if a.id in open_ids]
    assert len(closed) == len(open_ids)
    assert {a.finished_at for a in closed} == {later}
    assert all(a.marks is not None for a in closed)
    assert inconsistencies(database_url, QUESTIONS) == []
    assert missing_saves(database_url, crowd.acknowledged) == []


def test_sweep_refuses_a_now_that_is_not_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "untouched.sqlite3"
    monkeypatch.setenv("ASSAY_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["attempts", "sweep", "--now", "yesterday"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 2
    assert "--now: 'yesterday' is not an ISO 8601 time" in done.output
    assert not database.exists()  # refused before the database was opened
