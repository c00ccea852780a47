"""The item bank's logic: validate, version, search, preview, import and export.

A definition is stored exactly as the author wrote it (as JSON) once the engine accepts it: its
structure, its expressions, and 200 variants checked as the content checker checks them. Saving
a definition equal to an existing version makes no new version; it makes that version current.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from threading import Lock
from typing import Any

import yaml
from sqlalchemy import Select
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.schemas import (
    ImportResult,
    ItemOut,
    ItemSummary,
    Preview,
    Problem,
    SaveResult,
    VersionOut,
)
from assessments.errors import Invalid, NotFound
from assessments.models import Item, ItemVersion
from engine.content.checker import variant_problems
from engine.content.loader import definition_problems
from engine.content.source import parse_yaml_documents
from engine.expressions import ExpressionError
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.texts import render
from engine.variants import Variant, VariantError, generate

__all__ = ["cached_variant", "content_hash", "item_model", "rendered_question", "save_definition", "variant_of"]


def canonical(definition: dict[str, Any]) -> str:
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(definition).encode()).hexdigest()


class _LRU:
    """A small thread-safe LRU cache: parsed items and variants are immutable, so sharing is safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.lock = Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_ITEMS = _LRU(2048)
_VARIANTS = _LRU(50_000)


def item_model(version: ItemVersion) -> ItemBase:
    """The engine's model of a stored version (parsed once per content hash)."""
    cached: ItemBase | None = _ITEMS.get(version.content_hash)
    if cached is None:
        cached, problems = definition_problems(version.definition)
        if cached is None:  # stored versions were valid when saved; an engine change may differ
            raise Invalid(f"item {version.content_hash[:12]} no longer loads: {problems[0][1]}")
        _ITEMS.put(version.content_hash, cached)
    return cached


def variant_of(version: ItemVersion, seed: int, *, shuffle: bool = True) -> Variant:
    """The variant of a stored version for a seed (cached: generating one costs a millisecond).

    ``shuffle=False`` keeps options in their authored order (a quiz that does not shuffle).
    """
    return cached_variant(version.content_hash, seed, shuffle, lambda: version)


def cached_variant(content_hash: str, seed: int, shuffle: bool, load: Callable[[], ItemVersion]) -> Variant:
    """:func:`variant_of` by the version's content hash; ``load`` fetches the version (with its
    definition) only when neither the variant nor the parsed item is cached."""
    key = (content_hash, seed, shuffle)
    cached: Variant | None = _VARIANTS.get(key)
    if cached is None:
        model: ItemBase | None = _ITEMS.get(content_hash)
        if model is None:
            model = item_model(load())
        if not shuffle and model.shuffle and model.type_name != "ordering":
            model = model.model_copy(update={"shuffle": False})
        cached = generate(model, seed)
        _VARIANTS.put(key, cached)
    return cached


_RENDERED = _LRU(50_000)


def rendered_question(variant: Variant) -> dict[str, Any]:
    """What a student is shown of a variant (the question type's ``render``), cached with the
    variant: rendering the texts evaluates every template expression again. Read-only."""
    found: tuple[Variant, dict[str, Any]] | None = _RENDERED.get(id(variant))
    if found is not None and found[0] is variant:  # the entry holds the variant: its id is not reused
        return found[1]
    shown = qtype_for(variant.item).render(variant.item, variant)
    _RENDERED.put(id(variant), (variant, shown))
    return shown


def _problems(found: list[tuple[tuple[str | int, ...], str]]) -> list[dict[str, Any]]:
    return [Problem(path=list(path), message=message).model_dump(exclude_none=True)
            for path, message in found]


def validate_definition(data: Any) -> ItemBase:
    """The item, or :class:`Invalid` listing every problem with its path."""
    item, found = definition_problems(data)
    if item is None:
        raise Invalid("the item does not validate", details=_problems(found), code="invalid_item")
    found, _ = variant_problems(item)
    if found:
        raise Invalid("the item's variants do not check", details=_problems(found), code="invalid_item")
    return item


