"""An import of new items is written in bulk, and the database after it is the one that saving
the items one by one leaves: every row of every table an item touches, to the column and the id,
and the text search rows the database's triggers keep.

Both ways run in the same test transaction, each in a savepoint rolled back afterwards. SQLite
numbers rows from the largest id present, so both ways get the same ids; a PostgreSQL sequence is
not rolled back, so there each new row's id is compared by its distance from the first id that
way took in its table.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session

from assessments.bank import bulk, exchange
from assessments.bank.exchange import PreparedImport, write_import
from assessments.errors import Invalid
from assessments.models import Item
from engine.content.loader import item_files
from tests.assessments.conftest import T0
from tests.conftest import ROOT

TABLES = {  # table -> (its id column, the columns naming another table's new rows)
    "items": ("id", {}),
    "item_versions": ("id", {"item_id": "items"}),
    "item_tags": ("id", {"item_id": "items"}),
    "concepts": ("id", {}),
    "item_concepts": ("id", {"item_id": "items", "concept_id": "concepts"}),
    "item_links": ("id", {"item_id": "items"}),
}


def _shipped(count: int, suffix: str) -> str:
    """``count`` shipped items under new keys (their links to each other renamed too), and one
    naming concepts no item names yet, as one YAML stream."""
    items: list[dict[str, Any]] = []
    for path in item_files(ROOT / "content"):
        items.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict))
        if len(items) >= count:
            break
    items = items[:count]
    keys = {item["id"] for item in items}
    for item in items:
        item["id"] += suffix
        item["related"] = [f"{k}{suffix}" if k in keys else k for k in item.get("related") or []]
    items[-1]["concepts"] = [*items[-1].get("concepts", []), f"fresh-concept{suffix}", f"another{suffix}",
                             f"fresh-concept{suffix}"]
    return yaml.safe_dump_all(items, sort_keys=False, allow_unicode=True)


def _largest_ids(db: Session) -> dict[str, int]:
    return {table: int(db.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())
            for table in TABLES}


def _rows(db: Session, since: dict[str, int]) -> dict[str, Any]:
    """Every row the import wrote, ids as distances from the first new id of their table (an id
    from before the import stays as it is), and the new items' text search rows."""
    first: dict[str, int] = {}
    found: dict[str, Any] = {}
    for table, (id_column, references) in TABLES.items():
        rows = [dict(row) for row in db.execute(text(
            f"SELECT * FROM {table} WHERE {id_column} > :since ORDER BY {id_column}"),
            {"since": since[table]}).mappings()]
        first[table] = rows[0][id_column] if rows else 0
        for row in rows:
            for column, other in [(id_column, table), *references.items()]:
                if row[column] > since[other]:
                    row[column] = ("new", row[column] - first[other])
        found[table] = rows
    search = ("SELECT rowid AS item_id, key, title FROM items_search" if db.get_bind().dialect.name == "sqlite"
              else "SELECT item_id, key, title FROM items_search")
    found["items_search"] = sorted(
        (item_id - first["items"], key, title) for item_id, key, title in db.execute(text(search))
        if item_id > since["items"])
    return found


def _written(db: Session, stream: str, *, one_by_one: bool, monkeypatch: pytest.MonkeyPatch,
             ) -> tuple[Any, dict[str, Any], dict[str, int]]:
    """Import ``stream`` in a savepoint (one item at a time, or in bulk), read what it wrote, and
    roll it back."""
    monkeypatch.setattr(bulk, "BULK_AT", 10**9 if one_by_one else 2)
    written_in_bulk: list[int] = []
    in_bulk = bulk.save_new_items

    def counted(*args: Any, **kwargs: Any) -> Any:
        written_in_bulk.append(len(args[1]))
        return in_bulk(*args, **kwargs)

    monkeypatch.setattr(bulk, "save_new_items", counted)
    since = _largest_ids(db)
    savepoint = db.begin_nested()
    try:
        result = exchange.import_yaml(db, stream, name="copy.yaml", actor_id=None, now=T0)
        db.flush()
        rows = _rows(db, since)
    finally:
        savepoint.rollback()
    assert written_in_bulk == ([] if one_by_one else [len(rows["items"])])
    return result, rows, since


def test_a_bulk_import_writes_the_rows_that_saving_one_by_one_writes(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _shipped(40, "-copy")
    one_result, one_rows, one_since = _written(db, stream, one_by_one=True, monkeypatch=monkeypatch)
    bulk_result, bulk_rows, bulk_since = _written(db, stream, one_by_one=False, monkeypatch=monkeypatch)
    assert one_result == bulk_result
    first = next(yaml.safe_load_all(stream))["id"]
    assert (bulk_result.items[0].key, bulk_result.items[0].version, bulk_result.items[0].created) == (first, 1, True)
    assert bulk_result.created == 40
    assert len(one_rows["items"]) == 40 and len(one_rows["item_versions"]) == 40
    assert len(one_rows["item_tags"]) > 40 and one_rows["item_concepts"] and one_rows["item_links"]
    assert [c["key"] for c in one_rows["concepts"]][-2:] == ["fresh-concept-copy", "another-copy"]
    assert len(one_rows["items_search"]) == 40
    for table in (*TABLES, "items_search"):
        assert bulk_rows[table] == one_rows[table], table
    if db.get_bind().dialect.name == "sqlite":
        assert bulk_since == one_since  # and so the very ids are the same


def test_an_import_naming_an_existing_item_goes_one_by_one(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _shipped(5, "-again")
    exchange.import_yaml(db, stream, name="first.yaml", actor_id=None, now=T0)

    def not_in_bulk(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("written in bulk")

    monkeypatch.setattr(bulk, "save_new_items", not_in_bulk)
    documents = list(yaml.safe_load_all(stream))
    documents[0]["title"] = "A new title"
    again = yaml.safe_dump_all([*documents, {**documents[1], "id": "brand-new-one"}], sort_keys=False)
    result = exchange.import_yaml(db, again, name="second.yaml", actor_id=None, now=T0)
    assert (result.created, result.new_versions, result.unchanged) == (1, 1, 4)


def test_a_bulk_import_that_fails_leaves_nothing(db: Session) -> None:
    stream = _shipped(6, "-clash")
    prepared = exchange.prepare_import(stream.encode(), format="yaml", name="clash.yaml")
    # The same key twice gets past the check only when made by hand: the database refuses the second.
    clashing = PreparedImport([*prepared.entries, prepared.entries[0]])
    before = db.query(Item).count()
    savepoint = db.begin_nested()
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        write_import(db, clashing, actor_id=None, now=T0)
    savepoint.rollback()
    assert db.query(Item).count() == before
    with pytest.raises(Invalid, match="rejected"):
        exchange.prepare_import((stream + "---\nid: broken\ntype: nonsense\n").encode(), format="yaml", name="x.yaml")
