"""Concurrency: racing requests against the real app, with real commits.

These tests cannot use the rolled-back ``db`` fixture: the races only exist between separate
transactions that commit. Each module run makes its own database (a fresh PostgreSQL database
``assay_concurrency_<random>`` made from ``ASSAY_TEST_DATABASE_URL`` and dropped afterwards, and an
SQLite file), applies the real migrations, loads two items, and drives the real app from several
threads at once (each with its own ``TestClient``, released together by a barrier).

What must hold on both databases (PostgreSQL locks rows and relies on a partial unique index;
SQLite lets one writer in at a time with ``BEGIN IMMEDIATE``):

- concurrent starts with one attempt allowed make one attempt, and every caller gets it;
- concurrent submits grade once (one finish step per question, the marks written once) and
  every caller gets the same reply;
- concurrent saves to one slot never lose the later one: every acknowledged save is in the step
  history at the seq it was given, every refused one is a 409 ``stale_seq``, and the stored
  answer is the last acknowledged one.
"""

from __future__ import annotations

import os
import secrets
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from assessments.app import create_app
from assessments.auth.passwords import hash_password
from assessments.bank.service import save_definition
from assessments.config import Settings
from assessments.db import Database
from assessments.migrations import upgrade
from assessments.models import Attempt, Course, CourseRole, Enrolment, QuestionAttempt, Role, Step, User
from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
from assessments.quizzes.service import add_quiz
from tests.engine import samples

PG_URL = os.environ.get("ASSAY_TEST_DATABASE_URL")
PASSWORD = "racing-turtles-42"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ITEMS = {"numeric": samples.NUMERIC, "seed": samples.SEED}
"""Slot 1 asks the numeric item, slot 2 the multiple-response one."""
TIMEOUT = 60.0
"""Seconds any one thread may wait (at the barrier, or for its reply) before the test fails."""

T = TypeVar("T")


# --- a database of the module's own, with real commits ------------------------------------------


def _postgresql_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """CREATE DATABASE assay_concurrency_<random> beside ``base_url``; returns its URL and a dropper."""
    name = f"assay_concurrency_{secrets.token_hex(4)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base_url).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def real_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    drop: Callable[[], None] | None = None
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("the PostgreSQL concurrency tests need ASSAY_TEST_DATABASE_URL "
                        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
        url, drop = _postgresql_database(PG_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('concurrency') / 'assay.sqlite3'}"
    try:
        upgrade(url)
        database = Database(url)
        with database.sessions() as session, session.begin():
            for body in ITEMS.values():
                source = textwrap.dedent(body)
                save_definition(session, yaml.safe_load(source), source="samples", actor_id=None, now=T0,
                                item=samples.item(body))
        yield database
        database.dispose()
    finally:
        if drop is not None:
            drop()


@dataclass
class Setup:
    database: Database
    app: FastAPI
    password_hash: str
    course_id: int
    quiz_id: int


@pytest.fixture(scope="module")
def setup(real_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), secret_key="concurrency-" + "k" * 40)
    app = create_app(settings, real_database)
    with real_database.sessions() as session, session.begin():
        course = Course(slug="racing", title="Racing")
        session.add(course)
        session.flush()
        quiz = add_quiz(session, course.id, QuizCreate(title="One attempt", settings=QuizSettings(attempts_allowed=1),
                                                       sections=[Section(items=list(ITEMS))]),
                        created_by_id=None, now=T0)
        course_id, quiz_id = course.id, quiz.id
    return Setup(real_database, app, hash_password(PASSWORD), course_id, quiz_id)


def _student(setup: Setup) -> str:
    """A new student enrolled in the course (committed); returns the username."""
    username = f"student-{secrets.token_hex(4)}"
    with setup.database.sessions() as session, session.begin():
        user = User(username=username, display_name=username, role=Role.STUDENT,
                    password_hash=setup.password_hash)
        session.add(user)
        session.flush()
        session.add(Enrolment(course_id=setup.course_id, user_id=user.id, role=CourseRole.STUDENT))
    return username


def _headers(client: TestClient, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"authorization": f"Bearer {reply.json()['access_token']}"}


