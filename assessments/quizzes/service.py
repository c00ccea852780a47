"""Creating quizzes, listing them, pinning their items' versions, and choosing each attempt's
questions.

A quiz pins the version of every item it may give (``quiz_items``): its fixed items, and each
draw's pool as it matched when the quiz was built, from the banks the quiz's course may use.
Attempts take the pinned versions, so a new version (whoever publishes it) reaches a quiz only
when its instructors choose it (:func:`update_pins`), and a regrade replays towards the pins.

A new quiz's settings are checked (an interactive quiz must show correctness during the attempt)
and its instructor is warned of what is allowed but risky (options in authored order), with
figures measured on the bank.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, defer

from assessments import events
from assessments.auth.access import course_by_slug, require_instructor
from assessments.bank import repository as bank
from assessments.bank.access import usable_in_course
from assessments.bank.service import item_model
from assessments.deps import Principal
from assessments.errors import Forbidden, Invalid, NotFound
from assessments.events import QuizOpening
from assessments.models import (
    Attempt,
    Bank,
    Course,
    CourseRole,
    Enrolment,
    Item,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    QuizItem,
    QuizStatus,
    utcnow,
)
from assessments.quizzes import rules
from assessments.quizzes.schemas import (
    DEFAULT_MARK,
    BehaviourName,
    PinChange,
    PinChanges,
    PinOut,
    PinUpdate,
    QuizCreate,
    QuizOut,
    QuizPins,
    QuizSettings,
    QuizStatusName,
    QuizSummary,
    QuizWarning,
    Section,
    stored_section,
)
from engine.variants import VariantError, generate_batch


@dataclass(frozen=True)
class Slot:
    number: int
    version: ItemVersion
    mark: float


def settings_of(quiz: Quiz) -> QuizSettings:
    return QuizSettings.model_validate(quiz.settings)


def sections_of(quiz: Quiz) -> list[Section]:
    """The quiz's sections, each with its mark (stored sections leave out a mark of 1)."""
    return [Section.model_validate({"mark": DEFAULT_MARK, **s}) for s in quiz.sections]


Pin = tuple[int, Item, ItemVersion]
"""A section's index, an item, and the version the quiz gives of it."""


def _draw_pool(session: Session, course_id: int, section: Section) -> list[tuple[Item, ItemVersion]]:
    """The current items a draw matches now, from the banks the course may use, by key."""
    assert section.draw is not None
    query = bank.current_versions_query(section.draw.tags, section.draw.q, section.draw.type,
                                        usable_in_course(course_id))
    return [(item, version) for item, version in session.execute(query).all()]


def _resolve(session: Session, course_id: int, sections: list[Section]) -> tuple[list[Pin], list[dict[str, Any]]]:
    """What each section pins now: its fixed items, or its draw's pool, at their current
    versions; and the problems of every section that cannot be built."""
    problems: list[dict[str, Any]] = []
    pins: list[Pin] = []
    usable = set(session.scalars(select(Bank.id).where(usable_in_course(course_id))))
    for n, section in enumerate(sections):
        where = ["sections", n]
        for key in dict.fromkeys(section.items):
            item = bank.item_by_key(session, key)
            version = bank.current_version(session, item) if item is not None else None
            if item is None or version is None or item.bank_id not in usable:
                problems.append({"path": [*where, "items"],
                                 "message": f"no item {key!r} in the banks this course may use"})
                continue
            pins.append((n, item, version))
        if section.draw is not None:
            try:
                pool = _draw_pool(session, course_id, section)
            except ValueError as exc:
                problems.append({"path": [*where, "draw"], "message": str(exc)})
                continue
            if len(pool) < section.draw.count:
                problems.append({"path": [*where, "draw"],
                                 "message": f"draws {section.draw.count} items but only {len(pool)} match"})
            pins.extend((n, item, version) for item, version in pool)
    return pins, problems


def max_mark_of(version: ItemVersion) -> float:
    """What the item says it is worth in a quiz (its ``max_mark``, 1 unless it says)."""
    try:
        return item_model(version).max_mark
    except Invalid:  # a version the engine no longer loads: a quiz refuses it when built anyway
        return DEFAULT_MARK


