"""Accommodations over the API: per-student and per-group overrides of a quiz's dates, time limit
(or a multiplier) and attempts; the most generous applies; the student sees their own; starting,
saving, the time-limit sweep and the review moments all follow them; a change made during an
attempt extends it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from assessments.attempts.service import sweep
from assessments.models import Attempt, AttemptState
from tests.assessments import test_quiz_life
from tests.assessments.test_quiz_life import Class
from tests.assessments.test_walkthroughs import ok, refused

cls = test_quiz_life.cls  # the fixture: a course, its instructor and two students


def override(cls: Class, quiz_id: int, status: int = 201, **body: Any) -> dict[str, Any]:
    return ok(cls.api.post(f"/api/v1/quizzes/{quiz_id}/overrides", headers=cls.teacher, json=body), status)


def group(cls: Class, name: str, *members: str) -> dict[str, Any]:
    return ok(cls.api.post("/api/v1/courses/llms/groups", headers=cls.teacher,
                           json={"name": name, "members": list(members)}), 201)


def test_a_student_with_one_and_a_half_times_sees_and_gets_their_own_time(cls: Class) -> None:
    quiz = cls.make(status="published", time_limit_minutes=40)
    made = override(cls, quiz["id"], user="ada", time_multiplier=1.5)
    assert (made["user"], made["time_multiplier"], made["extended_attempts"]) == ("ada", 1.5, 0)
    mine = ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.ada))
    assert mine["settings"]["time_limit_minutes"] == 60
    assert ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}", headers=cls.bo))["settings"]["time_limit_minutes"] == 40
    assert cls.listed(cls.ada)[quiz["id"]]["time_limit_minutes"] == 60
    assert ok(cls.start(quiz["id"], cls.ada), 201)["deadline_at"] == "2026-11-02T10:00:00Z"
    assert ok(cls.start(quiz["id"], cls.bo), 201)["deadline_at"] == "2026-11-02T09:40:00Z"


def test_the_most_generous_of_a_student_and_their_groups_overrides_applies(cls: Class) -> None:
    quiz = cls.make(status="published", time_limit_minutes=30, attempts_allowed=1,
                    close_at="2026-11-02T12:00:00Z")
    group(cls, "extra-time", "ada", "bo")
    group(cls, "resit", "ada")
    override(cls, quiz["id"], group="extra-time", time_limit_minutes=45, attempts_allowed=2)
    override(cls, quiz["id"], group="resit", attempts_allowed=3, close_at="2026-11-03T12:00:00Z")
    override(cls, quiz["id"], user="ada", time_limit_minutes=35)
    ada = cls.listed(cls.ada)[quiz["id"]]
    assert (ada["time_limit_minutes"], ada["attempts_allowed"], ada["close_at"]) == (45, 3, "2026-11-03T12:00:00Z")
    bo = cls.listed(cls.bo)[quiz["id"]]
    assert (bo["time_limit_minutes"], bo["attempts_allowed"], bo["close_at"]) == (45, 2, "2026-11-02T12:00:00Z")
    listed = ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}/overrides", headers=cls.teacher))
    assert [(o["user"], o["group"]) for o in listed] == [(None, "extra-time"), (None, "resit"), ("ada", None)]  # type: ignore[index]


def test_attempts_and_dates_are_enforced_as_overridden(cls: Class) -> None:
    quiz = cls.make(status="published", attempts_allowed=1, open_at="2026-11-02T10:00:00Z",
                    close_at="2026-11-02T11:00:00Z")
    override(cls, quiz["id"], user="ada", open_at="2026-11-02T08:00:00Z", close_at="2026-11-02T13:00:00Z",
             unlimited_attempts=True)
    refused(cls.start(quiz["id"], cls.bo), 403, "quiz_not_open")
    for _ in range(2):  # early, and more than once
        attempt = ok(cls.start(quiz["id"], cls.ada), 201)
        assert attempt["deadline_at"] == "2026-11-02T13:00:00Z"
        ok(cls.api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=cls.ada))


def test_an_override_made_during_an_attempt_extends_it_and_the_sweep_follows(cls: Class, db: Session,
                                                                              settings: Any) -> None:
    quiz = cls.make(status="published", time_limit_minutes=20)
    ada = ok(cls.start(quiz["id"], cls.ada), 201)
    bo = ok(cls.start(quiz["id"], cls.bo), 201)
    cls.clock.advance(minutes=15)
    made = override(cls, quiz["id"], user="ada", time_multiplier=1.5)
    assert made["extended_attempts"] == 1
    mine = ok(cls.api.get(f"/api/v1/attempts/{ada['id']}", headers=cls.ada))
    assert mine["deadline_at"] == "2026-11-02T09:30:00Z"
    now = cls.clock.advance(minutes=6 + settings.grace_seconds / 60)
    assert sweep(db, now, settings.grace_seconds) == [bo["id"]]
    ok(cls.api.put(f"/api/v1/attempts/{ada['id']}/responses/1", headers=cls.ada,
                   json={"response": {"answer": "true"}, "seq": 0}))
    refused(cls.api.put(f"/api/v1/attempts/{bo['id']}/responses/1", headers=cls.bo,
                        json={"response": {"answer": "true"}, "seq": 0}), 409, "attempt_finished")
    # a group joined during the attempt extends it too
    group(cls, "later", "bo")
    quiz2 = cls.make(status="published", time_limit_minutes=10)
    late = ok(cls.start(quiz2["id"], cls.bo), 201)
    override(cls, quiz2["id"], group="later", time_limit_minutes=25)
    stored = db.get(Attempt, late["id"])
    assert stored is not None and stored.deadline_at == cls.clock.now + timedelta(minutes=25)
    assert stored.state == AttemptState.IN_PROGRESS


def test_the_review_moment_follows_the_students_own_closing(cls: Class) -> None:
    quiz = cls.make(status="published", close_at="2026-11-02T09:30:00Z",
                    review={"later_while_open": {"marks": False}, "after_close": {"marks": True},
                            "immediately_after": {"marks": False}})
    override(cls, quiz["id"], user="ada", close_at="2026-11-02T10:30:00Z")
    ada = ok(cls.start(quiz["id"], cls.ada), 201)
    bo = ok(cls.start(quiz["id"], cls.bo), 201)
    for who, attempt in ((cls.ada, ada), (cls.bo, bo)):
        ok(cls.api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=who))
    cls.clock.advance(minutes=40)  # the quiz has closed for bo, not for ada
    assert ok(cls.api.get(f"/api/v1/attempts/{ada['id']}", headers=cls.ada))["review"] == "later_while_open"
    assert ok(cls.api.get(f"/api/v1/attempts/{bo['id']}", headers=cls.bo))["review"] == "after_close"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"user": "ada", "group": "extra-time", "attempts_allowed": 2}, 422, "malformed"),
    ({"user": "ada"}, 422, "malformed"),
    ({"user": "ada", "time_limit_minutes": 30, "time_multiplier": 1.5}, 422, "malformed"),
    ({"user": "ada", "time_multiplier": 0.5}, 422, "malformed"),
    ({"user": "teacher", "attempts_allowed": 2}, 400, "not_a_student"),
    ({"user": "nobody", "attempts_allowed": 2}, 400, "not_a_student"),
    ({"group": "missing", "attempts_allowed": 2}, 400, "no_group"),
])
def test_a_bad_override_is_refused_saying_why(cls: Class, body: dict[str, Any], status: int, code: str) -> None:
    quiz = cls.make(status="published")
    refused(cls.api.post(f"/api/v1/quizzes/{quiz['id']}/overrides", headers=cls.teacher, json=body), status, code)
    assert ok(cls.api.get(f"/api/v1/quizzes/{quiz['id']}/overrides", headers=cls.teacher)) == []


def test_one_override_per_student_changed_in_place_and_removed(cls: Class) -> None:
    quiz = cls.make(status="published", attempts_allowed=1)
    made = override(cls, quiz["id"], user="ada", attempts_allowed=2)
    refused(cls.api.post(f"/api/v1/quizzes/{quiz['id']}/overrides", headers=cls.teacher,
                         json={"user": "ada", "attempts_allowed": 4}), 409, "override_exists")
    url = f"/api/v1/quizzes/{quiz['id']}/overrides/{made['id']}"
    changed = ok(cls.api.put(url, headers=cls.teacher, json={"user": "ada", "attempts_allowed": 5}))
    assert changed["attempts_allowed"] == 5
    assert cls.listed(cls.ada)[quiz["id"]]["attempts_allowed"] == 5
    assert cls.api.delete(url, headers=cls.teacher).status_code == 204
    assert cls.listed(cls.ada)[quiz["id"]]["attempts_allowed"] == 1
    refused(cls.api.delete(url, headers=cls.teacher), 404, "not_found")


def test_groups_are_named_sets_of_the_courses_students(cls: Class) -> None:
    made = group(cls, "extra-time", "bo", "ada")
    assert (made["name"], made["members"]) == ("extra-time", ["ada", "bo"])
    refused(cls.api.post("/api/v1/courses/llms/groups", headers=cls.teacher,
                         json={"name": "extra-time", "members": []}), 409, "group_exists")
    refused(cls.api.post("/api/v1/courses/llms/groups", headers=cls.teacher,
                         json={"name": "staff", "members": ["teacher"]}), 400, "not_a_student")
    changed = ok(cls.api.put(f"/api/v1/courses/llms/groups/{made['id']}", headers=cls.teacher,
                             json={"name": "time-and-a-half", "members": ["ada"]}))
    assert (changed["name"], changed["members"]) == ("time-and-a-half", ["ada"])
    assert [g["name"] for g in ok(cls.api.get("/api/v1/courses/llms/groups", headers=cls.teacher))] == [  # type: ignore[index]
        "time-and-a-half"]
    assert cls.api.delete(f"/api/v1/courses/llms/groups/{made['id']}", headers=cls.teacher).status_code == 204
    assert ok(cls.api.get("/api/v1/courses/llms/groups", headers=cls.teacher)) == []


def test_the_dashboard_shows_marks_by_the_students_own_closing(cls: Class) -> None:
    from tests.assessments.test_authorization import session_cookie

    quiz = cls.make(status="published", items=["tf"], close_at="2026-11-02T09:30:00Z",
                    review={"later_while_open": {"marks": False}, "after_close": {"marks": True},
                            "immediately_after": {"marks": False}})
    override(cls, quiz["id"], user="ada", close_at="2026-11-02T10:30:00Z")
    for who in (cls.ada, cls.bo):
        attempt = ok(cls.start(quiz["id"], who), 201)
        ok(cls.api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=who,
                       json={"response": {"answer": "true"}, "seq": 0}))
        ok(cls.api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=who))
    cls.clock.advance(minutes=40)
    settings = cls.api.app.state.settings  # type: ignore[attr-defined]
    rows = {}
    for name in ("ada", "bo"):
        user_id = ok(cls.api.get("/api/v1/auth/me", headers=getattr(cls, name)))["id"]
        html = cls.api.get("/", headers=session_cookie(settings, user_id=user_id, csrf="x")).text
        rows[name] = html.split(f'href="/quizzes/{quiz["id"]}">Week 1</a>')[1].split("</tr>")[0]
    assert "closes 02 Nov 2026, 10:30 UTC" in rows["ada"] and "<td>–</td>" in rows["ada"]
    assert "closes 02 Nov 2026, 09:30 UTC" in rows["bo"] and "<td>–</td>" not in rows["bo"]