def save_definition(session: Session, data: dict[str, Any], *, source: str | None,
                    actor_id: int | None, now: datetime, item: ItemBase | None = None) -> SaveResult:
    """Store a definition as the item's current version (validating it unless ``item`` is given)."""
    model = item if item is not None else validate_definition(data)
    digest = content_hash(data)
    row = repository.item_by_key(session, model.id)
    if row is None:
        row = Item(key=model.id, created_at=now)
        session.add(row)
        session.flush()
    existing = repository.version_by_hash(session, row, digest)
    created = existing is None
    if existing is None:
        existing = ItemVersion(
            item_id=row.id, number=repository.last_number(session, row) + 1, definition=data,
            content_hash=digest, type=model.type_name, title=model.title,
            is_computed=model.is_computed, source=source, created_by_id=actor_id, created_at=now,
        )
        session.add(existing)
        session.flush()
    if row.current_number != existing.number:
        row.current_number = existing.number
        repository.replace_search_rows(session, row, dict(model.tags.root), model.concepts, model.related)
    return SaveResult(key=row.key, version=existing.number, created=created)


def _summary(item: Item, version: ItemVersion, tags: dict[str, list[str]], concepts: list[str]) -> ItemSummary:
    return ItemSummary(key=item.key, version=version.number, type=version.type, title=version.title,
                       computed=version.is_computed, tags=tags, concepts=concepts)


def _current_versions(tags: list[str], text: str | None, type_: str | None) -> Select[Item, ItemVersion]:
    """The query for the current versions matching the filters; 400 for a tag that cannot match."""
    try:
        return repository.current_versions_query(tags, text, type_)
    except ValueError as exc:
        raise Invalid(f"bad tag query: {exc}", code="bad_tag_query") from exc


def list_items(session: Session, tags: list[str], text: str | None, type_: str | None,
               limit: int, offset: int) -> list[ItemSummary]:
    query = _current_versions(tags, text, type_)
    rows = session.execute(query.limit(limit).offset(offset)).all()
    ids = [item.id for item, _ in rows]
    all_tags, all_concepts = repository.tags_of(session, ids), repository.concepts_of(session, ids)
    return [_summary(item, version, all_tags[item.id], all_concepts[item.id]) for item, version in rows]


def current(session: Session, key: str) -> tuple[Item, ItemVersion]:
    item = repository.item_by_key(session, key)
    version = repository.current_version(session, item) if item else None
    if item is None or version is None:
        raise NotFound(f"no item {key!r}")
    return item, version


def get_item(session: Session, key: str) -> ItemOut:
    item, version = current(session, key)
    summary = _summary(item, version, repository.tags_of(session, [item.id])[item.id],
                       repository.concepts_of(session, [item.id])[item.id])
    history = [VersionOut(number=v.number, content_hash=v.content_hash, created_at=v.created_at,
                          source=v.source) for v in repository.versions(session, item)]
    return ItemOut(**summary.model_dump(), definition=version.definition, versions=history)


def preview(session: Session, key: str, seed: int) -> Preview:
    """A variant as a student sees it, with the key, the key's feedback and the solution; a
    variant that cannot be made (a version stored before a check that would refuse it) is a 400
    that says where, as on save."""
    try:
        return _preview(session, key, seed)
    except (ExpressionError, VariantError) as exc:
        problem = {"path": list(getattr(exc, "path", ())), "message": str(exc)}
        raise Invalid(f"the variant of seed {seed} cannot be made", details=[problem],
                      code="invalid_variant") from exc


def _preview(session: Session, key: str, seed: int) -> Preview:
    _, version = current(session, key)
    model = item_model(version)
    variant = variant_of(version, seed)
    qtype = qtype_for(model)
    key_response = qtype.correct_response(model, variant)
    feedback: list[str] = []
    if model.type_name != "essay":
        feedback = list(qtype.grade(model, variant, qtype.parse(model, variant, key_response)).feedback)
    solution = render(model.solution, variant.values) if model.solution else None
    return Preview(key=key, version=version.number, seed=seed, params=variant.params,
                   question=qtype.render(model, variant), key_response=dict(key_response),
                   key_feedback=feedback, solution=solution)


