"""Attempts: start (or resume), save, check, finish, and the sweep of overdue attempts.

The database holds each question attempt's steps; the engine decides every new step. To act on
a question, its stored steps are rebuilt into an :class:`engine.attempts.QuestionAttempt` (the
pinned item version and the stored seed give back the same variant), the action is processed,
and the steps the engine keeps are appended as rows. Saves and submits of one attempt lock its
row, so they apply one at a time; a save names the step it follows (``seq``), so a stale one is
refused instead of overwriting a newer answer.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from assessments import events
from assessments.attempts import prepared, repository
from assessments.attempts.repository import Answering, Asked
from assessments.attempts.schemas import AnswerRequest, FlagResult, SaveRequest, SaveResult, SubmitResult, require_shape
from assessments.auth.access import course_role
from assessments.bank.service import cached_variant, has_variant, item_model, variant_of
from assessments.db import done_reading, reading, written
from assessments.deps import Principal
from assessments.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from assessments.events import AttemptFinished, GradeChanged
from assessments.models import (
    Attempt,
    AttemptState,
    CourseRole,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    QuizStatus,
    Step,
)
from assessments.quizzes import rules
from assessments.quizzes.schemas import BehaviourName, QuizSettings
from assessments.quizzes.service import Slot, build_slots, quiz_and_role, settings_of
from engine.attempts import Action, AttemptError
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.attempts import Step as EngineStep
from engine.behaviours import behaviour_for
from engine.expressions import ExpressionError
from engine.qtypes.numeric import read_as
from engine.states import QuestionState
from engine.variants import Variant, VariantError

SYSTEM = "system"

_A = TypeVar("_A", Attempt, Answering)

log = logging.getLogger("assay")


def slot_seed(attempt_seed: int, slot: int, retry: int = 0) -> int:
    """A variant seed per slot, deterministic from the attempt's seed (56 bits); ``retry`` gives
    the slot's next seeds, for an item that cannot make the variant of the first."""
    name = f"{attempt_seed}:{slot}" if retry == 0 else f"{attempt_seed}:{slot}:{retry}"
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:7], "big")


SEEDS_PER_SLOT = 5
"""Seeds a slot tries before its question is declared unavailable: the content checker proves a
shipped item makes thousands of variants, but an item may still fail for a rare seed (constraints
never met within their draws), and a student should not pay for it."""


class QuestionUnavailable(DomainError):
    """A question of the quiz cannot be made for this attempt: the item needs its author."""

    status_code = 503
    code = "question_unavailable"


def _slot_variant(slot: Slot, attempt_seed: int, shuffle: bool) -> tuple[int, Variant]:
    """The slot's variant seed and variant: the first of the slot's seeds whose variant the item
    can make. The failures are logged for the instructor; the student sees none of them (an
    error's text holds the item's expressions, which are not for students)."""
    for retry in range(SEEDS_PER_SLOT):
        variant_seed = slot_seed(attempt_seed, slot.number, retry)
        try:
            return variant_seed, variant_of(slot.version, variant_seed, shuffle=shuffle)
        except (VariantError, ExpressionError) as exc:
            log.warning("item version %s cannot make the variant of seed %s: %s", slot.version.id, variant_seed, exc)
    raise QuestionUnavailable(f"question {slot.number} of this quiz cannot be prepared: tell your instructor, "
                              "who can see which item needs a fix in the server's log")


def behaviour_of(settings: QuizSettings, item_type: str) -> tuple[str, dict[str, Any]]:
    if item_type == "essay":
        return "manualgraded", {}
    if settings.behaviour == BehaviourName.INTERACTIVE:
        return settings.behaviour.value, {"tries": settings.tries, "penalty": settings.penalty}
    return settings.behaviour.value, {}


# --- rebuilding the engine's view ------------------------------------------------------------


