"""A student's save goes through while a regrade commits, on SQLite and PostgreSQL.

A regrade commits in transactions of :data:`assessments.grading.regrade.ATTEMPTS_PER_TRANSACTION`
attempts, so that SQLite's write lock (and PostgreSQL's row locks) are held a batch at a time. Here
the regrade, once its first batch is committed, waits for a student's save to an attempt of the
same quiz still in progress, made from another thread; the save must be
acknowledged (and committed) before the regrade finishes. Were the regrade one transaction, the
save would queue behind it and the regrade would finish first. Order is asserted, not timings.

The database is the module's own with real commits, as in ``test_concurrency``.
"""

from __future__ import annotations

import secrets
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assessments.app import create_app
from assessments.auth.passwords import hash_password
from assessments.bank.service import save_definition
from assessments.config import Settings
from assessments.db import Database
from assessments.grading import regrade
from assessments.migrations import upgrade
from assessments.models import Course, CourseRole, Enrolment, GradeChange, QuestionAttempt, Role, Step, User
from assessments.quizzes.schemas import QuizCreate, Section
from assessments.quizzes.service import add_quiz
from tests.assessments.test_concurrency import PG_URL, _postgresql_database
from tests.engine import samples

PASSWORD = "regrading-turtles-42"
FINISHED = 12
BATCH = 3
"""Attempts per transaction here: four batches."""
WAIT = 60.0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    drop: Callable[[], None] | None = None
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("the PostgreSQL test needs ASSAY_TEST_DATABASE_URL")
        url, drop = _postgresql_database(PG_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('regrade') / 'assay.sqlite3'}"
    try:
        upgrade(url)
        db = Database(url)
        with db.sessions() as session, session.begin():
            source = textwrap.dedent(samples.NUMERIC)
            save_definition(session, yaml.safe_load(source), source="samples", actor_id=None,
                            now=regrade_now(), item=samples.item(samples.NUMERIC))
        yield db
        db.dispose()
    finally:
        if drop is not None:
            drop()


def regrade_now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _user(session: Any, course: Course, role: Role, course_role: CourseRole, password_hash: str) -> str:
    username = f"{role.value}-{secrets.token_hex(4)}"
    user = User(username=username, display_name=username, role=role, password_hash=password_hash)
    session.add(user)
    session.flush()
    session.add(Enrolment(course_id=course.id, user_id=user.id, role=course_role))
    return username


def _login(client: TestClient, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"authorization": f"Bearer {reply.json()['access_token']}"}


def test_a_save_completes_while_a_regrade_commits(database: Database, tmp_path_factory: pytest.TempPathFactory,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), secret_key="regrade-" + "k" * 40)
    app = create_app(settings, database)
    password_hash = hash_password(PASSWORD)
    with database.sessions() as session, session.begin():
        course = Course(slug=f"regrade-{secrets.token_hex(3)}", title="Regrade")
        session.add(course)
        session.flush()
        quiz_id = add_quiz(session, course.id, QuizCreate(title="Fixed later", sections=[Section(items=["numeric"])]),
                           created_by_id=None, now=regrade_now()).id
        admin = _user(session, course, Role.ADMIN, CourseRole.INSTRUCTOR, password_hash)
        students = [_user(session, course, Role.STUDENT, CourseRole.STUDENT, password_hash)
                    for _ in range(FINISHED + 1)]

    with TestClient(app) as teacher_client, TestClient(app) as student_client:
        for username in students[:FINISHED]:
            me = _login(student_client, username)
            started = student_client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=me).json()
            saved = student_client.put(f"/api/v1/attempts/{started['id']}/responses/1", headers=me,
                                       json={"response": {"answer": "0.5"}, "seq": started["questions"][0]["seq"]})
            assert saved.status_code == 200, saved.text
            assert student_client.post(f"/api/v1/attempts/{started['id']}/submit", headers=me).status_code == 200
        late = _login(student_client, students[-1])
        open_attempt = student_client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=late).json()

        staff = _login(teacher_client, admin)
        item = teacher_client.get("/api/v1/items/numeric", headers=staff).json()["definition"]
        fixed = teacher_client.put("/api/v1/items/numeric", headers=staff,
                                   json={**item, "answer": "ranking_loss(r_l, r_w)", "misconceptions": {
                                       "forgot-the-log": "1 - sigmoid(r_w - r_l)",
                                       "unswapped": "ranking_loss(r_w, r_l)"}})
        assert fixed.status_code == 200, fixed.text
        moved = teacher_client.post(f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false", headers=staff,
                                    json={"items": ["numeric"]})
        assert moved.status_code == 200, moved.text

        # The regrade, once its first batch is committed, waits for the save (at most WAIT seconds).
        monkeypatch.setattr(regrade, "ATTEMPTS_PER_TRANSACTION", BATCH)
        monkeypatch.setattr(regrade, "ATTEMPTS_PER_TRANSACTION_POSTGRESQL", BATCH)
        first_batch, saved_event = threading.Event(), threading.Event()
        order: list[str] = []
        written_by_then: list[int] = []
        original = regrade.written

        def written_then_wait(session: Any) -> None:
            original(session)
            if not first_batch.is_set():
                first_batch.set()
                saved_event.wait(WAIT)

        monkeypatch.setattr(regrade, "written", written_then_wait)

        def run_regrade() -> Any:
            reply = teacher_client.post(f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=false", headers=staff)
            order.append("regrade")
            return reply

        def save_meanwhile() -> Any:
            assert first_batch.wait(WAIT), "the regrade never committed a batch"
            reply = student_client.put(f"/api/v1/attempts/{open_attempt['id']}/responses/1", headers=late,
                                       json={"response": {"answer": "0.25"},
                                             "seq": open_attempt["questions"][0]["seq"]})
            order.append("save")
            with database.sessions() as session:  # what the regrade had written when the save was acknowledged
                written_by_then.append(session.scalar(select(func.count()).select_from(GradeChange).where(
                    GradeChange.quiz_id == quiz_id)) or 0)
            saved_event.set()
            return reply

        with ThreadPoolExecutor(2) as pool:
            regraded, saved = pool.submit(run_regrade), pool.submit(save_meanwhile)
            regrade_reply, save_reply = regraded.result(timeout=WAIT * 3), saved.result(timeout=WAIT * 3)

    assert save_reply.status_code == 200 and save_reply.json()["saved"], save_reply.text
    assert regrade_reply.status_code == 200, regrade_reply.text
    assert order == ["save", "regrade"]
    assert written_by_then == [BATCH]  # one batch committed before the save, the rest after it
    body = regrade_reply.json()
    assert (body["committed"], body["questions"], body["skipped_in_progress"]) == (True, FINISHED, 1)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(GradeChange).where(
            GradeChange.quiz_id == quiz_id)) == FINISHED
        last = session.scalars(select(Step).join(QuestionAttempt, QuestionAttempt.id == Step.question_attempt_id)
                               .where(QuestionAttempt.attempt_id == open_attempt["id"])
                               .order_by(Step.seq.desc())).first()
        assert last is not None and last.response == {"answer": "0.25"}


