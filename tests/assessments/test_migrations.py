"""The migrations are the only source of the schema: they build it on an empty database, take it
down again revision by revision, and what they build is what the models describe.

Each run uses a database of its own: a file for SQLite, and on the configured PostgreSQL server a
fresh database (``assay_migrations_test_...``) created for the test and dropped after it, so the
session's shared test database (migrated by ``conftest``) is never touched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, pool, text
from sqlalchemy.engine import make_url

from assessments.migrations import alembic_config, compared, downgrade, upgrade
from assessments.models import Base
from assessments.models.bank import is_text_search_index

PG_URL = os.environ.get("ASSAY_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="ASSAY_TEST_DATABASE_URL is not set")),
]
PARTIAL_UNIQUE_INDEXES = {
    "attempts": ("uq_attempts_one_open", "in_progress"),
    "question_attempts": ("uq_question_attempts_current_slot", "replaced_at"),
}
"""The indexes that keep one open attempt per student and one current question per slot, with a
word of the ``WHERE`` clause that makes them partial."""


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    assert PG_URL is not None
    name = f"assay_migrations_test_{os.getpid()}_{secrets.token_hex(3)}"
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def revisions_base_to_head() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables(engine: Engine) -> set[str]:
    """The tables the models describe (the text search's index is the database's own)."""
    return {name for name in inspect(engine).get_table_names()
            if name != "alembic_version" and not is_text_search_index(name)}


def differences(engine: Engine) -> list[object]:
    """What autogenerate would write to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": compared,
                                                               "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_to_head_and_downgrade_to_base(backend: str, tmp_path: Path) -> None:
    revisions = revisions_base_to_head()
    assert revisions, "no migrations"
    with empty_database(backend, tmp_path) as url:
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            assert tables(engine) == set()

            upgrade(url)
            assert current_revision(engine) == revisions[-1]
            assert tables(engine) == set(Base.metadata.tables)
            assert differences(engine) == []

            # Down one revision at a time, then up one at a time: every step runs both ways.
            for expected in reversed([None, *revisions[:-1]]):
                downgrade(url, "-1")
                assert current_revision(engine) == expected
            assert tables(engine) == set()
            assert len(differences(engine)) >= len(Base.metadata.tables), "the comparison sees a missing schema"
            for revision in revisions:
                upgrade(url, "+1")
                assert current_revision(engine) == revision
            assert differences(engine) == []

            downgrade(url)
            assert current_revision(engine) is None and tables(engine) == set()
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_partial_unique_indexes_are_built_partial(backend: str, tmp_path: Path) -> None:
    """Autogenerate does not compare an index's WHERE clause: check these by hand."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            inspector = inspect(engine)
            for table, (name, word) in PARTIAL_UNIQUE_INDEXES.items():
                index = next(i for i in inspector.get_indexes(table) if i["name"] == name)
                assert index["unique"]
                where = index.get("dialect_options", {}).get(f"{engine.dialect.name}_where")
                assert where is not None and word in str(where), index
        finally:
            engine.dispose()


def _revision_before(revision: str) -> str:
    script = ScriptDirectory.from_config(alembic_config())
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_bank_migration_puts_items_in_the_library_and_pins_every_quiz(backend: str, tmp_path: Path) -> None:
    """0007 on a database with a bank and quizzes: every item joins the open library, and each
    quiz is pinned to what it gave at that moment (fixed items at their current versions, each
    draw's pool as its tags, text and type matched)."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url, _revision_before("0007"))
        engine = create_engine(url, poolclass=pool.NullPool)
        at = "2026-11-02 09:00:00+00:00"
        try:
            with engine.begin() as connection:
                run = connection.execute
                run(text("INSERT INTO courses (id, slug, title, created_at) VALUES (1, 'llms', 'LLMs', :at)"),
                    {"at": at})
                for n, (key, type_, current) in enumerate(
                        [("fixed", "numeric", 2), ("dpo", "numeric", 1), ("ppo", "numeric", 1),
                         ("essay", "essay", 1), ("other-chapter", "numeric", 1)], start=1):
                    run(text("INSERT INTO items (id, key, current_number, created_at) VALUES (:id, :key, :n, :at)"),
                        {"id": n, "key": key, "n": current, "at": at})
                    for number in range(1, current + 1):
                        run(text("INSERT INTO item_versions (id, item_id, number, definition, content_hash, type, "
                                 "title, is_computed, created_at) VALUES (:id, :item, :number, :definition, "
                                 ":hash, :type, :title, true, :at)"),
                            {"id": n * 10 + number, "item": n, "number": number, "definition": "{}",
                             "hash": f"{n * 10 + number:064x}", "type": type_, "title": f"{key} v{number}", "at": at})
                    chapter = "Ch.2 Generative Models" if key == "other-chapter" else "Ch.4 Alignment > RLHF"
                    run(text("INSERT INTO item_tags (item_id, facet, value) VALUES (:item, 'chapter', :value)"),
                        {"item": n, "value": chapter})
                sections = ('[{"items": ["fixed"]}, {"draw": {"tags": ["chapter:Ch.4 Alignment"], '
                            '"type": "numeric", "count": 1}}, {"draw": {"q": "PPO", "count": 1}}]')
                run(text("INSERT INTO quizzes (id, course_id, title, description, settings, sections, created_at, "
                         "updated_at) VALUES (1, 1, 'Quiz', '', '{}', :sections, :at, :at)"),
                    {"sections": sections, "at": at})
            upgrade(url)
            with engine.connect() as connection:
                banks = connection.execute(text("SELECT id, slug, open_to_all, course_id FROM banks")).all()
                assert [(slug, bool(open_), course) for _, slug, open_, course in banks] == [("library", True, None)]
                assert set(connection.scalars(text("SELECT bank_id FROM items"))) == {banks[0][0]}
                pins = connection.execute(text(
                    "SELECT quiz_items.section, items.key, item_versions.number FROM quiz_items "
                    "JOIN items ON items.id = quiz_items.item_id "
                    "JOIN item_versions ON item_versions.id = quiz_items.item_version_id "
                    "ORDER BY quiz_items.section, items.key")).all()
            assert [tuple(p) for p in pins] == [(0, "fixed", 2), (1, "dpo", 1), (1, "fixed", 2), (1, "ppo", 1),
                                                (2, "ppo", 1)]
            assert differences(engine) == []
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_bank_migration_leaves_an_empty_database_empty(backend: str, tmp_path: Path) -> None:
    """A restore's target must be empty after its migrations: the library is made on first use."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM banks")) == 0
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_quiz_life_migration_keeps_existing_quizzes_published_and_attempts_counted(backend: str,
                                                                                      tmp_path: Path) -> None:
    """0015 on a database with a quiz and an attempt: the quiz stays visible to its students
    (published, no scheduled time) and the attempt is a student's, not a preview."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url, _revision_before("0015"))
        engine = create_engine(url, poolclass=pool.NullPool)
        at = "2026-11-02 09:00:00+00:00"
        try:
            with engine.begin() as connection:
                run = connection.execute
                run(text("INSERT INTO courses (id, slug, title, created_at) VALUES (1, 'llms', 'LLMs', :at)"),
                    {"at": at})
                run(text("INSERT INTO users (id, username, display_name, role, is_active, created_at) "
                         "VALUES (1, 'ada', 'Ada', 'student', true, :at)"), {"at": at})
                run(text("INSERT INTO quizzes (id, course_id, title, description, settings, sections, created_at, "
                         "updated_at) VALUES (1, 1, 'Quiz', '', '{}', '[]', :at, :at)"), {"at": at})
                run(text("INSERT INTO attempts (id, quiz_id, user_id, number, state, started_at, max_marks) "
                         "VALUES (1, 1, 1, 1, 'finished', :at, 1.0)"), {"at": at})
            upgrade(url)
            with engine.connect() as connection:
                quiz = connection.execute(text("SELECT status, publish_at FROM quizzes")).one()
                preview = connection.scalar(text("SELECT preview FROM attempts"))
            assert tuple(quiz) == ("published", None)
            assert preview in (False, 0)
            assert differences(engine) == []
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_search_index_migration_fills_the_index_and_takes_it_away(backend: str, tmp_path: Path) -> None:
    """0028 on a bank: the index holds each item's key and current title (not an older version's),
    the search finds by them; down again, the index and its triggers are gone and items are
    written as before; up again, the index is filled again."""
    from sqlalchemy.orm import Session

    from assessments.bank.repository import current_versions_query

    with empty_database(backend, tmp_path) as url:
        upgrade(url, _revision_before("0028"))
        engine = create_engine(url, poolclass=pool.NullPool)
        at = "2026-11-02 09:00:00+00:00"

        def found(q: str) -> list[str]:
            with Session(engine) as session:
                keys = [item.key for item, _ in session.execute(current_versions_query([], q, None))]
                paged = current_versions_query([], q, None, dialect=engine.dialect.name)
                assert [item.key for item, _ in session.execute(paged)] == keys, q
                return keys

        def items_search_exists() -> bool:
            return "items_search" in inspect(engine).get_table_names()

        try:
            with engine.begin() as connection:
                run = connection.execute
                run(text("INSERT INTO banks (id, slug, title, is_course_default, open_to_all, created_at) "
                         "VALUES (1, 'library', 'Library', false, true, :at)"), {"at": at})
                for n, key, titles in [(1, "edited-item", ["Old ranking title", "Fresh loss"]),
                                       (2, "plain-item", ["Ranking 50% loss"]), (3, "bare-item", [])]:
                    run(text("INSERT INTO items (id, key, bank_id, current_number, created_at) "
                             "VALUES (:id, :key, 1, :n, :at)"),
                        {"id": n, "key": key, "n": len(titles) or None, "at": at})
                    for number, title in enumerate(titles, start=1):
                        run(text("INSERT INTO item_versions (id, item_id, number, definition, content_hash, type, "
                                 "title, is_computed, origin, created_at) VALUES (:id, :item, :number, '{}', :hash, "
                                 "'numeric', :title, true, 'file', :at)"),
                            {"id": n * 10 + number, "item": n, "number": number, "hash": f"{n * 10 + number:064x}",
                             "title": title, "at": at})
            assert not items_search_exists()

            upgrade(url)
            assert items_search_exists()
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM items_search")) == 2  # bare-item has no version
            assert found("ranking") == ["plain-item"]  # not edited-item: "Old ranking title" is no longer its title
            assert found("LOSS") == ["edited-item", "plain-item"]
            assert found("50%") == ["plain-item"] and found("bare") == []
            assert differences(engine) == []

            downgrade(url, _revision_before("0028"))
            assert not items_search_exists()
            with engine.begin() as connection:  # no trigger is left to write to a table that is gone
                connection.execute(text("INSERT INTO items (id, key, bank_id, current_number, created_at) "
                                        "VALUES (4, 'later-item', 1, NULL, :at)"), {"at": at})
                connection.execute(text("INSERT INTO item_versions (id, item_id, number, definition, content_hash, "
                                        "type, title, is_computed, origin, created_at) VALUES (41, 4, 1, '{}', "
                                        ":hash, 'numeric', 'Later loss', true, 'file', :at)"),
                                   {"hash": "41" * 32, "at": at})
                connection.execute(text("UPDATE items SET current_number = 1 WHERE id = 4"))
            upgrade(url)
            assert found("ranking") == ["plain-item"] and found("LOSS") == ["edited-item", "later-item", "plain-item"]
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM items_search")) == 3
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_search_key_order_migration_indexes_the_search_table_on_postgresql(backend: str, tmp_path: Path) -> None:
    """0032: on PostgreSQL a B-tree index on ``items_search.key`` (a page of a text search walks it),
    gone again on the way down; on SQLite (an FTS5 table) nothing changes. Either way the schema
    is the models' (the index is one of the text search's own objects)."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        engine = create_engine(url, poolclass=pool.NullPool)

        def search_indexes() -> set[str]:
            if engine.dialect.name != "postgresql":
                return set()
            return {str(index["name"]) for index in inspect(engine).get_indexes("items_search")}

        try:
            postgresql = engine.dialect.name == "postgresql"
            assert ("ix_items_search_key" in search_indexes()) == postgresql
            assert differences(engine) == []
            downgrade(url, _revision_before("0032"))
            assert "ix_items_search_key" not in search_indexes()
            upgrade(url)
            assert ("ix_items_search_key" in search_indexes()) == postgresql
        finally:
            engine.dispose()
