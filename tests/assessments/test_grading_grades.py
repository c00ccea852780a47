"""Quiz grades (JSON and CSV) and the course gradebook, from students' real attempts.

Three quizzes of two questions each, one per grading method: highest and average over numeric
and true/false questions, last over a numeric question and an essay (so an attempt can wait for
a grader). Alice and Bob take them differently; Carol, enrolled, takes none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from assessments.grading.service import quiz_grade
from assessments.models import Attempt, Quiz, User
from assessments.quizzes.schemas import GradingMethod
from tests.assessments.conftest import World
from tests.assessments.test_grading_support import Classroom, classroom

ESSAY_TEXT = {"text": "The policy exploits a flaw in the reward model instead of improving."}
WRONG_NUMBER = {"answer": "12345"}


@dataclass
class Term:
    room: Classroom
    carol: User
    highest: Quiz
    average: Quiz
    last: Quiz


def _wrong_tf(room: Classroom) -> Any:
    return lambda attempt_id, slot: {"answer": not room.key(attempt_id, slot)["answer"]}


@pytest.fixture
def term(world: World) -> Term:
    room = classroom(world)
    carol = room.student("carol")
    carol.display_name = '=1+2, "quoted"'  # a comma, quotes, and what a spreadsheet would run
    world.db.flush()
    highest = room.quiz(["numeric", "tf"], grading_method=GradingMethod.HIGHEST, attempts_allowed=3)
    average = room.quiz(["numeric", "tf"], grading_method=GradingMethod.AVERAGE, attempts_allowed=3)
    last = room.quiz(["numeric", "essay"], grading_method=GradingMethod.LAST, attempts_allowed=3)
    wrong_tf = _wrong_tf(room)

    # highest: Alice 1 then 2; Bob 0 (and an attempt still open, which does not count).
    room.take(room.alice, highest.id, {1: "key", 2: wrong_tf})
    room.take(room.alice, highest.id, {1: "key", 2: "key"})
    room.take(room.bob, highest.id, {1: WRONG_NUMBER, 2: wrong_tf})
    room.take(room.bob, highest.id, {1: "key"}, submit=False)
    # average: Alice 2 and 1; Bob 0, 1 and 1.
    room.take(room.alice, average.id, {1: "key", 2: "key"})
    room.take(room.alice, average.id, {1: "key", 2: wrong_tf})
    room.take(room.bob, average.id, {1: WRONG_NUMBER, 2: wrong_tf})
    room.take(room.bob, average.id, {1: WRONG_NUMBER, 2: "key"})
    room.take(room.bob, average.id, {1: "key", 2: wrong_tf})
    # last: Alice 1.6 (essay graded 3/5), then an attempt whose essay waits; Bob 2.
    teacher = room.as_(room.teacher)
    first = room.take(room.alice, last.id, {1: "key", 2: ESSAY_TEXT})
    room.api.post(f"/api/v1/attempts/{first}/slots/2/grade", headers=teacher,
                  json={"rubric": {"mechanism": 1, "safeguard": 1}})
    room.take(room.alice, last.id, {1: WRONG_NUMBER, 2: ESSAY_TEXT})
    bobs = room.take(room.bob, last.id, {1: "key", 2: ESSAY_TEXT})
    room.api.post(f"/api/v1/attempts/{bobs}/slots/2/grade", headers=teacher,
                  json={"rubric": {"mechanism": 2, "safeguard": 1}})
    return Term(room, carol, highest, average, last)


def _row(user: User, attempts: int, pending: int, grade: float | None) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name,
            "attempts": attempts, "pending": pending, "grade": grade}


def test_grades_as_json_follow_each_grading_method(term: Term) -> None:
    room = term.room
    teacher = room.as_(room.teacher)
    expected = {
        term.highest.id: ("highest", [_row(room.alice, 2, 0, 2.0), _row(room.bob, 1, 0, 0.0)]),
        term.average.id: ("average", [_row(room.alice, 2, 0, 1.5), _row(room.bob, 3, 0, 2 / 3)]),
        # Alice's last attempt waits for a grader: no grade until it has one.
        term.last.id: ("last", [_row(room.alice, 2, 1, None), _row(room.bob, 1, 0, 2.0)]),
    }
    for quiz_id, (method, rows) in expected.items():
        reply = room.api.get(f"/api/v1/quizzes/{quiz_id}/grades", headers=teacher)
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"quiz_id": quiz_id, "title": "Quiz", "grading_method": method, "max_marks": 2.0,
                                "students": [*rows, _row(term.carol, 0, 0, None)]}
    explicit = room.api.get(f"/api/v1/quizzes/{term.average.id}/grades?format=json", headers=teacher)
    assert explicit.json()["students"][1]["grade"] == pytest.approx(2 / 3)


def test_grades_as_csv(term: Term) -> None:
    room = term.room
    teacher = room.as_(room.teacher)
    reply = room.api.get(f"/api/v1/quizzes/{term.average.id}/grades?format=csv", headers=teacher)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == f'attachment; filename="quiz-{term.average.id}-grades.csv"'
    assert reply.text == (
        "username,display_name,attempts,pending,grade,max_marks\r\n"
        "alice,Alice,2,0,1.5,2\r\n"
        "bob,Bob,3,0,0.666667,2\r\n"
        "carol,\"'=1+2, \"\"quoted\"\"\",0,0,,2\r\n"
    )
    # What a spreadsheet or the csv module reads back.
    assert list(csv.reader(io.StringIO(reply.text)))[3] == ["carol", "'=1+2, \"quoted\"", "0", "0", "", "2"]

    last = room.api.get(f"/api/v1/quizzes/{term.last.id}/grades?format=csv", headers=teacher)
    assert last.text.splitlines()[1:3] == ["alice,Alice,2,1,,2", "bob,Bob,1,0,2,2"]


def test_a_grade_appears_once_the_pending_attempt_is_graded(term: Term) -> None:
    room = term.room
    teacher = room.as_(room.teacher)
    pending = room.api.get(f"/api/v1/quizzes/{term.last.id}/grades", headers=teacher).json()["students"][0]
    assert (pending["pending"], pending["grade"]) == (1, None)
    second = room.api.get(f"/api/v1/attempts/{_last_attempt(term, room.alice)}", headers=teacher).json()
    room.api.post(f"/api/v1/attempts/{second['id']}/slots/2/grade", headers=teacher,
                  json={"rubric": {"mechanism": 2, "safeguard": 0}})
    graded = room.api.get(f"/api/v1/quizzes/{term.last.id}/grades", headers=teacher).json()["students"][0]
    assert (graded["pending"], graded["grade"]) == (0, 0.8)  # 0 for the numeric, 4/5 for the essay


def _last_attempt(term: Term, user: User) -> int | None:
    return term.room.world.db.scalars(select(Attempt.id).where(
        Attempt.quiz_id == term.last.id, Attempt.user_id == user.id).order_by(Attempt.number.desc())).first()


def test_the_gradebook_has_every_student_and_quiz(term: Term) -> None:
    room = term.room
    reply = room.api.get("/api/v1/courses/llms/gradebook", headers=room.as_(room.teacher))
    assert reply.status_code == 200, reply.text
    quizzes = [term.highest.id, term.average.id, term.last.id]

    def cells(*values: tuple[int, int, float | None]) -> list[dict[str, Any]]:
        return [{"quiz_id": q, "attempts": a, "pending": p, "grade": g} for q, (a, p, g) in zip(quizzes, values,
                                                                                                  strict=True)]

    def person(user: User) -> dict[str, Any]:
        return {"user_id": user.id, "username": user.username, "display_name": user.display_name}

    assert reply.json() == {
        "course": "llms",
        "quizzes": [{"id": q, "title": "Quiz", "grading_method": m, "max_marks": 2.0}
                    for q, m in zip(quizzes, ("highest", "average", "last"), strict=True)],
        "students": [
            {**person(room.alice), "grades": cells((2, 0, 2.0), (2, 0, 1.5), (2, 1, None))},
            {**person(room.bob), "grades": cells((1, 0, 0.0), (3, 0, 2 / 3), (1, 0, 2.0))},
            {**person(term.carol), "grades": cells((0, 0, None), (0, 0, None), (0, 0, None))},
        ],
    }


def test_an_unknown_format_is_422(term: Term) -> None:
    room = term.room
    reply = room.api.get(f"/api/v1/quizzes/{term.highest.id}/grades?format=xlsx", headers=room.as_(room.teacher))
    assert reply.status_code == 422


def test_only_the_course_instructors_read_grades(term: Term) -> None:
    room = term.room
    urls = [f"/api/v1/quizzes/{term.highest.id}/grades", f"/api/v1/quizzes/{term.highest.id}/grades?format=csv",
            "/api/v1/courses/llms/gradebook"]
    for url in urls:
        assert room.api.get(url).status_code == 401, url
        for student in (room.alice, term.carol):
            reply = room.api.get(url, headers=room.as_(student))
            assert reply.status_code == 403 and "Alice" not in reply.text, url
        outsider = room.api.get(url, headers=room.as_(room.outsider))
        assert outsider.status_code == 404, url
        assert outsider.json()["error"]["message"] in (f"no quiz {term.highest.id}", "no course 'llms'")
    assert room.api.get("/api/v1/courses/nowhere/gradebook", headers=room.as_(room.teacher)).status_code == 404


@pytest.mark.parametrize(("method", "marks", "grade"), [
    (GradingMethod.HIGHEST, [1.0, None, 3.0, 2.0], 3.0),
    (GradingMethod.AVERAGE, [1.0, None, 3.0, 2.0], 2.0),
    (GradingMethod.FIRST, [1.0, None, 3.0, 2.0], 1.0),
    (GradingMethod.LAST, [1.0, None, 3.0, 2.0], 2.0),
    # An attempt awaiting a grader counts for nothing; first and last wait for theirs.
    (GradingMethod.HIGHEST, [None, 0.5], 0.5),
    (GradingMethod.AVERAGE, [None, 0.5], 0.5),
    (GradingMethod.FIRST, [None, 0.5], None),
    (GradingMethod.LAST, [0.5, None], None),
    (GradingMethod.HIGHEST, [None], None),
    (GradingMethod.AVERAGE, [], None),
    (GradingMethod.HIGHEST, [-0.5, -1.0], -0.5),  # negative marking
])
def test_quiz_grade_by_method(method: GradingMethod, marks: list[float | None], grade: float | None) -> None:
    assert quiz_grade(method, marks) == grade