def stored_sections(sections: list[Section], pins: list[Pin]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sections as the quiz stores them, every slot's mark made explicit: a mark given (per
    item, or the section's), else the item's own ``max_mark``; a draw without a mark takes the
    ``max_mark`` its pool shares (a problem at the section's mark where the pool's items differ,
    as an attempt's total would depend on the draw). ``pins`` are :func:`_resolve`'s."""
    worth: dict[int, dict[str, float]] = {}
    for n, item, version in pins:
        worth.setdefault(n, {})[item.key] = max_mark_of(version)
    stored: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for n, section in enumerate(sections):
        own = worth.get(n, {})
        if section.draw is None:
            marks = [section.marks.get(key, section.mark if section.mark is not None else own.get(key, DEFAULT_MARK))
                     for key in section.items]
        else:
            shared = sorted(set(own.values()))
            if section.mark is None and len(shared) > 1:
                problems.append({"path": ["sections", n, "mark"], "message": (
                    f"the items that match are worth different marks ({', '.join(f'{m:g}' for m in shared)}): "
                    "give the marks per question")})
            mark = section.mark if section.mark is not None else (shared[0] if shared else DEFAULT_MARK)
            marks = [mark]
        stored.append(stored_section(section, marks))
    return stored, problems


INTERACTIVE_NEEDS_CORRECTNESS = (
    "Turn on correctness during the attempt, or choose another behaviour: an interactive question "
    "offers Try again only after a try that is not right, so it tells students whether an answer "
    "was right while they take the quiz.")


def settings_problems(settings: QuizSettings) -> list[dict[str, Any]]:
    """What a new quiz's settings may not be, each at its field (checked when a quiz is made, not
    when one is read: quizzes stored before a rule keep working as they were)."""
    problems: list[dict[str, Any]] = []
    if settings.behaviour == BehaviourName.INTERACTIVE and not settings.review.during.correctness:
        problems.append({"path": ["settings", "review", "during", "correctness"],
                         "message": INTERACTIVE_NEEDS_CORRECTNESS})
    return problems


def create_quiz(session: Session, principal: Principal, course_slug: str, data: QuizCreate,
                now: datetime) -> Quiz:
    course = course_by_slug(session, course_slug)
    require_instructor(session, principal, course)
    return add_quiz(session, course.id, data, created_by_id=principal.user.id, now=now,
                    problems=settings_problems(data.settings))


def add_quiz(session: Session, course_id: int, data: QuizCreate, *, created_by_id: int | None,
             now: datetime, problems: list[dict[str, Any]] | None = None) -> Quiz:
    """A quiz of the course with its items pinned at their current versions (no rights checked:
    the caller's job); :class:`Invalid` listing ``problems`` the caller found and every section
    that cannot be built."""
    pins, found = _resolve(session, course_id, data.sections)
    sections, unmarked = stored_sections(data.sections, pins)
    if problems or found or unmarked:
        raise Invalid("the quiz cannot be built", details=[*(problems or []), *found, *unmarked],
                      code="invalid_quiz")
    quiz = Quiz(course_id=course_id, title=data.title, description=data.description,
                settings=data.settings.model_dump(mode="json"), sections=sections,
                created_by_id=created_by_id, created_at=now, updated_at=now, status=QuizStatus(data.status))
    session.add(quiz)
    session.flush()
    session.add_all(QuizItem(quiz_id=quiz.id, section=n, item_id=item.id, item_version_id=version.id)
                    for n, item, version in pins)
    session.flush()
    if quiz.status == QuizStatus.PUBLISHED:
        events.publish(session, QuizOpening(quiz.id), now)
    return quiz


# --- what an instructor is warned of -----------------------------------------------------------

FIRST_KEY_SEEDS = 16
"""Variants per single-choice item that :func:`first_keys` measures."""
FIRST_KEY_ITEMS = 200
"""At most this many single-choice items (the first by key) are measured: it bounds the cost."""


@dataclass(frozen=True)
class FirstKeys:
    """How often a single-choice variant of the bank, options in authored order, has its right
    answer first: ``first`` of ``variants``, over ``items`` items."""

    first: int
    variants: int
    items: int

    @property
    def share(self) -> float:
        return self.first / self.variants


_FIRST_KEYS: dict[tuple[str, ...], FirstKeys | None] = {}


def first_keys(session: Session) -> FirstKeys | None:
    """Measured on the bank's current single-choice versions (once per state of the bank: the
    figure is kept by their content hashes); None when the bank has none."""
    query = bank.current_versions_query([], None, "single_choice").limit(FIRST_KEY_ITEMS)
    versions = [version for _, version in session.execute(query).all()]
    hashes = tuple(v.content_hash for v in versions)
    if hashes in _FIRST_KEYS:
        return _FIRST_KEYS[hashes]
    first = variants = items = 0
    for version in versions:
        try:
            model = item_model(version)
            batch = generate_batch(model.model_copy(update={"shuffle": False}), range(FIRST_KEY_SEEDS))
        except (Invalid, VariantError):
            continue  # an item the engine no longer builds has no variants to count
        first += int(batch.key["correct"][:, 0].sum())
        variants += len(batch)
        items += 1
    found = FirstKeys(first, variants, items) if variants else None
    _FIRST_KEYS.clear()  # only the bank as it is now
    _FIRST_KEYS[hashes] = found
    return found


def unshuffled_warning(session: Session) -> QuizWarning:
    """What a quiz that shows options as authored risks, in figures from the bank."""
    measured = first_keys(session)
    figure = (f"in this bank the right answer of a single-choice question is its first option in "
              f"{measured.share:.0%} of variants ({measured.items} single-choice items, "
              f"{FIRST_KEY_SEEDS} variants each)" if measured is not None
              else "authors often write the right answer first")
    return QuizWarning(code="options_not_shuffled", path=["settings", "shuffle_options"],
                       message=f"Without shuffling, options show in the order they were written, and {figure}: "
                               f"students who notice can pick the first option.")


def quiz_warnings(session: Session, data: QuizCreate) -> list[QuizWarning]:
    return [] if data.settings.shuffle_options else [unshuffled_warning(session)]


# --- pins ----------------------------------------------------------------------------------------


_PINNED = (select(QuizItem, Item.key, ItemVersion).options(defer(ItemVersion.definition))
           .join(Item, Item.id == QuizItem.item_id).join(ItemVersion, ItemVersion.id == QuizItem.item_version_id)
           .where(QuizItem.quiz_id == bindparam("quiz_id")).order_by(QuizItem.section, Item.key))


def pinned(session: Session, quiz_id: int) -> list[tuple[QuizItem, str, ItemVersion]]:
    """The quiz's pins with each item's key and pinned version (its definition not read: a
    version's parsed item and variants are cached by content hash), by section and key."""
    rows = session.execute(_PINNED, {"quiz_id": quiz_id})
    return [(pin, key, version) for pin, key, version in rows]


def _attempt_count(session: Session, quiz_id: int) -> int:
    """Students' attempts at the quiz (staff previews are not counted)."""
    return session.scalar(select(func.count(Attempt.id)).where(
        Attempt.quiz_id == quiz_id, Attempt.preview.is_(False))) or 0


student_attempts = _attempt_count


def quiz_pins(session: Session, principal: Principal, quiz_id: int) -> QuizPins:
    """Which version of each item the quiz gives, and whether a newer one exists."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    usable = set(session.scalars(select(Bank.id).where(usable_in_course(course.id))))
    rows = pinned(session, quiz.id)
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_({p.item_id for p, _, _ in rows})))}
    slugs = bank.bank_slugs(session, {i.bank_id for i in items.values()})
    return QuizPins(quiz_id=quiz.id, attempts=_attempt_count(session, quiz.id), items=[
        PinOut(section=pin.section + 1, key=key, bank=slugs[items[pin.item_id].bank_id], version=version.number,
               latest_version=items[pin.item_id].current_number or version.number,
               usable=items[pin.item_id].bank_id in usable)
        for pin, key, version in rows])


def update_pins(session: Session, principal: Principal, quiz_id: int, body: PinUpdate, *,
                dry_run: bool) -> PinChanges:
    """Move the quiz to its items' current versions (those named, or all), and with ``redraw``
    re-resolve its draws' pools; a dry run says what would change. Items whose bank the course
    may no longer use keep their pins. Finished attempts keep their versions until a regrade."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    sections = sections_of(quiz)
    wanted = set(body.items) if body.items is not None else None
    usable = set(session.scalars(select(Bank.id).where(usable_in_course(course.id))))
    rows = pinned(session, quiz.id)
    known = {key for _, key, _ in rows}
    if wanted is not None and (unknown := sorted(wanted - known)):
        raise Invalid(f"the quiz gives no item {', '.join(map(repr, unknown))}", code="not_pinned")
    changes: list[PinChange] = []
    for pin, key, version in rows:
        if wanted is not None and key not in wanted:
            continue
        item = session.get(Item, pin.item_id)
        assert item is not None
        latest = bank.current_version(session, item)
        if latest is None or latest.id == version.id or item.bank_id not in usable:
            continue
        changes.append(PinChange(section=pin.section + 1, key=key, from_version=version.number,
                                 to_version=latest.number))
        if not dry_run:
            pin.item_version_id = latest.id
    if body.redraw:
        changes.extend(_redraw(session, quiz, course, sections, rows, dry_run=dry_run))
    session.flush()
    attempts = _attempt_count(session, quiz.id)
    note = ("" if not changes or not attempts else
            f"{attempts} attempt(s) were given the earlier versions: new attempts get the new ones, and a regrade "
            "(dry run first) replays the finished ones")
    return PinChanges(quiz_id=quiz.id, dry_run=dry_run, changes=changes, attempts=attempts, note=note)


def pin_version(session: Session, principal: Principal, quiz_id: int, item: Item, version: ItemVersion) -> PinChanges:
    """Make the quiz give ``version`` of ``item`` (any version: an earlier one too) wherever it
    gives the item now, if the item's bank is one its course may use. New attempts get it;
    finished ones change only by a regrade."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    rows = list(session.scalars(select(QuizItem).where(QuizItem.quiz_id == quiz.id,
                                                                  QuizItem.item_id == item.id)))
    if not rows:
        raise Invalid(f"the quiz gives no item {item.key!r}", code="not_pinned")
    if item.bank_id not in set(session.scalars(select(Bank.id).where(usable_in_course(course.id)))):
        raise Invalid(f"the item {item.key!r} is no longer in a bank this course may use: the quiz keeps the "
                      "version it gives", code="bank_not_usable")
    changes = []
    for pin in rows:
        given = session.get(ItemVersion, pin.item_version_id)
        if given is not None and given.id != version.id:
            changes.append(PinChange(section=pin.section + 1, key=item.key, from_version=given.number,
                                     to_version=version.number))
            pin.item_version_id = version.id
    session.flush()
    attempts = _attempt_count(session, quiz.id)
    note = ("" if not changes or not attempts else
            f"{attempts} attempt(s) were given other versions: new attempts get version {version.number}, and a "
            "regrade (dry run first) replays the finished ones")
    return PinChanges(quiz_id=quiz.id, dry_run=False, changes=changes, attempts=attempts, note=note)


def _redraw(session: Session, quiz: Quiz, course: Course, sections: list[Section],
            rows: list[tuple[QuizItem, str, ItemVersion]], *, dry_run: bool) -> list[PinChange]:
    """Each draw's pool as it matches now: items that joined and items that left."""
    changes: list[PinChange] = []
    for n, section in enumerate(sections):
        if section.draw is None:
            continue
        before = {key: (pin, version) for pin, key, version in rows if pin.section == n}
        now_pool = {item.key: (item, version) for item, version in _draw_pool(session, course.id, section)}
        if len(now_pool) < section.draw.count:
            raise Invalid(f"section {n + 1} draws {section.draw.count} items but only {len(now_pool)} match now",
                          code="invalid_quiz")
        for key in sorted(before.keys() - now_pool.keys()):
            pin, version = before[key]
            changes.append(PinChange(section=n + 1, key=key, from_version=version.number, to_version=None))
            if not dry_run:
                session.delete(pin)
        for key in sorted(now_pool.keys() - before.keys()):
            item, version = now_pool[key]
            changes.append(PinChange(section=n + 1, key=key, from_version=None, to_version=version.number))
            if not dry_run:
                session.add(QuizItem(quiz_id=quiz.id, section=n, item_id=item.id, item_version_id=version.id))
    return changes


def _instructor_quiz(session: Session, principal: Principal, quiz_id: int) -> tuple[Quiz, Course]:
    """The quiz if the caller teaches its course: 403 for its students, 404 for anyone else."""
    quiz, course, role = quiz_and_role(session, principal, quiz_id)
    if role != CourseRole.INSTRUCTOR:
        raise Forbidden("instructors of this course only")
    return quiz, course


def quiz_for(session: Session, principal: Principal, quiz_id: int, now: datetime | None = None,
             ) -> tuple[Quiz, Course]:
    """The quiz if the caller belongs to its course and may see it (404 otherwise)."""
    quiz, course, _ = quiz_and_role(session, principal, quiz_id, now)
    return quiz, course


_QUIZ_AND_ROLE = (
    select(Quiz, Course, Enrolment.role).join(Course, Course.id == Quiz.course_id)
    .outerjoin(Enrolment, and_(Enrolment.course_id == Course.id, Enrolment.user_id == bindparam("user_id")))
    .where(Quiz.id == bindparam("quiz_id")))


def quiz_and_role(session: Session, principal: Principal, quiz_id: int, now: datetime | None = None, *,
                  hidden_ok: bool = False) -> tuple[Quiz, Course, CourseRole]:
    """The quiz, its course and the caller's role in it, in one query (404 for non-members, and
    for students while the quiz is a draft or archived, unless ``hidden_ok``: the caller then
    says "not open yet" itself)."""
    found = session.execute(_QUIZ_AND_ROLE, {"quiz_id": quiz_id, "user_id": principal.user.id}).first()
    if found is None:
        raise NotFound(f"no quiz {quiz_id}")
    quiz, course, role = found
    if principal.is_admin:
        role = CourseRole.INSTRUCTOR
    if role is None:
        raise NotFound(f"no quiz {quiz_id}")
    if (role == CourseRole.STUDENT and not hidden_ok
            and not rules.visible_to_students(quiz, now if now is not None else utcnow())):
        raise NotFound(f"no quiz {quiz_id}")
    return quiz, course, role


def quiz_state(settings: QuizSettings, now: datetime) -> str:
    """Whether the quiz's own dates have it open (:meth:`rules.Applied.availability` is the whole
    answer for a student: status and overrides too)."""
    return rules.combine(settings, QuizStatus.PUBLISHED, []).availability(now)


def quiz_out(quiz: Quiz, course: Course, applied: rules.Applied | None = None) -> QuizOut:
    """The quiz; with ``applied``, its settings as they apply to one student."""
    sections = sections_of(quiz)
    slots = sum(len(s.slot_marks()) for s in sections)
    marks = sum(sum(s.slot_marks()) for s in sections)
    settings = settings_of(quiz)
    if applied is not None:
        settings = settings.model_copy(update={
            "open_at": applied.open_at, "close_at": applied.close_at,
            "time_limit_minutes": applied.time_limit_minutes, "attempts_allowed": applied.attempts_allowed})
    return QuizOut(id=quiz.id, course=course.slug, title=quiz.title, description=quiz.description,
                   status=QuizStatusName(quiz.status.value), publish_at=quiz.publish_at,
                   settings=settings, sections=sections, slots=slots, max_marks=marks)


def quiz_out_for(session: Session, principal: Principal, quiz_id: int, now: datetime) -> QuizOut:
    """The quiz as the caller may see it: a student gets their own dates, time and attempts."""
    quiz, course, role = quiz_and_role(session, principal, quiz_id, now)
    if role == CourseRole.STUDENT:
        return quiz_out(quiz, course, rules.applied(session, quiz, principal.user.id, now))
    return quiz_out(quiz, course)


def list_quizzes(session: Session, principal: Principal, course_slug: str | None,
                 now: datetime, *, limit: int | None = None, offset: int = 0) -> list[QuizSummary]:
    from assessments.courses.service import courses_for

    courses = courses_for(session, principal)
    if course_slug is not None:
        courses = [c for c in courses if c.slug == course_slug]
    by_id = {c.id: c for c in courses}
    teaching = set(by_id) if principal.is_admin else set(session.scalars(select(Enrolment.course_id).where(
        Enrolment.user_id == principal.user.id, Enrolment.role == CourseRole.INSTRUCTOR)))
    # Students see a course's published and closed quizzes, and drafts whose publication time has come.
    shown = or_(Quiz.course_id.in_(list(teaching)),
                Quiz.status.in_([QuizStatus.PUBLISHED, QuizStatus.CLOSED]),
                and_(Quiz.status == QuizStatus.DRAFT, Quiz.publish_at.is_not(None), Quiz.publish_at <= now))
    quizzes = session.scalars(select(Quiz).where(Quiz.course_id.in_(list(by_id)), shown).order_by(Quiz.id)
                              .limit(limit).offset(offset))
    out = []
    for quiz in quizzes:
        staff = quiz.course_id in teaching
        rules_now = (rules.combine(settings_of(quiz), rules.status_at(quiz, now), []) if staff
                     else rules.applied(session, quiz, principal.user.id, now))
        out.append(QuizSummary(
            id=quiz.id, course=by_id[quiz.course_id].slug, title=quiz.title,
            open_at=rules_now.open_at, close_at=rules_now.close_at,
            time_limit_minutes=rules_now.time_limit_minutes, attempts_allowed=rules_now.attempts_allowed,
            state=rules_now.availability(now), status=QuizStatusName(rules.status_at(quiz, now).value),
        ))
    return out


def _seen_items(session: Session, user_id: int) -> set[int]:
    """Items the student has been given in any attempt (so draws can prefer new ones)."""
    rows = session.execute(
        select(ItemVersion.item_id)
        .join(QuestionAttempt, QuestionAttempt.item_version_id == ItemVersion.id)
        .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
        .where(Attempt.user_id == user_id)
    )
    return {item_id for (item_id,) in rows}


def build_slots(session: Session, quiz: Quiz, user_id: int, seed: int,
                pins: list[tuple[QuizItem, str, ItemVersion]] | None = None) -> list[Slot]:
    """This attempt's questions: fixed items and draws (preferring items the student has not
    seen), at their pinned versions, shuffled within sections as the quiz says; deterministic for
    a seed. ``pins`` are the quiz's :func:`pinned` rows, when the caller read them already."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret
    sections = sections_of(quiz)
    by_section: dict[int, dict[str, ItemVersion]] = {}
    keys: dict[int, str] = {}
    for pin, key, version in pins if pins is not None else pinned(session, quiz.id):
        by_section.setdefault(pin.section, {})[key] = version
        keys[version.item_id] = key
    seen = _seen_items(session, user_id) if any(s.draw is not None for s in sections) else set()
    chosen_ids: set[int] = set()
    slots: list[Slot] = []
    for n, section in enumerate(sections):
        versions = by_section.get(n, {})
        picked: list[ItemVersion] = []
        if section.items:
            for key in section.items:
                fixed = versions.get(key)
                if fixed is None:
                    raise Invalid(f"item {key!r} is no longer in the bank", code="quiz_broken")
                picked.append(fixed)
        else:
            assert section.draw is not None
            pool = [v for _, v in sorted(versions.items()) if v.item_id not in chosen_ids]
            rng.shuffle(pool)
            pool.sort(key=lambda version: version.item_id in seen)  # stable: unseen first, random within
            if len(pool) < section.draw.count:
                raise Invalid("not enough items match this quiz's draw", code="quiz_broken")
            picked = pool[: section.draw.count]
        chosen_ids.update(v.item_id for v in picked)
        if section.shuffle:
            rng.shuffle(picked)
        slots.extend(Slot(0, v, section.mark_of(keys[v.item_id])) for v in picked)
    if settings_of(quiz).shuffle_questions:
        rng.shuffle(slots)
    return [Slot(n + 1, s.version, s.mark) for n, s in enumerate(slots)]
