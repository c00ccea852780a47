"""The audit trail of grades: a manual grade, an override, a comment and a committed regrade each
write exactly their rows, with the real old and new values and the person who made them; a refused
request writes none; rows cannot be changed; instructors read them through the API and the "Grade
history" pages, students never do."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from assessments.models import GradeChange, User
from tests.assessments.conftest import PASSWORD, Clock, World
from tests.assessments.test_grading_regrade import _definition, _put, _regrade, _swap_the_numeric_key, swapped
from tests.assessments.test_grading_support import Classroom, classroom

ESSAY_TEXT = {"text": "The policy exploits a flaw in the reward model instead of improving."}
WHEN = "2026-11-02T09:30:00Z"
"""The clock's time once a test has moved it on by half an hour."""


@pytest.fixture
def room(world: World) -> Classroom:
    return classroom(world)


def _essay_quiz(room: Classroom) -> int:
    """A numeric question worth 2 and an essay worth 5."""
    return room.quiz_by_api([{"items": ["numeric"], "mark": 2}, {"items": ["essay"], "mark": 5}])


def _grade(room: Classroom, attempt_id: int, slot: int, body: dict[str, Any], *, status: int = 200) -> Any:
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/{slot}/grade", headers=room.as_(room.teacher),
                          json=body)
    assert reply.status_code == status, reply.text
    return reply.json()


def _changes(room: Classroom, url: str, **params: Any) -> dict[str, Any]:
    reply = room.api.get(url, headers=room.as_(room.teacher), params=params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _count(room: Classroom) -> int:
    return room.world.db.scalar(select(func.count()).select_from(GradeChange)) or 0


def _change(room: Classroom, attempt_id: int, student: User, **fields: Any) -> dict[str, Any]:
    """A change as the API shows it: the fields that are the same for every row of these tests,
    then ``fields``."""
    return {"actor_id": room.teacher.id, "actor_username": "teacher", "course_id": room.course.id,
            "attempt_id": attempt_id, "attempt_number": 1, "student_id": student.id,
            "student_username": student.username, "student_display_name": student.display_name,
            "at": WHEN, "comment": None, "reason": None, **fields}


def _without_ids(change: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in change.items() if k not in {"id", "question_attempt_id"}}


def test_an_essay_grade_is_recorded_with_its_actor_values_and_totals(room: Classroom, clock: Clock) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    assert _count(room) == 0  # answering and submitting are not grade changes
    clock.advance(minutes=30)

    _grade(room, attempt_id, 2, {"rubric": {"mechanism": 1, "safeguard": 1}, "comment": "Name the flaw.",
                                 "reason": "Marked against the rubric."})
    page = _changes(room, f"/api/v1/quizzes/{quiz_id}/grade-changes")
    assert (page["limit"], page["next_before"]) == (50, None)
    (change,) = page["changes"]
    assert _without_ids(change) == _change(
        room, attempt_id, room.alice, kind="manual_grade", quiz_id=quiz_id, slot=2, step_seq=3,
        item_key="essay", old_version=1, new_version=1, old_state="needsgrading", new_state="mangrpartial",
        old_fraction=None, new_fraction=0.6, old_mark=None, new_mark=3.0, max_mark=5.0,
        old_marks=None, new_marks=5.0, max_marks=7.0, comment="Name the flaw.",
        reason="Marked against the rubric.")
    assert change["question_attempt_id"] == room.row(attempt_id, 2).id

    # The same grade again appends no step and so no row; a new grade is a second row.
    again = _grade(room, attempt_id, 2, {"rubric": {"mechanism": 1, "safeguard": 1}, "comment": "Name the flaw."})
    assert again["recorded"] is False and _count(room) == 1
    _grade(room, attempt_id, 2, {"rubric": {"mechanism": 2, "safeguard": 1}})
    newest, oldest = _changes(room, f"/api/v1/attempts/{attempt_id}/grade-changes")["changes"]
    assert oldest == change
    assert (newest["old_state"], newest["old_mark"], newest["new_mark"], newest["old_marks"], newest["new_marks"],
            newest["step_seq"], newest["comment"], newest["reason"]) == (
        "mangrpartial", 3.0, 5.0, 5.0, 7.0, 4, None, None)


def test_an_override_and_a_comment_on_an_engine_graded_question(room: Classroom, clock: Clock) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.bob, quiz_id, {1: {"answer": "12345"}, 2: ESSAY_TEXT})
    clock.advance(minutes=30)
    _grade(room, attempt_id, 2, {"rubric": {"mechanism": 2, "safeguard": 0}})
    _grade(room, attempt_id, 1, {"fraction": 0.25, "comment": "Right method, slipped a sign.",
                                 "reason": "  Re-marked after the student's appeal.  "})
    _grade(room, attempt_id, 1, {"comment": "See the worked solution."})

    comment, override, essay = _changes(room, f"/api/v1/attempts/{attempt_id}/grade-changes")["changes"]
    assert (essay["kind"], essay["old_marks"], essay["new_marks"]) == ("manual_grade", None, 4.0)
    common = {"quiz_id": quiz_id, "slot": 1, "item_key": "numeric", "old_version": 1, "new_version": 1,
              "max_mark": 2.0, "max_marks": 7.0}
    assert _without_ids(override) == _change(
        room, attempt_id, room.bob, kind="override", step_seq=3, old_state="gradedwrong",
        new_state="mangrpartial", old_fraction=0.0, new_fraction=0.25, old_mark=0.0, new_mark=0.5,
        old_marks=4.0, new_marks=4.5, comment="Right method, slipped a sign.",
        reason="Re-marked after the student's appeal.", **common)
    assert _without_ids(comment) == _change(
        room, attempt_id, room.bob, kind="comment", step_seq=4, old_state="mangrpartial",
        new_state="mangrpartial", old_fraction=0.25, new_fraction=0.25, old_mark=0.5, new_mark=0.5,
        old_marks=4.5, new_marks=4.5, comment="See the worked solution.", **common)

    # Bob sees the comments with his marks (the review policy allows them), never the trail or a reason.
    review = room.api.get(f"/api/v1/attempts/{attempt_id}", headers=room.as_(room.bob))
    assert review.json()["marks"] == 4.5 and "See the worked solution." in review.text
    assert "appeal" not in review.text
    for url in (f"/api/v1/attempts/{attempt_id}/grade-changes", f"/api/v1/quizzes/{quiz_id}/grade-changes"):
        refused = room.api.get(url, headers=room.as_(room.bob))
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    hidden = room.api.get(f"/api/v1/attempts/{attempt_id}/grade-changes", headers=room.as_(room.alice))
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "not_found")
    outsider = room.api.get(f"/api/v1/quizzes/{quiz_id}/grade-changes", headers=room.as_(room.outsider))
    assert outsider.status_code == 404


