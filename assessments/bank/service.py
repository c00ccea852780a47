"""The item bank's logic: validate, version, search, preview, import and export.

A definition is stored exactly as the author wrote it (as JSON) once the engine accepts it: its
structure, its expressions, and 200 variants checked as the content checker checks them. Saving
a definition equal to an existing version makes no new version; it makes that version current.

Every item lives in a bank; who may read, use and edit it follows :mod:`assessments.bank.access`.
The functions that take a :class:`Principal` apply those rights; the others (the command line,
content loading, the engine's caches) are the service's own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from threading import Lock
from typing import Any

import yaml
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.access import BankRights, refuse_if_in_open_attempt
from assessments.bank.schemas import (
    BankCreate,
    BankOut,
    GrantOut,
    ImportResult,
    ItemOut,
    ItemSummary,
    Preview,
    Problem,
    SaveResult,
    VersionOut,
)
from assessments.deps import Principal
from assessments.errors import Conflict, Forbidden, Invalid, NotFound
from assessments.models import Bank, BankGrant, Course, CourseRole, Enrolment, Item, ItemVersion
from engine.content.checker import variant_problems
from engine.content.loader import definition_problems
from engine.content.source import parse_yaml_documents
from engine.expressions import ExpressionError
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.texts import render
from engine.variants import Variant, VariantError, generate

__all__ = ["cached_variant", "content_hash", "item_model", "rendered_question", "save_definition", "variant_of"]


def _numbers_normalised(value: Any) -> Any:
    """``value`` with every integral float written as its integer (``1.0`` as ``1``, ``-0.0`` as
    ``0``): one number to every item field, and one way to write it."""
    if isinstance(value, float) and value.is_integer():  # exactly that integer, however large
        return int(value)
    if isinstance(value, dict):
        return {_numbers_normalised(k): _numbers_normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_normalised(v) for v in value]
    return value  # a bool is no float: true stays apart from 1


def canonical(definition: dict[str, Any]) -> str:
    """The definition as one JSON text: keys sorted, no spaces, numbers normalised, so that the
    same content saved twice (``points: 0`` from YAML, ``points: 0.0`` back from QTI) is one text.
    A definition whose numbers are integers has the same text as before numbers were normalised."""
    return json.dumps(_numbers_normalised(definition), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def content_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(definition).encode()).hexdigest()


def _same_content(session: Session, item: Item, digest: str) -> ItemVersion | None:
    """A version of ``item`` whose stored definition has ``digest`` by today's :func:`canonical`,
    though stored under another hash: one saved before numbers were normalised (its hash then was
    of its numbers as written). Stored hashes are not rewritten: they name their rows, and two old
    versions that differ only by ``0``/``0.0`` would then share one. The current version first."""
    found = [v for v in repository.versions(session, item) if content_hash(v.definition) == digest]
    current = [v for v in found if v.number == item.current_number]
    return next(iter(current or found[::-1]), None)  # versions come in number order


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


def variant_of(version: ItemVersion, seed: int, *, shuffle: bool = True, shown: Sequence[int] | None = None) -> Variant:
    """The variant of a stored version for a seed (cached: generating one costs a millisecond).

    ``shuffle=False`` keeps options in their authored order (a quiz that does not shuffle) where
    the question type allows it. ``shown`` is the option order a question attempt stored: the
    order its student saw (see :func:`cached_variant`).
    """
    return cached_variant(version.content_hash, seed, shuffle, lambda: version, shown)


def cached_variant(content_hash: str, seed: int, shuffle: bool, load: Callable[[], ItemVersion],
                   shown: Sequence[int] | None = None) -> Variant:
    """:func:`variant_of` by the version's content hash; ``load`` fetches the version (with its
    definition) only when neither the variant nor the parsed item is cached.

    A question attempt's options keep the order it stored (``shown``) where that differs from
    the order generated now and is an order of as many options: an attempt is reviewed and
    regraded as it was taken. (Until matching pools were always shuffled, a quiz without
    shuffling, or a matching item with ``shuffle: false``, showed the pool in authored order.)
    """
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
    if shown is None or cached.order is None or tuple(shown) == cached.order:
        return cached
    if sorted(shown) != list(range(len(cached.order))):
        return cached  # a regrade against a version with other options: its own order
    as_shown: Variant | None = _VARIANTS.get((*key, tuple(shown)))
    if as_shown is None:
        as_shown = dataclasses.replace(cached, order=tuple(int(n) for n in shown))
        _VARIANTS.put((*key, tuple(shown)), as_shown)
    return as_shown


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
                    actor_id: int | None, now: datetime, item: ItemBase | None = None,
                    bank: Bank | None = None) -> SaveResult:
    """Store a definition as the item's current version (validating it unless ``item`` is given).

    A new item goes into ``bank`` (the shared library when None); an existing item stays in its
    bank, and naming another one is a conflict (moving is :func:`move_item`'s job).
    """
    model = item if item is not None else validate_definition(data)
    digest = content_hash(data)
    row = repository.item_by_key(session, model.id)
    if row is None:
        target = bank if bank is not None else repository.library(session)
        row = Item(key=model.id, bank_id=target.id, created_at=now)
        session.add(row)
        session.flush()
    elif bank is not None and row.bank_id != bank.id:
        raise Conflict(f"an item {model.id!r} already exists in another bank: give this one another id, or "
                       "save it into the item's own bank", code="item_in_another_bank")
    existing = repository.version_by_hash(session, row, digest) or _same_content(session, row, digest)
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


# --- banks and the caller's rights -------------------------------------------------------------------


def _bank_out(session: Session, rights: BankRights, bank: Bank, items: int) -> BankOut:
    course = session.get(Course, bank.course_id) if bank.course_id is not None else None
    manages = rights.manages(bank)
    return BankOut(
        slug=bank.slug, title=bank.title, course=course.slug if course else None, open_to_all=bank.open_to_all,
        items=items, can_edit=rights.can_edit(session, bank), can_manage=manages,
        grants=[GrantOut(course=c.slug, can_edit=g.can_edit) for g, c in repository.grants(session, bank)]
        if manages else None)


def list_banks(session: Session, principal: Principal) -> list[BankOut]:
    """The banks the caller may read, with what they may do in each (the own bank of every
    course they teach among them, made on first sight)."""
    principal.require_staff()
    rights = BankRights.of(session, principal)
    for course in session.scalars(select(Course).where(Course.id.in_(rights.teaching))):
        repository.course_bank(session, course)
    found = repository.banks(session, rights.readable())
    counts = repository.item_counts(session, [b.id for b in found])
    return [_bank_out(session, rights, bank, counts.get(bank.id, 0)) for bank in found]


def readable_bank(session: Session, principal: Principal, slug: str) -> tuple[Bank, BankRights]:
    """The bank if the caller may read it (404 otherwise: its existence does not leak)."""
    principal.require_staff()
    rights = BankRights.of(session, principal)
    bank = repository.bank_by_slug(session, slug)
    if bank is None and slug.startswith(repository.COURSE_BANK_PREFIX):
        # A course's own bank is made on first use, by its instructors only.
        course = session.scalars(select(Course).where(
            Course.slug == slug.removeprefix(repository.COURSE_BANK_PREFIX))).first()
        if course is not None and (rights.is_admin or course.id in rights.teaching):
            bank = repository.course_bank(session, course)
    if bank is None or not rights.can_read(session, bank):
        raise NotFound(f"no bank {slug!r}")
    return bank, rights


def get_bank(session: Session, principal: Principal, slug: str) -> BankOut:
    bank, rights = readable_bank(session, principal, slug)
    return _bank_out(session, rights, bank, repository.item_counts(session, [bank.id]).get(bank.id, 0))


def editable_bank(session: Session, principal: Principal, slug: str) -> Bank:
    bank, rights = readable_bank(session, principal, slug)
    if not rights.can_edit(session, bank):
        raise Forbidden(f"you may use the bank {slug!r} but not edit it", code="bank_read_only")
    return bank


def _managed_bank(session: Session, principal: Principal, slug: str) -> Bank:
    bank, rights = readable_bank(session, principal, slug)
    if not rights.manages(bank):
        raise Forbidden(f"only the instructors of the course that owns {slug!r} (or an administrator) may "
                        "share it", code="bank_not_managed")
    return bank


def create_bank(session: Session, principal: Principal, data: BankCreate, now: datetime) -> BankOut:
    """A new bank owned by one of the caller's courses (administrators may make unowned and open
    banks)."""
    principal.require_staff()
    rights = BankRights.of(session, principal)
    course: Course | None = None
    if data.course is not None:
        course = session.scalars(select(Course).where(Course.slug == data.course)).first()
        if course is None or not (rights.is_admin or course.id in rights.teaching):
            raise NotFound(f"no course {data.course!r} that you teach")
    elif not rights.is_admin:
        raise Invalid("name the course that owns the bank (one you teach)", code="bank_course_required",
                      details=[{"path": ["course"], "message": "required"}])
    if data.open_to_all and not rights.is_admin:
        raise Forbidden("only administrators may open a bank to every course", code="bank_open_admin_only")
    if repository.bank_by_slug(session, data.slug) is not None:
        raise Conflict(f"a bank {data.slug!r} exists", code="bank_exists")
    bank = Bank(slug=data.slug, title=data.title, course_id=course.id if course else None,
                open_to_all=data.open_to_all, created_at=now)
    session.add(bank)
    session.flush()
    return _bank_out(session, rights, bank, 0)


def set_grant(session: Session, principal: Principal, slug: str, course_slug: str, *, can_edit: bool,
              now: datetime) -> BankOut:
    """Share the bank with another course (to read and use, or also to edit)."""
    bank = _managed_bank(session, principal, slug)
    course = session.scalars(select(Course).where(Course.slug == course_slug)).first()
    if course is None:
        raise NotFound(f"no course {course_slug!r}")
    if course.id == bank.course_id:
        raise Invalid("the bank's own course has every right to it already", code="grant_to_owner")
    found = repository.grant(session, bank, course)
    if found is None:
        session.add(BankGrant(bank_id=bank.id, course_id=course.id, can_edit=can_edit, created_at=now))
    else:
        found.can_edit = can_edit
    session.flush()
    return get_bank(session, principal, slug)


def revoke_grant(session: Session, principal: Principal, slug: str, course_slug: str) -> BankOut:
    """Stop sharing the bank with a course. Its quizzes keep the versions they pinned."""
    bank = _managed_bank(session, principal, slug)
    course = session.scalars(select(Course).where(Course.slug == course_slug)).first()
    found = repository.grant(session, bank, course) if course is not None else None
    if found is None:
        raise NotFound(f"the bank {slug!r} is not shared with {course_slug!r}")
    session.delete(found)
    session.flush()
    return get_bank(session, principal, slug)


def target_bank(session: Session, principal: Principal, slug: str | None) -> Bank:
    """Where the caller's new items go: the bank named, else the caller's one course's bank (an
    administrator's: the shared library). Refused unless the caller may edit it."""
    if slug is not None:
        return editable_bank(session, principal, slug)
    principal.require_staff()
    if principal.is_admin:
        return repository.library(session)
    teaching = list(session.scalars(select(Course).join(Enrolment, Enrolment.course_id == Course.id).where(
        Enrolment.user_id == principal.user.id, Enrolment.role == CourseRole.INSTRUCTOR).order_by(Course.slug)))
    if len(teaching) == 1:
        return repository.course_bank(session, teaching[0])
    rights = BankRights.of(session, principal)
    choices = [b.slug for b in repository.banks(session, rights.editable())]
    choices += [repository.COURSE_BANK_PREFIX + c.slug for c in teaching
                if repository.COURSE_BANK_PREFIX + c.slug not in choices]
    raise Invalid("name the bank for the item (bank=...): "
                  + (f"you may add items to {', '.join(sorted(choices))}" if choices
                     else "you teach no course, so there is no bank you may add items to"),
                  code="bank_required")


