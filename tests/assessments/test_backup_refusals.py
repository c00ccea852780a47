"""Backups that must be refused: a bad archive (made from a small database of its own) or a bad
target gets a message saying where, and leaves the target exactly as it was."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assessments.backup import BackupError
from assessments.migrations import alembic_config, upgrade
from tests.assessments.backup_support import (
    HEAD,
    TARGETS,
    copy_of,
    counts,
    dump_from,
    engine_for,
    fresh_databases,
    restore_into,
    small_archive,
)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    yield from fresh_databases(tmp_path)


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_archive(tmp_path_factory.mktemp("small"))


@pytest.fixture
def archive(good_archive: Path, tmp_path: Path) -> Path:
    return copy_of(good_archive, tmp_path)


# --- bad archives and bad targets ---------------------------------------------------------------


def rewrite(source: Path, out: Path, *, members: dict[str, Callable[[bytes], bytes]] | None = None,
            manifest: Callable[[dict[str, Any]], None] | None = None, fix_checksums: bool = False) -> Path:
    """A copy of an archive with members edited (and, if asked, the manifest's checksums made to match)."""
    import hashlib

    with zipfile.ZipFile(source) as zin:
        contents = {name: zin.read(name) for name in zin.namelist()}
    for name, edit in (members or {}).items():
        contents[name] = edit(contents[name])
    data = json.loads(contents["manifest.json"])
    if fix_checksums:
        for table in data["tables"]:
            table["sha256"] = hashlib.sha256(contents[table["file"]]).hexdigest()
    if manifest:
        manifest(data)
    contents["manifest.json"] = json.dumps(data).encode()
    with zipfile.ZipFile(out, "w") as zout:
        for name, body in contents.items():
            zout.writestr(name, body)
    return out


def refused(archive: Path, url: str, *words: str) -> str:
    before = counts(url)
    with pytest.raises(BackupError) as caught:
        restore_into(url, archive)
    message = caught.value.message
    for word in words:
        assert word in message, message
    assert counts(url) == before, "a refused restore changed the target"
    return message


def _edit_line(table: str, number: int, edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def apply(body: bytes) -> bytes:
        lines = body.splitlines(keepends=True)
        row = json.loads(lines[number - 1])
        edit(row)
        lines[number - 1] = json.dumps(row).encode() + b"\n"
        return b"".join(lines)
    return apply


def test_a_truncated_archive_is_refused_before_the_target_is_touched(archive: Path, fresh: Callable[[str], str],
                                                                      tmp_path: Path) -> None:
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    url = fresh("sqlite")
    refused(cut, url, "cut.zip", "not a complete zip archive")
    assert not Path(make_url(url).database or "").exists(), "not even an empty file was made"
    migrated = fresh("sqlite")
    upgrade(migrated)
    refused(cut, migrated, "truncated")


def test_an_edited_table_fails_its_checksum(archive: Path, fresh: Callable[[str], str], tmp_path: Path) -> None:
    def rename(row: dict[str, Any]) -> None:
        row["username"] = "mallory"

    edited = rewrite(archive, tmp_path / "edited.zip", members={"tables/users.jsonl": _edit_line("users", 1, rename)})
    refused(edited, fresh("sqlite"), "tables/users.jsonl", "checksum")


def test_a_count_that_does_not_match_is_refused(archive: Path, fresh: Callable[[str], str], tmp_path: Path) -> None:
    def more(data: dict[str, Any]) -> None:
        next(t for t in data["tables"] if t["name"] == "users")["rows"] = 3

    miscounted = rewrite(archive, tmp_path / "miscounted.zip", manifest=more)
    refused(miscounted, fresh("sqlite"), "tables/users.jsonl holds 2 rows but manifest.json says 3")


def test_an_archive_of_another_revision_is_refused_naming_both(archive: Path, fresh: Callable[[str], str],
                                                               tmp_path: Path) -> None:
    def older(data: dict[str, Any]) -> None:
        data["alembic_revision"] = "0002"

    other = rewrite(archive, tmp_path / "other.zip", manifest=older)
    refused(other, fresh("sqlite"), "revision 0002", f"revision {HEAD}", "assay db upgrade")


def test_a_target_at_another_revision_is_refused(archive: Path, fresh: Callable[[str], str]) -> None:
    url = fresh("sqlite")
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(HEAD).down_revision
    assert isinstance(previous, str)
    upgrade(url, previous)
    refused(archive, url, f"target database is at revision {previous}", f"taken at revision {HEAD}")


def test_a_manifest_that_does_not_hold_together_is_refused(archive: Path, fresh: Callable[[str], str],
                                                           tmp_path: Path) -> None:
    def negative(data: dict[str, Any]) -> None:
        data["tables"][0]["rows"] = -1

    def no_table(data: dict[str, Any]) -> None:
        data["tables"] = [t for t in data["tables"] if t["name"] != "jobs"]

    def retyped(data: dict[str, Any]) -> None:
        users = next(t for t in data["tables"] if t["name"] == "users")
        next(c for c in users["columns"] if c["name"] == "created_at")["kind"] = "string"

    url = fresh("sqlite")
    refused(rewrite(archive, tmp_path / "1.zip", manifest=negative), url, "manifest.json: tables.0.rows:")
    refused(rewrite(archive, tmp_path / "2.zip", manifest=no_table), url, "lists no table jobs")
    refused(rewrite(archive, tmp_path / "3.zip", manifest=retyped), url, "table users has columns")
    not_a_backup = tmp_path / "4.zip"
    with zipfile.ZipFile(not_a_backup, "w") as zout:
        zout.writestr("readme.txt", "hello")
    refused(not_a_backup, url, "no manifest.json (not an Assay backup)")


@pytest.mark.parametrize("target", TARGETS)
def test_a_bad_row_late_in_the_archive_rolls_back_everything_even_the_migration(
        archive: Path, fresh: Callable[[str], str], tmp_path: Path, target: str) -> None:
    """The checksums match (the archive was made that way), so only inserting finds the problems."""
    def bad_time(row: dict[str, Any]) -> None:
        row["created_at"] = "yesterday"

    def duplicate(body: bytes) -> bytes:
        return body + body.splitlines(keepends=True)[0]

    def one_more(data: dict[str, Any]) -> None:
        next(t for t in data["tables"] if t["name"] == "item_versions")["rows"] += 1

    url = fresh(target)
    bad = rewrite(archive, tmp_path / "bad-time.zip", fix_checksums=True,
                  members={"tables/item_versions.jsonl": _edit_line("item_versions", 3, bad_time)})
    refused(bad, url, "tables/item_versions.jsonl line 3: column created_at:", "yesterday")
    twice = rewrite(archive, tmp_path / "twice.zip", fix_checksums=True, manifest=one_more,
                    members={"tables/item_versions.jsonl": duplicate})
    message = refused(twice, url, "tables/item_versions.jsonl lines 1-", "the database refused them")
    assert "unique" in message.lower() or "duplicate" in message.lower(), message
    assert counts(url) is None, "the migration the restore began was rolled back with it"


def test_a_target_that_holds_rows_is_refused(archive: Path, fresh: Callable[[str], str]) -> None:
    url = fresh("sqlite")
    restore_into(url, archive)
    message = refused(archive, url, "target database is not empty", "users: ")
    assert "restore only into an empty database" in message
    foreign = fresh("sqlite")
    engine = engine_for(foreign)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    refused(archive, foreign, "has tables (notes) but no Assay schema revision")


def test_a_line_that_is_not_a_row_says_where(archive: Path, fresh: Callable[[str], str], tmp_path: Path) -> None:
    def unknown(row: dict[str, Any]) -> None:
        row["shoe_size"] = 44

    def null_name(row: dict[str, Any]) -> None:
        del row["username"]

    url = fresh("sqlite")
    for name, edit, words in [("a", unknown, "users has no column shoe_size"),
                              ("b", null_name, "column username is missing and cannot be NULL")]:
        bad = rewrite(archive, tmp_path / f"{name}.zip", fix_checksums=True,
                      members={"tables/users.jsonl": _edit_line("users", 2, edit)})
        refused(bad, url, "tables/users.jsonl line 2:", words)


# --- the source side ----------------------------------------------------------------------------


def test_dump_refuses_a_database_without_the_current_schema(fresh: Callable[[str], str], tmp_path: Path) -> None:
    missing = fresh("sqlite")
    with pytest.raises(BackupError, match=r"no SQLite database at .*target-"):
        dump_from(missing, tmp_path / "x.zip")
    assert counts(missing) is None, "no empty file was made where the name pointed"
    empty = fresh("sqlite")
    Path(make_url(empty).database or "").touch()
    with pytest.raises(BackupError, match="no Assay schema"):
        dump_from(empty, tmp_path / "x.zip")
    older = fresh("sqlite")
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(HEAD).down_revision
    upgrade(older, str(previous))
    with pytest.raises(BackupError, match=f"is at revision {previous} but this Assay .* describes revision {HEAD}"):
        dump_from(older, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
    assert list(tmp_path.glob(".x.zip*")) == [], "no partial file is left behind"


def test_a_database_that_cannot_be_opened_is_named(archive: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'assay.sqlite3'}"
    with pytest.raises(BackupError, match=r"cannot open the database sqlite:///.*no-such-folder.*: unable to open"):
        restore_into(url, archive)
    assert not (tmp_path / "no-such-folder").exists()
