"""What applies to one student at a quiz now: the one function every enforcement point reads.

A quiz's status decides whether students see it at all (a draft whose ``publish_at`` has come is
published); its settings, with the student's overrides laid over them, decide when it is open, for
how long and how often. An override's field replaces the quiz's setting; where several overrides
(the student's own and their groups') set a field, the most generous wins: the earliest opening,
the latest closing, the longest time, the most attempts (Moodle's user and group overrides).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from assessments.models import CourseGroupMember, Quiz, QuizOverride, QuizStatus
from assessments.quizzes.schemas import QuizSettings

Availability = Literal["not_open", "open", "closed"]

MAX_MINUTES = 60 * 24 * 7
"""The longest time limit an override may give (as the quiz's own setting allows)."""


def status_at(quiz: Quiz, now: datetime) -> QuizStatus:
    """The quiz's status now: a draft scheduled for publication is published once its time comes."""
    if quiz.status == QuizStatus.DRAFT and quiz.publish_at is not None and now >= quiz.publish_at:
        return QuizStatus.PUBLISHED
    return quiz.status


def visible_to_students(quiz: Quiz, now: datetime) -> bool:
    return status_at(quiz, now) in (QuizStatus.PUBLISHED, QuizStatus.CLOSED)


@dataclass(frozen=True)
class Applied:
    """The quiz as it applies to one student: its status and their own dates, time and attempts."""

    status: QuizStatus
    open_at: datetime | None
    close_at: datetime | None
    time_limit_minutes: int | None
    attempts_allowed: int | None
    overridden: bool

    def availability(self, now: datetime) -> Availability:
        if self.status == QuizStatus.DRAFT:
            return "not_open"
        if self.status in (QuizStatus.CLOSED, QuizStatus.ARCHIVED):
            return "closed"
        if self.open_at and now < self.open_at:
            return "not_open"
        if self.close_at and now >= self.close_at:
            return "closed"
        return "open"

    def closed(self, now: datetime) -> bool:
        """Whether the quiz has closed for this student (the review's "after it closes")."""
        return self.status in (QuizStatus.CLOSED, QuizStatus.ARCHIVED) or (
            self.close_at is not None and now >= self.close_at)


_OVERRIDES = select(QuizOverride).where(
    QuizOverride.quiz_id == bindparam("quiz_id"),
    or_(QuizOverride.user_id == bindparam("user_id"),
        QuizOverride.group_id.in_(select(CourseGroupMember.group_id)
                                  .where(CourseGroupMember.user_id == bindparam("user_id"))))
).order_by(QuizOverride.id)
"""Built once: every start, save and review asks it, and building a statement costs as much as
running this one."""


def overrides_for(session: Session, quiz_id: int, user_id: int) -> list[QuizOverride]:
    """The student's own override at the quiz and those of every group they are in."""
    return list(session.scalars(_OVERRIDES, {"quiz_id": quiz_id, "user_id": user_id}))


def _limit(override: QuizOverride, base: int | None) -> int | Literal["keep"] | None:
    if override.time_limit_minutes is not None:
        return override.time_limit_minutes
    if override.time_multiplier is not None:
        return None if base is None else min(MAX_MINUTES, math.ceil(base * override.time_multiplier))
    return "keep"


def combine(settings: QuizSettings, status: QuizStatus, overrides: Iterable[QuizOverride]) -> Applied:
    """The quiz's settings with ``overrides`` laid over them, the most generous winning per field."""
    opens: list[datetime | None] = []
    closes: list[datetime | None] = []
    limits: list[int | None] = []
    attempts: list[int | None] = []
    found = False
    for override in overrides:
        found = True
        if override.open_at is not None:
            opens.append(override.open_at)
        if override.close_at is not None:
            closes.append(override.close_at)
        limit = _limit(override, settings.time_limit_minutes)
        if limit != "keep":
            limits.append(limit)
        if override.unlimited_attempts:
            attempts.append(None)
        elif override.attempts_allowed is not None:
            attempts.append(override.attempts_allowed)
    return Applied(
        status=status,
        open_at=min(opens, key=_early) if opens else settings.open_at,
        close_at=max(closes, key=_late) if closes else settings.close_at,
        time_limit_minutes=max(limits, key=_more) if limits else settings.time_limit_minutes,
        attempts_allowed=max(attempts, key=_more) if attempts else settings.attempts_allowed,
        overridden=found,
    )


def _early(value: datetime | None) -> float:
    return -math.inf if value is None else value.timestamp()


def _late(value: datetime | None) -> float:
    return math.inf if value is None else value.timestamp()


def _more(value: int | None) -> float:
    return math.inf if value is None else value


def applied(session: Session, quiz: Quiz, user_id: int, now: datetime) -> Applied:
    """What applies to the student at the quiz now (the one answer every enforcement point reads)."""
    return combine(QuizSettings.model_validate(quiz.settings), status_at(quiz, now),
                   overrides_for(session, quiz.id, user_id))


def deadline(started_at: datetime, rules: Applied) -> datetime | None:
    """When an attempt started at ``started_at`` must end under ``rules``: its time limit or the
    quiz's closing, whichever comes first; None when neither applies."""
    from datetime import timedelta

    end = started_at + timedelta(minutes=rules.time_limit_minutes) if rules.time_limit_minutes else None
    if rules.close_at is not None and (end is None or rules.close_at < end):
        end = rules.close_at
    return end
