"""The bank's text search reads ``items_search``: one row per item with a current version (the
item's id, its key and that version's title), kept by triggers, indexed by every three characters of its texts.

A ``LIKE '%text%'`` cannot use a B-tree, so at 100,000 items a search read every current title.
On SQLite ``items_search`` is an FTS5 table with the trigram tokenizer (case folded; its rowid is
the item's id); on PostgreSQL a plain table of the texts in lower case with a trigram GIN index
(``pg_trgm``), narrow, so that checking what the index finds reads a few pages rather than the
versions' wide rows.

Triggers on ``items`` and ``item_versions`` rewrite an item's row whenever its key, its current
version or that version changes, so that every write keeps it in step however it is made (the
service, an import, a restore, SQL by hand). The table is not in the models: a backup leaves it
out, and the restore's inserts fill it again. A later migration that rebuilds ``items`` or
``item_versions`` (a batch ``ALTER`` on SQLite copies the table and drops the old one, triggers
and all) must make the triggers again.

``pg_trgm`` is a trusted extension (PostgreSQL 13 and later): a database's owner may create it.
Where it cannot be created the migration goes on without the GIN index, and a search reads the
narrow table through (slower, still right).

Revision ID: 0028
Revises: 0021
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = '0028'
down_revision = '0021'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

CURRENT_ROWS = ("SELECT items.id, items.key, item_versions.title FROM items JOIN item_versions "
                "ON item_versions.item_id = items.id AND item_versions.number = items.current_number")
"""Each item's search row: its id, key and current title; none for an item without a current
version (no search lists it), so that an item written before its first version is written once."""
PG_CURRENT_ROWS = ("SELECT items.id, lower(items.key), lower(item_versions.title) FROM items JOIN item_versions "
                   "ON item_versions.item_id = items.id AND item_versions.number = items.current_number")
"""The same on PostgreSQL, in lower case: a search matches with ``LIKE`` on these (as ``ILIKE`` would
on the texts), which is several times quicker than ``ILIKE`` where a search reads the table through."""
SQLITE_TRIGGERS = ("items_search_item_added", "items_search_item_changed", "items_search_item_removed",
                   "items_search_version_added", "items_search_version_changed", "items_search_version_removed")
PG_INDEX = "ix_items_search_trigrams"


def _sqlite_refresh(item_id: str) -> str:
    """The statements that rewrite one item's search row from its tables (none when it is gone or has
    no current version)."""
    return (f"DELETE FROM items_search WHERE rowid = {item_id}; "
            f"INSERT INTO items_search (rowid, key, title) {CURRENT_ROWS} WHERE items.id = {item_id};")


def _sqlite_upgrade() -> None:
    op.execute("CREATE VIRTUAL TABLE items_search USING fts5(key, title, tokenize='trigram case_sensitive 0')")
    added, changed, removed, version_added, version_changed, version_removed = SQLITE_TRIGGERS
    op.execute(f"CREATE TRIGGER {added} AFTER INSERT ON items BEGIN {_sqlite_refresh('new.id')} END")
    op.execute(f"CREATE TRIGGER {changed} AFTER UPDATE OF id, key, current_number ON items "
               f"BEGIN {_sqlite_refresh('old.id')} {_sqlite_refresh('new.id')} END")
    op.execute(f"CREATE TRIGGER {removed} AFTER DELETE ON items BEGIN DELETE FROM items_search WHERE rowid = old.id; END")
    # A new version changes the search only when its item names it current already (a copy made by
    # SQL, a restore); the service inserts the version first and then points the item at it.
    op.execute(f"CREATE TRIGGER {version_added} AFTER INSERT ON item_versions "
               "WHEN new.number = (SELECT current_number FROM items WHERE id = new.item_id) "
               f"BEGIN {_sqlite_refresh('new.item_id')} END")
    op.execute(f"CREATE TRIGGER {version_changed} AFTER UPDATE OF item_id, number, title ON item_versions "
               f"BEGIN {_sqlite_refresh('old.item_id')} {_sqlite_refresh('new.item_id')} END")
    op.execute(f"CREATE TRIGGER {version_removed} AFTER DELETE ON item_versions "
               f"BEGIN {_sqlite_refresh('old.item_id')} END")
    op.execute(f"INSERT INTO items_search (rowid, key, title) {CURRENT_ROWS}")


PG_FUNCTIONS = (f"""
CREATE FUNCTION items_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$
    DELETE FROM items_search WHERE item_id = target;
    INSERT INTO items_search (item_id, key, title) {PG_CURRENT_ROWS} WHERE items.id = target;
