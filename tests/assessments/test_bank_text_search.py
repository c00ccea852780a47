"""The bank's text search (``q``), which an index answers (migration 0028): it finds what a plain
substring test of the key and the current title finds, case aside, every character as itself, in
key order, with the other filters, however an item was written.

Case: PostgreSQL folds every letter (``ILIKE``); SQLite folds ASCII letters only (``LIKE``), as
before the index. :func:`fold` says which, and the expected results follow it.
"""

from __future__ import annotations

import string
import textwrap
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.service import save_definition
from assessments.models import Item, ItemVersion
from tests.assessments.conftest import T0

ITEM = textwrap.dedent("""
    type: true_false
    stem: "Is a tie worth more than a loss?"
    answer: "false"
    tags: {chapter: "Ch.9 Search", bloom: Remember}
""")
TITLES = {
    "search-percent": "50% of the LOSS",
    "search-under_score": "Under_score and /slash/",
    "search-quoted": 'A "quoted" word',
    "search-apostrophe": "It's O'Brien's loss",
    "search-accents": "Café au lait, CAFÉ NOIR, Straße",
    "search-backslash": "back\\slash and 100\\%",
    "search-spaces": "Tabs\tand  double  spaces",
    "search-axb": "axb ranking",
    "search-x.y": "x%y literal, xzy too",
    "search-emoji": "🙂 smile, 😀 grin",
    "search-short": "ab",
    "search-one": "a",
    "search-sum": "2 + 2 = 4",
    "search-mixed": "MiXeD CaSe LoSs",
}
ODD_QUERIES = ["%", "_", "%_", "/", "//", '"', "'", "\\", "\\%", "a_b", "50%", "x%y", " ", "  ", "\t", "é", "É",
               "café", "CAFÉ", "straße", "STRASSE", "loss", "LOSS", "lOsS", "o'brien", '"quoted"', "🙂", "😀 grin",
               "no such thing", "search-", "h-u", "ch-p", "-x.y", "x.y", "e_s", "2 + 2", "+", "=", "ranking loss"]
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(db: Session, value: str) -> str:
    return value.lower() if db.get_bind().dialect.name == "postgresql" else value.translate(ASCII_LOWER)


def _save(db: Session, key: str, title: str) -> None:
    data = {"id": key, "title": title, **yaml.safe_load(ITEM)}
    save_definition(db, data, source="test", actor_id=None, now=T0)


@pytest.fixture
def bank(db: Session) -> Session:
    for key, title in TITLES.items():
        _save(db, key, title)
    return db


def _current(db: Session) -> list[tuple[str, str]]:
    rows = db.execute(repository.current_versions_query([], None, None))
    return [(item.key, version.title) for item, version in rows]


def _found(db: Session, query: Any) -> list[str]:
    return [item.key for item, _ in db.execute(query)]


