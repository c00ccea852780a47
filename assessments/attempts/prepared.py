"""Prepared starts: a quiz's variants generated in batches before it opens, so that a start inserts.

Generating a student's variants is most of what a start costs (a millisecond or more per question,
one at a time); the engine's :func:`engine.variants.generate_batch` makes thousands of one item's
variants at once for the cost of a few. When a quiz is published or scheduled
(:class:`assessments.events.QuizOpening`), a job (:data:`PREPARE_JOB`) gives each enrolled student
without one the seed of their first attempt (``prepared_starts``), works out their questions as a
start would (:func:`assessments.quizzes.service.build_slots`) and stores each question's variant
(``prepared_variants``: every value and the key, as the arrays generating it gives). A job does
:data:`STUDENTS_PER_JOB` students in one short transaction and queues the next, so no student's
request waits long behind it.

A start reads them (:func:`recall`): the variant of a seed is the same whether it was generated
alone or in a batch, so a student's numbers are what they would have been. Whatever was not
prepared (a student enrolled later, a second attempt, a version changed since, a seed whose
variant the item cannot make) is generated as it always was.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, exists, insert, select
from sqlalchemy.orm import Session

from assessments import events
from assessments.bank.service import has_variant, keep_rendered, keep_variant, variant_model
from assessments.db import mark_read_only
from assessments.events import QuizOpening
from assessments.jobs import Progress, enqueue, handler
from assessments.models import (
    Attempt,
    CourseRole,
    Enrolment,
    ItemVersion,
    PreparedStart,
    PreparedVariant,
    Quiz,
    QuizStatus,
)
from engine.expressions import ExpressionError
from engine.qtypes import qtype_for
from engine.variants import Variant, VariantBatch, VariantError, generate_batch

log = logging.getLogger("assay")

PREPARE_JOB = "prepare_starts"
STUDENTS_PER_JOB = 250
"""Students prepared per job (one transaction): 4,000 variants of a 16-question quiz, written in
a fraction of a second."""


# --- variants as rows --------------------------------------------------------------------------


def _arrays(arrays: dict[str, np.ndarray], row: int) -> list[list[Any]]:
    """Row ``row`` of each array, as [name, dtype, shape, base64 of its bytes]: exact (NaN and
    infinities included), in the arrays' order (a list: PostgreSQL's jsonb sorts object keys)."""
    out = []
    for name, values in arrays.items():
        one = np.ascontiguousarray(values[row : row + 1])
        out.append([name, one.dtype.str, list(one.shape), base64.b64encode(one.tobytes()).decode("ascii")])
    return out


def encode(batch: VariantBatch, row: int) -> dict[str, Any]:
    """What ``prepared_variants.data`` holds of the batch's variant ``row``: its arrays, its option
    order, and what a student is shown of it (rendering evaluates every text's expressions: as
    costly as generating, so it is done here too)."""
    variant = batch[row]
    shown = json.loads(json.dumps(qtype_for(variant.item).render(variant.item, variant)))
    return {"values": _arrays(batch.values, row), "key": _arrays(batch.key, row),
            "order": None if batch.order is None else [int(x) for x in batch.order[row]], "shown": shown}


def _unarrays(stored: list[list[Any]]) -> dict[str, np.ndarray]:
    return {name: np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape).copy()
            for name, dtype, shape, data in stored}


def decode(data: dict[str, Any], model: Any, seed: int) -> Variant:
    """The variant a ``prepared_variants`` row holds, of ``model`` (see :func:`variant_model`)."""
    order = data.get("order")
    return Variant(item=model, seed=seed, values=_unarrays(data["values"]),
                   order=None if order is None else tuple(order), key=_unarrays(data["key"]))


# --- reading them --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """A variant a request is about to need: its version (id and content hash), seed and shuffle."""

    item_version_id: int
    content_hash: str
    seed: int
    shuffle: bool


_OF_PAIRS = (select(PreparedVariant.item_version_id, PreparedVariant.seed, PreparedVariant.shuffle)
             .where(PreparedVariant.item_version_id.in_(bindparam("versions", expanding=True)),
                    PreparedVariant.seed.in_(bindparam("seeds", expanding=True))))
"""The prepared variants of some versions and seeds, answered from the unique index on both
databases. (SQLite scans the whole table for a row-value ``(version, seed) IN (...)``: a start read
every prepared variant there was.) One statement whatever the numbers, so compiled once; what it
finds beyond the pairs asked for (another version's variant of the same seed) is left by the caller."""


_RECALL = _OF_PAIRS.add_columns(PreparedVariant.data)


def _of_pairs(pairs: Iterable[tuple[int, int]]) -> dict[str, list[int]]:
    """:data:`_OF_PAIRS`'s parameters for these (version, seed) pairs."""
    pairs = list(pairs)
    return {"versions": sorted({v for v, _ in pairs}), "seeds": sorted({s for _, s in pairs})}


def recall(session: Session, wanted: Iterable[Wanted]) -> int:
    """Bring the prepared variants among ``wanted`` that this process does not hold into its cache
    (one query); how many were found and taken."""
    missing = [w for w in wanted if not has_variant(w.content_hash, w.seed, w.shuffle)]
    if not missing:
        return 0
    rows = session.execute(_RECALL,
                           _of_pairs((w.item_version_id, w.seed) for w in missing)).all()
    found = {(version_id, seed, shuffle): data for version_id, seed, shuffle, data in rows}
    taken = 0
    for w in missing:
        data = found.get((w.item_version_id, w.seed, w.shuffle))
        if data is not None:
            taken += 1
            model = variant_model(w.content_hash, w.shuffle, _loader(session, w.item_version_id))
            variant = decode(data, model, w.seed)
            keep_variant(w.content_hash, w.shuffle, variant)
            if "shown" in data:
                keep_rendered(variant, data["shown"])
    return taken


def _loader(session: Session, version_id: int) -> Callable[[], ItemVersion]:
    def load() -> ItemVersion:
        version = session.get(ItemVersion, version_id)
        assert version is not None
        return version

    return load


_START_SEED = select(PreparedStart.seed).where(PreparedStart.quiz_id == bindparam("quiz_id"),
                                              PreparedStart.user_id == bindparam("user_id"))


def start_seed(session: Session, quiz_id: int, user_id: int) -> int | None:
    """The seed prepared for the student's first attempt at the quiz, if one was."""
    return session.scalar(_START_SEED, {"quiz_id": quiz_id, "user_id": user_id})


# --- making them ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What one :func:`prepare` did: students given a seed, variants stored, students left to do."""

    students: int
    variants: int
    left: int


def _unprepared(session: Session, quiz: Quiz) -> list[int]:
    """The course's students with neither a prepared start nor an attempt at the quiz, by id."""
    return list(session.scalars(
        select(Enrolment.user_id).where(
            Enrolment.course_id == quiz.course_id, Enrolment.role == CourseRole.STUDENT,
            ~exists().where(and_(PreparedStart.quiz_id == quiz.id, PreparedStart.user_id == Enrolment.user_id)),
            ~exists().where(and_(Attempt.quiz_id == quiz.id, Attempt.user_id == Enrolment.user_id)))
        .order_by(Enrolment.user_id)))


@dataclass
class Planned:
    """What :func:`plan` made: each chosen student's seed and the variants' rows, not written yet."""

    quiz_id: int
    seeds: dict[int, int]
    rows: list[dict[str, Any]]
    left: int


def plan(session: Session, quiz_id: int, limit: int = STUDENTS_PER_JOB) -> Planned | None:
    """The first ``limit`` unprepared students of a published or scheduled quiz given seeds and
    their variants made (only reading); None for a closed, archived or unscheduled draft quiz, or
    when every student is prepared."""
    from assessments.attempts.service import slot_seed
    from assessments.quizzes.service import build_slots, pinned, settings_of

    quiz = session.get(Quiz, quiz_id)
    if quiz is None or not (quiz.status == QuizStatus.PUBLISHED or quiz.publish_at is not None):
        return None
    students = _unprepared(session, quiz)
    chosen, left = students[:limit], len(students) - min(limit, len(students))
    if not chosen:
        return None
    shuffle = settings_of(quiz).shuffle_options
    pins = pinned(session, quiz.id)
    seeds: dict[int, int] = {}
    wanted: dict[tuple[int, str], list[int]] = defaultdict(list)
    for user_id in chosen:
        seed = secrets.randbits(62)
        seeds[user_id] = seed
        for slot in build_slots(session, quiz, user_id, seed, pins=pins):
            wanted[(slot.version.id, slot.version.content_hash)].append(slot_seed(seed, slot.number))
    rows: list[dict[str, Any]] = []
    for (version_id, digest), version_seeds in wanted.items():
        model = variant_model(digest, shuffle, _loader(session, version_id))
        try:
            batch = generate_batch(model, version_seeds)
        except (VariantError, ExpressionError) as exc:  # a start generates these, seed by seed, as before
            log.warning("item version %s: no variants prepared for quiz %s: %s", version_id, quiz.id, exc)
            continue
        rows.extend({"item_version_id": version_id, "seed": int(seed), "shuffle": shuffle, "data": encode(batch, n)}
                    for n, seed in enumerate(batch.seeds))
    return Planned(quiz.id, seeds, rows, left)


def store(session: Session, planned: Planned, now: datetime) -> Prepared:
    """Write what :func:`plan` made: the variants not stored already, and the students' seeds."""
    _insert_new_variants(session, planned.rows)
    session.execute(insert(PreparedStart), [{"quiz_id": planned.quiz_id, "user_id": user_id, "seed": seed,
                                             "created_at": now} for user_id, seed in planned.seeds.items()])
    return Prepared(len(planned.seeds), len(planned.rows), planned.left)


def prepare(session: Session, quiz_id: int, now: datetime, limit: int = STUDENTS_PER_JOB) -> Prepared:
    """Prepare the first ``limit`` unprepared students of a published or scheduled quiz (none of a
    closed, archived or unscheduled draft one), in the session's transaction."""
    planned = plan(session, quiz_id, limit)
    return Prepared(0, 0, 0) if planned is None else store(session, planned, now)


def _insert_new_variants(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the variants not stored already (the same seed of a version, drawn for two quizzes)."""
    if not rows:
        return
    pairs = sorted({(r["item_version_id"], r["seed"]) for r in rows})
    have = {(v, seed, shuffle) for v, seed, shuffle in session.execute(_OF_PAIRS, _of_pairs(pairs))}
    new = [r for r in rows if (r["item_version_id"], r["seed"], r["shuffle"]) not in have]
    if new:
        session.execute(insert(PreparedVariant), new)


@handler(PREPARE_JOB)
def prepare_job(session: Session, payload: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """One batch of students; the next batch is a job of its own (its own short transaction)."""
    from assessments.models import utcnow

    now = utcnow()
    # Generating and rendering 250 students' variants takes most of a second: done as a reader, so
    # that SQLite's write lock (every student's save needs it) is held only to write the rows.
    # (A caller's transaction already open, as in a test's, is used as it is.)
    own_transaction = not session.in_transaction()
    if own_transaction:
        mark_read_only(session)
    planned = plan(session, int(payload["quiz_id"]), STUDENTS_PER_JOB)
    if own_transaction:
        session.commit()
    done = Prepared(0, 0, 0) if planned is None else store(session, planned, now)
    if done.left:
        enqueue(session, PREPARE_JOB, {"quiz_id": int(payload["quiz_id"])}, now=now)
    # No progress(): it writes on a connection of its own, which on SQLite would wait for this one.
    return {"students": done.students, "variants": done.variants, "left": done.left}


@events.subscribe(QuizOpening)
def quiz_opening(session: Session, event: QuizOpening, now: datetime) -> None:
    """Queue the preparation of the quiz's starts (once, however often it is published)."""
    enqueue(session, PREPARE_JOB, {"quiz_id": event.quiz_id}, key=f"{PREPARE_JOB}:{event.quiz_id}", now=now)
