"""The item bank's logic: validate, version, search and preview (banks and rights:
:mod:`assessments.bank.banks`; import and export: :mod:`assessments.bank.exchange`).

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
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from threading import Lock
from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.access import BankRights
from assessments.bank.banks import editable_bank, editable_item, readable_bank, readable_current, target_bank
from assessments.bank.rendered import rendered_preview, rendered_texts
from assessments.bank.schemas import (
    ItemOut,
    ItemSaved,
    ItemSummary,
    Preview,
    Problem,
    VersionOut,
)
from assessments.deps import Principal
from assessments.errors import Conflict, Forbidden, Invalid
from assessments.models import Bank, Item, ItemVersion, VersionOrigin
from engine.content.checker import variant_problems
from engine.content.loader import definition_problems
from engine.expressions import ExpressionError
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.texts import render
from engine.variants import Variant, VariantError, generate, generate_batch

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
        cached = generate(variant_model(content_hash, shuffle, load), seed)
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


def variant_model(content_hash: str, shuffle: bool, load: Callable[[], ItemVersion]) -> ItemBase:
    """The model a version's variants are generated from: its item, with options in authored order
    when the quiz does not shuffle (and the question type allows it)."""
    model: ItemBase | None = _ITEMS.get(content_hash)
    if model is None:
        model = item_model(load())
    if not shuffle and model.shuffle and model.type_name != "ordering":
        model = model.model_copy(update={"shuffle": False})
    return model


def has_variant(content_hash: str, seed: int, shuffle: bool) -> bool:
    """Whether this process holds the variant (:func:`cached_variant` would not generate it)."""
    return _VARIANTS.get((content_hash, seed, shuffle)) is not None


def keep_variant(content_hash: str, shuffle: bool, variant: Variant) -> None:
    """Hold a variant generated elsewhere (a prepared one, equal to what :func:`cached_variant`
    would generate for its seed) so that :func:`cached_variant` returns it."""
    _VARIANTS.put((content_hash, variant.seed, shuffle), variant)


def warm_variants(wanted: Iterable[tuple[str, int, bool, Callable[[], ItemVersion]]]) -> int:
    """Generate the variants among ``wanted`` (content hash, seed, shuffle, loader of the version)
    that this process does not hold, each version's in one batch (the engine's ``generate_batch``:
    the same variant for a seed as one generated alone, for a fraction of the cost), so that the
    :func:`cached_variant` calls that follow find them. A version whose batch cannot be made (a
    seed without a variant) is left to :func:`cached_variant`, which says why. How many were made."""
    missing: dict[tuple[str, bool], dict[int, Callable[[], ItemVersion]]] = {}
    for content_hash, seed, shuffle, load in wanted:
        if _VARIANTS.get((content_hash, seed, shuffle)) is None:
            missing.setdefault((content_hash, shuffle), {})[seed] = load
    made = 0
    for (content_hash, shuffle), seeds in missing.items():
        if len(seeds) < 2:
            continue  # one alone costs the same either way
        model = variant_model(content_hash, shuffle, next(iter(seeds.values())))
        try:
            batch = generate_batch(model, list(seeds))
        except (VariantError, ExpressionError):
            continue
        for n in range(len(batch.seeds)):
            keep_variant(content_hash, shuffle, batch[n])
        made += len(batch.seeds)
    return made


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


def keep_rendered(variant: Variant, shown: dict[str, Any]) -> None:
    """Hold what :func:`rendered_question` gives for ``variant``, rendered elsewhere (a prepared
    variant's, rendered when it was prepared)."""
    _RENDERED.put(id(variant), (variant, shown))


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
                    bank: Bank | None = None, origin: VersionOrigin = VersionOrigin.FILE,
                    source_text: str | None = None) -> ItemSaved:
    """Store a definition as the item's current version (validating it unless ``item`` is given).

    A new item goes into ``bank`` (the shared library when None); an existing item stays in its
    bank, and naming another one is a conflict (moving is :func:`move_item`'s job). A new version
    records where it came from (``origin``, ``source``) and, when it came as YAML, the text.
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
            is_computed=model.is_computed, source=source, origin=origin, source_text=source_text,
            created_by_id=actor_id, created_at=now,
        )
        session.add(existing)
        session.flush()
    elif existing.source_text is None and source_text is not None:
        existing.source_text = source_text  # how the same content was written: for exports, not a change
    if row.current_number != existing.number:
        row.current_number = existing.number
        repository.replace_search_rows(session, row, dict(model.tags.root), model.concepts, model.related)
    return ItemSaved(key=row.key, version=existing.number, created=created)


def save_for(session: Session, principal: Principal, data: dict[str, Any], *, bank_slug: str | None,
             now: datetime, key: str | None = None, item: ItemBase | None = None,
             origin: VersionOrigin = VersionOrigin.API, source_text: str | None = None) -> ItemSaved:
    """An instructor's save: a new version of an item they may edit, or a new item in a bank
    they may edit. ``key`` (an update of that item) must be the definition's id; ``item`` is the
    engine's model when the caller has checked the definition already."""
    principal.require_staff()
    if key is not None:
        editable_item(session, principal, key)
        if data.get("id") != key:
            raise Invalid(f"the definition's id must be {key!r}", code="id_mismatch")
    given = data.get("id")
    existing = repository.item_by_key(session, given) if isinstance(given, str) else None
    if existing is not None:
        home = session.get(Bank, existing.bank_id)
        if home is None or not BankRights.of(session, principal).can_read(session, home):
            raise Conflict(f"an item {existing.key!r} already exists in another bank: give this one another id",
                           code="item_in_another_bank")
        editable_item(session, principal, existing.key)
        bank = home if bank_slug is None else editable_bank(session, principal, bank_slug)
    else:
        bank = target_bank(session, principal, bank_slug)
    return save_definition(session, data, source=None if origin == VersionOrigin.BROWSER else "api",
                           actor_id=principal.user.id, now=now, bank=bank, item=item, origin=origin,
                           source_text=source_text)


