"""Flags on questions over REST: kept on the server with the question attempt, shown in the
attempt's view, the owner's only, and refused once the attempt is finished."""

from __future__ import annotations

from assessments.models import CourseRole, Role
from tests.assessments.conftest import World
from tests.assessments.test_web import _sign_in


def test_a_flag_is_stored_shown_and_cleared(world: World) -> None:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    student = world.user("student")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric", "seed"])
    api = world.client
    assert api is not None
    me = world.headers(student)
    attempt = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=me).json()
    assert [q["flagged"] for q in attempt["questions"]] == [False, False]

    flagged = api.put(f"/api/v1/attempts/{attempt['id']}/slots/2/flag", headers=me, json={"flagged": True})
    assert flagged.status_code == 200 and flagged.json() == {"slot": 2, "flagged": True}
    view = api.get(f"/api/v1/attempts/{attempt['id']}", headers=me).json()
    assert [q["flagged"] for q in view["questions"]] == [False, True]
    assert [q["seq"] for q in view["questions"]] == [0, 0], "a flag is no answer: it makes no step"

    # the teacher reads the flag and may not set one
    assert api.get(f"/api/v1/attempts/{attempt['id']}", headers=world.headers(teacher)).json()[
        "questions"][1]["flagged"] is True
    refused = api.put(f"/api/v1/attempts/{attempt['id']}/slots/1/flag", headers=world.headers(teacher),
                      json={"flagged": True})
    assert refused.status_code == 403

    cleared = api.put(f"/api/v1/attempts/{attempt['id']}/slots/2/flag", headers=me, json={"flagged": False})
    assert cleared.json() == {"slot": 2, "flagged": False}
    no_slot = api.put(f"/api/v1/attempts/{attempt['id']}/slots/9/flag", headers=me, json={"flagged": True})
    assert no_slot.status_code == 404 and "slot 9" in no_slot.json()["error"]["message"]
    bad = api.put(f"/api/v1/attempts/{attempt['id']}/slots/1/flag", headers=me, json={"flagged": "maybe"})
    assert bad.status_code == 422
    extra = api.put(f"/api/v1/attempts/{attempt['id']}/slots/1/flag", headers=me,
                    json={"flagged": True, "colour": "red"})
    assert extra.status_code == 422

    assert api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me).status_code == 200
    late = api.put(f"/api/v1/attempts/{attempt['id']}/slots/1/flag", headers=me, json={"flagged": True})
    assert late.status_code == 409 and late.json()["error"]["code"] == "attempt_finished"
    view = api.get(f"/api/v1/attempts/{attempt['id']}", headers=me).json()
    assert [q["flagged"] for q in view["questions"]] == [False, False]


def test_the_save_reply_says_why_an_answer_is_not_valid(world: World) -> None:
    student = world.user("student")
    course = world.course("llms", (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric"])
    api = world.client
    assert api is not None
    me = world.headers(student)
    attempt = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=me).json()
    saved = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                    json={"response": {"answer": "two"}, "seq": 0}).json()
    assert saved["state"] == "invalid"
    assert saved["error"] == "enter a number such as 0.25, -3, 1/2 or 1.5e-3"
    fixed = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                    json={"response": {"answer": "2"}, "seq": saved["seq"]}).json()
    assert fixed == {"seq": 2, "saved": True, "state": "answered"}
    comma = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                    json={"response": {"answer": "0,5"}, "seq": 2}).json()
    assert comma == {"seq": 3, "saved": True, "state": "answered", "read_as": "0.5"}
    fraction = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                       json={"response": {"answer": "3/8"}, "seq": 3}).json()
    assert fraction["read_as"] == "0.375"
    # The attempt, read again (a reload, or the page without JavaScript), still says how it was read.
    again = api.get(f"/api/v1/attempts/{attempt['id']}", headers=me).json()
    assert again["questions"][0]["read_as"] == "0.375"
    _sign_in(world, student.username)
    assert '<p class="hint" role="status" data-read-as>Read as 0.375.</p>' in api.get(f"/attempts/{attempt['id']}").text
