"""Every query of the item bank."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from assessments.models import Bank, BankGrant, Concept, Course, Item, ItemConcept, ItemLink, ItemTag, ItemVersion
from engine.items.metadata import split_path

LIBRARY = "library"
"""The open bank the shipped content lives in (made by the migration that introduced banks)."""
COURSE_BANK_PREFIX = "course:"
"""A course's own bank is ``course:<course slug>``; other banks' slugs never contain a colon."""


# --- banks -----------------------------------------------------------------------------------------


def bank_by_slug(session: Session, slug: str) -> Bank | None:
    return session.scalars(select(Bank).where(Bank.slug == slug)).first()


def library(session: Session) -> Bank:
    bank = bank_by_slug(session, LIBRARY)
    if bank is None:  # the migration makes it; a restored or hand-made database may lack it
        bank = Bank(slug=LIBRARY, title="Shared library", open_to_all=True)
        session.add(bank)
        session.flush()
    return bank


def course_bank(session: Session, course: Course) -> Bank:
    """The course's own bank, made on first use."""
    bank = session.scalars(select(Bank).where(Bank.course_id == course.id, Bank.is_course_default.is_(True))).first()
    if bank is None:
        bank = Bank(slug=COURSE_BANK_PREFIX + course.slug, title=f"{course.title} (course bank)",
                    course_id=course.id, is_course_default=True)
        session.add(bank)
        session.flush()
    return bank


def bank_for_slug(session: Session, slug: str) -> Bank | None:
    """The bank of that slug; ``course:<course>`` is the course's own bank, and ``library`` the
    shared library (each made on first use)."""
    if slug == LIBRARY:
        return library(session)
    bank = bank_by_slug(session, slug)
    if bank is None and slug.startswith(COURSE_BANK_PREFIX):
        course = session.scalars(select(Course).where(Course.slug == slug.removeprefix(COURSE_BANK_PREFIX))).first()
        bank = course_bank(session, course) if course is not None else None
    return bank


def bank_slugs_all(session: Session) -> list[str]:
    return list(session.scalars(select(Bank.slug).order_by(Bank.slug)))


def banks(session: Session, condition: ColumnElement[bool]) -> list[Bank]:
    return list(session.scalars(select(Bank).where(condition).order_by(Bank.slug)))


def bank_slugs(session: Session, bank_ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(Bank.id, Bank.slug).where(Bank.id.in_(bank_ids))).all())


def item_counts(session: Session, bank_ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(Item.bank_id, func.count(Item.id)).where(Item.bank_id.in_(bank_ids))
                           .group_by(Item.bank_id))
    return dict(rows.all())


def grants(session: Session, bank: Bank) -> list[tuple[BankGrant, Course]]:
    return list(session.execute(select(BankGrant, Course).join(Course, Course.id == BankGrant.course_id)
                                .where(BankGrant.bank_id == bank.id).order_by(Course.slug)))


def grant(session: Session, bank: Bank, course: Course) -> BankGrant | None:
    return session.scalars(select(BankGrant).where(BankGrant.bank_id == bank.id,
                                                   BankGrant.course_id == course.id)).first()


# --- items -----------------------------------------------------------------------------------------


def item_by_key(session: Session, key: str) -> Item | None:
    return session.scalars(select(Item).where(Item.key == key)).first()


def current_version(session: Session, item: Item) -> ItemVersion | None:
    if item.current_number is None:
        return None
    return session.scalars(select(ItemVersion).where(
        ItemVersion.item_id == item.id, ItemVersion.number == item.current_number)).first()


def current_versions(session: Session, keys: list[str]) -> dict[str, ItemVersion]:
    """The current version of each item by key, in one query (items without one are left out).

    The definitions are not read: a version's parsed item and variants are cached by its content
    hash, and ``definition`` loads on first access when they are not."""
    if not keys:
        return {}
    rows = session.execute(
        select(Item.key, ItemVersion).options(defer(ItemVersion.definition))
        .join(ItemVersion, and_(ItemVersion.item_id == Item.id, ItemVersion.number == Item.current_number))
        .where(Item.key.in_(keys)))
    return dict(rows.all())


def version_by_hash(session: Session, item: Item, content_hash: str) -> ItemVersion | None:
    return session.scalars(select(ItemVersion).where(
        ItemVersion.item_id == item.id, ItemVersion.content_hash == content_hash)).first()


def last_number(session: Session, item: Item) -> int:
    return session.scalar(select(func.max(ItemVersion.number)).where(ItemVersion.item_id == item.id)) or 0


def versions(session: Session, item: Item) -> list[ItemVersion]:
    return list(session.scalars(select(ItemVersion).where(ItemVersion.item_id == item.id)
                                .order_by(ItemVersion.number)))


