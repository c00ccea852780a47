"""``assay content load`` and ``assay content export DIR``: a bank as files, and the database.

The database is the live bank; a folder of YAML files (``content/``) is a bank as files that
``content load`` brings in and ``content export`` writes back, so that a course can keep its bank in
git. Loading is idempotent and atomic: the whole folder is checked first (as ``assay content
check`` does), one problem anywhere and nothing is written. Unchanged files make no new versions;
a changed file makes one; a file reverted to an earlier text makes that earlier version current.

Nothing an instructor does is lost to a file: an item whose current version was made in the
browser, through the API or by an import, and which the file would change, is a **conflict**. A
load with conflicts changes nothing and reports each one (the file, and the database's version
with its author and time) unless it is told which side wins: ``theirs`` (the files) makes the
file's version current, ``ours`` (the database) leaves those items as they are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.authoring import text_of
from assessments.bank.exchange import import_result
from assessments.bank.schemas import ImportResult
from assessments.bank.service import content_hash, save_definition
from assessments.errors import Conflict, Invalid
from assessments.models import Bank, Concept, Item, ItemConcept, ItemTag, ItemVersion, User, VersionOrigin
from engine.content.bank import BANK_FILE, load_bank
from engine.content.checker import check
from engine.content.loader import LoadedItem


class Resolve(enum.StrEnum):
    """Who wins where a file would change an item last changed outside the files."""

    REFUSE = "refuse"
    """Change nothing and report the conflicts."""
    THEIRS = "theirs"
    """The files win: their versions become current."""
    OURS = "ours"
    """The database wins: those items are left as they are."""


@dataclass(frozen=True)
class FileConflict:
    key: str
    file: str
    version: int
    origin: str
    author: str | None
    at: datetime

    def describe(self) -> str:
        who = f" by {self.author}" if self.author else ""
        return (f"{self.file}: item {self.key!r} was changed outside the files (version {self.version}, "
                f"{self.origin}{who}, {self.at:%Y-%m-%d %H:%M} UTC) and this file differs from it")


def load_content(session: Session, path: Path, *, actor_id: int | None, now: datetime,
                 progress: Callable[[str], None] | None = None,
                 resolve: Resolve = Resolve.REFUSE) -> ImportResult:
    report = check(path)
    if not report.ok:
        raise Invalid(
            "the content does not check; nothing was loaded",
            details=[{"file": p.file, "line": p.line, "message": p.message} for p in report.problems],
            code="invalid_content",
        )
    conflicts = [found for loaded in report.items if (found := _conflict(session, loaded)) is not None]
    if conflicts and resolve == Resolve.REFUSE:
        raise Conflict(
            f"{len(conflicts)} item(s) were changed outside the files since; nothing was loaded: say which wins "
            "(--theirs: the files, --ours: the database)", code="content_conflict",
            details=[{"file": c.file, "line": 1, "message": c.describe()} for c in conflicts])
    skipped = {c.key for c in conflicts} if resolve == Resolve.OURS else set()
    bank, _ = load_bank(path)
    if bank is not None:
        for key, title in bank.concepts.items():
            repository.upsert_concept(session, key, title)
    root = path if path.is_dir() else path.parent
    results = []
    for loaded in report.items:
        if loaded.item.id in skipped:
            continue
        results.append(save_definition(session, loaded.source.data, source=loaded.source.file,
                                       actor_id=actor_id, now=now, item=loaded.item, origin=VersionOrigin.FILE,
                                       source_text=_text(root, loaded)))
        if progress:
            progress(loaded.item.id)
    return import_result(results)


def _text(root: Path, loaded: LoadedItem) -> str | None:
    """The file as its author wrote it (comments and all), when it is still the file read."""
    file = root / loaded.source.file
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if yaml.safe_load(text) == loaded.source.data else None


def _conflict(session: Session, loaded: LoadedItem) -> FileConflict | None:
    item = repository.item_by_key(session, loaded.item.id)
    current = repository.current_version(session, item) if item is not None else None
    if item is None or current is None or current.origin == VersionOrigin.FILE:
        return None
    if content_hash(loaded.source.data) == current.content_hash or loaded.source.data == current.definition:
        return None
    author = session.get(User, current.created_by_id) if current.created_by_id is not None else None
    return FileConflict(item.key, loaded.source.file, current.number, current.origin.value,
                        author.display_name if author else None, current.created_at)


# --- the bank as files ------------------------------------------------------------------------------


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_of(bank: Bank, item: Item, version: ItemVersion) -> str:
    """Where an item's file goes in an export: where it came from, for an item loaded from a file
    (so that ``content load`` of the export finds every item where it was), else under its bank."""
    source = version.source or ""
    if version.origin == VersionOrigin.FILE and source.endswith((".yaml", ".yml")) and not Path(source).is_absolute() \
            and ".." not in Path(source).parts:
        return source
    return f"{_UNSAFE.sub('-', bank.slug)}/{item.key}.yaml"


@dataclass(frozen=True)
class Exported:
    files: list[str]
    """The item files written, relative to the folder."""


def export_folder(session: Session, folder: Path, rows: Iterable[tuple[Item, ItemVersion]],
                  declarations: Path | None) -> Exported:
    """The items as files that ``assay content load`` reads back as they are (no new version)
    and ``assay content check`` passes, with a ``bank.yaml`` that declares what they use: the
    facets of ``declarations`` (a bank's ``bank.yaml``, when given) and every tag value and
    concept the items name."""
    rows = list(rows)
    slugs = {b.id: b for b in session.scalars(select(Bank).where(Bank.id.in_({i.bank_id for i, _ in rows})))}
    written: list[str] = []
    for item, version in rows:
        relative = file_of(slugs[item.bank_id], item, version)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text_of(version), encoding="utf-8")
        written.append(relative)
    (folder / BANK_FILE).write_text(_declarations(session, [i for i, _ in rows], declarations), encoding="utf-8")
    return Exported(sorted(written))


def _declarations(session: Session, items: list[Item], declarations: Path | None) -> str:
    """``declarations`` as written when it declares everything the items use; otherwise its
    content with the missing tag values and concepts added (or only those, without one)."""
    original = declarations.read_text(encoding="utf-8") if declarations is not None and declarations.is_file() else ""
    data: dict[str, Any] = (yaml.safe_load(original) or {}) if original else {}
    facets: dict[str, list[str]] = {k: list(v) for k, v in (data.get("facets") or {}).items()}
    concepts: dict[str, str] = dict(data.get("concepts") or {})
    added = False
    ids = [i.id for i in items]
    for facet, value in session.execute(select(ItemTag.facet, ItemTag.value).where(ItemTag.item_id.in_(ids))
                                        .order_by(ItemTag.facet, ItemTag.value)):
        values = facets.setdefault(facet, [])
        if not any(v == value or v.startswith(value + " > ") for v in values):
            values.append(value)
            added = True
    for key, title in session.execute(select(Concept.key, Concept.title).join(ItemConcept)
                                      .where(ItemConcept.item_id.in_(ids)).order_by(Concept.key)):
        if key not in concepts:
            concepts[key] = title
            added = True
    if original and not added:
        return original
    body: dict[str, Any] = {"facets": facets, **({"required": data["required"]} if data.get("required") else {}),
                            "concepts": concepts,
                            **{k: data[k] for k in ("prerequisites", "misconceptions") if data.get(k)}}
    return ("# The bank's declarations, written by `assay content export`: the facets and concepts its items use.\n"
            + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100))