def together(clients: list[TestClient], work: Callable[[int, TestClient, threading.Barrier], T]) -> list[T]:
    """Run ``work(i, clients[i], barrier)`` in one thread per client; the barrier releases them together."""
    barrier = threading.Barrier(len(clients), timeout=TIMEOUT)

    def run(i: int) -> T:
        barrier.wait()
        return work(i, clients[i], barrier)

    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [pool.submit(run, i) for i in range(len(clients))]
        return [f.result(timeout=TIMEOUT * 4) for f in futures]


@pytest.fixture
def clients(setup: Setup) -> Iterator[Callable[[int], list[TestClient]]]:
    """``clients(n)``: n test clients of the app, each with its own event loop thread."""
    with ExitStack() as stack:
        yield lambda n: [stack.enter_context(TestClient(setup.app)) for _ in range(n)]


def _steps(setup: Setup, attempt_id: int) -> dict[int, list[Step]]:
    """The current question attempts' steps by slot, in seq order."""
    with setup.database.sessions() as session:
        rows = session.scalars(select(QuestionAttempt).where(QuestionAttempt.attempt_id == attempt_id)).all()
        return {row.slot: list(session.scalars(select(Step).where(Step.question_attempt_id == row.id)
                                               .order_by(Step.seq))) for row in rows}


# --- the races ------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [2, 6])
def test_concurrent_starts_make_one_attempt(setup: Setup, clients: Callable[[int], list[TestClient]],
                                            threads: int) -> None:
    rounds = 4
    pool = clients(threads)
    for _ in range(rounds):
        username = _student(setup)
        headers = _headers(pool[0], username)

        def start(_i: int, client: TestClient, _b: threading.Barrier, headers: dict[str, str] = headers) -> Any:
            return client.post(f"/api/v1/quizzes/{setup.quiz_id}/attempts", headers=headers)

        replies = together(pool, start)
        assert all(r.status_code in (200, 201) for r in replies), [r.text for r in replies]
        ids = {r.json()["id"] for r in replies}
        assert len(ids) == 1, f"{threads} concurrent starts made attempts {sorted(ids)}"
        (attempt_id,) = ids
        # every caller sees the same questions (the same variants), so none was built twice
        assert len({repr(r.json()["questions"]) for r in replies}) == 1
        with setup.database.sessions() as session:
            user_id = session.scalars(select(User.id).where(User.username == username)).one()
            assert session.scalar(select(func.count()).select_from(Attempt).where(
                Attempt.quiz_id == setup.quiz_id, Attempt.user_id == user_id)) == 1
            assert session.scalar(select(func.count()).select_from(QuestionAttempt).where(
                QuestionAttempt.attempt_id == attempt_id)) == len(ITEMS)
        steps = _steps(setup, attempt_id)
        assert [[s.action for s in steps[slot]] for slot in sorted(steps)] == [["start"]] * len(ITEMS)

        # and with that one attempt used, no caller may start another (attempts allowed: 1)
        assert pool[0].post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers).status_code == 200
        again = together(pool, start)
        assert {r.status_code for r in again} == {409}
        assert {r.json()["error"]["code"] for r in again} == {"no_attempts_left"}


def _count_updates(database: Database, table: str) -> Callable[[], int]:
    """Counts the UPDATEs of ``table`` that set its marks, from now until the returned function is called."""
    seen: list[str] = []
    lock = threading.Lock()

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if len(words) > 1 and words[0].upper() == "UPDATE" and words[1].strip('"') == table and "marks" in statement:
            with lock:
                seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)

    def stop() -> int:
        event.remove(database.engine, "before_cursor_execute", listen)
        return len(seen)

    return stop


