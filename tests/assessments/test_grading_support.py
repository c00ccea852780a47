"""What the grading tests share: a class of people, and students taking quizzes over the API.

Answers are the real ones: the key of a student's own variant (from the pinned item version and
the stored seed), or a named wrong answer computed from the variant's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from assessments.bank.repository import library
from assessments.bank.service import variant_of
from assessments.models import (
    BankGrant,
    Course,
    CourseRole,
    Enrolment,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    Role,
    Step,
    User,
)
from engine.qtypes import qtype_for
from engine.variants import Variant
from tests.assessments.conftest import World

Answer = dict[str, Any] | str | Callable[[int, int], dict[str, Any]]


@dataclass
class Classroom:
    """A course ``llms`` with an instructor and two students; an outsider teaches ``other``. The
    course may edit the shared library (where the samples live)."""

    world: World
    course: Course
    teacher: User
    alice: User
    bob: User
    outsider: User

    @property
    def api(self) -> TestClient:
        assert self.world.client is not None
        return self.world.client

    def as_(self, user: User) -> dict[str, str]:
        return self.world.headers(user)

    def student(self, username: str) -> User:
        """One more student of the course."""
        user = self.world.user(username)
        self.world.db.add(Enrolment(course_id=self.course.id, user_id=user.id, role=CourseRole.STUDENT))
        self.world.db.flush()
        return user

    def quiz(self, items: list[str], **settings: Any) -> Quiz:
        return self.world.quiz(self.course, items, **settings)

    def quiz_by_api(self, sections: list[dict[str, Any]], **settings: Any) -> int:
        """A quiz made as an instructor makes one (sections may carry their marks per slot)."""
        made = self.api.post(f"/api/v1/courses/{self.course.slug}/quizzes", headers=self.as_(self.teacher),
                             json={"title": "Graded", "settings": settings, "sections": sections})
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    # --- a student's session --------------------------------------------------------------

    def take(self, student: User, quiz_id: int, answers: dict[int, Answer], *, submit: bool = True) -> int:
        """Start an attempt, answer slots (a response, ``"key"`` for the right answer, or a
        function of the attempt and slot) and submit it. Returns the attempt's id."""
        me = self.as_(student)
        started = self.api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=me)
        assert started.status_code == 201, started.text
        attempt = started.json()
        seqs = {q["slot"]: q["seq"] for q in attempt["questions"]}
        for slot, answer in answers.items():
            if callable(answer):
                response = answer(attempt["id"], slot)
            else:
                response = self.key(attempt["id"], slot) if answer == "key" else answer
            saved = self.api.put(f"/api/v1/attempts/{attempt['id']}/responses/{slot}", headers=me,
                                 json={"response": response, "seq": seqs[slot]})
            assert saved.status_code == 200 and saved.json()["saved"], saved.text
        if not submit:
            return int(attempt["id"])
        submitted = self.api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me)
        assert submitted.status_code == 200 and submitted.json()["state"] == "finished", submitted.text
        return int(attempt["id"])

    # --- reading what the database holds --------------------------------------------------

    def row(self, attempt_id: int, slot: int) -> QuestionAttempt:
        row = self.world.db.scalars(select(QuestionAttempt).where(
            QuestionAttempt.attempt_id == attempt_id, QuestionAttempt.slot == slot,
            QuestionAttempt.replaced_at.is_(None))).one()
        return row

    def variant(self, attempt_id: int, slot: int) -> Variant:
        row = self.row(attempt_id, slot)
        version = self.world.db.get(ItemVersion, row.item_version_id)
        assert version is not None
        return variant_of(version, row.seed, shuffle=bool(row.variant.get("shuffle", True)))

    def key(self, attempt_id: int, slot: int) -> dict[str, Any]:
        """The right response to the student's own variant."""
        variant = self.variant(attempt_id, slot)
        return dict(qtype_for(variant.item).correct_response(variant.item, variant))

    def steps(self, question_attempt_id: int) -> list[tuple[int, str, str, float | None]]:
        rows = self.world.db.scalars(select(Step).where(Step.question_attempt_id == question_attempt_id)
                                     .order_by(Step.seq))
        return [(s.seq, s.action, s.state, s.fraction) for s in rows]


def classroom(world: World) -> Classroom:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    alice, bob = world.user("alice"), world.user("bob")
    outsider = world.user("outsider", Role.INSTRUCTOR)
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (alice, CourseRole.STUDENT),
                          (bob, CourseRole.STUDENT))
    world.course("other", (outsider, CourseRole.INSTRUCTOR))
    # The samples live in the shared library; this course may publish new versions of them.
    world.db.add(BankGrant(bank_id=library(world.db).id, course_id=course.id, can_edit=True))
    world.db.flush()
    return Classroom(world, course, teacher, alice, bob, outsider)
