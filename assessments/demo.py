"""``assay serve --demo``: the shipped bank, a demo course, an instructor, a student and a quiz."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.auth.passwords import hash_password
from assessments.models import Course, CourseRole, Enrolment, Quiz, Role, User
from assessments.quizzes.schemas import Draw, QuizCreate, QuizSettings, Section
from assessments.quizzes.service import add_quiz

COURSE = ("foundations-of-llms", "Foundations of Large Language Models")
QUIZ_TITLE = "Reward models and the ranking loss"
DEMO_QUIZ_SECTIONS = [
    Section(title="The seed items", items=[
        "ranking-loss-which-pair-is-penalised", "evaluating-reward-model-score-outputs"]),
    Section(title="Computing losses", draw=Draw(tags=["chapter:Ch.4 Alignment", "kind:computation"],
                                                type="numeric", count=2)),
    Section(title="Analysis", draw=Draw(tags=["chapter:Ch.4 Alignment", "bloom:Analysis"], count=1)),
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role


def _account(session: Session, username: str, name: str, role: Role) -> DemoAccount:
    password = secrets.token_urlsafe(9)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, display_name=name, role=role)
        session.add(user)
    user.password_hash = hash_password(password)  # a fresh password each run: it is printed
    session.flush()
    return DemoAccount(username, password, role)


def set_up_demo(session: Session, now: datetime) -> tuple[list[DemoAccount], int]:
    """Idempotent: accounts, course, enrolments and quiz are created once, passwords renewed."""
    accounts = [_account(session, "instructor", "Demo Instructor", Role.INSTRUCTOR),
                _account(session, "student", "Demo Student", Role.STUDENT)]
    course = session.scalars(select(Course).where(Course.slug == COURSE[0])).first()
    if course is None:
        course = Course(slug=COURSE[0], title=COURSE[1])
        session.add(course)
        session.flush()
    for account in accounts:
        user = session.scalars(select(User).where(User.username == account.username)).one()
        role = CourseRole.INSTRUCTOR if account.role == Role.INSTRUCTOR else CourseRole.STUDENT
        if session.scalars(select(Enrolment).where(Enrolment.course_id == course.id,
                                                   Enrolment.user_id == user.id)).first() is None:
            session.add(Enrolment(course_id=course.id, user_id=user.id, role=role))
    quiz = session.scalars(select(Quiz).where(Quiz.course_id == course.id, Quiz.title == QUIZ_TITLE)).first()
    if quiz is None:
        quiz = add_quiz(session, course.id, QuizCreate(
            title=QUIZ_TITLE, description="The course's seed items and a few drawn at random, computed per student.",
            settings=QuizSettings(attempts_allowed=None, time_limit_minutes=60), sections=DEMO_QUIZ_SECTIONS,
        ), created_by_id=None, now=now)
    return accounts, quiz.id