$$""", """
CREATE FUNCTION items_search_item_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM items_search_refresh(OLD.id);
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM items_search_refresh(NEW.id);
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.id <> OLD.id THEN PERFORM items_search_refresh(NEW.id); END IF;
    END IF;
    RETURN NULL;
END $$""", """
CREATE FUNCTION items_search_version_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM items_search_refresh(OLD.item_id);
    END IF;
    -- A new version counts only when its item names it current already (a copy made by SQL, a
    -- restore); the service inserts the version first and then points the item at it.
    IF TG_OP = 'INSERT' THEN
        IF NEW.number = (SELECT current_number FROM items WHERE id = NEW.item_id) THEN
            PERFORM items_search_refresh(NEW.item_id);
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.item_id <> OLD.item_id THEN PERFORM items_search_refresh(NEW.item_id); END IF;
    END IF;
    RETURN NULL;
END $$""", """
CREATE TRIGGER items_search_item AFTER INSERT OR DELETE OR UPDATE OF id, key, current_number ON items
    FOR EACH ROW EXECUTE FUNCTION items_search_item_changed()""", """
CREATE TRIGGER items_search_version AFTER INSERT OR DELETE OR UPDATE OF item_id, number, title ON item_versions
    FOR EACH ROW EXECUTE FUNCTION items_search_version_changed()""")
"""The functions and triggers that keep ``items_search`` in step, one statement each."""


def _trigrams_available() -> bool:
    """Whether ``pg_trgm`` is installed in this database, creating it if it can be (in a savepoint,
    so that a refusal leaves the migration's transaction usable)."""
    bind = op.get_bind()
    if bind.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as exc:
        log.warning("pg_trgm cannot be created in this database (%s): the bank's text search will read "
                    "items_search through instead of using a trigram index (to add it later: a superuser runs "
                    "CREATE EXTENSION pg_trgm, then downgrade to 0021 and upgrade again)",
                    str(exc.orig).strip().splitlines()[0])
        return False
    return True


def _postgresql_upgrade() -> None:
    # text, not the tables' varchar lengths: a text in lower case may be longer than it was.
    op.execute("CREATE TABLE items_search (item_id integer NOT NULL, key text NOT NULL, title text NOT NULL, "
               "CONSTRAINT pk_items_search PRIMARY KEY (item_id))")
    for statement in PG_FUNCTIONS:
        op.execute(statement)
    op.execute(f"INSERT INTO items_search (item_id, key, title) {PG_CURRENT_ROWS}")
    if _trigrams_available():
        op.execute(f"CREATE INDEX {PG_INDEX} ON items_search USING gin (key gin_trgm_ops, title gin_trgm_ops)")
    op.execute("ANALYZE items_search")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        _postgresql_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS items_search")
    elif dialect == "postgresql":
        # pg_trgm stays: other objects may use it, and it holds no data.
        op.execute("DROP TRIGGER IF EXISTS items_search_item ON items")
        op.execute("DROP TRIGGER IF EXISTS items_search_version ON item_versions")
        for function in ("items_search_item_changed()", "items_search_version_changed()",
                         "items_search_refresh(integer)"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
        op.execute("DROP TABLE IF EXISTS items_search")
