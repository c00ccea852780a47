"""A large import's new items written in a few statements, not a few hundred.

:func:`assessments.bank.service.save_definition` writes an item in about 17 statements through the
ORM (looked up, inserted, flushed, its version, its tags, concepts and links one by one): for a
bank of 263 items, a second of Python holding the interpreter lock in the serving process, and on
SQLite the write lock all that while, so every student's save waits its turns
(``bench/contention.py``). When none of an import's items exists yet (an import of a new bank, or
a copy under new keys) they are written here instead, a table at a time: the rows are the ones
``save_definition`` writes, one item after another, to the column and to the id (each table's
rows go in in the same order, so the database numbers them alike), and the text search rows the
database's triggers keep come out the same (``tests/assessments/test_bulk_import.py`` compares the
two databases whole). An import naming an item that exists already goes one by one, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.schemas import ItemSaved
from assessments.models import Bank, Concept, Item, ItemConcept, ItemLink, ItemTag, ItemVersion, VersionOrigin
from engine.items import ItemBase

BULK_AT = 2
"""Items from which an import of new items is written in bulk (one item: the same either way)."""


def _table(model: type[Any]) -> Table:
    return cast("Table", model.__table__)


def _inserted_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one statement (or a few: the driver's batches) and return their ids in
    the rows' order."""
    if not rows:
        return []
    returned = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [row_id for (row_id,) in returned]


def _concept_ids(session: Session, keys: list[str]) -> dict[str, int]:
    """Every concept named, by key: those that exist, and the others made as ``replace_search_rows``
    makes them (titled by their key), in the order they are first named."""
    known: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        known.update(session.execute(select(Concept.key, Concept.id).where(
            Concept.key.in_(keys[start:start + 500]))).all())
    missing = [key for key in keys if key not in known]
    made = _inserted_ids(session, _table(Concept), [{"key": key, "title": key.replace("-", " ")}
                                                      for key in missing])
    return {**known, **dict(zip(missing, made, strict=True))}


def any_exists(session: Session, keys: Sequence[str]) -> bool:
    """Whether an item of any of these keys is in the bank already."""
    return any(session.execute(select(Item.id).where(Item.key.in_(keys[start:start + 500])).limit(1)).first()
               for start in range(0, len(keys), 500))


def save_new_items(session: Session, entries: Sequence[tuple[dict[str, Any], ItemBase, str]],
                   digests: Sequence[str], *, actor_id: int | None, now: datetime, bank: Bank | None,
                   origin: VersionOrigin) -> list[ItemSaved]:
    """Write items none of which exists yet (the caller has made sure: :func:`any_exists`), each
    as its first version, current, with its tags, concepts and links; ``digests`` are the
    definitions' content hashes. The same rows as one :func:`save_definition` after another."""
    target = bank if bank is not None else repository.library(session)
    session.flush()  # what the session holds goes first, as save_definition's first query would flush it
    item_ids = _inserted_ids(session, _table(Item), [
        {"key": model.id, "bank_id": target.id, "current_number": 1, "created_at": now}
        for _, model, _ in entries])
    session.execute(insert(_table(ItemVersion)), [
        {"item_id": item_id, "number": 1, "definition": data, "content_hash": digest, "type": model.type_name,
         "title": model.title, "is_computed": model.is_computed, "source": source, "origin": origin,
         "source_text": None, "created_by_id": actor_id, "created_at": now}
        for item_id, (data, model, source), digest in zip(item_ids, entries, digests, strict=True)])
    concepts = _concept_ids(session, list(dict.fromkeys(
        key for _, model, _ in entries for key in model.concepts)))
    tags: list[dict[str, Any]] = []
    concepts_of: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for item_id, (_, model, _) in zip(item_ids, entries, strict=True):
        tags.extend({"item_id": item_id, "facet": facet, "value": value}
                    for facet, values in model.tags.root.items() for value in dict.fromkeys(values))
        concepts_of.extend({"item_id": item_id, "concept_id": concepts[key]} for key in dict.fromkeys(model.concepts))
        links.extend({"item_id": item_id, "related_key": key} for key in dict.fromkeys(model.related))
    for table, rows in ((_table(ItemTag), tags), (_table(ItemConcept), concepts_of), (_table(ItemLink), links)):
        if rows:
            session.execute(insert(table), rows)  # Core: no ORM objects made
    return [ItemSaved(key=model.id, version=1, created=True) for _, model, _ in entries]