def engine_attempt(session: Session, row: QuestionAttempt | Asked, steps: list[dict[str, Any]],
                   content_hash: str | None = None) -> EngineAttempt:
    """The engine's view of a stored question attempt. Its variant comes from the cache when it
    can (keyed by the version's ``content_hash``, read with the row by the callers that have it):
    the version's definition is read only to generate a variant that is not cached."""
    asked = row if isinstance(row, Asked) else Asked.of(row)

    def version() -> ItemVersion:
        found = session.get(ItemVersion, asked.item_version_id)
        assert found is not None
        return found

    digest = content_hash if content_hash is not None else version().content_hash
    if not has_variant(digest, asked.seed, asked.shuffle):  # a process that has not made it: prepared?
        prepared.recall(session, [prepared.Wanted(asked.item_version_id, digest, asked.seed, asked.shuffle)])
    variant = cached_variant(digest, asked.seed, asked.shuffle, version, asked.shown)
    return EngineAttempt.from_json(
        {"behaviour": {"name": asked.behaviour, "options": asked.behaviour_options},
         "max_mark": asked.max_mark, "seed": asked.seed, "steps": steps},
        variant,
    )


def engine_attempts(session: Session, attempt: Attempt) -> list[tuple[Asked, EngineAttempt]]:
    """The attempt's current questions in slot order, each with the engine's view of it."""
    rows = repository.asked(session, attempt.id)
    steps = repository.step_data(session, [asked.id for asked, _ in rows])
    prepared.recall(session, [prepared.Wanted(asked.item_version_id, digest, asked.seed, asked.shuffle)
                              for asked, digest in rows])
    return [(asked, engine_attempt(session, asked, steps[asked.id], digest)) for asked, digest in rows]


def append_steps(session: Session, row: QuestionAttempt | Asked, new: list[EngineStep], actor_id: int | None) -> None:
    for step in new:
        session.add(Step(question_attempt_id=row.id, **_step_row(step, actor_id)))


def _step_row(step: EngineStep, actor_id: int | None) -> dict[str, Any]:
    """A ``question_attempt_steps`` row of an engine step (without its question attempt)."""
    return {"seq": step.seq, "action": step.action.value, "state": step.state.value, "fraction": step.fraction,
            "response": step.response, "data": step.to_json(), "actor_id": actor_id, "created_at": step.at}


def _step_rows(row: QuestionAttempt | Asked, new: list[EngineStep], actor_id: int | None) -> list[dict[str, Any]]:
    return [{"question_attempt_id": row.id, **_step_row(step, actor_id)} for step in new]


def _process(row: Asked, qa: EngineAttempt, action: Action, response: dict[str, Any] | None,
             actor: Principal | None, now: datetime, **data: Any) -> list[dict[str, Any]]:
    """Process an action; the step rows to append (none if the engine kept no step)."""
    try:
        outcome = qa.process(action, response, actor=str(actor.user.id) if actor else SYSTEM, at=now, **data)
    except AttemptError as exc:
        raise Conflict(str(exc), code="action_refused") from exc
    if outcome.kept and outcome.step is not None:
        return _step_rows(row, [outcome.step], actor.user.id if actor else None)
    return []


# --- starting -----------------------------------------------------------------------------


@dataclass
class Started:
    """What :func:`start` did: the caller's attempt, whether it is new, its quiz, and (for a new
    attempt) the engine's view of its questions, so that the reply need not read them again."""

    attempt: Attempt
    created: bool
    quiz: Quiz
    questions: list[tuple[Asked, EngineAttempt]] | None = None