def _editable_item(session: Session, principal: Principal, key: str) -> Item:
    item = repository.item_by_key(session, key)
    bank = session.get(Bank, item.bank_id) if item is not None else None
    rights = BankRights.of(session, principal)
    if item is None or bank is None or not rights.can_read(session, bank):
        raise NotFound(f"no item {key!r}")
    if not rights.can_edit(session, bank):
        raise Forbidden(f"the item {key!r} is in the bank {bank.slug!r}, which you may use but not edit: "
                        "save a copy under another id in a bank of yours", code="bank_read_only")
    return item


def save_for(session: Session, principal: Principal, data: dict[str, Any], *, bank_slug: str | None,
             now: datetime, key: str | None = None) -> SaveResult:
    """An instructor's save: a new version of an item they may edit, or a new item in a bank
    they may edit. ``key`` (an update of that item) must be the definition's id."""
    principal.require_staff()
    if key is not None:
        _editable_item(session, principal, key)
        if data.get("id") != key:
            raise Invalid(f"the definition's id must be {key!r}", code="id_mismatch")
    given = data.get("id")
    existing = repository.item_by_key(session, given) if isinstance(given, str) else None
    if existing is not None:
        home = session.get(Bank, existing.bank_id)
        if home is None or not BankRights.of(session, principal).can_read(session, home):
            raise Conflict(f"an item {existing.key!r} already exists in another bank: give this one another id",
                           code="item_in_another_bank")
        _editable_item(session, principal, existing.key)
        bank = home if bank_slug is None else editable_bank(session, principal, bank_slug)
    else:
        bank = target_bank(session, principal, bank_slug)
    return save_definition(session, data, source="api", actor_id=principal.user.id, now=now, bank=bank)


