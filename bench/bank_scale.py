"""The bank at scale: search, filters and tag draws over 10,000 and 100,000 items.

Run from the repository root:  python bench/bank_scale.py  [--items 10000 100000] [--repeats 5]
                                                             [--postgresql URL]

Issue 21 asks that bank search, filters and tag draws stay under 100 ms at 100,000 items, and that
they grow no worse than linearly. The bank is the shipped content copied under new keys (by SQL,
as an import would write it: each copy an item, its current version, its tags, concepts and
links; the database's triggers write the text search's index, ``items_search``, as for any
insert) until it holds ``--items`` items; each figure is the median of ``--repeats`` asks through
the REST API (``GET /api/v1/items`` with the filters the bank page offers, and the tag-draw match
count the quiz builder shows), in process, with an instructor's token. Prints the machine, the
load average and one line per figure and size. Not part of the tests.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bench.load import machine  # noqa: E402
from bench.loadkit import CONTENT, scratch_postgresql  # noqa: E402

ASKS: dict[str, str] = {
    "first page, no filter": "/api/v1/items?limit=50",
    "chapter tag": "/api/v1/items?limit=50&tag=chapter:Ch.4 Alignment",
    "Bloom tag + type": "/api/v1/items?limit=50&tag=bloom:Apply&type=numeric",
    "text search": "/api/v1/items?limit=50&q=loss",
    "text search, rare": "/api/v1/items?limit=50&q=speculative",
    "text search, common (q=the)": "/api/v1/items?limit=50&q=the",
    "text search, 2 letters (q=lo)": "/api/v1/items?limit=50&q=lo",
    "text search, rare 2 letters (q=zq)": "/api/v1/items?limit=50&q=zq",
    "deep page": "/api/v1/items?limit=50&offset=5000",
}


def _copies(connection: Any, wanted: int) -> int:
    """Copy the bank's items under new keys until it holds ``wanted`` items; returns the count."""
    from assessments.models import Item

    base = connection.execute(select(func.count()).select_from(Item)).scalar_one()
    top = connection.execute(select(func.max(Item.id))).scalar_one()
    copy = 0
    while base * (copy + 1) < wanted:
        copy += 1
        take = min(base, wanted - base * copy)
        shift = top * copy
        params = {"suffix": f"-copy-{copy}", "shift": shift, "top": top, "take": take}
        # The same rows as the originals, keys and ids moved on: each copy is an item an import of
        # the same file under another key would have written.
        connection.execute(text(
            "INSERT INTO items (id, key, bank_id, current_number, created_at) "
            "SELECT id + :shift, key || :suffix, bank_id, current_number, created_at FROM items "
            "WHERE id <= :top ORDER BY id LIMIT :take"), params)
        connection.execute(text(
            "INSERT INTO item_versions (item_id, number, definition, content_hash, type, title, is_computed, "
            "source, origin, source_text, created_by_id, created_at) "
            "SELECT item_id + :shift, number, definition, content_hash, type, title, is_computed, source, origin, "
            "source_text, created_by_id, created_at FROM item_versions "
            "WHERE item_id IN (SELECT id FROM items WHERE id <= :top ORDER BY id LIMIT :take)"), params)
        for table, column in (("item_tags", "facet, value"), ("item_concepts", "concept_id"),
                              ("item_links", "related_key")):
            connection.execute(text(
                f"INSERT INTO {table} (item_id, {column}) SELECT item_id + :shift, {column} FROM {table} "  # noqa: S608
                "WHERE item_id IN (SELECT id FROM items WHERE id <= :top ORDER BY id LIMIT :take)"), params)
    return int(connection.execute(select(func.count()).select_from(Item)).scalar_one())


def build(url: str, items: int) -> int:
    """A migrated database holding the shipped content copied up to ``items`` items, a course and
    its instructor; returns how many items it holds."""
    from assessments.auth.passwords import hash_password
    from assessments.bank.content_sync import load_content
    from assessments.db import Database
    from assessments.migrations import upgrade
    from assessments.models import Course, CourseRole, Enrolment, Role, User, utcnow

    upgrade(url)
    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            load_content(session, CONTENT, actor_id=None, now=utcnow())
            course = Course(slug="scale", title="Bank at scale")
            user = User(username="instructor", display_name="Instructor", role=Role.INSTRUCTOR,
                        password_hash=hash_password("bank-scale-password"))
            session.add_all([course, user])
            session.flush()
            session.add(Enrolment(course_id=course.id, user_id=user.id, role=CourseRole.INSTRUCTOR))
        with database.engine.begin() as connection:
            count = _copies(connection, items)
            if database.engine.dialect.name == "postgresql":
                connection.execute(text("SELECT setval(pg_get_serial_sequence('items', 'id'), "
                                        "(SELECT max(id) FROM items))"))
                connection.execute(text("ANALYZE"))
            else:
                connection.execute(text("ANALYZE"))
    finally:
        database.dispose()
    return count


def median_ms(repeats: int, ask: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        ask()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(url: str, repeats: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from assessments.app import create_app
    from assessments.config import Settings
    from assessments.db import Database

    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(data_dir=Path(data), secret_key="bank-scale-" + "k" * 40), Database(url))
        with TestClient(app) as client:
            token = client.post("/api/v1/auth/token", json={"username": "instructor",
                                                             "password": "bank-scale-password"}).json()
            headers = {"authorization": f"Bearer {token['access_token']}"}
            figures: dict[str, float] = {}
            for name, path in ASKS.items():
                reply = client.get(path, headers=headers)
                assert reply.status_code == 200, (path, reply.text)
                figures[name] = median_ms(repeats, functools.partial(client.get, path, headers=headers))
            figures["tag draw: match count (chapter)"] = median_ms(repeats, lambda: _draw_count(app))
            figures["picker's match count, q=loss"] = median_ms(repeats, lambda: _draw_count(app, [], "loss"))
            return figures


def _draw_count(app: Any, tags: tuple[str, ...] | list[str] = ("chapter:Ch.4 Alignment",), q: str | None = None) -> int:
    """How many items a draw (or the item picker's search) matches, counted as the quiz builder
    counts them."""
    from assessments.bank.repository import current_versions_query

    database = app.state.database
    with database.sessions() as session:
        query = current_versions_query(list(tags), q, None).order_by(None)
        return int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgresql", metavar="URL", help="a PostgreSQL server to make scratch databases on")
    args = parser.parse_args()
    print(f"machine: {machine()}, "
          f"{'PostgreSQL' if args.postgresql else 'SQLite'}; load average at start {load_average()}")
    for items in args.items:
        if args.postgresql:
            (url,), _, cleanups = scratch_postgresql(args.postgresql, [f"assay_bank_{items}"])
        else:
            folder = tempfile.mkdtemp(prefix="assay-bank-")
            url, cleanups = f"sqlite:///{folder}/bank.sqlite3", [functools.partial(shutil.rmtree, folder)]
        try:
            started = time.perf_counter()
            count = build(url, items)
            print(f"\n{count:,} items (built in {time.perf_counter() - started:.0f} s)")
            for name, ms in measure(url, args.repeats).items():
                print(f"  {name:36s} {ms:8.1f} ms")
        finally:
            for step in reversed(cleanups):
                step()
    print(f"\nload average at end {load_average()}")


if __name__ == "__main__":
    main()