def start(session: Session, principal: Principal, quiz_id: int, now: datetime) -> Started:
    """The caller's open attempt at the quiz, or a new one if what applies to them allows another
    (:func:`assessments.quizzes.rules.applied`: the quiz's status, its settings and their overrides).
    Staff may always start one: it is a preview, counted nowhere.

    A new attempt's questions (their variants cost a millisecond or more each) are chosen and made
    while only reading; the attempts are counted again once writing, before it is stored.
    """
    reading(session)
    quiz, _, role = quiz_and_role(session, principal, quiz_id, now)
    settings = settings_of(quiz)
    staff = role == CourseRole.INSTRUCTOR
    applies = rules.applied(session, quiz, principal.user.id, now)
    existing, made = _open_or_allowed(session, principal, quiz, applies, staff, now)
    if existing is not None:
        return Started(existing, created=False, quiz=quiz)
    # A first attempt takes the seed prepared for it, and the variants prepared for that seed.
    seed = (prepared.start_seed(session, quiz.id, principal.user.id) if made == 0 else None) or secrets.randbits(62)
    slots = build_slots(session, quiz, principal.user.id, seed)
    prepared.recall(session, [prepared.Wanted(slot.version.id, slot.version.content_hash,
                                              slot_seed(seed, slot.number), settings.shuffle_options)
                              for slot in slots])
    questions = _questions_for(principal, settings, slots, seed, now)
    done_reading(session)
    existing, made = _open_or_allowed(session, principal, quiz, applies, staff, now)
    if existing is not None:
        return Started(existing, created=False, quiz=quiz)
    try:
        with session.begin_nested():
            attempt, stored = _store(session, principal, quiz, applies, now, made + 1, questions, preview=staff)
    except IntegrityError:
        # Another request started one at the same moment: resume that one.
        existing = repository.open_attempt(session, quiz.id, principal.user.id)
        if existing is None:
            raise Conflict("another attempt was started at the same time", code="no_attempts_left") from None
        return Started(existing, created=False, quiz=quiz)
    written(session)
    return Started(attempt, created=True, quiz=quiz, questions=stored)


NOT_STARTABLE = {"not_open": "this quiz is not open yet", "closed": "this quiz has closed"}


def _open_or_allowed(session: Session, principal: Principal, quiz: Quiz, applies: rules.Applied, staff: bool,
                     now: datetime) -> tuple[Attempt | None, int]:
    """The caller's open attempt, or None if they may start one (refused otherwise); and how many
    attempts they have made."""
    # One snapshot of the student's attempts: an open one is resumed, the rest are counted.
    # (Two queries could see an attempt committed in between and count it as used up.)
    mine = repository.attempts_of(session, quiz.id, principal.user.id)
    existing = next((a for a in mine if a.state == AttemptState.IN_PROGRESS), None)
    if existing is not None:
        return existing, len(mine)
    if applies.status == QuizStatus.ARCHIVED:
        raise Conflict("this quiz is archived: no attempts can be started", code="quiz_archived")
    state = applies.availability(now)
    if state != "open" and not staff:
        raise Forbidden(NOT_STARTABLE[state], code=f"quiz_{state}")
    allowed = applies.attempts_allowed
    if allowed is not None and len(mine) >= allowed and not staff:
        raise Conflict(f"no attempts left (allowed: {allowed})", code="no_attempts_left")
    return None, len(mine)


def _questions_for(principal: Principal, settings: QuizSettings, slots: list[Slot], seed: int,
                   now: datetime) -> list[tuple[dict[str, Any], EngineAttempt]]:
    """Each slot's question attempt (a row not stored yet) and the engine's started view of it."""
    shuffle = settings.shuffle_options
    questions = []
    for slot in slots:
        model = item_model(slot.version)
        name, options = behaviour_of(settings, model.type_name)
        variant_seed, variant = _slot_variant(slot, seed, shuffle)
        row = {"slot": slot.number, "item_version_id": slot.version.id, "seed": variant_seed,
               "variant": {**variant.to_json(), "shuffle": shuffle}, "behaviour": name,
               "behaviour_options": options, "max_mark": slot.mark}
        qa = EngineAttempt.start(variant, behaviour_for(name, **options), actor=str(principal.user.id),
                                 at=now, max_mark=slot.mark)
        questions.append((row, qa))
    return questions


