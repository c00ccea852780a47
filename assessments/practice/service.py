"""Practice: the next question chosen for each student, every answer graded at once, mastery per concept.

Nothing here touches a grade: a practice has no attempts, no marks and no passback of marks. Each
question asked is a row (the item version and seed of its variant and the rule that chose it);
the student's ability, mastery and reviews are replayed from the answered rows by
:mod:`engine.adaptive` at each request, so they cannot drift from the answers. The bank's
concept prerequisites and shared misconception names come from its declarations (``bank.yaml``,
read through engine.content). When the instructor chose it, each answer publishes
:class:`~assessments.events.PracticeProgressed` with the fraction of concepts mastered; who sends
it to an LMS listens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assessments import events
from assessments.auth.access import course_by_slug, course_role, require_instructor, require_member
from assessments.bank import declarations
from assessments.bank.service import item_model, rendered_question, variant_of
from assessments.deps import Principal
from assessments.errors import Conflict, Forbidden, Invalid, NotFound
from assessments.models import (
    Bank,
    Concept,
    CourseRole,
    Item,
    ItemConcept,
    ItemTag,
    ItemVersion,
    Practice,
    PracticeQuestion,
    Quiz,
    QuizItem,
)
from assessments.practice import schemas
from assessments.practice.calibration import calibrations
from engine.adaptive import (
    Answer,
    ConceptState,
    ItemPool,
    PracticeItem,
    StudentState,
    choose_next,
    replay,
)
from engine.qtypes import ResponseError, Verdict, qtype_for
from engine.texts import render

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SEED_BITS = 56
MAX_ANSWERS_REPLAYED = 5000
"""A student's latest answers that make their state (older ones have long since been outweighed)."""
ADVICE = {
    ConceptState.NOT_STARTED: "Not started: practise it once its prerequisites are mastered.",
    ConceptState.LEARNING: "Keep practising: each right answer on it moves it towards mastery.",
    ConceptState.MASTERED: "Mastered: it will come back for review.",
    ConceptState.REVIEW_DUE: "Review due: practise it now to keep it.",
}


def days(moment: datetime) -> float:
    """``moment`` on engine.adaptive's clock: days since 2000-01-01 UTC."""
    return (moment - EPOCH).total_seconds() / 86400.0


def moment(day: float) -> datetime:
    return EPOCH + timedelta(days=day)


@dataclass(frozen=True)
class PracticePool:
    """A practice's items as engine.adaptive sees them, with what the service needs to show them."""

    pool: ItemPool
    versions: dict[str, tuple[Item, ItemVersion]]
    titles: dict[str, str]
    prerequisites: dict[str, tuple[str, ...]]
    says: dict[str, str]


# --- access ----------------------------------------------------------------------------------


def practice_and_role(session: Session, principal: Principal, practice_id: int) -> tuple[Practice, CourseRole]:
    """The practice and the caller's role in its course (404 for anyone outside it)."""
    practice = session.get(Practice, practice_id)
    role = course_role(session, principal, practice.course_id) if practice is not None else None
    if practice is None or role is None:
        raise NotFound(f"no practice {practice_id}")
    return practice, role


def _require_instructor(role: CourseRole) -> None:
    if role != CourseRole.INSTRUCTOR:
        raise Forbidden("only the course's instructors may do this")


def out(practice: Practice) -> schemas.PracticeOut:
    return schemas.PracticeOut(id=practice.id, course_id=practice.course_id, quiz_id=practice.quiz_id,
                               title=practice.title, concepts=list(practice.concepts),
                               send_completion=practice.send_completion)


def create(session: Session, principal: Principal, content_dir: Path, course_slug: str, body: schemas.PracticeIn,
           now: datetime) -> schemas.PracticeOut:
    course = course_by_slug(session, course_slug)
    require_instructor(session, principal, course)
    course_id = course.id
    if body.quiz_id is not None:
        quiz = session.get(Quiz, body.quiz_id)
        if quiz is None or quiz.course_id != course_id:
            raise Invalid(f"quiz_id: no quiz {body.quiz_id} in this course", code="invalid_practice")
    elif not body.concepts:
        raise Invalid("concepts: a practice of the course's concepts names at least one (or give a quiz_id)",
                      code="invalid_practice")
    known = set(session.scalars(select(Concept.key).where(Concept.key.in_(body.concepts))))
    unknown = [c for c in body.concepts if c not in known]
    if unknown:
        raise Invalid(f"concepts: unknown concept {unknown[0]!r}", code="invalid_practice")
    practice = Practice(course_id=course_id, quiz_id=body.quiz_id, title=body.title,
                        concepts=list(dict.fromkeys(body.concepts)), send_completion=body.send_completion,
                        created_by_id=principal.user.id, created_at=now)
    session.add(practice)
    session.flush()
    if not len(pool_of(session, content_dir, practice).pool):
        raise Invalid("the practice has no items to ask: its quiz or concepts have no auto-graded items",
                      code="invalid_practice")
    return out(practice)


