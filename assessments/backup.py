"""Backups: the whole database as a portable archive, and back again into an empty database.

``dump`` reads every table of the models' metadata (``Base.metadata.sorted_tables``, so a table
added later is included without a change here) inside one read snapshot and streams it into a zip
archive: one JSON-lines file per table (``tables/<name>.jsonl``, rows in primary-key order) and a
``manifest.json`` naming the Alembic revision, Assay's version, the time, and each table's columns,
row count and SHA-256. Values are encoded by column kind, independently of the database, so an
archive taken from SQLite restores into PostgreSQL and the other way round.

``restore`` checks the whole archive (zip CRCs, counts, checksums, schema) before touching the
target, then, in one transaction, migrates an empty target to the archive's revision (or checks
that it is there and holds no rows), inserts every table in dependency order, checks counts and
checksums again, and on PostgreSQL moves every serial/identity sequence past the restored ids.
Any problem rolls the whole transaction back: a bad archive changes nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Literal, Protocol

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import Connection, Integer, Table, cast, func, inspect, literal, select
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, StatementError

from alembic import command
from assessments.backup_codec import Kind, TableCodec
from assessments.db import READ_ONLY, Database
from assessments.migrations import alembic_config
from assessments.models import Base, utcnow

__all__ = ["BackupError", "Manifest", "Progress", "dump", "dump_connection", "restore", "verify"]

MANIFEST = "manifest.json"
BATCH_ROWS = 1000
"""Rows fetched (dump) or inserted (restore) at a time: memory stays flat however large a table is."""
CHUNK = 1 << 20


class BackupError(Exception):
    """A dump or restore that cannot go on; the message says where and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Progress(Protocol):
    """What a progress display is told: a table starts (with its row count), rows are done."""

    def table(self, name: str, rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Silent:
    def table(self, name: str, rows: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass


# --- the manifest -------------------------------------------------------------------------------


class ColumnEntry(BaseModel):
    name: str
    kind: Kind


class TableEntry(BaseModel):
    name: str
    file: str
    rows: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    columns: list[ColumnEntry]


class Manifest(BaseModel):
    """``manifest.json``: what the archive holds and how to check it."""

    format: Literal["assay-backup"] = "assay-backup"
    format_version: Literal[1] = 1
    assay_version: str
    alembic_revision: str
    created_at: AwareDatetime
    source_dialect: str
    tables: list[TableEntry]

    @property
    def total_rows(self) -> int:
        return sum(table.rows for table in self.tables)


def assay_version() -> str:
    try:
        return importlib.metadata.version("assay")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def schema_revision() -> str:
    """The revision Assay's models describe: the head of its migrations."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise BackupError(f"Assay's migrations have {len(heads)} heads ({', '.join(heads)}): merge them first")
    return heads[0]


def database_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _codecs() -> list[TableCodec]:
    return [TableCodec.of(table) for table in Base.metadata.sorted_tables]


# --- dump ---------------------------------------------------------------------------------------


def _connect(database: Database) -> Connection:
    try:
        return database.engine.connect()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        where = database.engine.url.render_as_string(hide_password=True)
        raise BackupError(f"cannot open the database {where}: {reason}") from None


@contextmanager
def _snapshot(database: Database) -> Iterator[Connection]:
    """One read transaction: REPEATABLE READ READ ONLY on PostgreSQL, a deferred read on SQLite."""
    with _connect(database) as connection:
        if database.is_sqlite:
            connection.execution_options(**{READ_ONLY: True})  # BEGIN (not IMMEDIATE): one WAL snapshot
        else:
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            _no_statement_timeout(connection)
            yield connection


def _no_statement_timeout(connection: Connection) -> None:
    """A backup reads or writes every row: it is not one of the requests a statement timeout is for."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


def dump(database: Database, target: Path, *, progress: Progress | None = None, now: datetime | None = None,
         replace: bool = False) -> Manifest:
    """Write the whole database to ``target`` from one consistent snapshot."""
    _check_target_file(target, replace=replace)
    if database.is_sqlite:  # connecting would make an empty file where a mistyped name points
        path = make_url(database.url).database
        if path and path != ":memory:" and not Path(path).is_file():
            raise BackupError(f"no SQLite database at {path}")
    with _snapshot(database) as connection:
        return dump_connection(connection, target, progress=progress, now=now, replace=replace)


def dump_connection(connection: Connection, target: Path, *, progress: Progress | None = None,
                    now: datetime | None = None, replace: bool = False) -> Manifest:
    """Write the database as ``connection``'s current transaction sees it (its caller chose the isolation)."""
    _check_target_file(target, replace=replace)
    revision = database_revision(connection)
    expected = schema_revision()
    if revision is None:
        raise BackupError("the database has no Assay schema (no Alembic revision): there is nothing to dump")
    if revision != expected:
        raise BackupError(f"the database is at revision {revision} but this Assay ({assay_version()}) describes "
                          f"revision {expected}: run `assay db upgrade` first, or dump with the Assay it matches")
    progress = progress or _Silent()
    codecs = _codecs()
    counts = {codec.table.name: connection.scalar(select(func.count()).select_from(codec.table)) or 0
              for codec in codecs}
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            at = now or utcnow()
            entries = [_dump_table(connection, archive, codec, counts[codec.table.name], progress, at)
                       for codec in codecs]
            manifest = Manifest(assay_version=assay_version(), alembic_revision=revision, created_at=at,
                                source_dialect=connection.dialect.name, tables=entries)
            archive.writestr(_member(MANIFEST, at), manifest.model_dump_json(indent=2) + "\n")
        Path(partial).replace(target)
    except OSError as exc:
        raise BackupError(f"{target}: could not write the archive: {exc}") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return manifest


def _check_target_file(target: Path, *, replace: bool) -> None:
    if target.is_dir():
        raise BackupError(f"{target} is a folder: name the archive file to write")
    if target.exists() and not replace:
        raise BackupError(f"{target} exists: choose another name, or replace it (--replace)")
    if not target.parent.is_dir():
        raise BackupError(f"{target}: the folder {target.parent} does not exist")


def _member(name: str, at: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=at.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _dump_table(connection: Connection, archive: zipfile.ZipFile, codec: TableCodec, count: int,
                progress: Progress, at: datetime) -> TableEntry:
    name = codec.table.name
    progress.table(name, count)
    digest = hashlib.sha256()
    rows = 0
    file = f"tables/{name}.jsonl"
    with archive.open(_member(file, at), "w", force_zip64=True) as member:
        result = connection.execute(codec.select(), execution_options={"yield_per": BATCH_ROWS})
        for batch in result.partitions():
            lines = b"".join(codec.encode(row) for row in batch)
            member.write(lines)
            digest.update(lines)
            rows += len(batch)
            progress.advance(len(batch))
    if rows != count:  # pragma: no cover - impossible inside one snapshot
        raise BackupError(f"{name}: counted {count} rows but read {rows}; the read was not one snapshot")
    return TableEntry(name=name, file=file, rows=rows, sha256=digest.hexdigest(),
                      columns=[ColumnEntry(name=c.name, kind=k) for c, k in zip(codec.columns, codec.kinds,
                                                                                 strict=True)])


# --- reading an archive -------------------------------------------------------------------------


@contextmanager
def _open_archive(source: Path) -> Iterator[tuple[zipfile.ZipFile, Manifest]]:
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    try:
        with zipfile.ZipFile(source) as archive:
            try:
                raw = archive.read(MANIFEST)
            except KeyError:
                raise BackupError(f"{source}: no {MANIFEST} (not an Assay backup)") from None
            try:
                manifest = Manifest.model_validate_json(raw)
            except ValidationError as exc:
                where = ".".join(str(part) for part in exc.errors()[0]["loc"])
                raise BackupError(f"{source}: {MANIFEST}: {where}: {exc.errors()[0]['msg']}") from None
            yield archive, manifest
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise BackupError(f"{source}: not a complete zip archive (truncated or damaged: {exc})") from None


def _check_schema(source: Path, manifest: Manifest) -> None:
    """The archive must describe exactly the schema this Assay's models describe."""
    expected = schema_revision()
    if manifest.alembic_revision != expected:
        raise BackupError(
            f"{source} was taken at revision {manifest.alembic_revision} (Assay {manifest.assay_version}) but this "
            f"Assay ({assay_version()}) has the schema of revision {expected}: restore it with Assay "
            f"{manifest.assay_version} into an empty database, then run `assay db upgrade`")
    codecs = {codec.table.name: codec for codec in _codecs()}
    archived = {entry.name: entry for entry in manifest.tables}
    if missing := sorted(codecs.keys() - archived.keys()):
        raise BackupError(f"{source}: {MANIFEST} lists no table {', '.join(missing)}")
    if extra := sorted(archived.keys() - codecs.keys()):
        raise BackupError(f"{source}: {MANIFEST} lists tables this schema does not have: {', '.join(extra)}")
    for name, codec in codecs.items():
        want = [(c.name, k) for c, k in zip(codec.columns, codec.kinds, strict=True)]
        have = [(c.name, c.kind) for c in archived[name].columns]
        if sorted(want) != sorted(have):
            raise BackupError(f"{source}: {MANIFEST}: table {name} has columns {sorted(have)}, "
                              f"this schema {sorted(want)}")


def _member_lines(archive: zipfile.ZipFile, source: Path, entry: TableEntry) -> Iterator[bytes]:
    """The lines of a table's file, checked against the manifest's count and checksum at the end."""
    try:
        member: IO[bytes] = archive.open(entry.file)
    except KeyError:
        raise BackupError(f"{source}: {entry.file} is missing") from None
    digest = hashlib.sha256()
    rows = 0
    with member:
        for line in member:
            if not line.endswith(b"\n"):
                raise BackupError(f"{source}: {entry.file} line {rows + 1} is cut short")
            digest.update(line)
            rows += 1
            yield line
    if rows != entry.rows:
        raise BackupError(f"{source}: {entry.file} holds {rows} rows but {MANIFEST} says {entry.rows}")
    if digest.hexdigest() != entry.sha256:
        raise BackupError(f"{source}: {entry.file} does not match its checksum in {MANIFEST} (damaged or edited)")


def verify(source: Path) -> Manifest:
    """Check a whole archive without a database: zip CRCs, schema, every table's rows and checksum."""
    with _open_archive(source) as (archive, manifest):
        _check_schema(source, manifest)
        for entry in manifest.tables:
            for _ in _member_lines(archive, source, entry):
                pass
    return manifest


# --- restore ------------------------------------------------------------------------------------


def restore(database: Database, source: Path, *, progress: Progress | None = None) -> Manifest:
    """Restore an archive into an empty database, all of it or (on any problem) nothing."""
    verify(source)
    progress = progress or _Silent()
    # one transaction, committed only if everything below succeeded
    with _open_archive(source) as (archive, manifest), _connect(database) as connection, connection.begin():
        _no_statement_timeout(connection)
        _prepare_target(connection, manifest)
        entries = {entry.name: entry for entry in manifest.tables}
        for codec in _codecs():
            _restore_table(connection, archive, source, codec, entries[codec.table.name], progress)
        _reset_sequences(connection)
    return manifest


def _prepare_target(connection: Connection, manifest: Manifest) -> None:
    revision = database_revision(connection)
    if revision is None:
        if tables := sorted(set(inspect(connection).get_table_names()) - {"alembic_version"}):
            raise BackupError(f"the target database has tables ({', '.join(tables[:5])}) but no Assay schema "
                              "revision: restore only into an empty database")
        command.upgrade(alembic_config(connection=connection), manifest.alembic_revision)
    elif revision != manifest.alembic_revision:
        raise BackupError(f"the target database is at revision {revision} but the archive was taken at revision "
                          f"{manifest.alembic_revision}: restore into an empty database (or one at that revision)")
    occupied = [(table.name, n) for table in Base.metadata.sorted_tables
                if (n := connection.scalar(select(func.count()).select_from(table)) or 0)]
    if occupied:
        held = ", ".join(f"{name}: {n} row{'s' * (n != 1)}" for name, n in occupied)
        raise BackupError(f"the target database is not empty ({held}): restore only into an empty database")


def _restore_table(connection: Connection, archive: zipfile.ZipFile, source: Path, codec: TableCodec,
                   entry: TableEntry, progress: Progress) -> None:
    progress.table(entry.name, entry.rows)
    batch: list[dict[str, object]] = []
    first = 1
    for number, line in enumerate(_member_lines(archive, source, entry), 1):
        try:
            batch.append(codec.decode(line))
        except ValueError as exc:
            raise BackupError(f"{source}: {entry.file} line {number}: {exc}") from None
        if len(batch) == BATCH_ROWS:
            _insert(connection, source, codec.table, entry, batch, first)
            progress.advance(len(batch))
            first, batch = number + 1, []
    if batch:
        _insert(connection, source, codec.table, entry, batch, first)
        progress.advance(len(batch))


def _insert(connection: Connection, source: Path, table: Table, entry: TableEntry, rows: list[dict[str, object]],
            first: int) -> None:
    try:
        connection.execute(table.insert(), rows)
    except StatementError as exc:
        reason = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]
        raise BackupError(f"{source}: {entry.file} lines {first}-{first + len(rows) - 1}: the database refused "
                          f"them: {reason}") from None


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: each serial/identity sequence continues after its column's largest restored value."""
    if connection.dialect.name != "postgresql":
        return  # SQLite's rowids follow the largest id by themselves
    quote = connection.dialect.identifier_preparer.format_table
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, Integer):
                continue
            sequence = connection.scalar(select(func.pg_get_serial_sequence(quote(table), column.name)))
            if sequence is None:
                continue
            largest = connection.scalar(select(func.max(column)))
            connection.execute(select(func.setval(cast(literal(sequence), REGCLASS), largest or 1,
                                                  largest is not None)))
