"""A student takes a quiz over REST, start to review: the service's spine."""

from __future__ import annotations

from assessments.models import CourseRole, Role
from tests.assessments.conftest import World


def test_student_takes_a_deferred_feedback_quiz(world: World) -> None:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    student = world.user("student")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric", "seed"])
    api = world.client
    assert api is not None
    me = world.headers(student)

    started = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=me)
    assert started.status_code == 201, started.text
    attempt = started.json()
    assert [q["state"] for q in attempt["questions"]] == ["not_answered", "not_answered"]
    assert "right_answer" not in started.text and "fraction" not in started.text

    # resume: the same attempt, 200
    again = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=me)
    assert again.status_code == 200 and again.json()["id"] == attempt["id"]

    saved = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                    json={"response": {"answer": "0.5"}, "seq": 0})
    assert saved.json() == {"seq": 1, "saved": True, "state": "answered"}
    stale = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                    json={"response": {"answer": "0.7"}, "seq": 0})
    assert stale.status_code == 409 and stale.json()["error"]["details"] == {"seq": 1}

    submitted = api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me)
    assert submitted.status_code == 200 and submitted.json()["state"] == "finished"
    assert api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me).json() == submitted.json()

    review = api.get(f"/api/v1/attempts/{attempt['id']}", headers=me).json()
    assert review["review"] == "immediately_after"
    # the seed item was left unanswered: given up, graded wrong, and the policy shows it
    assert (review["questions"][1]["state"], review["questions"][1]["outcome"]) == ("wrong", "wrong")
    assert "right_answer" in review["questions"][0]