def _store(session: Session, principal: Principal, quiz: Quiz, applies: rules.Applied, now: datetime,
           number: int, questions: list[tuple[dict[str, Any], EngineAttempt]], *, preview: bool,
           ) -> tuple[Attempt, list[tuple[Asked, EngineAttempt]]]:
    """Insert the attempt, then its question attempts in one statement and their first steps in
    another; the attempt and its questions as stored."""
    values = {"quiz_id": quiz.id, "user_id": principal.user.id, "number": number, "state": AttemptState.IN_PROGRESS,
              "started_at": now, "deadline_at": rules.deadline(now, applies),
              "max_marks": sum(row["max_mark"] for row, _ in questions), "preview": preview}
    # One INSERT ... RETURNING (the session's unit of work costs more than the insert), then the
    # row as written is put in the session as if loaded: later changes to it are written as usual.
    attempt = Attempt(id=repository.insert_attempt(session, values), finished_at=None, marks=None, **values)
    make_transient_to_detached(attempt)
    session.add(attempt)
    ids = repository.insert_questions(session, [{**row, "attempt_id": attempt.id} for row, _ in questions])
    stored = [(Asked(qa_id, attempt.id, row["slot"], row["item_version_id"], row["seed"], row["variant"]["shuffle"],
                     row["behaviour"], row["behaviour_options"], row["max_mark"]), qa)
              for (row, qa), qa_id in zip(questions, ids, strict=True)]
    repository.insert_steps(session, [step for asked, qa in stored
                                      for step in _step_rows(asked, list(qa.steps), principal.user.id)])
    return attempt, stored


# --- access -------------------------------------------------------------------------------


def attempt_for(session: Session, principal: Principal, attempt_id: int, *, lock: bool = False,
                write: bool = False) -> tuple[Attempt, Quiz, bool]:
    """The attempt, its quiz, and whether the caller is staff of its course.

    Owners and the course's instructors may read; only the owner may write. Anyone else: 404.
    """
    attempt = repository.attempt(session, attempt_id, lock=lock)
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id}")
    quiz = session.get(Quiz, attempt.quiz_id)
    assert quiz is not None
    staff = course_role(session, principal, quiz.course_id) == CourseRole.INSTRUCTOR
    owner = attempt.user_id == principal.user.id
    if not owner and not staff:
        raise NotFound(f"no attempt {attempt_id}")
    if write and not owner:
        raise Forbidden("only the student who owns an attempt may answer in it")
    return attempt, quiz, staff


def _owned(session: Session, principal: Principal, attempt: _A | None, attempt_id: int) -> _A:
    """``attempt`` if the caller owns it (and so may write in it), refused as :func:`attempt_for`
    refuses a writer otherwise: 403 for the course's instructors, 404 for anyone else."""
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id}")
    if attempt.user_id != principal.user.id:
        attempt_for(session, principal, attempt_id, write=True)  # raises
        raise AssertionError("a writer who does not own the attempt was let through")  # pragma: no cover
    return attempt


def _writable(attempt: Attempt | Answering, now: datetime, grace_seconds: int) -> None:
    if attempt.state != AttemptState.IN_PROGRESS:
        raise Conflict("this attempt is finished", code="attempt_finished")
    if attempt.deadline_at and now > attempt.deadline_at + timedelta(seconds=grace_seconds):
        raise Conflict("time is up for this attempt", code="time_up")


def _question(session: Session, principal: Principal, attempt_id: int, slot: int, seq: int, now: datetime,
              grace_seconds: int) -> tuple[Asked, EngineAttempt]:
    """The caller's question at ``slot``, for an action that follows step ``seq``: the attempt is
    owned by the caller and open, and ``seq`` is the question's last step (409 if stale). Read
    without locking: :func:`_still_current` checks again, under the lock, before a step is written."""
    found = repository.answering(session, attempt_id, slot)
    attempt, steps = found if found is not None else (None, [])
    attempt = _owned(session, principal, attempt, attempt_id)
    _writable(attempt, now, grace_seconds)
    if attempt.question is None:
        raise NotFound(f"no slot {slot} in attempt {attempt.id}")
    _same_step(steps[-1]["seq"], seq)
    return attempt.question, engine_attempt(session, attempt.question, steps, attempt.content_hash)


