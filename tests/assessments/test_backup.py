"""Backups: a populated database dumps, restores into a fresh one row for row, and keeps working.

The source is the test's own transaction on the session's database (SQLite, and PostgreSQL when
``ASSAY_TEST_DATABASE_URL`` is set), populated through the real API and services; it is restored
into a database of the test's own of each kind (a file, or a scratch PostgreSQL database created
and dropped here), so SQLite to SQLite, SQLite to PostgreSQL, PostgreSQL to SQLite and PostgreSQL
to PostgreSQL all run. ``test_backup_refusals`` holds the archives and targets that are refused.
"""

from __future__ import annotations

import textwrap
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Connection, func, select, text
from typer.testing import CliRunner

from assessments import jobs
from assessments.attempts.service import start
from assessments.auth.tokens import ALL_SCOPES
from assessments.backup import Manifest, database_revision, dump, dump_connection, verify
from assessments.bank.repository import current_versions_query
from assessments.bank.service import save_definition
from assessments.cli import app
from assessments.config import get_settings
from assessments.db import Database
from assessments.deps import Account, Principal
from assessments.lti.keys import rotate
from assessments.lti.schemas import RegistrationCreate
from assessments.lti.service import register
from assessments.migrations import upgrade
from assessments.models import (
    Base,
    CourseRole,
    Enrolment,
    LtiContext,
    LtiNonce,
    LtiResourceLink,
    LtiScoreTarget,
    QuestionAttempt,
    Quiz,
    Role,
    Step,
    User,
)
from tests.assessments.backup_support import (
    HEAD,
    TARGET_BACKENDS,
    TARGETS,
    copy_of,
    counts,
    engine_for,
    fresh_databases,
    restore_into,
    small_archive,
    snapshot,
)
from tests.assessments.conftest import World
from tests.assessments.test_grading_support import classroom
from tests.engine import samples

ESSAY = {"text": "The policy found a flaw in the reward model: the score rose while quality fell."}


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    yield from fresh_databases(tmp_path)


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_archive(tmp_path_factory.mktemp("small"))


@pytest.fixture
def archive(good_archive: Path, tmp_path: Path) -> Path:
    return copy_of(good_archive, tmp_path)


# --- a populated database -----------------------------------------------------------------------


def populate(world: World) -> dict[str, int]:
    """A course with people, a quiz taken and graded by hand, an item with a new version, a
    personal token, LTI registrations and links, and jobs: every kind of row Assay keeps."""
    room = classroom(world)
    db = world.db
    quiz_id = room.quiz_by_api([{"items": ["numeric"], "mark": 2}, {"items": ["essay"], "mark": 5}])
    finished = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY})
    graded = room.api.post(f"/api/v1/attempts/{finished}/slots/2/grade", headers=room.as_(room.teacher),
                           json={"rubric": {"mechanism": 1, "safeguard": 1}, "comment": "Näme the flaw — précisément."})
    assert graded.status_code == 200, graded.text
    open_attempt = room.take(room.bob, quiz_id, {1: {"answer": "0.25"}}, submit=False)
    token = room.api.post("/api/v1/auth/tokens", headers=room.as_(room.teacher),
                          json={"name": "gradebook script", "scopes": ["read", "grade"]})
    assert token.status_code == 201, token.text

    definition = yaml.safe_load(textwrap.dedent(samples.NUMERIC))
    definition["title"] = "A second version, with a new title"
    now = datetime(2026, 11, 3, 10, 15, 30, 123456, tzinfo=UTC)
    assert save_definition(db, definition, source="test", actor_id=room.teacher.id, now=now).version == 2

    platform = register(db, RegistrationCreate(
        issuer="https://lms.example", client_id="assay-client", deployment_ids=["d1", "d2"],
        auth_login_url="https://lms.example/auth", auth_token_url="https://lms.example/token",
        jwks_url="https://lms.example/jwks"), now)
    platform.jwks = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}
    rotate(db, now)
    rotate(db, now + timedelta(days=1), timedelta(days=7))
    db.add(LtiNonce(nonce="n-1", state="s-1", platform_id=platform.id, expires_at=now + timedelta(minutes=5),
                    target_link_uri="https://assay.example/lti/launch"))
    context = LtiContext(platform_id=platform.id, context_id="ctx-101", course_id=room.course.id,
                         memberships_url="https://lms.example/members")
    db.add(context)
    db.flush()
    link = LtiResourceLink(platform_id=platform.id, resource_link_id="rl-1", deployment_id="d1",
                           context_id=context.id, quiz_id=quiz_id, title=None, ags_scopes=["score", "lineitem"])
    db.add(link)
    db.flush()
    db.add(LtiScoreTarget(link_id=link.id, user_id=room.alice.id, lti_user_id="lms-alice", sent_score=0.1 + 0.2,
                          sent_progress="FullyGraded", sent_at=now))

    queued = jobs.enqueue(db, "statistics", {"quiz_id": quiz_id, "weights": [0.5, 1e-7, -2.5e-12]}, key="stats",
                          now=now)
    done = jobs.enqueue(db, "lti.score", {"nested": {"b": [1, {"a": None}], "a": "ünïcode"}}, now=now)
    done.result = None  # JSON's null, where the queued job's result is SQL NULL
    done.progress = 1 / 3
    db.flush()
    assert queued.id != done.id
    return {"quiz": quiz_id, "finished": finished, "open": open_attempt}


