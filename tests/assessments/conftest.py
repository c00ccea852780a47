"""Database tests: the real migrations once per database, then one rolled-back transaction per test.

Every test that takes ``db`` (or ``client``) runs on SQLite and, when ``ASSAY_TEST_DATABASE_URL``
names a PostgreSQL database, on PostgreSQL too. A small bank (a few shipped items and the engine
test samples) is loaded once per database and committed; everything a test writes is rolled back.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from assessments.app import create_app
from assessments.auth.passwords import hash_password
from assessments.bank.service import save_definition
from assessments.config import Settings
from assessments.db import Database, phased
from assessments.deps import get_now, get_session
from assessments.migrations import downgrade, upgrade
from assessments.models import Course, CourseRole, Enrolment, Quiz, Role, User
from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
from assessments.quizzes.service import add_quiz
from engine.content.loader import load_item_text
from tests.conftest import ROOT
from tests.engine import samples

PG_URL = os.environ.get("ASSAY_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct horse battery"
# Hashing with argon2 is slow by design: hash the tests' one password once.
PASSWORD_HASH = hash_password(PASSWORD)

BANK_FILES = [
    "foundations-of-llms/ch4-alignment/reward-models/ranking-loss-which-pair-is-penalised.yaml",
    "foundations-of-llms/ch4-alignment/reward-models/evaluating-reward-model-score-outputs.yaml",
    "foundations-of-llms/ch4-alignment/reward-models/bradley-terry-preference-probability.yaml",
    "foundations-of-llms/ch4-alignment/policy-optimisation/dpo-loss-value.yaml",
    "foundations-of-llms/case-studies/rlhf-reward-hacking-spike-root-cause.yaml",
]
SAMPLES = {
    "seed": samples.SEED, "numeric": samples.NUMERIC, "single": samples.SINGLE,
    "tf": samples.TRUE_FALSE, "ordering": samples.ORDERING, "matching": samples.MATCHING,
    "short": samples.SHORT, "essay": samples.ESSAY,
}
"""Engine sample items, loaded under these keys (their ids)."""

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _load_bank(database: Database) -> None:
    import yaml

    with database.sessions() as session, session.begin():
        for relative in BANK_FILES:
            text_ = (ROOT / "content" / relative).read_text()
            save_definition(session, yaml.safe_load(text_), source=relative, actor_id=None, now=T0)
        for body in SAMPLES.values():
            item = load_item_text(body)
            import textwrap

            save_definition(session, yaml.safe_load(textwrap.dedent(body)), source="samples",
                            actor_id=None, now=T0, item=item)


def banked_database(backend: str, folder: Path) -> tuple[str, Database]:
    """A database of its own on ``backend`` (a SQLite file in ``folder``, or a fresh PostgreSQL
    database), migrated and holding the sample bank: its URL and the :class:`Database`."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'assay.sqlite3'}"
    else:
        assert PG_URL is not None
        url = _fresh_postgresql_database(PG_URL)
    upgrade(url)
    database = Database(url)
    _load_bank(database)
    return url, database


class BrokenPool:
    """In place of :data:`assessments.apart.POOL`'s executor: one whose processes were killed."""

    def submit(self, *_args: Any, **_kwargs: Any) -> Any:
        raise BrokenProcessPool("a process of the pool was killed")

    def map(self, *_args: Any, **_kwargs: Any) -> Any:
        raise BrokenProcessPool("a process of the pool was killed")

    def shutdown(self, *_args: Any, **_kwargs: Any) -> None:
        pass


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url, database = banked_database(request.param, tmp_path_factory.mktemp("db"))
    yield database
    database.dispose()
    if request.param == "postgresql":
        downgrade(url)
        _drop_postgresql_database(url)


def _admin_engine(url: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def _fresh_postgresql_database(url: str) -> str:
    """A database of this test run's own on the configured server, so runs never collide."""
    from sqlalchemy.engine import make_url

    name = f"assay_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = _admin_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_postgresql_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = _admin_engine(PG_URL or url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def db(database: Database) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = database.engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@dataclass
class Clock:
    """The service's clock in tests: starts at T0; ``advance`` moves it."""

    now: datetime = T0

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="test-secret-" + "x" * 40, grace_seconds=30)


def serve_from(application: Any, db: Session, clock: Clock) -> Any:
    """``application`` with every request using ``db`` (a session joined to a test's transaction,
    committing savepoints) on the test's clock, as a request's own session would: it may commit
    part-way."""

    def session_override() -> Iterator[Session]:
        try:
            yield phased(db)
            db.commit()  # releases the test's savepoint; the outer transaction still rolls back
        except BaseException:
            db.rollback()
            raise

    application.dependency_overrides[get_session] = session_override
    application.dependency_overrides[get_now] = lambda: clock.now
    return application


@pytest.fixture
def app(db: Session, database: Database, settings: Settings, clock: Clock) -> Any:
    return serve_from(create_app(settings, database), db, clock)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# --- factories --------------------------------------------------------------------------------


@dataclass
class World:
    """Builds users, courses and quizzes inside the test's transaction, and signs people in."""

    db: Session
    client: TestClient | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    def user(self, username: str, role: Role = Role.STUDENT) -> User:
        user = User(username=username, display_name=username.title(), role=role, password_hash=PASSWORD_HASH)
        self.db.add(user)
        self.db.flush()
        return user

    def author(self, username: str = "author") -> User:
        """An instructor who teaches a course of their own (``<username>-course``): their new
        items go into its bank."""
        user = self.user(username, Role.INSTRUCTOR)
        self.course(f"{username}-course", (user, CourseRole.INSTRUCTOR))
        return user

    def course_of(self, author: User) -> Course:
        """The course of an :meth:`author`."""
        return self.db.scalars(select(Course).where(Course.slug == f"{author.username}-course")).one()

    def course(self, slug: str = "llms", *members: tuple[User, CourseRole]) -> Course:
        course = Course(slug=slug, title=slug.upper())
        self.db.add(course)
        self.db.flush()
        for user, role in members:
            self.db.add(Enrolment(course_id=course.id, user_id=user.id, role=role))
        self.db.flush()
        return course

    def quiz(self, course: Course, items: list[str], **settings: Any) -> Quiz:
        return add_quiz(self.db, course.id, QuizCreate(title="Quiz", settings=QuizSettings(**settings),
                                                       sections=[Section(items=items)]), created_by_id=None, now=T0)

    def headers(self, user: User) -> dict[str, str]:
        """A bearer token for ``user``, through the real sign-in endpoint."""
        assert self.client is not None
        if user.username not in self.tokens:
            reply = self.client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
            assert reply.status_code == 200, reply.text
            self.tokens[user.username] = reply.json()["access_token"]
        return {"authorization": f"Bearer {self.tokens[user.username]}"}


@pytest.fixture
def world(db: Session, client: TestClient) -> World:
    return World(db, client)