@pytest.mark.parametrize("threads", [2, 6])
def test_concurrent_submits_grade_once(setup: Setup, clients: Callable[[int], list[TestClient]],
                                       threads: int) -> None:
    pool = clients(threads)
    headers = _headers(pool[0], _student(setup))
    started = pool[0].post(f"/api/v1/quizzes/{setup.quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    attempt = started.json()
    numeric, choice = attempt["questions"]
    for slot, response in ((1, {"answer": "0.5"}), (2, {"choices": [0, 2]})):
        seq = (numeric if slot == 1 else choice)["seq"]
        saved = pool[0].put(f"/api/v1/attempts/{attempt['id']}/responses/{slot}", headers=headers,
                            json={"response": response, "seq": seq})
        assert saved.status_code == 200, saved.text

    updates = _count_updates(setup.database, "attempts")
    try:
        replies = together(pool, lambda _i, client, _b: client.post(
            f"/api/v1/attempts/{attempt['id']}/submit", headers=headers))
    finally:
        marks_written = updates()

    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    bodies = [r.json() for r in replies]
    assert all(body == bodies[0] for body in bodies), bodies
    assert bodies[0]["state"] == "finished" and bodies[0]["marks"] is not None
    assert marks_written == 1, f"the attempt's marks were written {marks_written} times"
    steps = _steps(setup, attempt["id"])
    for slot in sorted(steps):
        actions = [s.action for s in steps[slot]]
        assert actions == ["start", "save", "finish"], (slot, actions)
        assert [s.seq for s in steps[slot]] == [0, 1, 2]
    with setup.database.sessions() as session:
        row = session.get(Attempt, attempt["id"])
        assert row is not None
        assert row.state.value == "finished"
        assert row.marks == pytest.approx(bodies[0]["marks"])
        finished_at = row.finished_at
        assert finished_at is not None
        assert datetime.fromisoformat(bodies[0]["finished_at"]).replace(tzinfo=None) == \
            finished_at.replace(tzinfo=None)
        finish_steps = [s for slot in steps for s in steps[slot] if s.action == "finish"]
        assert marks_sum(finish_steps, session) == pytest.approx(row.marks)


def marks_sum(finish_steps: list[Step], session: Any) -> float:
    """The attempt's marks as its finish steps give them: fraction × the question's max mark."""
    total = 0.0
    for step in finish_steps:
        question = session.get(QuestionAttempt, step.question_attempt_id)
        total += (step.fraction or 0.0) * question.max_mark
    return total


@dataclass(frozen=True)
class Save:
    thread: int
    round: int
    answer: str
    sent_seq: int
    status: int
    body: dict[str, Any]


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_saves_never_lose_the_later_one(setup: Setup, clients: Callable[[int], list[TestClient]],
                                                    threads: int) -> None:
    rounds = 8
    pool = clients(threads)
    headers = _headers(pool[0], _student(setup))
    started = pool[0].post(f"/api/v1/quizzes/{setup.quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    attempt_id = started.json()["id"]

    def saver(i: int, client: TestClient, barrier: threading.Barrier) -> list[Save]:
        mine = []
        for k in range(rounds):
            if k:
                barrier.wait()  # every round, all threads read and then write at once
            view = client.get(f"/api/v1/attempts/{attempt_id}", headers=headers)
            assert view.status_code == 200, view.text
            seq = view.json()["questions"][0]["seq"]
            answer = f"{i + 1}.{k:03d}"  # a different answer from every thread in every round
            reply = client.put(f"/api/v1/attempts/{attempt_id}/responses/1", headers=headers,
                               json={"response": {"answer": answer}, "seq": seq})
            mine.append(Save(i, k, answer, seq, reply.status_code, reply.json()))
        return mine

    saves = [s for mine in together(pool, saver) for s in mine]

    acknowledged = sorted((s for s in saves if s.status == 200), key=lambda s: s.body["seq"])
    refused = [s for s in saves if s.status != 200]
    assert acknowledged, "no save was acknowledged"
    for s in refused:
        assert s.status == 409, s
        assert s.body["error"]["code"] == "stale_seq", s
        assert s.body["error"]["details"]["seq"] > s.sent_seq, s
    for s in acknowledged:
        assert s.body["saved"] is True and s.body["seq"] == s.sent_seq + 1, s
    # each thread's own acknowledged saves went forwards
    for i in range(threads):
        own = [s.body["seq"] for s in saves if s.thread == i and s.status == 200]
        assert own == sorted(set(own)), (i, own)

    steps = _steps(setup, attempt_id)[1]
    seqs = [step.seq for step in steps]
    assert seqs == list(range(len(steps))), f"step seqs duplicated or missing: {seqs}"
    # the history is exactly the acknowledged saves, in the order of their seqs: none lost, none extra
    assert [(step.seq, step.action, step.response) for step in steps[1:]] == \
        [(s.body["seq"], "save", {"answer": s.answer}) for s in acknowledged]
    # and what is stored now is the last acknowledged save
    last = acknowledged[-1]
    assert steps[-1].response == {"answer": last.answer}
    view = pool[0].get(f"/api/v1/attempts/{attempt_id}", headers=headers).json()
    assert view["questions"][0]["response"] == {"answer": last.answer}
    assert view["questions"][0]["seq"] == last.body["seq"]
    if threads > 2:
        assert refused, "no save was refused: the threads never raced"


def test_saves_racing_a_submit_land_before_the_finish_or_are_refused(
        setup: Setup, clients: Callable[[int], list[TestClient]]) -> None:
    """A save reads and grades outside the write lock and checks again under it: a save that
    races the submit is either in the history before the finish step or refused as finished;
    nothing is ever appended after a finish."""
    pool = clients(6)
    headers = _headers(pool[0], _student(setup))
    started = pool[0].post(f"/api/v1/quizzes/{setup.quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    attempt_id, seq = started.json()["id"], started.json()["questions"][0]["seq"]

    def act(i: int, client: TestClient, _b: threading.Barrier) -> Any:
        if i == 0:
            return client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers)
        return client.put(f"/api/v1/attempts/{attempt_id}/responses/1", headers=headers,
                          json={"response": {"answer": f"{i}.5"}, "seq": seq})

    submitted, *saves = together(pool, act)
    assert submitted.status_code == 200, submitted.text
    for reply in saves:
        assert reply.status_code in (200, 409), reply.text
        if reply.status_code == 409:
            assert reply.json()["error"]["code"] in ("attempt_finished", "stale_seq"), reply.text
    steps = _steps(setup, attempt_id)[1]
    actions = [s.action for s in steps]
    assert actions[-1] == "finish" and actions.count("finish") == 1, actions
    assert [s.seq for s in steps] == list(range(len(steps)))
    acknowledged = [r.json()["seq"] for r in saves if r.status_code == 200]
    assert len(acknowledged) <= 1  # all sent the same seq: at most one lands
    assert [s.seq for s in steps if s.action == "save"] == acknowledged


def test_the_module_database_is_the_backend_asked_for(real_database: Database) -> None:
    """A guard: the fixture made a database of its own (never the shared test database)."""
    name = make_url(real_database.url).database or ""
    if real_database.is_sqlite:
        assert Path(name).name == "assay.sqlite3"
    else:
        assert name.startswith("assay_concurrency_")


def test_a_save_is_not_held_up_while_an_import_is_checked(setup: Setup, clients: Callable[[int], list[TestClient]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An import is read and checked (its variants generated and graded: seconds for a large one)
    before it takes SQLite's write lock: a student's save made while the import is being checked
    is acknowledged at once, before the import ends (it once waited for the whole import)."""
    from assessments.bank import checking as item_checking

    checking, saved = threading.Event(), threading.Event()
    check = item_checking.variant_problems

    def held_check(item: Any) -> Any:
        checking.set()
        saved.wait(TIMEOUT)  # the check goes on only once the student's save is answered (or never came)
        return check(item)

    monkeypatch.setattr(item_checking, "variant_problems", held_check)  # one item: checked in the process
    importer, student = clients(2)
    teacher = f"teacher-{secrets.token_hex(4)}"
    with setup.database.sessions() as session, session.begin():
        user = User(username=teacher, display_name="Teacher", role=Role.INSTRUCTOR, password_hash=setup.password_hash)
        session.add(user)
        session.flush()
        session.add(Enrolment(course_id=setup.course_id, user_id=user.id, role=CourseRole.INSTRUCTOR))
    teaching, learning = _headers(importer, teacher), _headers(student, _student(setup))
    started = student.post(f"/api/v1/quizzes/{setup.quiz_id}/attempts", headers=learning)
    assert started.status_code == 201, started.text
    attempt = started.json()
    item = textwrap.dedent(samples.NUMERIC).replace("id: numeric", f"id: numeric-{secrets.token_hex(4)}")

    with ThreadPoolExecutor(1) as pool:
        importing = pool.submit(importer.post, "/api/v1/items/import",
                                params={"format": "yaml", "bank": "course:racing"}, content=item.encode(),
                                headers={**teaching, "content-type": "application/yaml"})
        assert checking.wait(TIMEOUT), "the import never reached its check"
        reply = student.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=learning,
                            json={"response": {"answer": "0.5"}, "seq": attempt["questions"][0]["seq"]})
        import_still_checking = not importing.done()
        saved.set()
        imported = importing.result(timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    assert import_still_checking
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 1