def assert_same_rows(source: Connection, url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            restored = snapshot(connection)
    finally:
        engine.dispose()
    original = snapshot(source)
    assert list(restored) == list(original)
    for name, rows in original.items():
        assert restored[name] == rows, f"table {name} differs"
    return restored


# --- the round trip -----------------------------------------------------------------------------


def test_a_populated_database_round_trips_row_for_row_and_keeps_working(
        world: World, fresh: Callable[[str], str], tmp_path: Path) -> None:
    ids = populate(world)
    source = world.db.connection()
    archive = tmp_path / "assay-backup.zip"
    manifest = dump_connection(source, archive, now=datetime(2026, 11, 4, 8, 0, tzinfo=UTC))

    # The manifest describes every table of the models, with real counts.
    assert manifest.alembic_revision == HEAD and manifest.source_dialect == source.dialect.name
    assert [t.name for t in manifest.tables] == [t.name for t in Base.metadata.sorted_tables]
    rows = {t.name: t.rows for t in manifest.tables}
    # jobs: the two above and the preparation of the published quiz's starts
    assert rows["attempts"] == 2 and rows["lti_keys"] == 2 and rows["jobs"] == 3 and rows["api_tokens"] == 1
    assert rows["question_attempt_steps"] >= 7  # start, save, finish, manual grade, bob's start and save
    assert rows["lti_score_targets"] == rows["lti_nonces"] == rows["lti_resource_links"] == 1
    assert verify(archive) == manifest

    for target in TARGET_BACKENDS:
        url = fresh(target)
        restore_into(url, archive)
        restored = assert_same_rows(source, url)
        assert any(r[-1] is True for r in restored["jobs"]) and any(r[-1] is False for r in restored["jobs"]), \
            "both a SQL NULL and a JSON null result are compared"

        target_database = Database(url)
        try:
            # Dumped again from the restored database, every table has the very same bytes.
            again = dump(target_database, tmp_path / f"again-{target}.zip")
            assert [(t.name, t.rows, t.sha256) for t in again.tables] == \
                [(t.name, t.rows, t.sha256) for t in manifest.tables]

            # The restored database works: new rows take new ids, and a new attempt starts.
            with target_database.sessions() as session, session.begin():
                # The text search's index, which a backup leaves out, was written again by the restore.
                searched = [item.key for item, _ in session.execute(current_versions_query([], "loss", None))]
                assert searched and searched == \
                    [item.key for item, _ in world.db.execute(current_versions_query([], "loss", None))]
                newcomer = User(username="newcomer", display_name="Newcomer", role=Role.STUDENT)
                session.add(newcomer)
                session.flush()
                course_id = session.scalar(select(Quiz.course_id).where(Quiz.id == ids["quiz"]))
                session.add(Enrolment(course_id=course_id, user_id=newcomer.id, role=CourseRole.STUDENT))
                session.flush()
                attempt = start(session, Principal(Account.of(newcomer), ALL_SCOPES, "session"), ids["quiz"],
                                datetime(2026, 11, 5, tzinfo=UTC)).attempt
                assert newcomer.id > max(r[0] for r in restored["users"])
                assert attempt.id > max(ids["finished"], ids["open"])
                steps = session.scalar(select(func.count()).select_from(Step).join(QuestionAttempt).where(
                    QuestionAttempt.attempt_id == attempt.id))
                assert steps == 2, "a start step per slot, with new ids"
        finally:
            target_database.dispose()


def test_an_empty_database_that_is_not_migrated_is_migrated_first(archive: Path, fresh: Callable[[str], str]) -> None:
    migrated = fresh("sqlite")
    upgrade(migrated)
    for url in (fresh("sqlite"), migrated):
        restore_into(url, archive)
        engine = engine_for(url)
        with engine.connect() as connection:
            assert database_revision(connection) == HEAD
            assert connection.scalar(select(User.id).where(User.username == "ada")) == 1
        engine.dispose()


@pytest.mark.parametrize("backend", TARGETS)
def test_a_dump_is_one_snapshot_while_others_write(archive: Path, fresh: Callable[[str], str], tmp_path: Path,
                                                   backend: str) -> None:
    """A user added and committed by someone else once the dump has begun is not in the archive."""
    url = fresh(backend)
    restore_into(url, archive)
    database = Database(url)

    class Intruder:
        def __init__(self) -> None:
            self.tables: list[str] = []

        def table(self, name: str, rows: int) -> None:
            self.tables.append(name)
            if len(self.tables) == 1:  # the first table; users come later
                with database.sessions() as session, session.begin():
                    session.add(User(username="latecomer", display_name="Late", role=Role.STUDENT))

        def advance(self, rows: int) -> None:
            pass

    intruder = Intruder()
    try:
        manifest = dump(database, tmp_path / "snapshot.zip", progress=intruder)
        with database.engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(User)) == 3, "the write did happen"
    finally:
        database.dispose()
    assert intruder.tables.index("users") > 0
    assert next(t.rows for t in manifest.tables if t.name == "users") == 2
    with zipfile.ZipFile(tmp_path / "snapshot.zip") as written:
        assert b"latecomer" not in written.read("tables/users.jsonl")


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSAY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_dump_and_restore_through_the_cli(data_dir: Path, fresh: Callable[[str], str]) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(app, ["user", "create", "ada", "--role", "instructor", "--password", "a long password"])
    assert made.exit_code == 0, made.output
    out = data_dir / "backup.zip"
    result = runner.invoke(app, ["db", "dump", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 1 row in {len(Base.metadata.tables)} tables at revision {HEAD}" in result.output
    assert Manifest.model_validate_json(zipfile.ZipFile(out).read("manifest.json")).total_rows == 1

    again = runner.invoke(app, ["db", "dump", str(out)])
    assert again.exit_code == 1 and "exists" in again.output and "--replace" in again.output
    assert runner.invoke(app, ["db", "dump", str(out), "--replace"]).exit_code == 0

    url = fresh("sqlite")
    result = runner.invoke(app, ["db", "restore", str(out), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "restored 1 row in" in result.output and f"revision {HEAD}" in result.output
    assert (counts(url) or {})["users"] == 1
    into_itself = runner.invoke(app, ["db", "restore", str(out)])
    assert into_itself.exit_code == 1
    assert "not empty (users: 1 row)" in into_itself.output and "nothing was restored" in into_itself.output
    missing = runner.invoke(app, ["db", "restore", str(data_dir / "nope.zip"), "--database-url", fresh("sqlite")])
    assert missing.exit_code == 1 and "nope.zip: no such file" in missing.output


def test_the_round_trip_compares_what_it_claims(world: World, fresh: Callable[[str], str], tmp_path: Path) -> None:
    """The comparison itself can fail: a restored row changed afterwards is caught."""
    world.user("ada")
    archive = tmp_path / "a.zip"
    dump_connection(world.db.connection(), archive)
    url = fresh("sqlite")
    restore_into(url, archive)
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET display_name = 'Someone else' WHERE username = 'ada'"))
    engine.dispose()
    with pytest.raises(AssertionError, match="table users differs"):
        assert_same_rows(world.db.connection(), url)