def choose_completion(session: Session, principal: Principal, practice_id: int, *, send: bool) -> Practice:
    """The instructor's choice: send each student's completion to the LMS that launched the
    practice (every link to it), or not."""
    practice, role = practice_and_role(session, principal, practice_id)
    _require_instructor(role)
    practice.send_completion = send
    session.flush()
    return practice


def list_for_course(session: Session, principal: Principal, course_slug: str, *, limit: int | None = None,
                    offset: int = 0) -> list[schemas.PracticeOut]:
    course = course_by_slug(session, course_slug)
    require_member(session, principal, course)
    return [out(p) for p in session.scalars(select(Practice).where(Practice.course_id == course.id)
                                            .order_by(Practice.id).limit(limit).offset(offset))]


# --- the pool --------------------------------------------------------------------------------


def _versions(session: Session, practice: Practice) -> list[tuple[Item, ItemVersion]]:
    if practice.quiz_id is not None:
        query = (select(Item, ItemVersion).join(QuizItem, QuizItem.item_id == Item.id)
                 .join(ItemVersion, ItemVersion.id == QuizItem.item_version_id)
                 .where(QuizItem.quiz_id == practice.quiz_id))
    else:
        query = (select(Item, ItemVersion)
                 .join(ItemVersion, (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_number))
                 .join(Bank, Bank.id == Item.bank_id)
                 .where(or_(Bank.course_id == practice.course_id, Bank.open_to_all))
                 .where(Item.id.in_(select(ItemConcept.item_id).join(Concept)
                                    .where(Concept.key.in_(practice.concepts)))))
    rows = session.execute(query.order_by(Item.id)).all()
    unique = {item.id: (item, version) for item, version in rows if version.type != "essay"}
    return list(unique.values())


def pool_of(session: Session, content_dir: Path, practice: Practice) -> PracticePool:
    """The practice's auto-graded items, their concepts (in prerequisite order), Bloom levels and
    misconception names."""
    rows = _versions(session, practice)
    ids = [item.id for item, _ in rows]
    concepts: dict[int, list[str]] = {}
    titles: dict[str, str] = {}
    for item_id, key, title in session.execute(
            select(ItemConcept.item_id, Concept.key, Concept.title).join(Concept).where(ItemConcept.item_id.in_(ids))):
        concepts.setdefault(item_id, []).append(key)
        titles[key] = title
    bloom = dict(session.execute(select(ItemTag.item_id, ItemTag.value)
                                 .where(ItemTag.item_id.in_(ids), ItemTag.facet == "bloom")).all())
    wanted = list(practice.concepts) or list(dict.fromkeys(c for cs in concepts.values() for c in cs))
    fitted = calibrations(session, ids)  # the others take their Bloom level's prior
    items = []
    says: dict[str, str] = {}
    for item, version in rows:
        model = item_model(version)
        for name, m in model.misconceptions.items():
            says.setdefault(name, m.says)
        items.append(PracticeItem(key=item.key, concepts=tuple(c for c in concepts.get(item.id, ()) if c in wanted),
                                  misconceptions=frozenset(model.misconceptions), bloom=bloom.get(item.id),
                                  difficulty=fitted[item.id][0] if item.id in fitted else None,
                                  discrimination=fitted[item.id][1] if item.id in fitted else None))
    # The bank's declarations: its bank.yaml and what was declared in the browser or over REST.
    declared = declarations.effective(session, None, content_dir)
    prerequisites = {concept: tuple(before) for concept, before in (declared.get("prerequisites") or {}).items()
                     if isinstance(before, list)}
    says.update({name: str(text) for name, text in (declared.get("misconceptions") or {}).items()})
    # (a shared name's declared description wins over an item's own words)
    pool = ItemPool.build([i for i in items if i.concepts], wanted, prerequisites)
    return PracticePool(pool=pool, versions={item.key: (item, version) for item, version in rows},
                        titles={c: titles.get(c, c) for c in wanted}, prerequisites=prerequisites, says=says)


# --- a student's practice --------------------------------------------------------------------