def _same_step(current: int, seq: int) -> None:
    if seq != current:
        raise Conflict(f"stale save: the answer has changed since step {seq} (now step {current})",
                       code="stale_seq", details={"seq": current})


def _still_current(session: Session, asked: Asked, seq: int) -> None:
    """Under the attempt's lock (the write lock, on SQLite): the attempt is still open and the
    question's last step is still ``seq``, so the step decided outside the lock may be appended."""
    found = repository.head(session, asked.attempt_id, asked.id, lock=True)
    assert found is not None  # attempts and their questions are never deleted while open
    state, replaced, current = found
    if state != AttemptState.IN_PROGRESS:
        raise Conflict("this attempt is finished", code="attempt_finished")
    if replaced:
        raise Conflict("this question has been regraded since it was read: reload it", code="stale_seq",
                       details={"seq": current})
    _same_step(current, seq)


def _act(session: Session, principal: Principal, attempt_id: int, slot: int, seq: int, now: datetime,
         grace_seconds: int, action: Action, response: dict[str, Any] | None, *,
         checking: bool = False, typed: bool = False) -> SaveResult:
    """Save, check or try again: read and decide outside the write lock, then write the step.
    A ``typed`` response (the REST API's) must have its question type's shape (422 otherwise)."""
    reading(session)
    asked, qa = _question(session, principal, attempt_id, slot, seq, now, grace_seconds)
    if checking and asked.behaviour not in (BehaviourName.IMMEDIATE.value, BehaviourName.INTERACTIVE.value):
        raise Invalid("this quiz grades questions when the attempt is submitted", code="no_check")
    if typed and response is not None:
        require_shape(qa.item.type_name, response)
    try:
        outcome = qa.process(action, response, actor=str(principal.user.id), at=now)
    except AttemptError as exc:
        raise Conflict(str(exc), code="action_refused") from exc
    if outcome.kept and outcome.step is not None:
        done_reading(session)
        _still_current(session, asked, seq)
        repository.insert_steps(session, [{"question_attempt_id": asked.id,
                                           **_step_row(outcome.step, principal.user.id)}])
        written(session)
    last = qa.last_step
    return SaveResult(seq=last.seq, saved=outcome.kept, state=reply_state(qa),
                      error=last.error if last.state == QuestionState.INVALID else None,
                      read_as=read_as_of(qa, response))


def read_as_of(qa: EngineAttempt, response: dict[str, Any] | None) -> str | None:
    """How a number typed in another form than the plain one was read (None when it was plain)."""
    typed = (response or {}).get("answer")
    if qa.item.type_name != "numeric" or not isinstance(typed, str):
        return None
    return read_as(qa.item, typed)  # type: ignore[arg-type]


# --- answering ----------------------------------------------------------------------------


def public_state(state: QuestionState) -> str:
    return {QuestionState.TODO: "not_answered", QuestionState.COMPLETE: "answered",
            QuestionState.INVALID: "invalid"}.get(state, "finished")


def reply_state(qa: EngineAttempt) -> str:
    """The state a save or check reply shows: as the attempt page shows it (an interactive
    question whose checked try was not right and has tries left reads ``try_again``)."""
    if (qa.state.is_active() and qa.latest_grade is not None and qa.tries_left > 0
            and qa.behaviour.feedback_visible(qa.last_step)):
        return "try_again"
    return public_state(qa.state)


def save(session: Session, principal: Principal, attempt_id: int, slot: int, body: SaveRequest | AnswerRequest,
         now: datetime, grace_seconds: int) -> SaveResult:
    typed = isinstance(body, AnswerRequest)
    saving = body.to_save() if isinstance(body, AnswerRequest) else body
    return _act(session, principal, attempt_id, slot, saving.seq, now, grace_seconds, Action.SAVE, saving.response,
                typed=typed)


