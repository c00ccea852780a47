"""Items in and out of the bank in every format: imports are all or nothing, exports hold only
what the caller may read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from assessments import apart
from assessments.bank import bulk, checking, declarations, repository
from assessments.bank.access import refuse_if_in_open_attempt
from assessments.bank.banks import target_bank
from assessments.bank.schemas import ImportResult, ItemSaved
from assessments.bank.service import (
    _current_versions,
    _readable_banks,
    content_hash,
    item_model,
    save_definition,
    validate_definition,
    variant_of,
)
from assessments.bank.yaml_folder import is_zip, read_folder
from assessments.db import done_reading
from assessments.deps import Principal
from assessments.errors import Conflict, Invalid
from assessments.interop.qti.package import PackageProblem
from assessments.models import Bank, Item, ItemVersion, VersionOrigin
from engine.content.bank import BANK_FILE
from engine.content.loader import definition_problems
from engine.content.source import parse_yaml_documents
from engine.items import ItemBase


@dataclass(frozen=True)
class PreparedImport:
    """An import read and checked, ready to write: every item's definition with its engine model and
    the file it came from, the zipped folder's declarations, and notes for the importer. Preparing
    touches no database, so that an import is checked before it takes any lock (on SQLite, the one
    write lock every student's save needs)."""

    entries: list[tuple[dict[str, Any], ItemBase, str]]
    origin: VersionOrigin = VersionOrigin.IMPORT
    declarations: declarations.DeclarationsIn | None = None
    notes: tuple[str, ...] = ()
    digests: tuple[str, ...] | None = None
    """The definitions' content hashes, when the preparing worked them out already."""


_Read = tuple[str, list[dict[str, Any]], list[tuple[Any, ItemBase | None, list[Any]]]]
"""A YAML text as read: its name, its parse problems, and each document with its item (None when
it has problems already) and its problems."""


def _read_yaml_files(files: list[tuple[str, str]]) -> tuple[list[_Read], list[ItemBase]]:
    """Every YAML text read and its items validated; the items whose variants are to be checked."""
    read: list[_Read] = []
    to_check: list[ItemBase] = []
    seen: set[str] = set()
    for name, text in files:
        documents, problems = parse_yaml_documents(text, name)
        entries: list[tuple[Any, ItemBase | None, list[Any]]] = []
        for document in documents:
            item, item_problems = definition_problems(document.data)
            if item is not None and item.id in seen:
                item_problems = [(("id",), f"item {item.id!r} appears twice in this import")]
                item = None
            elif item is not None:
                to_check.append(item)
                seen.add(item.id)
            entries.append((document, item, list(item_problems)))
        read.append((name, [{"path": [], "message": p.message, "file": p.file, "line": p.line} for p in problems],
                     entries))
    return read, to_check


def _checked_yaml_files(files: list[tuple[str, str]]) -> list[tuple[dict[str, Any], ItemBase, str]]:
    """Every item of every YAML text (name, text), checked; one bad document refuses them all.
    The items' variants are checked together, in other processes for a large import
    (:mod:`assessments.bank.checking`)."""
    read, to_check = _read_yaml_files(files)
    variant_problems = iter(checking.problems_of(to_check))
    checked: list[tuple[dict[str, Any], ItemBase, str]] = []
    found: list[dict[str, Any]] = []
    for name, parsed, entries in read:
        found.extend(parsed)
        for document, item, problems in entries:
            item_problems = next(variant_problems) if item is not None else problems
            found.extend({"path": list(path), "message": message, "file": name,
                          "line": document.line_of(path)} for path, message in item_problems)
            if item is not None and not item_problems:
                checked.append((document.data, item, name))
    if found:
        raise Invalid("the import was rejected; nothing was changed", details=found, code="invalid_import")
    if not checked:
        raise Invalid("no items in the import", code="invalid_import")
    return checked


def _prepared_zip(data: bytes, name: str) -> PreparedImport:
    """A zip of a folder of YAML item files (an export of ``assay content export DIR``); its
    ``bank.yaml``'s facet values and concepts join the bank's declarations."""
    try:
        folder = read_folder(data, name)
    except PackageProblem as exc:
        raise Invalid("the import was rejected; nothing was changed", code="invalid_import", details=[
            {"path": [], "file": exc.file or name, "line": exc.line or 1, "message": str(exc)}]) from None
    notes = [f"{left} is not a YAML item file and was left out" for left in folder.left_out[:20]]
    if len(folder.left_out) > 20:
        notes.append(f"and {len(folder.left_out) - 20} more files that are not YAML item files")
    entries = _checked_yaml_files([(f"{name}/{path}", text) for path, text in folder.files])
    declared = (_folder_declarations(folder.declarations, f"{name}/{BANK_FILE}")
                if folder.declarations is not None else None)
    return PreparedImport(entries, declarations=declared, notes=tuple(notes))


APART_AT = 32 * 1024
"""Bytes from which an import is read and checked in the checking processes (about ten items)."""


def prepare_import(data: bytes, *, format: str, name: str) -> PreparedImport:  # noqa: A002
    """Read and check an import in any known format (YAML, a zip of YAML files, QTI, GIFT, Moodle
    XML), touching no database: :class:`Invalid`, saying where, when any item is bad.

    An import of :data:`APART_AT` bytes or more is read, validated and checked whole in one of the
    pool's processes (:func:`assessments.apart.run`), the definitions' content hashes worked out there
    too: reading 0.8 MB of YAML with its line numbers and validating 263 definitions is half a
    second of Python, which in the serving process holds the interpreter lock that every student's
    save there needs its turns at. The outcome is the same (the same items, or the same
    :class:`Invalid` with its files and lines); only the prepared import comes back."""
    if len(data) >= APART_AT:
        return apart.run(_prepared_with_digests, data, format, name)
    return _prepared(data, format=format, name=name)


def _prepared_with_digests(data: bytes, format: str, name: str) -> PreparedImport:  # noqa: A002
    prepared = _prepared(data, format=format, name=name)
    return dataclasses.replace(prepared, digests=tuple(content_hash(d) for d, _, _ in prepared.entries))


def _prepared(data: bytes, *, format: str, name: str) -> PreparedImport:  # noqa: A002
    from assessments.interop.formats import FORMATS, KNOWN

    if format == "yaml" and is_zip(data):
        return _prepared_zip(data, name)
    if format == "yaml":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid("the import is not UTF-8 text") from exc
        return PreparedImport(_checked_yaml_files([(name, text)]))
    importer = FORMATS.get(format)
    if importer is None:
        raise Invalid(f"unknown import format {format!r} (known: {KNOWN})", code="unknown_format")
    imported = importer.import_items(data, name)
    if imported.problems:
        raise Invalid("the import was rejected; nothing was changed", code="invalid_import", details=[
            {"path": [], "file": p.file, "line": p.line, "message": p.message} for p in imported.problems])
    if not imported.definitions:
        raise Invalid("no items in the import", code="invalid_import")
    return PreparedImport([(d, validate_definition(d), name) for d in imported.definitions],
                          notes=tuple(imported.notes))


def write_import(session: Session, prepared: PreparedImport, *, actor_id: int | None, now: datetime,
                 bank: Bank | None = None) -> ImportResult:
    """Store a prepared import in this one transaction: every item (into ``bank``, the library when
    None; an item that exists already must be there) and the folder's declarations. Items none of
    which exists yet are written in bulk (:mod:`assessments.bank.bulk`: the same rows)."""
    entries = prepared.entries
    if len(entries) >= bulk.BULK_AT and not bulk.any_exists(session, [item.id for _, item, _ in entries]):
        digests = prepared.digests or tuple(content_hash(data) for data, _, _ in entries)
        results = bulk.save_new_items(session, entries, digests, actor_id=actor_id, now=now, bank=bank,
                                      origin=prepared.origin)
    else:
        results = [save_definition(session, data, source=name, actor_id=actor_id, now=now, item=item, bank=bank,
                                   origin=prepared.origin)
                   for data, item, name in entries]
    result = import_result(results)
    notes = list(prepared.notes)
    if prepared.declarations is not None:
        target = bank if bank is not None else repository.library(session)
        if declarations.add(session, target, prepared.declarations.sections(), actor_id=actor_id, now=now):
            notes.append(f"the facet values and concepts of {BANK_FILE} were added to the bank {target.slug}'s "
                         "declarations")
    result.notes = notes
    return result


def import_yaml(session: Session, text: str, *, name: str, actor_id: int | None,
                now: datetime, bank: Bank | None = None) -> ImportResult:
    """Every item of a YAML stream, or none: a bad document rejects the whole import."""
    return write_import(session, PreparedImport(_checked_yaml_files([(name, text)])), actor_id=actor_id,
                        now=now, bank=bank)


def _folder_declarations(text: str, where: str) -> declarations.DeclarationsIn:
    """A zipped folder's ``bank.yaml``: its facets and concepts (a bad one refuses the import)."""
    def refused(why: object) -> Invalid:
        return Invalid("the import was rejected; nothing was changed", code="invalid_import", details=[
            {"path": [], "file": where, "line": 1, "message": f"the declarations cannot be read: {why}"}])

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise refused(exc) from None
    if not isinstance(data, dict) or not isinstance(data.get("facets") or {}, dict):
        raise refused("it is not a mapping of facets and concepts")
    facets = {f: [v] if isinstance(v, str) else v for f, v in (data.get("facets") or {}).items()}
    try:
        return declarations.DeclarationsIn(facets=facets, concepts=data.get("concepts") or {})
    except ValidationError as exc:
        raise refused(exc.errors(include_url=False)[0]["msg"]) from None


def import_result(results: list[ItemSaved]) -> ImportResult:
    return ImportResult(
        items=results,
        created=sum(1 for r in results if r.created and r.version == 1),
        new_versions=sum(1 for r in results if r.created and r.version > 1),
        unchanged=sum(1 for r in results if not r.created),
    )


def import_file(session: Session, data: bytes, *, format: str, name: str, actor_id: int | None,  # noqa: A002
                now: datetime, bank: Bank | None = None) -> ImportResult:
    """Items from a file in any known format: all of them or (raising :class:`Invalid`) none.

    They go into ``bank`` (the library when None); an item that exists already must be there."""
    return write_import(session, prepare_import(data, format=format, name=name), actor_id=actor_id, now=now,
                        bank=bank)


def import_for(session: Session, principal: Principal, data: bytes, *, format: str,  # noqa: A002
               bank_slug: str | None, now: datetime) -> ImportResult:
    """An instructor's import, into a bank they may edit (see :func:`target_bank`: refused first,
    before any of the import's work). The import is read and checked before the request takes
    SQLite's write lock (the caller's sign-in and the bank were read in a transaction that ends
    here, having written nothing), which it then holds only to write."""
    bank = target_bank(session, principal, bank_slug)
    done_reading(session)
    prepared = prepare_import(data, format=format, name=f"import.{format}")
    return write_import(session, prepared, actor_id=principal.user.id, now=now, bank=bank)


def import_definitions(session: Session, definitions: list[dict[str, Any]], *, name: str,
                       actor_id: int | None, now: datetime, bank: Bank | None = None) -> ImportResult:
    """Items another format produced: each validated and saved, all in this one transaction (a
    bad one raises, and the request's rollback leaves the bank as it was)."""
    if not definitions:
        raise Invalid("no items in the import", code="invalid_import")
    return write_import(session, PreparedImport([(d, validate_definition(d), name) for d in definitions]),
                        actor_id=actor_id, now=now, bank=bank)


def _exported(session: Session, principal: Principal | None, tags: list[str], text: str | None,
              bank_slug: str | None) -> list[tuple[Item, ItemVersion]]:
    """The current items an export holds: for a caller, those of the banks they may read (none
    of them given to the caller in an attempt in progress); for the service, every bank."""
    banks = None if principal is None else _readable_banks(session, principal, bank_slug)
    rows = [(item, version) for item, version in session.execute(_current_versions(tags, text, None, banks)).all()]
    if principal is not None:
        refuse_if_in_open_attempt(session, principal, [item.id for item, _ in rows],
                                  {item.id: item.key for item, _ in rows})
    return rows


def export_entries(session: Session, tags: list[str], text: str | None, seed: int, *,
                   principal: Principal | None = None, bank_slug: str | None = None) -> list[Any]:
    """The current items with the variant of ``seed`` each leaves with (for the exchange formats)."""
    from assessments.interop.base import ExportItem

    rows = _exported(session, principal, tags, text, bank_slug)
    return [ExportItem(key=item.key, item=item_model(version), variant=variant_of(version, seed))
            for item, version in rows]


def export_yaml(session: Session, tags: list[str], text: str | None, *, principal: Principal | None = None,
                bank_slug: str | None = None) -> str:
    rows = _exported(session, principal, tags, text, bank_slug)
    return "".join(
        "---\n" + yaml.safe_dump(version.definition, sort_keys=False, allow_unicode=True, width=100)
        for _, version in rows
    )


@dataclass(frozen=True)
class DryRun:
    """What an import would do, worked out by doing it and rolling it back: per item, or the
    problems that would refuse it whole."""

    result: ImportResult | None
    problems: list[dict[str, Any]]
    message: str | None

    @property
    def ok(self) -> bool:
        return self.result is not None


def dry_run(session: Session, data: bytes, *, format: str, name: str, actor_id: int | None,  # noqa: A002
            now: datetime, bank: Bank) -> DryRun:
    """:func:`import_file` inside a savepoint that is rolled back: the same checks and the same
    outcome per item as the real import, and nothing kept."""
    try:
        prepared = prepare_import(data, format=format, name=name)  # checked before any savepoint
    except Invalid as exc:
        return DryRun(None, list(exc.details or []), exc.message)
    savepoint = session.begin_nested()
    try:
        result = write_import(session, prepared, actor_id=actor_id, now=now, bank=bank)
    except (Invalid, Conflict) as exc:
        return DryRun(None, list(exc.details or []), exc.message)
    finally:
        savepoint.rollback()
    return DryRun(result, [], None)