def move_item(session: Session, principal: Principal, key: str, bank_slug: str) -> ItemOut:
    """Move an item (all its versions) to another bank; the caller must manage the bank it
    leaves and edit the one it joins. Quizzes keep the versions they pinned."""
    principal.require_staff()
    item = _editable_item(session, principal, key)
    source = session.get(Bank, item.bank_id)
    assert source is not None
    if not BankRights.of(session, principal).manages(source):
        raise Forbidden(f"only the instructors of the course that owns {source.slug!r} (or an administrator) "
                        "may move items out of it", code="bank_not_managed")
    item.bank_id = editable_bank(session, principal, bank_slug).id
    session.flush()
    return get_item(session, principal, key)


def readable_current(session: Session, principal: Principal, key: str) -> tuple[Item, ItemVersion, Bank]:
    """The item and its current version if the caller may read it now: 404 outside their banks,
    403 while an attempt of theirs in progress was given it."""
    principal.require_staff()
    item, version = current(session, key)
    bank = session.get(Bank, item.bank_id)
    assert bank is not None
    if not BankRights.of(session, principal).can_read(session, bank):
        raise NotFound(f"no item {key!r}")
    refuse_if_in_open_attempt(session, principal, [item.id], {item.id: item.key})
    return item, version, bank


def _summary(item: Item, version: ItemVersion, bank: str, tags: dict[str, list[str]],
             concepts: list[str]) -> ItemSummary:
    return ItemSummary(key=item.key, bank=bank, version=version.number, type=version.type, title=version.title,
                       computed=version.is_computed, tags=tags, concepts=concepts)