def import_yaml(session: Session, text: str, *, name: str, actor_id: int | None,
                now: datetime) -> ImportResult:
    """Every item of a YAML stream, or none: a bad document rejects the whole import."""
    documents, problems = parse_yaml_documents(text, name)
    checked: list[tuple[dict[str, Any], ItemBase]] = []
    found: list[dict[str, Any]] = [
        {"path": [], "message": p.message, "file": p.file, "line": p.line} for p in problems]
    seen: set[str] = set()
    for document in documents:
        item, item_problems = definition_problems(document.data)
        if item is not None:
            item_problems, _ = variant_problems(item)
            if item.id in seen:
                item_problems = [(("id",), f"item {item.id!r} appears twice in this import")]
            seen.add(item.id)
        found.extend({"path": list(path), "message": message, "file": name,
                      "line": document.line_of(path)} for path, message in item_problems)
        if item is not None and not item_problems:
            checked.append((document.data, item))
    if found:
        raise Invalid("the import was rejected; nothing was changed", details=found, code="invalid_import")
    if not checked:
        raise Invalid("no items in the import", code="invalid_import")
    results = [save_definition(session, data, source=name, actor_id=actor_id, now=now, item=item)
               for data, item in checked]
    return import_result(results)


def import_result(results: list[SaveResult]) -> ImportResult:
    return ImportResult(
        items=results,
        created=sum(1 for r in results if r.created and r.version == 1),
        new_versions=sum(1 for r in results if r.created and r.version > 1),
        unchanged=sum(1 for r in results if not r.created),
    )


def import_file(session: Session, data: bytes, *, format: str, name: str, actor_id: int | None,  # noqa: A002
                now: datetime) -> ImportResult:
    """Items from a file in any known format: all of them or (raising :class:`Invalid`) none."""
    from assessments.interop.formats import FORMATS, KNOWN

    if format == "yaml":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid("the import is not UTF-8 text") from exc
        return import_yaml(session, text, name=name, actor_id=actor_id, now=now)
    importer = FORMATS.get(format)
    if importer is None:
        raise Invalid(f"unknown import format {format!r} (known: {KNOWN})", code="unknown_format")
    imported = importer.import_items(data, name)
    if imported.problems:
        raise Invalid("the import was rejected; nothing was changed", code="invalid_import", details=[
            {"path": [], "file": p.file, "line": p.line, "message": p.message} for p in imported.problems])
    result = import_definitions(session, imported.definitions, name=name, actor_id=actor_id, now=now)
    result.notes = imported.notes
    return result


def import_definitions(session: Session, definitions: list[dict[str, Any]], *, name: str,
                       actor_id: int | None, now: datetime) -> ImportResult:
    """Items another format produced: each validated and saved, all in this one transaction (a
    bad one raises, and the request's rollback leaves the bank as it was)."""
    if not definitions:
        raise Invalid("no items in the import", code="invalid_import")
    results = [save_definition(session, data, source=name, actor_id=actor_id, now=now) for data in definitions]
    return import_result(results)


def export_entries(session: Session, tags: list[str], text: str | None, seed: int) -> list[Any]:
    """The current items with the variant of ``seed`` each leaves with (for the exchange formats)."""
    from assessments.interop.base import ExportItem

    rows = session.execute(_current_versions(tags, text, None)).all()
    return [ExportItem(key=item.key, item=item_model(version), variant=variant_of(version, seed))
            for item, version in rows]


def export_yaml(session: Session, tags: list[str], text: str | None) -> str:
    rows = session.execute(_current_versions(tags, text, None)).all()
    return "".join(
        "---\n" + yaml.safe_dump(version.definition, sort_keys=False, allow_unicode=True, width=100)
        for _, version in rows
    )
