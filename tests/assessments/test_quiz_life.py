"""A quiz's life over the API: draft, published, closed, archived and scheduled publication; what
may change once students have attempted it; duplicate and delete; previews by staff.

Each test narrates an instructor and their students, with the service's clock moved by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assessments.models import Attempt, Course, CourseRole, Job, Quiz, QuizItem, QuizStatus, Role
from tests.assessments.conftest import T0, Clock, World
from tests.assessments.test_walkthroughs import ok, refused


@dataclass
class Class:
    """A course with its instructor and two students, seen through the API."""

    world: World
    course: Course
    api: TestClient
    clock: Clock
    teacher: dict[str, str]
    ada: dict[str, str]
    bo: dict[str, str]

    def make(self, status: str = "draft", items: list[str] | None = None, **settings: Any) -> dict[str, Any]:
        return ok(self.api.post("/api/v1/courses/llms/quizzes", headers=self.teacher, json={
            "title": "Week 1", "status": status, "settings": settings,
            "sections": [{"items": items or ["tf", "numeric"]}]}), 201)

    def status(self, quiz_id: int, **body: Any) -> dict[str, Any]:
        return ok(self.api.put(f"/api/v1/quizzes/{quiz_id}/status", headers=self.teacher, json=body))

    def start(self, quiz_id: int, who: dict[str, str]) -> Any:
        return self.api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=who)

    def listed(self, who: dict[str, str]) -> dict[int, dict[str, Any]]:
        return {q["id"]: q for q in ok(self.api.get("/api/v1/quizzes", headers=who))}  # type: ignore[arg-type]


@pytest.fixture
def cls(world: World, clock: Clock) -> Class:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    ada, bo = world.user("ada"), world.user("bo")
    llms = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (ada, CourseRole.STUDENT), (bo, CourseRole.STUDENT))
    world.course("rl", (teacher, CourseRole.INSTRUCTOR))
    world.course("other" )
    assert world.client is not None
    return Class(world, llms, world.client, clock, world.headers(teacher), world.headers(ada), world.headers(bo))


# --- states --------------------------------------------------------------------------------------


def test_a_draft_is_seen_by_its_staff_only_until_it_is_published(cls: Class) -> None:
    quiz = cls.make()
    assert quiz["status"] == "draft"
    refused(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.ada), 404, "not_found")
    refused(cls.start(quiz["id"], cls.ada), 404, "not_found")
    assert quiz["id"] not in cls.listed(cls.ada)
    assert cls.listed(cls.teacher)[quiz["id"]]["status"] == "draft"
    assert cls.listed(cls.teacher)[quiz["id"]]["state"] == "not_open"

    assert cls.status(quiz["id"], status="published")["status"] == "published"
    assert ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.ada))["title"] == "Week 1"
    assert cls.listed(cls.ada)[quiz["id"]]["state"] == "open"
    assert ok(cls.start(quiz["id"], cls.ada), 201)["number"] == 1

    cls.status(quiz["id"], status="draft")  # unpublished: hidden again, the attempt kept
    refused(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.ada), 404, "not_found")
    assert cls.world.db.scalar(select(func.count(Attempt.id)).where(Attempt.quiz_id == quiz["id"])) == 1


def test_a_scheduled_draft_is_published_when_its_time_comes(cls: Class) -> None:
    quiz = cls.make()
    at = T0 + timedelta(minutes=30)
    body = cls.status(quiz["id"], status="draft", publish_at=at.isoformat())
    assert (body["status"], body["publish_at"]) == ("draft", "2026-11-02T09:30:00Z")
    refused(cls.start(quiz["id"], cls.ada), 404, "not_found")
    cls.clock.advance(minutes=29)
    assert quiz["id"] not in cls.listed(cls.ada)
    cls.clock.advance(minutes=1)
    assert cls.listed(cls.ada)[quiz["id"]]["status"] == "published"
    assert ok(cls.start(quiz["id"], cls.ada), 201)["number"] == 1
    # publish_at is for drafts only: said at the field, nothing changed
    reply = cls.api.put(f"/api/v1/quizzes/{quiz['id']}/status", headers=cls.teacher,
                        json={"status": "published", "publish_at": at.isoformat()})
    assert reply.status_code == 422, reply.text
    assert "give it with status draft" in reply.text


def test_existing_and_api_made_quizzes_are_published_unless_made_as_drafts(cls: Class) -> None:
    stored = cls.world.quiz(cls.course, ["tf"])  # as the migration leaves quizzes made before states
    assert stored.status == QuizStatus.PUBLISHED
    assert cls.listed(cls.ada)[stored.id]["state"] == "open"
    made = ok(cls.api.post("/api/v1/courses/llms/quizzes", headers=cls.teacher,
                           json={"title": "Old style", "sections": [{"items": ["tf"]}]}), 201)
    assert made["status"] == "published"
    assert cls.listed(cls.ada)[made["id"]]["state"] == "open"


def test_closing_refuses_new_attempts_and_ends_those_under_way(cls: Class, settings: Any) -> None:
    quiz = cls.make(status="published", attempts_allowed=2)
    attempt = ok(cls.start(quiz["id"], cls.ada), 201)
    cls.clock.advance(minutes=5)
    cls.status(quiz["id"], status="closed")
    refused(cls.start(quiz["id"], cls.bo), 403, "quiz_closed")
    assert cls.listed(cls.bo)[quiz["id"]]["state"] == "closed"
    stored = cls.world.db.get(Attempt, attempt["id"])
    assert stored is not None and stored.deadline_at == T0 + timedelta(minutes=5)
    cls.clock.advance(seconds=settings.grace_seconds + 1)
    refused(cls.api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=cls.ada,
                        json={"response": {"answer": "true"}, "seq": 0}), 409, "time_up")


def test_an_archived_quiz_is_hidden_from_students_and_starts_nothing(cls: Class) -> None:
    quiz = cls.make(status="published")
    cls.status(quiz["id"], status="archived")
    refused(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.ada), 404, "not_found")
    refused(cls.start(quiz["id"], cls.teacher), 409, "quiz_archived")
    refused(cls.api.patch(f"/api/v1/quizzes/{quiz['id']}", headers=cls.teacher, json={"title": "X"}),
            409, "quiz_archived")
    assert cls.listed(cls.teacher)[quiz["id"]]["status"] == "archived"


# --- editing -------------------------------------------------------------------------------------


def _pins(cls: Class, quiz_id: int) -> int:
    return int(cls.world.db.scalar(select(func.count(QuizItem.id)).where(QuizItem.quiz_id == quiz_id)) or 0)


def test_anything_changes_while_no_student_has_attempted(cls: Class) -> None:
    quiz = cls.make()
    body = ok(cls.api.patch(f"/api/v1/quizzes/{quiz['id']}", headers=cls.teacher, json={
        "title": "Week 1 (revised)", "settings": {"behaviour": "immediatefeedback", "time_limit_minutes": 20},
        "sections": [{"items": ["tf"], "mark": 2}, {"items": ["single", "short"]}]}))
    assert body["title"] == "Week 1 (revised)"
    assert (body["settings"]["behaviour"], body["settings"]["time_limit_minutes"]) == ("immediatefeedback", 20)
    assert (body["slots"], body["max_marks"]) == (3, 4.0)
    assert _pins(cls, quiz["id"]) == 3


def test_once_attempted_only_what_changes_no_grade_may_change(cls: Class) -> None:
    quiz = cls.make(status="published", time_limit_minutes=30)
    ok(cls.start(quiz["id"], cls.ada), 201)
    url = f"/api/v1/quizzes/{quiz['id']}"
    reply = cls.api.patch(url, headers=cls.teacher, json={
        "settings": {"behaviour": "interactive", "time_limit_minutes": 45}, "sections": [{"items": ["tf"]}]})
    refused(reply, 409, "quiz_has_attempts")
    assert reply.json()["error"]["details"] == {"fields": ["settings.behaviour", "sections"], "attempts": 1}
    unchanged = ok(cls.api.get(url, headers=cls.teacher))
    assert (unchanged["settings"]["time_limit_minutes"], unchanged["slots"]) == (30, 2)
    # the same sections again are no change; dates, time and review options are
    body = ok(cls.api.patch(url, headers=cls.teacher, json={
        "sections": unchanged["sections"],
        "settings": {"time_limit_minutes": 45, "attempts_allowed": 3, "close_at": "2026-11-09T17:00:00Z",
                     "review": {"after_close": {"marks": True}}}}))
    assert (body["settings"]["time_limit_minutes"], body["settings"]["attempts_allowed"]) == (45, 3)
    assert body["settings"]["review"]["after_close"] == {"correctness": False, "marks": True, "feedback": False,
                                                          "right_answer": False}


def test_a_longer_time_limit_extends_the_attempts_under_way(cls: Class) -> None:
    quiz = cls.make(status="published", time_limit_minutes=30)
    attempt = ok(cls.start(quiz["id"], cls.ada), 201)
    assert attempt["deadline_at"] == "2026-11-02T09:30:00Z"
    cls.clock.advance(minutes=10)
    url = f"/api/v1/quizzes/{quiz['id']}"
    ok(cls.api.patch(url, headers=cls.teacher, json={"settings": {"time_limit_minutes": 50}}))
    mine = f"/api/v1/attempts/{attempt['id']}"
    assert ok(cls.api.get(mine, headers=cls.ada))["deadline_at"] == "2026-11-02T09:50:00Z"
    # a shorter one never cuts an attempt under way short
    ok(cls.api.patch(url, headers=cls.teacher, json={"settings": {"time_limit_minutes": 15}}))
    assert ok(cls.api.get(mine, headers=cls.ada))["deadline_at"] == "2026-11-02T09:50:00Z"


@pytest.mark.parametrize(("body", "path", "words"), [
    ({"settings": {"time_limit_minutes": 0}}, ["settings", "time_limit_minutes"], "greater than or equal to 1"),
    ({"settings": {"close_at": "2026-11-01T09:00:00Z", "open_at": "2026-11-02T09:00:00Z"}}, ["settings"],
     "close_at must be after open_at"),
    ({"settings": {"colour": "red"}}, ["settings", "colour"], "Extra inputs are not permitted"),
    ({"sections": [{"items": ["tf"]}, {"draw": {"tags": ["chapter:Nowhere"], "count": 2}}]},
     ["sections", 1, "draw"], "draws 2 items but only 0 match"),
])
def test_a_bad_change_is_refused_at_its_field_and_changes_nothing(cls: Class, body: dict[str, Any],
                                                                   path: list[Any], words: str) -> None:
    quiz = cls.make(time_limit_minutes=30)
    reply = cls.api.patch(f"/api/v1/quizzes/{quiz['id']}", headers=cls.teacher, json=body)
    refused(reply, 400, "invalid_quiz")
    details = reply.json()["error"]["details"]
    assert [d["path"] for d in details] == [path]
    assert words in details[0]["message"]
    after = ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.teacher))
    assert (after["settings"]["time_limit_minutes"], after["slots"]) == (30, 2)


# --- duplicate and delete ------------------------------------------------------------------------


def test_duplicate_makes_a_draft_in_the_course_or_another_the_instructor_teaches(cls: Class) -> None:
    quiz = cls.make(status="published", time_limit_minutes=25)
    same = ok(cls.api.post(f"/api/v1/quizzes/{quiz['id']}/duplicate", headers=cls.teacher, json={}), 201)
    assert (same["course"], same["title"], same["status"]) == ("llms", "Week 1 (copy)", "draft")
    assert same["settings"]["time_limit_minutes"] == 25
    assert _pins(cls, same["id"]) == _pins(cls, quiz["id"]) == 2
    other = ok(cls.api.post(f"/api/v1/quizzes/{quiz['id']}/duplicate", headers=cls.teacher,
                            json={"course": "rl", "title": "RL week 1"}), 201)
    assert (other["course"], other["title"], other["slots"]) == ("rl", "RL week 1", 2)
    refused(cls.api.post(f"/api/v1/quizzes/{quiz['id']}/duplicate", headers=cls.teacher,
                         json={"course": "other"}), 404, "not_found")
    refused(cls.api.post(f"/api/v1/quizzes/{quiz['id']}/duplicate", headers=cls.ada, json={}), 403, "forbidden")


def test_delete_removes_an_unattempted_quiz_and_archives_an_attempted_one(cls: Class) -> None:
    untried = cls.make(status="published")
    ok(cls.start(untried["id"], cls.teacher), 201)  # a preview does not count
    assert ok(cls.api.delete(f"/api/v1/quizzes/{untried['id']}", headers=cls.teacher)) == {
        "id": untried["id"], "outcome": "deleted", "attempts": 0}
    assert cls.world.db.get(Quiz, untried["id"]) is None

    tried = cls.make(status="published")
    attempt = ok(cls.start(tried["id"], cls.ada), 201)
    ok(cls.api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=cls.ada))
    assert ok(cls.api.delete(f"/api/v1/quizzes/{tried['id']}", headers=cls.teacher)) == {
        "id": tried["id"], "outcome": "archived", "attempts": 1}
    grades = ok(cls.api.get(f"/api/v1/quizzes/{tried['id']}/grades", headers=cls.teacher,
                            params={"format": "json"}))
    assert [(g["username"], g["attempts"]) for g in grades["students"]] == [("ada", 1), ("bo", 0)]
    assert ok(cls.api.get(f"/api/v1/attempts/{attempt['id']}", headers=cls.ada))["state"] == "finished"


# --- previews ------------------------------------------------------------------------------------


def test_a_staff_attempt_is_a_preview_counted_nowhere(cls: Class) -> None:
    quiz = cls.make()  # a draft: staff may preview it
    preview = ok(cls.start(quiz["id"], cls.teacher), 201)
    ok(cls.api.post(f"/api/v1/attempts/{preview['id']}/submit", headers=cls.teacher))
    stored = cls.world.db.get(Attempt, preview["id"])
    assert stored is not None and stored.preview is True and stored.state.value == "finished"
    assert cls.world.db.scalar(select(func.count(Job.id))) == 0  # no grade event, no passback
    grades = ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}/grades", headers=cls.teacher, params={"format": "json"}))
    assert [(g["username"], g["attempts"]) for g in grades["students"]] == [("ada", 0), ("bo", 0)]
    statistics = ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}/statistics", headers=cls.teacher))
    assert statistics["attempts"] == 0  # nor in the quiz's statistics
    # no student attempt: the structure may still change, and the preview made on it goes
    ok(cls.api.patch(f"/api/v1/quizzes/{quiz['id']}", headers=cls.teacher, json={"sections": [{"items": ["tf"]}]}))
    assert cls.world.db.get(Attempt, preview["id"]) is None