def move_item(session: Session, principal: Principal, key: str, bank_slug: str) -> ItemOut:
    """Move an item (all its versions) to another bank; the caller must manage the bank it
    leaves and edit the one it joins. Quizzes keep the versions they pinned."""
    principal.require_staff()
    item = editable_item(session, principal, key)
    source = session.get(Bank, item.bank_id)
    assert source is not None
    if not BankRights.of(session, principal).manages(source):
        raise Forbidden(f"only the instructors of the course that owns {source.slug!r} (or an administrator) "
                        "may move items out of it", code="bank_not_managed")
    item.bank_id = editable_bank(session, principal, bank_slug).id
    session.flush()
    return get_item(session, principal, key)


def _summary(item: Item, version: ItemVersion, bank: str, tags: dict[str, list[str]],
             concepts: list[str]) -> ItemSummary:
    return ItemSummary(key=item.key, bank=bank, version=version.number, type=version.type, title=version.title,
                       computed=version.is_computed, tags=tags, concepts=concepts)


def _current_versions(tags: list[str], text: str | None, type_: str | None,
                      banks: ColumnElement[bool] | None = None, concepts: Sequence[str] = (),
                      *, dialect: str | None = None) -> Select[Item, ItemVersion]:
    """The query for the current versions matching the filters; 400 for a tag that cannot match.
    (``dialect``: see :func:`repository.current_versions_query`.)"""
    try:
        return repository.current_versions_query(tags, text, type_, banks, concepts, dialect=dialect)
    except ValueError as exc:
        raise Invalid(f"bad tag query: {exc}", code="bad_tag_query") from exc


def _readable_banks(session: Session, principal: Principal, bank_slug: str | None) -> ColumnElement[bool]:
    """The condition on banks for the caller's listings: the banks they may read, or the one named."""
    principal.require_staff()
    if bank_slug is not None:
        return Bank.id == readable_bank(session, principal, bank_slug)[0].id
    return BankRights.of(session, principal).readable()


def list_items(session: Session, principal: Principal, tags: list[str], text: str | None, type_: str | None,
               limit: int, offset: int, *, bank_slug: str | None = None,
               concepts: Sequence[str] = ()) -> list[ItemSummary]:
    """The current items of the banks the caller may read (or of the bank named) that match the
    filters (every tag query and every concept)."""
    query = _current_versions(tags, text, type_, _readable_banks(session, principal, bank_slug), concepts,
                              dialect=session.get_bind().dialect.name)
    rows = repository.page_of_versions(session, query, limit, offset)
    ids = [item.id for item, _ in rows]
    all_tags, all_concepts = repository.tags_of(session, ids), repository.concepts_of(session, ids)
    slugs = repository.bank_slugs(session, {item.bank_id for item, _ in rows})
    return [_summary(item, version, slugs[item.bank_id], all_tags[item.id], all_concepts[item.id])
            for item, version in rows]


def get_item(session: Session, principal: Principal, key: str) -> ItemOut:
    item, version, bank = readable_current(session, principal, key)
    summary = _summary(item, version, bank.slug, repository.tags_of(session, [item.id])[item.id],
                       repository.concepts_of(session, [item.id])[item.id])
    history = [VersionOut(number=v.number, content_hash=v.content_hash, created_at=v.created_at,
                          source=v.source) for v in repository.versions(session, item)]
    return ItemOut(**summary.model_dump(), definition=version.definition,
                   rendered=rendered_texts(version.definition) or {}, versions=history)


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
    return preview_of(item_model(version), variant_of(version, seed), key=key, version=version.number, seed=seed)


def preview_of(model: ItemBase, variant: Variant, *, key: str, version: int | None, seed: int) -> Preview:
    """What an instructor's preview shows of a variant: the question, the key, the key's
    feedback and the solution (a stored version, or an item being written)."""
    qtype = qtype_for(model)
    key_response = qtype.correct_response(model, variant)
    feedback: list[str] = []
    if model.type_name != "essay":
        feedback = list(qtype.grade(model, variant, qtype.parse(model, variant, key_response)).feedback)
    solution = render(model.solution, variant.values) if model.solution else None
    question = qtype.render(model, variant)
    return Preview(key=key, version=version, seed=seed, params=variant.params,
                   question=question, key_response=dict(key_response),
                   key_feedback=feedback, solution=solution, rendered=rendered_preview(question, feedback, solution))