def _rows(session: Session, practice_id: int, user_id: int) -> list[tuple[PracticeQuestion, str]]:
    return [(row, key) for row, key in session.execute(
        select(PracticeQuestion, Item.key).join(Item, Item.id == PracticeQuestion.item_id)
        .where(PracticeQuestion.practice_id == practice_id, PracticeQuestion.user_id == user_id)
        .order_by(PracticeQuestion.id.desc()).limit(MAX_ANSWERS_REPLAYED))][::-1]


def _state(pool: ItemPool, rows: list[tuple[PracticeQuestion, str]]) -> StudentState:
    return replay(pool, [Answer(key, row.fraction, row.misconception,
                                days(row.answered_at or row.asked_at))
                         for row, key in rows if row.fraction is not None])


def question_out(row: PracticeQuestion, item: Item, version: ItemVersion) -> schemas.PracticeQuestionOut:
    variant = variant_of(version, row.seed)
    return schemas.PracticeQuestionOut(id=row.id, item=item.key, concept=row.concept, rule=row.rule,
                                       question=rendered_question(variant))


def next_question(session: Session, principal: Principal, content_dir: Path, practice_id: int,
                  now: datetime) -> schemas.NextOut:
    """The question the student has open, else a new one chosen for them."""
    practice, _ = practice_and_role(session, principal, practice_id)
    rows = _rows(session, practice.id, principal.user.id)
    found = pool_of(session, content_dir, practice)
    if rows and rows[-1][0].fraction is None and rows[-1][1] in found.versions:
        row, key = rows[-1]
        item, _ = found.versions[key]
        version = session.get(ItemVersion, row.item_version_id)
        assert version is not None
        return schemas.NextOut(question=question_out(row, item, version))
    state = _state(found.pool, rows)
    choice = choose_next(found.pool, state, days(now))
    if choice is None:
        due = state.due[np.isfinite(state.due)]
        return schemas.NextOut(question=None, next_review=moment(float(due.min())) if due.size else None)
    item, version = found.versions[choice.key]
    row = PracticeQuestion(practice_id=practice.id, user_id=principal.user.id, item_id=item.id,
                           item_version_id=version.id, seed=secrets.randbits(SEED_BITS), rule=choice.rule.value,
                           concept=choice.concept, asked_at=now)
    session.add(row)
    session.flush()
    return schemas.NextOut(question=question_out(row, item, version))


def own_question(session: Session, principal: Principal, practice_id: int,
                   question_id: int) -> tuple[Practice, PracticeQuestion, Item, ItemVersion]:
    practice, _ = practice_and_role(session, principal, practice_id)
    row = session.get(PracticeQuestion, question_id)
    if row is None or row.practice_id != practice.id or row.user_id != principal.user.id:
        raise NotFound(f"no question {question_id} in your practice {practice_id}")
    item, version = session.get(Item, row.item_id), session.get(ItemVersion, row.item_version_id)
    assert item is not None
    assert version is not None
    return practice, row, item, version


def new_variant(session: Session, principal: Principal, practice_id: int, question_id: int,
                now: datetime) -> schemas.PracticeQuestionOut:
    """A fresh seed of the same item, for a question not yet answered."""
    _, row, item, version = own_question(session, principal, practice_id, question_id)
    if row.fraction is not None:
        raise Conflict("this question is answered: ask for the next one", code="already_answered")
    row.seed = secrets.randbits(SEED_BITS)
    row.asked_at = now
    return question_out(row, item, version)


def answer(session: Session, principal: Principal, content_dir: Path, practice_id: int, question_id: int,
           body: schemas.AnswerIn, now: datetime) -> schemas.AnswerOut:
    """Grade the answer at once and say everything: feedback, the worked solution, the key."""
    practice, row, _, version = own_question(session, principal, practice_id, question_id)
    if row.fraction is not None:
        raise Conflict("this question is answered: ask for the next one", code="already_answered")
    variant = variant_of(version, row.seed)
    model = variant.item
    qtype = qtype_for(model)
    if qtype.is_blank(body.response):
        raise Invalid("response: answer the question first", code="invalid_response")
    try:
        grade = qtype.grade(model, variant, qtype.parse(model, variant, body.response))
    except ResponseError as exc:
        raise Invalid(f"response: {exc}", code="invalid_response") from None
    row.response = dict(body.response)
    row.fraction = float(np.clip(grade.fraction, 0.0, 1.0))
    row.misconception = grade.misconception
    row.answered_at = now
    session.flush()
    view = mastery_of(session, content_dir, practice, principal.user.id, now)
    if practice.send_completion:
        events.publish(session, events.PracticeProgressed(practice_id=practice.id, course_id=practice.course_id,
                                                          user_id=principal.user.id, completion=view.completion), now)
    item_concepts = {c.concept for c in view.concepts} & set(_concepts_of(session, row.item_id))
    return schemas.AnswerOut(
        id=row.id, outcome=Verdict.of(row.fraction), fraction=row.fraction, feedback=list(grade.feedback),
        misconception=grade.misconception, misconception_says=grade.misconception_says,
        solution=render(model.solution, variant.values) if model.solution else None,
        right_answer=dict(qtype.shown_response(model, variant)),
        concepts=[c for c in view.concepts if c.concept in item_concepts])