def check(session: Session, principal: Principal, attempt_id: int, slot: int, body: SaveRequest | AnswerRequest,
          now: datetime, grace_seconds: int) -> SaveResult:
    """Submit one question now (immediate feedback and interactive behaviours)."""
    typed = isinstance(body, AnswerRequest)
    saving = body.to_save() if isinstance(body, AnswerRequest) else body
    return _act(session, principal, attempt_id, slot, saving.seq, now, grace_seconds, Action.SUBMIT, saving.response,
                checking=True, typed=typed)


def try_again(session: Session, principal: Principal, attempt_id: int, slot: int, seq: int,
              now: datetime, grace_seconds: int) -> SaveResult:
    return _act(session, principal, attempt_id, slot, seq, now, grace_seconds, Action.TRY_AGAIN, None)


def set_flag(session: Session, principal: Principal, attempt_id: int, slot: int, flagged: bool,
             now: datetime, grace_seconds: int) -> FlagResult:
    """Flag (or unflag) a question of the caller's open attempt: a reminder, not an answer, so it
    makes no step and needs no ``seq``."""
    attempt = _owned(session, principal, repository.attempt(session, attempt_id, lock=True), attempt_id)
    _writable(attempt, now, grace_seconds)
    if not repository.set_flag(session, attempt.id, slot, flagged):
        raise NotFound(f"no slot {slot} in attempt {attempt.id}")
    written(session)
    return FlagResult(slot=slot, flagged=flagged)


# --- finishing ----------------------------------------------------------------------------


def totals(questions: Sequence[tuple[Any, EngineAttempt]]) -> tuple[float | None, bool]:
    """The attempt's marks (None while any question awaits a grader) and whether one does."""
    waiting = any(qa.state == QuestionState.NEEDSGRADING for _, qa in questions)
    if waiting:
        return None, True
    return sum(qa.mark or 0.0 for _, qa in questions), False


def finish(session: Session, attempt: Attempt, actor: Principal | None, now: datetime) -> None:
    """Finish every question and the attempt (idempotent: a finished attempt is left as it is)."""
    if attempt.state == AttemptState.FINISHED:
        return
    questions = engine_attempts(session, attempt)
    steps = [step for row, qa in questions if qa.state.is_active()
             for step in _process(row, qa, Action.FINISH, None, actor, now)]
    repository.insert_steps(session, steps)
    attempt.marks, _ = totals(questions)
    attempt.state = AttemptState.FINISHED
    attempt.finished_at = now
    if not attempt.preview:  # a preview is counted nowhere: no passback, no grade moves
        events.publish(session, AttemptFinished(attempt.id, attempt.quiz_id, attempt.user_id), now)


def grade_changed(session: Session, attempt: Attempt, now: datetime) -> None:
    """Announce, in this transaction, that a finished attempt's marks changed (a grade or a regrade)."""
    if not attempt.preview:
        events.publish(session, GradeChanged(attempt.id, attempt.quiz_id, attempt.user_id), now)


def submit(session: Session, principal: Principal, attempt_id: int, now: datetime) -> SubmitResult:
    """Finish the attempt and grade it; submitting again changes nothing and answers the same."""
    attempt = _owned(session, principal, repository.attempt(session, attempt_id, lock=True), attempt_id)
    finish(session, attempt, principal, now)
    written(session)
    return SubmitResult(id=attempt.id, state=attempt.state.value, finished_at=attempt.finished_at,
                        max_marks=attempt.max_marks)


def sweep(session: Session, now: datetime, grace_seconds: int) -> list[int]:
    """Finish and grade every attempt whose deadline (plus the grace period) has passed."""
    closed = []
    for attempt_id in repository.overdue(session, now - timedelta(seconds=grace_seconds)):
        attempt = repository.attempt(session, attempt_id, lock=True)
        if attempt is not None and attempt.state == AttemptState.IN_PROGRESS:
            finish(session, attempt, None, now)
            closed.append(attempt_id)
    return closed
