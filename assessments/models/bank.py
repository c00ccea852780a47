"""The item bank: banks and who may use them, items, their immutable versions, and what a search
needs (tags, concepts)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessments.models.base import Base, JSONData, OrderedJSON, enum_column, utcnow


class VersionOrigin(enum.StrEnum):
    """Where a version came from: a file ``assay content load`` read, the browser's editor, the
    REST API, or an import of another format."""

    FILE = "file"
    BROWSER = "browser"
    API = "api"
    IMPORT = "import"


class Bank(Base):
    """A collection of items with one set of permissions (row of ``banks``), as Moodle's question
    bank contexts: a course's own bank, a bank its course shares with other courses by grants, or
    an open bank (the shipped library) that every course may use.

    ``course_id`` is the owning course: its instructors manage the bank (edit its items, grant
    other courses). A bank without one (the library) is managed by administrators only.
    """

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    is_course_default: Mapped[bool] = mapped_column(default=False)
    """The owning course's own bank (``course:<course slug>``), made on first use."""
    open_to_all: Mapped[bool] = mapped_column(default=False)
    """Every instructor may read it and every course's quizzes may use it (never edit it)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BankGrant(Base):
    """A course's right to a bank it does not own: to read and use its items in quizzes, and
    with ``can_edit`` to publish new versions of them too (row of ``bank_grants``)."""

    __tablename__ = "bank_grants"
    __table_args__ = (UniqueConstraint("bank_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    can_edit: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Item(Base):
    """An item's identity (its slug, unique across banks) and the bank it lives in; what it says
    lives in its versions."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    current_number: Mapped[int | None]
    """The number of the version in use; reverting to an earlier text points back at it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemVersion(Base):
    """One immutable version of an item's definition (row of ``item_versions``).

    An edit makes a new version; question attempts pin the version they were given.
    """

    __tablename__ = "item_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "number"),
        UniqueConstraint("item_id", "content_hash"),
        # What the bank's listings filter on, beside the version it belongs to: a search reads this
        # index, never the rows, whose definitions and source texts come first on disk (SQLite
        # reads through a row's large columns to reach those after them).
        Index("ix_item_versions_listing", "item_id", "number", "type", "is_computed", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    is_computed: Mapped[bool]
    source: Mapped[str | None] = mapped_column(String(500))
    """The file's path (``origin`` file), or the imported file's name, or None."""
    origin: Mapped[VersionOrigin] = mapped_column(enum_column(VersionOrigin), default=VersionOrigin.FILE)
    source_text: Mapped[str | None] = mapped_column(Text)
    """The YAML as its author wrote it (comments and all), when it came as YAML text: what
    ``assay content export`` writes back."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(lazy="raise")


class ItemTag(Base):
    """A facet value of an item's current version, kept for search (``chapter`` = ``Ch.4 ...``)."""

    __tablename__ = "item_tags"
    __table_args__ = (
        UniqueConstraint("item_id", "facet", "value"),
        Index("ix_item_tags_facet_value", "facet", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    facet: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(300))


class Concept(Base):
    """A knowledge component the bank declares."""

    __tablename__ = "concepts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))


class ItemConcept(Base):
    __tablename__ = "item_concepts"
    __table_args__ = (UniqueConstraint("item_id", "concept_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    concept_id: Mapped[int] = mapped_column(ForeignKey("concepts.id", ondelete="CASCADE"), index=True)


class ItemLink(Base):
    """``related``: an item's current version names another item."""

    __tablename__ = "item_links"
    __table_args__ = (UniqueConstraint("item_id", "related_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    related_key: Mapped[str] = mapped_column(String(120))


TEXT_SEARCH_INDEXES = ("items_search", "ix_items_search_trigrams", "ix_items_search_key")
"""What the bank's text search reads (migration 0028), which the database keeps itself by triggers
and the models do not describe: ``items_search``, each item's key and current title (on SQLite an
FTS5 table, on PostgreSQL a table with a trigram GIN index, absent where ``pg_trgm`` could not be
created, and a B-tree index on its key, migration 0032). Backups leave it out; a restore's inserts fill it again."""
_FTS5_SHADOWS = ("", "_data", "_idx", "_docsize", "_config", "_content")


def is_text_search_index(name: str | None) -> bool:
    """Whether a table or index of that name is part of :data:`TEXT_SEARCH_INDEXES` (an FTS5 table
    makes shadow tables beside it, ``items_search_data`` and the like)."""
    return name is not None and any(name == index + shadow for index in TEXT_SEARCH_INDEXES
                                    for shadow in _FTS5_SHADOWS)


class ImportDraft(Base):
    """An uploaded file waiting for its instructor to say "import these" (row of
    ``import_drafts``): the import page checks it whole, shows what it would do, and imports only
    when asked, from this copy; drafts expire after an hour."""

    __tablename__ = "import_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Declarations(Base):
    """What a bank declares beyond its files (row of ``declarations``, one per bank): the facet
    values and concepts its instructors declared in the editor or through the API.

    ``data`` is a ``bank.yaml`` document's sections as JSON (``facets``, ``concepts`` and any
    other section a later ``bank.yaml`` has), so that a new section needs no migration; the bank's
    declarations in use are the installed ``bank.yaml``, the open banks' rows and this row merged
    (:mod:`assessments.bank.declarations`).
    """

    __tablename__ = "declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


__all__ = [
    "TEXT_SEARCH_INDEXES",
    "Bank",
    "BankGrant",
    "Concept",
    "Declarations",
    "ImportDraft",
    "Item",
    "ItemConcept",
    "ItemLink",
    "ItemTag",
    "ItemVersion",
    "VersionOrigin",
    "is_text_search_index",
]
