"""Creating quizzes, listing them, and choosing each attempt's questions.

A new quiz's settings are checked (an interactive quiz must show correctness during the attempt)
and its instructor is warned of what is allowed but risky (options in authored order), with
figures measured on the bank."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from assessments.auth.access import course_by_slug, require_instructor
from assessments.bank import repository as bank
from assessments.bank.service import item_model
from assessments.deps import Principal
from assessments.errors import Invalid, NotFound
from assessments.models import Attempt, Course, CourseRole, Enrolment, Item, ItemVersion, QuestionAttempt, Quiz
from assessments.quizzes.schemas import (
    BehaviourName,
    QuizCreate,
    QuizOut,
    QuizSettings,
    QuizSummary,
    QuizWarning,
    Section,
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
    return [Section.model_validate(s) for s in quiz.sections]


def _draw_pool(session: Session, section: Section) -> list[tuple[Item, ItemVersion]]:
    assert section.draw is not None
    query = bank.current_versions_query(section.draw.tags, section.draw.q, section.draw.type)
    return [(item, version) for item, version in session.execute(query).all()]


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


def _section_problems(session: Session, sections: list[Section]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    for n, section in enumerate(sections):
        for key in section.items:
            item = bank.item_by_key(session, key)
            if item is None or item.current_number is None:
                problems.append({"path": ["sections", n, "items"], "message": f"no item {key!r}"})
        if section.draw is not None:
            try:
                found = len(_draw_pool(session, section))
            except ValueError as exc:
                problems.append({"path": ["sections", n, "draw"], "message": str(exc)})
                continue
            if found < section.draw.count:
                problems.append({"path": ["sections", n, "draw"],
                                 "message": f"draws {section.draw.count} items but only {found} match"})
    return problems


def create_quiz(session: Session, principal: Principal, course_slug: str, data: QuizCreate,
                now: datetime) -> Quiz:
    course = course_by_slug(session, course_slug)
    require_instructor(session, principal, course)
    problems = settings_problems(data.settings) + _section_problems(session, data.sections)
    if problems:
        raise Invalid("the quiz cannot be built", details=problems, code="invalid_quiz")
    quiz = Quiz(course_id=course.id, title=data.title, description=data.description,
                settings=data.settings.model_dump(mode="json"),
                sections=[s.model_dump(mode="json", exclude_defaults=True) for s in data.sections],
                created_by_id=principal.user.id, created_at=now, updated_at=now)
    session.add(quiz)
    session.flush()
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


def quiz_for(session: Session, principal: Principal, quiz_id: int) -> tuple[Quiz, Course]:
    """The quiz if the caller belongs to its course (404 otherwise)."""
    quiz, course, _ = quiz_and_role(session, principal, quiz_id)
    return quiz, course


def quiz_and_role(session: Session, principal: Principal, quiz_id: int) -> tuple[Quiz, Course, CourseRole]:
    """The quiz, its course and the caller's role in it, in one query (404 for non-members)."""
    found = session.execute(
        select(Quiz, Course, Enrolment.role).join(Course, Course.id == Quiz.course_id)
        .outerjoin(Enrolment, and_(Enrolment.course_id == Course.id, Enrolment.user_id == principal.user.id))
        .where(Quiz.id == quiz_id)).first()
    if found is None:
        raise NotFound(f"no quiz {quiz_id}")
    quiz, course, role = found
    if principal.is_admin:
        role = CourseRole.INSTRUCTOR
    if role is None:
        raise NotFound(f"no quiz {quiz_id}")
    return quiz, course, role


def quiz_state(settings: QuizSettings, now: datetime) -> str:
    if settings.open_at and now < settings.open_at:
        return "not_open"
    if settings.close_at and now >= settings.close_at:
        return "closed"
    return "open"


def quiz_out(quiz: Quiz, course: Course) -> QuizOut:
    sections = sections_of(quiz)
    slots = sum(len(s.items) or (s.draw.count if s.draw else 0) for s in sections)
    marks = sum((len(s.items) or (s.draw.count if s.draw else 0)) * s.mark for s in sections)
    return QuizOut(id=quiz.id, course=course.slug, title=quiz.title, description=quiz.description,
                   settings=settings_of(quiz), sections=sections, slots=slots, max_marks=marks)


def list_quizzes(session: Session, principal: Principal, course_slug: str | None,
                 now: datetime, *, limit: int | None = None, offset: int = 0) -> list[QuizSummary]:
    from assessments.courses.service import courses_for

    courses = courses_for(session, principal)
    if course_slug is not None:
        courses = [c for c in courses if c.slug == course_slug]
    by_id = {c.id: c for c in courses}
    quizzes = session.scalars(select(Quiz).where(Quiz.course_id.in_(list(by_id))).order_by(Quiz.id)
                              .limit(limit).offset(offset))
    out = []
    for quiz in quizzes:
        settings = settings_of(quiz)
        out.append(QuizSummary(
            id=quiz.id, course=by_id[quiz.course_id].slug, title=quiz.title,
            open_at=settings.open_at, close_at=settings.close_at,
            time_limit_minutes=settings.time_limit_minutes, attempts_allowed=settings.attempts_allowed,
            state=quiz_state(settings, now),
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


def build_slots(session: Session, quiz: Quiz, user_id: int, seed: int) -> list[Slot]:
    """This attempt's questions: fixed items and draws (preferring items the student has not
    seen), shuffled within sections as the quiz says; deterministic for a seed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret
    sections = sections_of(quiz)
    fixed = bank.current_versions(session, [key for section in sections for key in section.items])
    seen = _seen_items(session, user_id) if any(s.draw is not None for s in sections) else set()
    chosen_ids: set[int] = set()
    slots: list[Slot] = []
    for section in sections:
        picked: list[ItemVersion] = []
        if section.items:
            for key in section.items:
                version = fixed.get(key)
                if version is None:
                    raise Invalid(f"item {key!r} is no longer in the bank", code="quiz_broken")
                picked.append(version)
        else:
            assert section.draw is not None
            pool = [(i, v) for i, v in _draw_pool(session, section) if i.id not in chosen_ids]
            rng.shuffle(pool)
            pool.sort(key=lambda pair: pair[0].id in seen)  # stable: unseen first, random within
            if len(pool) < section.draw.count:
                raise Invalid("not enough items match this quiz's draw", code="quiz_broken")
            picked = [v for _, v in pool[: section.draw.count]]
        chosen_ids.update(v.item_id for v in picked)
        if section.shuffle:
            rng.shuffle(picked)
        slots.extend(Slot(0, v, section.mark) for v in picked)
    if settings_of(quiz).shuffle_questions:
        rng.shuffle(slots)
    return [Slot(n + 1, s.version, s.mark) for n, s in enumerate(slots)]