def _current_versions(tags: list[str], text: str | None, type_: str | None,
                      banks: ColumnElement[bool] | None = None) -> Select[Item, ItemVersion]:
    """The query for the current versions matching the filters; 400 for a tag that cannot match."""
    try:
        return repository.current_versions_query(tags, text, type_, banks)
    except ValueError as exc:
        raise Invalid(f"bad tag query: {exc}", code="bad_tag_query") from exc


def _readable_banks(session: Session, principal: Principal, bank_slug: str | None) -> ColumnElement[bool]:
    """The condition on banks for the caller's listings: the banks they may read, or the one named."""
    principal.require_staff()
    if bank_slug is not None:
        return Bank.id == readable_bank(session, principal, bank_slug)[0].id
    return BankRights.of(session, principal).readable()


def list_items(session: Session, principal: Principal, tags: list[str], text: str | None, type_: str | None,
               limit: int, offset: int, *, bank_slug: str | None = None) -> list[ItemSummary]:
    """The current items of the banks the caller may read (or of the bank named)."""
    query = _current_versions(tags, text, type_, _readable_banks(session, principal, bank_slug))
    rows = session.execute(query.limit(limit).offset(offset)).all()
    ids = [item.id for item, _ in rows]
    all_tags, all_concepts = repository.tags_of(session, ids), repository.concepts_of(session, ids)
    slugs = repository.bank_slugs(session, {item.bank_id for item, _ in rows})
    return [_summary(item, version, slugs[item.bank_id], all_tags[item.id], all_concepts[item.id])
            for item, version in rows]


