"""What the quiz builder's item picker finds: the current items of the banks a course may use,
filtered as the bank page filters (tag queries such as ``chapter:Ch.4 Alignment`` or
``bloom:Analysis``, concepts, question type, text in the title or key), each with the mark it is
worth in a quiz; and how many items a draw's tag queries match, which is what a draw may give.

The builder's page and its script both ask here, so the page without JavaScript and the page
with it show the same items and the same counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.bank import repository as bank
from assessments.bank.access import usable_in_course
from assessments.models import Bank, Concept, Item, ItemConcept, ItemTag
from assessments.quizzes.service import max_mark_of

SHOWN = 25
"""Items the picker lists at most (its count says how many match in all)."""
POOL_MARKS = 500
"""A draw's pool is read for the marks its items are worth up to this many items (a larger pool's
marks are checked when the quiz is built)."""
QUESTION_TYPES = ("single_choice", "multiple_response", "true_false", "numeric", "ordering", "matching",
                  "short_text", "essay")


class PickerQuery(BaseModel):
    """The picker's filters; an item matches every one given."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=200)
    """Text in the item's title or key."""
    type: str = Field(default="", max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20)
    """Tag queries, ``facet:value`` (a hierarchy's value matches everything below it)."""
    concepts: list[str] = Field(default_factory=list, max_length=20)


@dataclass(frozen=True)
class PickerItem:
    """An item as the picker lists it (no key or feedback: what an instructor chooses by)."""

    key: str
    title: str
    type: str
    bank: str
    version: int
    bloom: list[str]
    chapter: list[str]
    concepts: list[str]
    max_mark: float


@dataclass(frozen=True)
class Found:
    count: int
    """Items matching in all (``items`` holds the first of them, by key)."""
    items: list[PickerItem]
    problem: str | None = None
    """Why nothing could match (a tag query that is not ``facet:value``)."""
    marks: list[float] | None = None
    """The max marks the matching items are worth, each once, when asked for (a draw's: it takes
    the one they share unless given a mark)."""


def tag_problem(tags: list[str]) -> str | None:
    """What is wrong with a list of tag queries, in the builder's words; None when nothing is."""
    for tag in tags:
        facet, colon, value = tag.partition(":")
        if not colon or not facet.strip() or not value.strip():
            return f"“{tag[:80]}” is not a tag query: write facet:value, such as chapter:Ch.4 Alignment"
    return None


def find(session: Session, course_id: int, query: PickerQuery, *, limit: int = SHOWN, marks: bool = False) -> Found:
    """The items of the course's usable banks matching ``query``: how many, the first ``limit``,
    and with ``marks`` the max marks they are worth (for pools of at most :data:`POOL_MARKS`)."""
    tags = [t.strip() for t in query.tags if t.strip()]
    if problem := tag_problem(tags):
        return Found(0, [], problem)
    kind = query.type if query.type in QUESTION_TYPES else None
    text, concepts = query.q.strip() or None, [c for c in query.concepts if c]
    try:
        matching = bank.current_versions_query(tags, text, kind, usable_in_course(course_id), concepts)
    except ValueError as exc:
        return Found(0, [], str(exc))
    count = session.scalar(select(func.count()).select_from(matching.order_by(None).subquery())) or 0
    # the first page read as pages are (counting is faster as it is)
    paged = bank.current_versions_query(tags, text, kind, usable_in_course(course_id), concepts,
                                        dialect=session.get_bind().dialect.name)
    rows = bank.page_of_versions(session, paged, limit, 0) if limit and count else []
    worth = None
    if marks and 0 < count <= POOL_MARKS:
        worth = sorted({max_mark_of(version) for _, version in session.execute(matching)})
    return Found(count, _listed(session, rows), marks=worth)


def by_keys(session: Session, course_id: int, keys: list[str]) -> dict[str, PickerItem]:
    """The items named (those the course may use), by key: the rows of a section's fixed items."""
    wanted = list(dict.fromkeys(k for k in keys if k))[:1000]
    if not wanted:
        return {}
    matching = bank.current_versions_query([], None, None, usable_in_course(course_id)).where(Item.key.in_(wanted))
    return {item.key: item for item in _listed(session, session.execute(matching).all())}


def _listed(session: Session, rows: Sequence[Any]) -> list[PickerItem]:
    """Rows of (item, current version) as the picker lists them."""
    ids = [item.id for item, _ in rows]
    tags = bank.tags_of(session, ids)
    concepts = bank.concepts_of(session, ids)
    slugs = bank.bank_slugs(session, {item.bank_id for item, _ in rows})
    return [PickerItem(key=item.key, title=version.title, type=version.type, bank=slugs[item.bank_id],
                       version=version.number, bloom=tags[item.id].get("bloom", []),
                       chapter=tags[item.id].get("chapter", []), concepts=concepts[item.id],
                       max_mark=max_mark_of(version))
            for item, version in rows]


def facets(session: Session, course_id: int) -> dict[str, list[str]]:
    """The tag values of the items the course may use, by facet: the picker's filters."""
    usable = select(Item.id).join(Bank, Bank.id == Item.bank_id).where(usable_in_course(course_id))
    found: dict[str, list[str]] = {}
    for facet, value in session.execute(select(ItemTag.facet, ItemTag.value).where(ItemTag.item_id.in_(usable))
                                        .distinct().order_by(ItemTag.facet, ItemTag.value)):
        found.setdefault(facet, []).append(value)
    return found


def concepts(session: Session, course_id: int) -> list[tuple[str, str]]:
    """The concepts of the items the course may use: (key, title), by key."""
    usable = select(Item.id).join(Bank, Bank.id == Item.bank_id).where(usable_in_course(course_id))
    rows = session.execute(select(Concept.key, Concept.title).join(ItemConcept, ItemConcept.concept_id == Concept.id)
                           .where(ItemConcept.item_id.in_(usable)).distinct().order_by(Concept.key))
    return [(key, title) for key, title in rows]