def _count(db: Session, query: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def _paged(db: Session, tags: list[str], q: str, type_: str | None) -> Any:
    """The query as a listing reads it, a page at a time."""
    return repository.current_versions_query(tags, q, type_, dialect=db.get_bind().dialect.name)


def _queries(rows: list[tuple[str, str]]) -> list[str]:
    """Every title, and pieces of each title and key of one to five characters, as they are and in
    the other case, and the odd ones."""
    out: list[str] = list(ODD_QUERIES)
    for key, title in rows:
        out.append(title)
        for source in (title, key):
            for length in range(1, 6):
                for start in range(0, max(1, len(source) - length + 1), 7):
                    piece = source[start:start + length]
                    out.extend([piece, piece.swapcase()])
    return list(dict.fromkeys(q for q in out if q))


def test_the_search_finds_what_a_substring_test_finds(bank: Session) -> None:
    db = bank
    rows = _current(db)
    assert len(rows) > len(TITLES)
    for q in _queries(rows):
        wanted = fold(db, q)
        expected = [key for key, title in rows if wanted in fold(db, key) or wanted in fold(db, title)]
        query = repository.current_versions_query([], q, None)
        assert _found(db, query) == expected, q
        assert _count(db, query) == len(expected), q
        # as a page is read: on PostgreSQL through the search table in key order
        assert _found(db, _paged(db, [], q, None)) == expected, q


def test_percent_and_underscore_are_themselves_and_case_is_aside(bank: Session) -> None:
    db = bank
    for q, expected in [("%", ["search-backslash", "search-percent", "search-x.y"]),
                        ("r_s", ["search-under_score"]),  # "r_s" only, not "r" and "s" with any character between
                        ("x%y", ["search-x.y"]), ("a_b", []), ("loss", ["search-apostrophe", "search-mixed",
                                                                        "search-percent"])]:
        found = _found(db, repository.current_versions_query([], q, None))
        assert [k for k in found if k.startswith("search-")] == expected, q
    accents = _found(db, repository.current_versions_query([], "café noir", None))
    assert accents == (["search-accents"] if db.get_bind().dialect.name == "postgresql" else [])


def test_the_search_with_the_other_filters_and_pages(bank: Session) -> None:
    db = bank
    for tags, type_ in [(["chapter:Ch.9 Search"], None), (["bloom:Remember"], "true_false"),
                        (["chapter:Ch.4 Alignment"], "numeric"), ([], "true_false")]:
        every = db.execute(repository.current_versions_query(tags, None, type_)).all()
        for q in ["loss", "LOSS", "s", "ch", "%", "ranking", "search-", "no such thing"]:
            wanted = fold(db, q)
            expected = [i.key for i, v in every if wanted in fold(db, i.key) or wanted in fold(db, v.title)]
            query = repository.current_versions_query(tags, q, type_)
            assert _found(db, query) == expected, (tags, type_, q)
            assert _count(db, query) == len(expected)
            pages = [repository.page_of_versions(db, query, 2, offset) for offset in range(0, len(expected) + 2, 2)]
            assert [item.key for page in pages for item, _ in page] == expected
            paged = _paged(db, tags, q, type_)
            assert _count(db, paged) == len(expected)
            pages = [repository.page_of_versions(db, paged, 2, offset) for offset in range(0, len(expected) + 2, 2)]
            assert [item.key for page in pages for item, _ in page] == expected, (tags, type_, q)


def _search_rows(db: Session) -> dict[int, tuple[str, str]]:
    """``items_search`` as it stands (PostgreSQL's holds the texts in lower case)."""
    if db.get_bind().dialect.name == "sqlite":
        rows = db.execute(text("SELECT rowid, key, title FROM items_search"))
    else:
        rows = db.execute(text("SELECT item_id, key, title FROM items_search"))
    return {n: (key, title) for n, key, title in rows}


def _as_they_should_be(db: Session) -> dict[int, tuple[str, str]]:
    """Each item's key and current title (none for an item without a current version)."""
    lower = str.lower if db.get_bind().dialect.name == "postgresql" else str
    rows = db.execute(select(Item.id, Item.key, ItemVersion.title).join(
        ItemVersion, (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_number)))
    return {n: (lower(key), lower(title)) for n, key, title in rows}


def test_the_index_follows_every_write(bank: Session) -> None:
    db = bank

    def keys(q: str) -> list[str]:
        return [k for k in _found(db, repository.current_versions_query([], q, None)) if k.startswith("search-")]

    _save(db, "search-edited", "The loss of a tie")
    assert keys("loss of a tie") == ["search-edited"]
    _save(db, "search-edited", "A gain, not a tie")  # a new version: the old title is no longer found
    assert keys("loss of a tie") == [] and keys("gain, not") == ["search-edited"]
    _save(db, "search-edited", "The loss of a tie")  # back to version 1
    assert keys("loss of a tie") == ["search-edited"] and keys("gain, not") == []

    # Written by SQL, as bench/bank_scale.py copies items (the item first, naming its version).
    source = db.execute(select(Item, ItemVersion).join(ItemVersion, ItemVersion.item_id == Item.id)
                        .where(Item.key == "search-quoted")).one()
    db.execute(text("INSERT INTO items (key, bank_id, current_number, created_at) "
                    "VALUES ('search-copied', :bank, 1, :at)"), {"bank": source[0].bank_id, "at": T0})
    copied = db.scalar(select(Item.id).where(Item.key == "search-copied"))
    db.execute(text("INSERT INTO item_versions (item_id, number, definition, content_hash, type, title, is_computed, "
                    "origin, created_at) SELECT :copied, 1, definition, content_hash, type, 'Copied by SQL', "
                    "is_computed, origin, created_at FROM item_versions WHERE id = :version"),
               {"copied": copied, "version": source[1].id})
    assert keys("copied by") == ["search-copied"]
    db.execute(text("UPDATE items SET key = 'search-renamed' WHERE id = :id"), {"id": copied})
    assert keys("copied by") == ["search-renamed"] and keys("search-copied") == []
    assert _search_rows(db) == _as_they_should_be(db)

    db.execute(text("DELETE FROM item_versions WHERE item_id = :id"), {"id": copied})
    db.execute(text("DELETE FROM items WHERE id = :id"), {"id": copied})
    assert keys("copied by") == [] and copied not in _search_rows(db)
    assert _search_rows(db) == _as_they_should_be(db)