def test_a_committed_regrade_records_each_replaced_question(room: Classroom, clock: Clock) -> None:
    quiz = room.quiz(["numeric"])
    right = room.take(room.alice, quiz.id, {1: "key"})
    wrong = room.take(room.bob, quiz.id, {1: swapped(room)})
    assert _swap_the_numeric_key(room) == 2
    clock.advance(minutes=30)

    _regrade(room, quiz.id, dry_run=True)
    assert _count(room) == 0  # a dry run changes nothing, the trail included
    _regrade(room, quiz.id, dry_run=False)

    changes = _changes(room, f"/api/v1/quizzes/{quiz.id}/grade-changes")["changes"]
    by_student = {c["student_username"]: c for c in changes}
    assert len(changes) == 2 and set(by_student) == {"alice", "bob"}
    common = {"kind": "regrade", "quiz_id": quiz.id, "slot": 1, "step_seq": 2, "item_key": "numeric",
              "old_version": 1, "new_version": 2, "max_mark": 1.0, "max_marks": 1.0}
    assert _without_ids(by_student["alice"]) == _change(
        room, right, room.alice, old_state="gradedright", new_state="gradedwrong", old_fraction=1.0,
        new_fraction=0.0, old_mark=1.0, new_mark=0.0, old_marks=1.0, new_marks=0.0, **common)
    assert _without_ids(by_student["bob"]) == _change(
        room, wrong, room.bob, old_state="gradedwrong", new_state="gradedright", old_fraction=0.0,
        new_fraction=1.0, old_mark=0.0, new_mark=1.0, old_marks=0.0, new_marks=1.0, **common)
    # Each row points at the replacement question attempt, which holds the new grade.
    assert by_student["alice"]["question_attempt_id"] == room.row(right, 1).id
    assert by_student["bob"]["question_attempt_id"] == room.row(wrong, 1).id

    _regrade(room, quiz.id, dry_run=False)  # nothing left to regrade: nothing recorded
    assert _count(room) == 2