def _concepts_of(session: Session, item_id: int) -> list[str]:
    return list(session.scalars(select(Concept.key).join(ItemConcept).where(ItemConcept.item_id == item_id)))


# --- mastery ---------------------------------------------------------------------------------


def mastery_of(session: Session, content_dir: Path, practice: Practice, user_id: int,
               now: datetime) -> schemas.MasteryOut:
    found = pool_of(session, content_dir, practice)
    state = _state(found.pool, _rows(session, practice.id, user_id))
    probability = state.mastery()
    theta, se = state.ability()
    states = state.states(days(now))
    concepts = []
    for n, concept in enumerate(found.pool.concepts):
        alpha, beta = 1.0 + state.successes[n], 1.0 + state.evidence[n] - state.successes[n]
        concepts.append(schemas.ConceptOut(
            concept=concept, title=found.titles.get(concept, concept), state=states[n].value,
            mastery=float(probability[n]), mean=float(alpha / (alpha + beta)), answered=int(state.evidence[n]),
            right=float(state.successes[n]),
            prerequisites=[p for p in found.prerequisites.get(concept, ()) if p in found.pool.concepts],
            next_review=moment(float(state.due[n])) if np.isfinite(state.due[n]) else None,
            advice=ADVICE[states[n]]))
    mastered = int(state.mastered().sum())
    total = len(found.pool.concepts)
    return schemas.MasteryOut(practice_id=practice.id, user_id=user_id, answered=state.answered, ability=theta,
                              ability_se=se, mastered=mastered, completion=mastered / total if total else 0.0,
                              concepts=concepts)


def mastery(session: Session, principal: Principal, content_dir: Path, practice_id: int, user_id: int | None,
            now: datetime) -> schemas.MasteryOut:
    """The caller's own mastery; an instructor may ask for any student's (``user_id``)."""
    practice, role = practice_and_role(session, principal, practice_id)
    if user_id is not None and user_id != principal.user.id:
        _require_instructor(role)
    return mastery_of(session, content_dir, practice, user_id or principal.user.id, now)


def class_view(session: Session, principal: Principal, content_dir: Path, practice_id: int) -> schemas.ClassOut:
    """Mastery per concept across the students, the concepts most missed and their commonest mistakes."""
    practice, role = practice_and_role(session, principal, practice_id)
    _require_instructor(role)
    found = pool_of(session, content_dir, practice)
    pool = found.pool
    students = list(session.scalars(select(PracticeQuestion.user_id).where(
        PracticeQuestion.practice_id == practice.id).distinct().order_by(PracticeQuestion.user_id)))
    mastered = np.zeros(len(pool.concepts), dtype=np.int64)
    seen = np.zeros(len(pool.concepts), dtype=np.int64)
    missed = np.zeros(len(pool.concepts))
    mistakes: list[dict[str, int]] = [{} for _ in pool.concepts]
    for user_id in students:
        rows = _rows(session, practice.id, user_id)
        state = _state(pool, rows)
        mastered += state.mastered()
        seen += state.evidence > 0
        for row, key in rows:
            if row.fraction is None or key not in pool.keys:
                continue
            covered = pool.covers[pool.index(key)]
            missed[covered] += 1.0 - row.fraction
            if row.misconception:
                for n in np.flatnonzero(covered):
                    mistakes[n][row.misconception] = mistakes[n].get(row.misconception, 0) + 1
    concepts = [schemas.ConceptClassOut(
        concept=c, title=found.titles.get(c, c), students=int(seen[n]), mastered=int(mastered[n]),
        missed=round(float(missed[n])),
        misconceptions=[schemas.MisconceptionCount(name=name, says=found.says.get(name), count=count)
                        for name, count in sorted(mistakes[n].items(), key=lambda kv: (-kv[1], kv[0]))[:5]])
        for n, c in enumerate(pool.concepts)]
    concepts.sort(key=lambda c: (-c.missed, c.concept))
    return schemas.ClassOut(practice_id=practice.id, students=len(students), concepts=concepts)
