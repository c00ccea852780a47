"""Manual grading over REST: an essay graded by rubric, an override of an automatic grade, and
every way a grade can be refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assessments.models import Attempt, Step
from tests.assessments.conftest import World
from tests.assessments.test_grading_support import Classroom, classroom

ESSAY_TEXT = {"text": "The policy exploits a flaw in the reward model instead of improving."}


@pytest.fixture
def room(world: World) -> Classroom:
    return classroom(world)


def _essay_quiz(room: Classroom) -> int:
    """A numeric question worth 2 and an essay worth 5."""
    return room.quiz_by_api([{"items": ["numeric"], "mark": 2}, {"items": ["essay"], "mark": 5}])


def test_an_essay_graded_by_rubric_gives_the_attempt_its_marks(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    grade_url = f"/api/v1/attempts/{attempt_id}/slots/2/grade"

    # Submitted, the essay waits for a grader: the attempt has no marks yet.
    before = room.api.get(f"/api/v1/attempts/{attempt_id}", headers=room.as_(room.teacher)).json()
    assert "marks" not in before and before["needs_grading"] is True  # None is left out
    assert [q["state"] for q in before["questions"]] == ["right", "needs_grading"]
    assert room.world.db.get(Attempt, attempt_id).marks is None

    # Mechanism "Partial" (2 of 4 points) and safeguard "Named" (1 of 1): 3 of 5 points.
    graded = room.api.post(grade_url, headers=room.as_(room.teacher),
                           json={"rubric": {"mechanism": 1, "safeguard": 1}, "comment": "Name the flaw."})
    assert graded.status_code == 200, graded.text
    assert graded.json() == {
        "attempt_id": attempt_id, "slot": 2, "seq": 3, "recorded": True, "state": "mangrpartial",
        "fraction": 0.6, "mark": 3.0, "max_mark": 5.0, "marks": 5.0, "max_marks": 7.0,
        "needs_grading": False,
    }
    assert room.world.db.get(Attempt, attempt_id).marks == 5.0

    # The step is appended, by the teacher, after the student's start, save and finish.
    row = room.row(attempt_id, 2)
    assert room.steps(row.id) == [(0, "start", "todo", None), (1, "save", "complete", None),
                                  (2, "finish", "needsgrading", None),
                                  (3, "manual_grade", "mangrpartial", 0.6)]
    last = room.world.db.scalars(select(Step).where(Step.question_attempt_id == row.id, Step.seq == 3)).one()
    assert last.actor_id == room.teacher.id
    assert last.data["manual"] == {"fraction": 0.6, "rubric": {"mechanism": 1, "safeguard": 1},
                                   "comment": "Name the flaw."}

    # The student now sees the marks and the grader's comment (the default review policy).
    review = room.api.get(f"/api/v1/attempts/{attempt_id}", headers=room.as_(room.alice)).json()
    assert review["marks"] == 5.0
    essay = review["questions"][1]
    assert essay["mark"] == 3.0 and essay["outcome"] == "partial"
    assert essay["feedback"][-1] == "Name the flaw."

    # The same grade again appends nothing; a new one replaces the mark.
    again = room.api.post(grade_url, headers=room.as_(room.teacher),
                          json={"rubric": {"mechanism": 1, "safeguard": 1}, "comment": "Name the flaw."})
    assert again.json()["recorded"] is False and again.json()["seq"] == 3
    full = room.api.post(grade_url, headers=room.as_(room.teacher),
                         json={"rubric": {"mechanism": 2, "safeguard": 1}})
    assert full.json()["state"] == "mangrright" and full.json()["marks"] == 7.0
    assert len(room.steps(row.id)) == 5


def test_a_comment_alone_leaves_the_essay_waiting(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/2/grade", headers=room.as_(room.teacher),
                          json={"comment": "Reading it tomorrow."})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["state"], body["fraction"], body["marks"], body["needs_grading"]) == (
        "needsgrading", None, None, True)


def test_an_instructor_overrides_an_automatic_grade(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.bob, quiz_id, {1: {"answer": "12345"}, 2: ESSAY_TEXT})
    teacher = room.as_(room.teacher)
    room.api.post(f"/api/v1/attempts/{attempt_id}/slots/2/grade", headers=teacher,
                  json={"rubric": {"mechanism": 2, "safeguard": 0}})
    assert room.world.db.get(Attempt, attempt_id).marks == 4.0  # 0 for the numeric, 4/5 × 5

    override = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/grade", headers=teacher,
                             json={"fraction": 0.25, "comment": "Right method, slipped a sign."})
    assert override.status_code == 200, override.text
    body = override.json()
    assert (body["state"], body["fraction"], body["mark"], body["marks"]) == ("mangrpartial", 0.25, 0.5, 4.5)
    assert [s[1:] for s in room.steps(room.row(attempt_id, 1).id)] == [
        ("start", "todo", None), ("save", "complete", None), ("finish", "gradedwrong", 0.0),
        ("manual_grade", "mangrpartial", 0.25)]

    view = room.api.get(f"/api/v1/attempts/{attempt_id}", headers=room.as_(room.bob)).json()
    assert view["marks"] == 4.5 and view["questions"][0]["mark"] == 0.5


@pytest.mark.parametrize(("slot", "body", "message"), [
    (2, {"rubric": {"mechanism": 1, "clarity": 1, "safeguard": 0}}, "rubric: unknown rubric criterion 'clarity'"),
    (2, {"rubric": {"mechanism": 3, "safeguard": 0}}, "rubric: criterion 'mechanism' has levels 0 to 2, not 3"),
    (2, {"rubric": {"mechanism": 1}}, "rubric: choose a level for criterion 'safeguard'"),
    (2, {"rubric": {"mechanism": 1, "safeguard": 1}, "fraction": 0.9},
     "the fraction 0.9 disagrees with the rubric selections (0.6)"),
    (1, {"rubric": {"mechanism": 1}}, "item 'numeric' has no rubric; give a fraction instead"),
    (1, {"fraction": 1.5}, "the fraction must be between 0 and 1, not 1.5"),
    (1, {"fraction": -0.25}, "the fraction must be between 0 and 1, not -0.25"),
    (1, {}, "a manual grade needs a fraction, rubric selections or a comment"),
])
def test_a_grade_that_does_not_fit_is_refused_with_400(room: Classroom, slot: int, body: dict[str, object],
                                                       message: str) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    steps_before = room.steps(room.row(attempt_id, slot).id)
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/{slot}/grade", headers=room.as_(room.teacher),
                          json=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == {"code": "invalid_grade", "message": message}
    assert room.steps(room.row(attempt_id, slot).id) == steps_before


def test_malformed_grades_are_422(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    url = f"/api/v1/attempts/{attempt_id}/slots/2/grade"
    for body in ({"rubric": {"mechanism": "1"}}, {"fraction": "most"}, {"mark": "most"}, {"marks": 1}):
        reply = room.api.post(url, headers=room.as_(room.teacher), json=body)
        assert reply.status_code == 422 and reply.json()["error"]["code"] == "malformed", body


def test_an_attempt_in_progress_cannot_be_graded(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    started = room.api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=room.as_(room.alice)).json()
    reply = room.api.post(f"/api/v1/attempts/{started['id']}/slots/1/grade", headers=room.as_(room.teacher),
                          json={"fraction": 1})
    assert reply.status_code == 409
    assert reply.json()["error"]["code"] == "attempt_in_progress"


def test_a_slot_that_is_not_there_is_404(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/3/grade", headers=room.as_(room.teacher),
                          json={"fraction": 1})
    assert reply.status_code == 404
    missing = room.api.post("/api/v1/attempts/987654/slots/1/grade", headers=room.as_(room.teacher),
                            json={"fraction": 1})
    assert missing.status_code == 404


def test_only_the_course_instructors_grade(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    url = f"/api/v1/attempts/{attempt_id}/slots/2/grade"
    body = {"fraction": 1}
    assert room.api.post(url, json=body).status_code == 401
    assert room.api.post(url, headers=room.as_(room.alice), json=body).status_code == 403  # the owner
    # To a classmate or an outsider the attempt does not exist, as when they try to read it.
    for other in (room.bob, room.outsider):
        reply = room.api.post(url, headers=room.as_(other), json=body)
        assert reply.status_code == 404 and reply.json()["error"]["message"] == f"no attempt {attempt_id}"
        assert room.api.get(f"/api/v1/attempts/{attempt_id}", headers=room.as_(other)).status_code == 404
    assert room.steps(room.row(attempt_id, 2).id)[-1][1] == "finish"


def test_a_personal_token_needs_the_grade_scope(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})

    def token(*scopes: str) -> dict[str, str]:
        made = room.api.post("/api/v1/auth/tokens", headers=room.as_(room.teacher),
                             json={"name": "gradebook sync", "scopes": list(scopes)})
        assert made.status_code == 201, made.text
        return {"authorization": f"Bearer {made.json()['token']}"}

    calls = [("POST", f"/api/v1/attempts/{attempt_id}/slots/2/grade", {"fraction": 1.0}),
             ("POST", f"/api/v1/quizzes/{quiz_id}/regrade", None),
             ("GET", f"/api/v1/quizzes/{quiz_id}/grades", None),
             ("GET", "/api/v1/courses/llms/gradebook", None)]
    without, with_grade = token("read", "write"), token("read", "write", "grade")
    for method, url, body in calls:
        refused = room.api.request(method, url, headers=without, json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope"), url
        assert room.api.request(method, url, headers=with_grade, json=body).status_code == 200, url