def test_a_refused_regrade_records_nothing(room: Classroom) -> None:
    quiz = room.quiz(["tf", "numeric"])
    room.take(room.alice, quiz.id, {1: "key", 2: "key"})
    _put(room, "tf", {**_definition(room, "tf"), "title": "More than a tie? (reworded)"})
    _put(room, "numeric", {**_definition(room, "essay"), "id": "numeric"})  # cannot be replayed
    refused = room.api.post(f"/api/v1/quizzes/{quiz.id}/regrade?dry_run=false", headers=room.as_(room.teacher))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "regrade_impossible")
    assert _count(room) == 0


@pytest.mark.parametrize(("slot", "body", "status", "where"), [
    (1, {"fraction": 1.5, "reason": "Generous."}, 400, "the fraction must be between 0 and 1, not 1.5"),
    (2, {"rubric": {"mechanism": 3, "safeguard": 0}}, 400, "criterion 'mechanism' has levels 0 to 2, not 3"),
    (1, {"reason": "Only a reason."}, 400, "a manual grade needs a fraction, rubric selections or a comment"),
    (1, {"fraction": 1, "reason": "x" * 2001}, 422, '"loc":["body","reason"]'),
    (9, {"fraction": 1}, 404, "no slot 9"),
])
def test_a_refused_grade_records_nothing(room: Classroom, slot: int, body: dict[str, Any], status: int,
                                         where: str) -> None:
    attempt_id = room.take(room.alice, _essay_quiz(room), {1: "key", 2: ESSAY_TEXT})
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/{slot}/grade", headers=room.as_(room.teacher),
                          json=body)
    assert reply.status_code == status, reply.text
    assert where in reply.text
    assert _count(room) == 0


def test_grading_an_attempt_in_progress_records_nothing(room: Classroom) -> None:
    attempt_id = room.take(room.alice, _essay_quiz(room), {1: "key"}, submit=False)
    error = _grade(room, attempt_id, 1, {"fraction": 1, "reason": "Early."}, status=409)["error"]
    assert error["code"] == "attempt_in_progress"
    assert _count(room) == 0


def test_pages_of_changes_are_newest_first_and_the_limit_is_capped(room: Classroom) -> None:
    quiz_id = _essay_quiz(room)
    alice = room.take(room.alice, quiz_id, {1: "key", 2: ESSAY_TEXT})
    bob = room.take(room.bob, quiz_id, {1: "key", 2: ESSAY_TEXT})
    for attempt_id, fraction in ((alice, 0.2), (bob, 0.4), (alice, 0.6)):
        _grade(room, attempt_id, 2, {"fraction": fraction})
    url = f"/api/v1/quizzes/{quiz_id}/grade-changes"

    seen = []
    page = _changes(room, url, limit=2)
    seen += [(c["student_username"], c["new_fraction"]) for c in page["changes"]]
    assert page["next_before"] == page["changes"][-1]["id"]
    page = _changes(room, url, limit=2, before=page["next_before"])
    seen += [(c["student_username"], c["new_fraction"]) for c in page["changes"]]
    assert page["next_before"] is None
    assert seen == [("alice", 0.6), ("bob", 0.4), ("alice", 0.2)]

    alices = _changes(room, url, student_id=room.alice.id)["changes"]
    assert [(c["old_fraction"], c["new_fraction"]) for c in alices] == [(0.2, 0.6), (None, 0.2)]

    for params, location in (({"limit": 201}, ["query", "limit"]), ({"limit": 0}, ["query", "limit"]),
                             ({"before": "newest"}, ["query", "before"])):
        refused = room.api.get(url, headers=room.as_(room.teacher), params=params)
        assert refused.status_code == 422, refused.text
        assert [d["loc"] for d in refused.json()["error"]["details"]] == [location]