def test_every_batch_of_a_regrade_writes_as_a_writer(database: Database, tmp_path_factory: pytest.TempPathFactory,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch is a writer's transaction (on SQLite: holding the write lock from its BEGIN). A
    batch begun as a reader wrote without the lock: a save committed between its reads and its
    writes failed the regrade half-way with "database is locked" (503), the first batches kept."""
    from assessments.db import READ_ONLY

    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), secret_key="regrade-" + "k" * 40)
    app = create_app(settings, database)
    password_hash = hash_password(PASSWORD)
    key = f"numeric-{secrets.token_hex(3)}"  # an item of its own: the module's is fixed by the test above
    with database.sessions() as session, session.begin():
        definition = {**yaml.safe_load(textwrap.dedent(samples.NUMERIC)), "id": key}
        save_definition(session, definition, source="samples", actor_id=None, now=regrade_now())
        course = Course(slug=f"batches-{secrets.token_hex(3)}", title="Regrade in batches")
        session.add(course)
        session.flush()
        quiz_id = add_quiz(session, course.id, QuizCreate(title="Fixed later", sections=[Section(items=[key])]),
                           created_by_id=None, now=regrade_now()).id
        admin = _user(session, course, Role.ADMIN, CourseRole.INSTRUCTOR, password_hash)
        students = [_user(session, course, Role.STUDENT, CourseRole.STUDENT, password_hash) for _ in range(FINISHED)]
    with TestClient(app) as client:
        for username in students:
            me = _login(client, username)
            started = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=me).json()
            assert client.post(f"/api/v1/attempts/{started['id']}/submit", headers=me).status_code == 200
        staff = _login(client, admin)
        item = client.get(f"/api/v1/items/{key}", headers=staff).json()["definition"]
        fixed = client.put(f"/api/v1/items/{key}", headers=staff, json={
            **item, "answer": "ranking_loss(r_l, r_w)",
            "misconceptions": {"forgot-the-log": "1 - sigmoid(r_w - r_l)", "unswapped": "ranking_loss(r_w, r_l)"}})
        assert fixed.status_code == 200, fixed.text
        assert client.post(f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false", headers=staff,
                           json={"items": [key]}).status_code == 200

        monkeypatch.setattr(regrade, "ATTEMPTS_PER_TRANSACTION", BATCH)
        monkeypatch.setattr(regrade, "ATTEMPTS_PER_TRANSACTION_POSTGRESQL", BATCH)
        batches: list[tuple[bool, bool]] = []  # (begun as a reader, holding SQLite's write lock)
        original = regrade._write

        def watched(session: Any, *args: Any) -> Any:
            connection = session.connection()
            batches.append((bool(connection.get_execution_options().get(READ_ONLY)),
                            bool(connection.connection.info.get("assay_write_lock"))))
            return original(session, *args)

        monkeypatch.setattr(regrade, "_write", watched)
        reply = client.post(f"/api/v1/quizzes/{quiz_id}/regrade?dry_run=false", headers=staff)
    assert reply.status_code == 200, reply.text
    assert reply.json()["questions"] == FINISHED
    sqlite = database.is_sqlite
    assert batches == [(False, sqlite)] * (FINISHED // BATCH)