def tag_condition(query: str) -> ColumnElement[bool]:
    """``facet:value``: the value or anything below it in the hierarchy."""
    facet, _, value = query.partition(":")
    path = " > ".join(split_path(value))
    return and_(ItemTag.facet == facet.strip(),
                or_(ItemTag.value == path, ItemTag.value.startswith(path + " > ", autoescape=True)))


TRIGRAM = 3
"""The shortest text the search index answers: it holds every three characters of the texts. A
shorter text is looked for by reading the narrow search table through (one pass over each item's
key and current title, not over the items and their versions)."""

_ITEMS_SEARCH = table("items_search", column("rowid", Integer), column("item_id", Integer),
                      column("key", String), column("title", String))
"""Each item's key and current title, which the database keeps by triggers (migration 0028): an
FTS5 table with the trigram tokenizer on SQLite (its rowid the item's id), a table with a trigram
GIN index on PostgreSQL."""


_DATABASES = [("sqlite", InternalTraversal.dp_clauseelement), ("postgresql", InternalTraversal.dp_clauseelement)]


class _ByDatabase(ColumnElement[bool]):
    """A condition written for each database (by the dialect's name)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it stands, never "= 1"
    _traverse_internals = _DATABASES  # what the statement cache tells statements apart by

    def __init__(self, *, sqlite: ColumnElement[bool], postgresql: ColumnElement[bool]) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql


@compiles(_ByDatabase)
def _compile_by_database(element: _ByDatabase, compiler: SQLCompiler, **kw: Any) -> str:
    # in parentheses: the condition may be an OR, and is rendered where an AND joins it to others
    return "(" + str(compiler.process(getattr(element, compiler.dialect.name), **kw)) + ")"


def _lowered_pattern(text: str) -> ColumnElement[str]:
    """``LIKE``'s pattern for ``text`` anywhere in a text in lower case, ``%``, ``_`` and ``/``
    taken as themselves (escaped with ``/``)."""
    return func.lower("%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%")


def _search_holds(text: str) -> ColumnElement[bool]:
    """The ``items_search`` rows whose key or title holds ``text``, case aside (on SQLite the
    case of ASCII letters only, as ``LIKE`` folds it)."""
    pattern = _lowered_pattern(text)
    return or_(_ITEMS_SEARCH.c.key.like(pattern, escape="/"), _ITEMS_SEARCH.c.title.like(pattern, escape="/"))


def text_condition(text: str) -> ColumnElement[bool]:
    """Items whose key or current title holds ``text``, case aside, every character taken as
    itself (``%`` and ``_`` are no wildcards).

    On PostgreSQL ``LIKE`` on ``items_search``'s texts in lower case (which its trigram index
    answers from three characters) is ``ILIKE``: it folds the case of every letter. The items found
    come as one array (``= ANY``), which the planner takes for a few rows: it looks them up. That
    is what counting them wants; a page of them in key order reads the search table in key order
    instead (:func:`current_versions_query`'s ``dialect``).

    On SQLite ``LIKE`` folds the case of ASCII letters only, as before the index; the FTS5 table
    first finds the items whose key or title holds the text (from three characters through its
    index, every letter's case folded, so never fewer than ``LIKE``; one or two read through
    with ``LIKE``), and ``LIKE`` decides among those. The
    items found are a list each item is looked up in (``items.id + 0`` keeps SQLite from taking
    them as the rows to start from): a page reads the items in key order until it is full, so a
    word most items hold costs no more than a rare one (at 100,000 items a page costs 12-25 ms
    whatever the word, against 0-100 ms when SQLite starts from the items found).
    """
    like = or_(ItemVersion.title.icontains(text, autoescape=True), Item.key.icontains(text, autoescape=True))
    if len(text) < TRIGRAM:
        # No trigram to look up: the narrow search table is read through (40-45 ms at 100,000
        # items, where reading the items in key order cost up to 290 ms for a pair found nowhere).
        found = select(_ITEMS_SEARCH.c.rowid).where(_search_holds(text))
    else:
        phrase = '"' + text.replace('"', '""') + '"'
        found = select(_ITEMS_SEARCH.c.rowid).where(literal_column("items_search").op("MATCH")(phrase))
    return _ByDatabase(sqlite=and_((Item.id + literal_column("0")).in_(found), like),
                       postgresql=Item.id == any_(_found_array(text)))


def _found_array(text: str) -> ColumnElement[Any]:
    lowered = select(func.array_agg(_ITEMS_SEARCH.c.item_id)).where(_search_holds(text)).scalar_subquery()
    return func.coalesce(lowered, literal_column("'{}'::integer[]"))


def current_versions_query(tags: list[str], text: str | None, type_: str | None,
                           banks: ColumnElement[bool] | None = None, concepts: Sequence[str] = (),
                           *, dialect: str | None = None) -> Select[Item, ItemVersion]:
    """The current versions matching the filters (every tag query and every concept), in the
    banks matching ``banks`` (a condition on :class:`Bank`; all banks when None), by key.

    ``dialect`` (the database's name: ``session.get_bind().dialect.name``) is for a query read a
    page at a time: on PostgreSQL a text search then walks ``items_search`` in key order (its
    B-tree index on ``key``, migration 0032), checks each row's texts there and joins the items
    it keeps, so that a page costs milliseconds however many items hold the text (reading every
    match first took 240 ms at 100,000 items for a word in 42% of them). Counting, or reading
    every match, is faster without it (the matches looked up by id: :func:`text_condition`).
    """
    query = (
        select(Item, ItemVersion)
        .join(ItemVersion, and_(ItemVersion.item_id == Item.id, ItemVersion.number == Item.current_number))
        .order_by(Item.key)
    )
    if banks is not None:
        query = query.where(Item.bank_id.in_(select(Bank.id).where(banks)))
    for tag in tags:
        query = query.where(Item.id.in_(select(ItemTag.item_id).where(tag_condition(tag))))
    for concept in concepts:
        query = query.where(Item.id.in_(select(ItemConcept.item_id).join(Concept).where(Concept.key == concept)))
    if text and dialect == "postgresql":
        # items_search.key is the key in lower case; keys are slugs, so it sorts as the key does
        # (the key itself breaks a tie, should one be written otherwise).
        query = (query.join(_ITEMS_SEARCH, _ITEMS_SEARCH.c.item_id == Item.id).where(_search_holds(text))
                 .order_by(None).order_by(_ITEMS_SEARCH.c.key, Item.key))
    elif text:
        query = query.where(text_condition(text))
    if type_:
        query = query.where(ItemVersion.type == type_)
    return query


def page_of_versions(session: Session, query: Select[Item, ItemVersion], limit: int,
                     offset: int) -> list[tuple[Item, ItemVersion]]:
    """A page of ``query``'s rows, found through narrow columns first (the filters run on the
    listing index, not the versions' rows), then loaded without their definitions and texts."""
    found = session.execute(query.with_only_columns(ItemVersion.id).limit(limit).offset(offset)).scalars().all()
    if not found:
        return []
    rows = session.execute(
        select(Item, ItemVersion).join(ItemVersion, ItemVersion.item_id == Item.id)
        .options(defer(ItemVersion.definition), defer(ItemVersion.source_text))
        .where(ItemVersion.id.in_(found))).all()
    order = {version_id: n for n, version_id in enumerate(found)}
    return sorted(((item, version) for item, version in rows), key=lambda row: order[row[1].id])


def tags_of(session: Session, item_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {i: {} for i in item_ids}
    for row in session.scalars(select(ItemTag).where(ItemTag.item_id.in_(item_ids)).order_by(ItemTag.id)):
        out[row.item_id].setdefault(row.facet, []).append(row.value)
    return out


def concepts_of(session: Session, item_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in item_ids}
    rows = session.execute(select(ItemConcept.item_id, Concept.key).join(Concept)
                           .where(ItemConcept.item_id.in_(item_ids)).order_by(Concept.key))
    for item_id, key in rows:
        out[item_id].append(key)
    return out


def replace_search_rows(session: Session, item: Item, tags: dict[str, tuple[str, ...]],
                        concepts: tuple[str, ...], related: tuple[str, ...]) -> None:
    """Tags, concepts and links always describe the item's current version."""
    for model in (ItemTag, ItemConcept, ItemLink):
        for row in session.scalars(select(model).where(model.item_id == item.id)):
            session.delete(row)
    session.flush()
    for facet, values in tags.items():
        for value in dict.fromkeys(values):
            session.add(ItemTag(item_id=item.id, facet=facet, value=value))
    for key in dict.fromkeys(concepts):
        concept = session.scalars(select(Concept).where(Concept.key == key)).first()
        if concept is None:
            concept = Concept(key=key, title=key.replace("-", " "))
            session.add(concept)
            session.flush()
        session.add(ItemConcept(item_id=item.id, concept_id=concept.id))
    for key in dict.fromkeys(related):
        session.add(ItemLink(item_id=item.id, related_key=key))


def upsert_concept(session: Session, key: str, title: str) -> None:
    concept = session.scalars(select(Concept).where(Concept.key == key)).first()
    if concept is None:
        session.add(Concept(key=key, title=title))
    elif concept.title != title:
        concept.title = title