def test_the_api_documents_the_trail(room: Classroom) -> None:
    schema = room.api.get("/openapi.json").json()
    for path in ("/api/v1/quizzes/{quiz_id}/grade-changes", "/api/v1/attempts/{attempt_id}/grade-changes"):
        reply = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert reply == {"$ref": "#/components/schemas/GradeChangePage"}
    fields = schema["components"]["schemas"]["GradeChangeOut"]["properties"]
    assert {"actor_username", "old_fraction", "new_fraction", "old_marks", "new_marks", "reason"} <= set(fields)
    limit = next(p for p in schema["paths"]["/api/v1/quizzes/{quiz_id}/grade-changes"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200


def test_rows_are_append_only(room: Classroom) -> None:
    attempt_id = room.take(room.alice, _essay_quiz(room), {1: "key", 2: ESSAY_TEXT})
    _grade(room, attempt_id, 2, {"fraction": 0.5, "reason": "First reading."})
    db = room.world.db
    change = db.scalars(select(GradeChange)).one()

    def edit() -> None:
        change.new_fraction = 1.0
        db.flush()

    def remove() -> None:
        db.delete(change)
        db.flush()

    for attempt in (edit, remove):
        with pytest.raises(PermissionError, match="never changed"), db.begin_nested():
            attempt()
        db.expire_all()
    # Beneath the ORM, the database refuses an UPDATE too.
    for statement in (update(GradeChange).values(reason="Edited later."),
                      update(GradeChange).values(actor_id=room.alice.id)):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(statement.where(GradeChange.id == change.id))
    assert db.scalars(select(GradeChange.reason)).one() == "First reading."


def test_deleting_the_grader_keeps_the_row_and_their_name(room: Classroom) -> None:
    attempt_id = room.take(room.alice, _essay_quiz(room), {1: "key", 2: ESSAY_TEXT})
    _grade(room, attempt_id, 2, {"fraction": 0.5})
    db = room.world.db
    db.execute(delete(User).where(User.id == room.teacher.id))  # the foreign key sets actor_id NULL
    db.expire_all()
    row = db.execute(text("SELECT actor_id, actor_username, new_fraction FROM grade_changes")).one()
    assert tuple(row) == (None, "teacher", 0.5)


def _sign_in(room: Classroom, user: User) -> None:
    login = room.api.get("/login").text
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    reply = room.api.post("/login", data={"csrf_token": token, "username": user.username, "password": PASSWORD},
                          follow_redirects=False)
    assert reply.status_code == 303


def test_the_grade_history_pages(room: Classroom, clock: Clock) -> None:
    quiz_id = _essay_quiz(room)
    attempt_id = room.take(room.bob, quiz_id, {1: {"answer": "12345"}, 2: ESSAY_TEXT})
    clock.advance(minutes=30)
    _sign_in(room, room.teacher)
    grading = room.api.get(f"/attempts/{attempt_id}/grade").text
    assert f'href="/attempts/{attempt_id}/grade-history"' in grading and 'name="reason"' in grading
    assert f'href="/quizzes/{quiz_id}/grade-history"' in room.api.get(f"/quizzes/{quiz_id}/manage").text

    # An override through the grading page's form (1 mark of 2), with its reason.
    csrf = grading.split('name="csrf_token" value="')[1].split('"')[0]
    posted = room.api.post(f"/attempts/{attempt_id}/slots/1/grade", follow_redirects=False,
                           data={"csrf_token": csrf, "mark": "1", "comment": "Sign slip.",
                                 "reason": "Appeal upheld."})
    assert posted.status_code == 303 and "Grade%20saved." in posted.headers["location"]
    change = room.world.db.scalars(select(GradeChange)).one()
    assert (change.kind.value, change.actor_id, change.old_fraction, change.new_fraction, change.reason) == (
        "override", room.teacher.id, 0.0, 0.5, "Appeal upheld.")

    for url in (f"/quizzes/{quiz_id}/grade-history", f"/attempts/{attempt_id}/grade-history"):
        html = room.api.get(url).text
        row = html.split(f'id="change-{change.id}"')[1].split("</tr>")[0]
        assert "02 Nov 2026, 09:30 UTC" in row and "teacher" in row and ">override<" in row
        assert "1: numeric v1" in row and "0 → <strong>0.5</strong>" in row
        assert "0 → <strong>1</strong> / 2" in row  # the mark, of 2
        assert "Comment: Sign slip." in row and "Reason: Appeal upheld." in row
    assert "Bob" in room.api.get(f"/quizzes/{quiz_id}/grade-history").text
    bad = room.api.get(f"/quizzes/{quiz_id}/grade-history", params={"before": "-3"})
    assert bad.status_code == 400 and "before: expected a positive whole number" in bad.text

    # The student is refused both pages.
    _sign_in(room, room.bob)
    for url in (f"/quizzes/{quiz_id}/grade-history", f"/attempts/{attempt_id}/grade-history"):
        refused = room.api.get(url)
        assert refused.status_code == 403 and "Appeal upheld." not in refused.text
