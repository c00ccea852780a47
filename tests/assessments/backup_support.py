"""What the backup tests share: empty target databases of their own, a small good archive, and
ways to read a database back (its rows, its counts)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, Engine, create_engine, inspect, pool, select, text
from sqlalchemy.engine import make_url

from assessments.backup import Manifest, database_revision, dump, restore
from assessments.bank.repository import library
from assessments.db import Database
from assessments.migrations import alembic_config, upgrade
from assessments.models import (
    Base,
    Item,
    ItemVersion,
    Role,
    User,
)

PG_URL = os.environ.get("ASSAY_TEST_DATABASE_URL")
TARGET_BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TARGETS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="ASSAY_TEST_DATABASE_URL is not set")),
]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


# --- target databases ---------------------------------------------------------------------------


def fresh_databases(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases (no schema) for a test and drops the PostgreSQL ones afterwards
    (the body of each test module's ``fresh`` fixture)."""
    made: list[str] = []
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool) if PG_URL else None

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'target-{len(made)}-{secrets.token_hex(2)}.sqlite3'}"
        assert server is not None and PG_URL is not None
        name = f"assay_backup_test_{os.getpid()}_{secrets.token_hex(3)}"
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if server is not None:
        with server.connect() as connection:
            for name in made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def restore_into(url: str, archive: Path) -> Manifest:
    database = Database(url)
    try:
        return restore(database, archive)
    finally:
        database.dispose()


def dump_from(url: str, archive: Path) -> Manifest:
    database = Database(url)
    try:
        return dump(database, archive)
    finally:
        database.dispose()


def engine_for(url: str) -> Engine:
    return create_engine(url, poolclass=pool.NullPool)


def snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in id order, with whether each JSON column is SQL NULL (it reads as None
    whether it is SQL NULL or JSON null)."""
    rows = {}
    for table in Base.metadata.sorted_tables:
        nulls = [c.is_(None) for c in table.columns if isinstance(c.type, JSON)]
        query = select(*table.columns, *nulls).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return rows


def counts(url: str) -> dict[str, Any] | None:
    """Rows per table present (Assay's or not) and the schema revision; None where the database
    has no tables at all (or no file)."""
    if url.startswith("sqlite") and not Path(make_url(url).database or "").exists():
        return None
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            if not names:
                return None
            quote = connection.dialect.identifier_preparer.quote
            found: dict[str, Any] = {name: connection.scalar(text(f"SELECT count(*) FROM {quote(name)}"))
                                     for name in names}
            found["@revision"] = database_revision(connection)
            return found
    finally:
        engine.dispose()


# --- a small archive ------------------------------------------------------------------------------


def small_archive(folder: Path) -> Path:
    """A small good archive, dumped from a SQLite database of its own: two users and an item with
    three versions."""
    url = f"sqlite:///{folder / 'small.sqlite3'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            ada = User(username="ada", display_name="Ada", role=Role.STUDENT)
            grace = User(username="grace", display_name="Grace", role=Role.INSTRUCTOR)
            item = Item(key="numeric", current_number=3, bank_id=library(session).id)
            session.add_all([ada, grace, item])
            session.flush()
            session.add_all([ItemVersion(item_id=item.id, number=n, definition={"id": "numeric", "n": [n, None]},
                                         content_hash=f"{n:064x}", type="numeric", title=f"Version {n}",
                                         is_computed=True, created_by_id=grace.id) for n in (1, 2, 3)])
        path = folder / "good.zip"
        dump(database, path)
    finally:
        database.dispose()
    return path


def copy_of(archive: Path, folder: Path) -> Path:
    copy = folder / "good.zip"
    shutil.copyfile(archive, copy)
    return copy