def current(session: Session, key: str) -> tuple[Item, ItemVersion]:
    item = repository.item_by_key(session, key)
    version = repository.current_version(session, item) if item else None
    if item is None or version is None:
        raise NotFound(f"no item {key!r}")
    return item, version


def get_item(session: Session, principal: Principal, key: str) -> ItemOut:
    item, version, bank = readable_current(session, principal, key)
    summary = _summary(item, version, bank.slug, repository.tags_of(session, [item.id])[item.id],
                       repository.concepts_of(session, [item.id])[item.id])
    history = [VersionOut(number=v.number, content_hash=v.content_hash, created_at=v.created_at,
                          source=v.source) for v in repository.versions(session, item)]
    return ItemOut(**summary.model_dump(), definition=version.definition, versions=history)


def preview(session: Session, principal: Principal, key: str, seed: int) -> Preview:
    """A variant as a student sees it, with the key, the key's feedback and the solution; a
    variant that cannot be made (a version stored before a check that would refuse it) is a 400
    that says where, as on save."""
    _, version, _ = readable_current(session, principal, key)
    try:
        return _preview(version, key, seed)
    except (ExpressionError, VariantError) as exc:
        problem = {"path": list(getattr(exc, "path", ())), "message": str(exc)}
        raise Invalid(f"the variant of seed {seed} cannot be made", details=[problem],
                      code="invalid_variant") from exc


def _preview(version: ItemVersion, key: str, seed: int) -> Preview:
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
                now: datetime, bank: Bank | None = None) -> ImportResult:
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
    results = [save_definition(session, data, source=name, actor_id=actor_id, now=now, item=item, bank=bank)
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
                now: datetime, bank: Bank | None = None) -> ImportResult:
    """Items from a file in any known format: all of them or (raising :class:`Invalid`) none.

    They go into ``bank`` (the library when None); an item that exists already must be there."""
    from assessments.interop.formats import FORMATS, KNOWN

    if format == "yaml":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid("the import is not UTF-8 text") from exc
        return import_yaml(session, text, name=name, actor_id=actor_id, now=now, bank=bank)
    importer = FORMATS.get(format)
    if importer is None:
        raise Invalid(f"unknown import format {format!r} (known: {KNOWN})", code="unknown_format")
    imported = importer.import_items(data, name)
    if imported.problems:
        raise Invalid("the import was rejected; nothing was changed", code="invalid_import", details=[
            {"path": [], "file": p.file, "line": p.line, "message": p.message} for p in imported.problems])
    result = import_definitions(session, imported.definitions, name=name, actor_id=actor_id, now=now, bank=bank)
    result.notes = imported.notes
    return result


def import_for(session: Session, principal: Principal, data: bytes, *, format: str,  # noqa: A002
               bank_slug: str | None, now: datetime) -> ImportResult:
    """An instructor's import, into a bank they may edit (see :func:`target_bank`)."""
    bank = target_bank(session, principal, bank_slug)
    return import_file(session, data, format=format, name=f"import.{format}", actor_id=principal.user.id,
                       now=now, bank=bank)


def import_definitions(session: Session, definitions: list[dict[str, Any]], *, name: str,
                       actor_id: int | None, now: datetime, bank: Bank | None = None) -> ImportResult:
    """Items another format produced: each validated and saved, all in this one transaction (a
    bad one raises, and the request's rollback leaves the bank as it was)."""
    if not definitions:
        raise Invalid("no items in the import", code="invalid_import")
    results = [save_definition(session, data, source=name, actor_id=actor_id, now=now, bank=bank)
               for data in definitions]
    return import_result(results)


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
