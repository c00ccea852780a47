"""The course gradebook as a streamed CSV and as a page (its JSON: test_grading_grades.py)."""

from __future__ import annotations

import csv
import io

from assessments.models import CourseRole, Enrolment
from tests.assessments.test_grading_grades import Term, term  # noqa: F401 - the fixture
from tests.assessments.test_web import _sign_in


def test_the_gradebook_as_csv_has_a_column_per_quiz(term: Term) -> None:  # noqa: F811 - the fixture
    room = term.room
    reply = room.api.get("/api/v1/courses/llms/gradebook?format=csv", headers=room.as_(room.teacher))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="llms-gradebook.csv"'
    ids = [term.highest.id, term.average.id, term.last.id]
    assert reply.text == (
        "username,display_name," + ",".join(f"Quiz [quiz {i}] (out of 2)" for i in ids) + "\r\n"
        "alice,Alice,2,1.5,\r\n"            # her last attempt at the third quiz awaits a grader
        "bob,Bob,0,0.666667,2\r\n"
        "carol,\"'=1+2, \"\"quoted\"\"\",,,\r\n"  # no attempt; her name kept from running as a formula
    )
    assert list(csv.reader(io.StringIO(reply.text)))[3] == ["carol", "'=1+2, \"quoted\"", "", "", ""]
    assert room.api.get("/api/v1/courses/llms/gradebook?format=xlsx",
                        headers=room.as_(room.teacher)).status_code == 422
    refused = room.api.get("/api/v1/courses/llms/gradebook?format=csv", headers=room.as_(room.alice))
    assert refused.status_code == 403 and "Bob" not in refused.text


def test_the_gradebook_page_pages_through_the_students(term: Term) -> None:  # noqa: F811 - the fixture
    room = term.room
    world = room.world
    for n in range(120):  # 123 students: two pages of 100
        world.db.add(Enrolment(course_id=room.course.id, user_id=world.user(f"z{n:03d}").id, role=CourseRole.STUDENT))
    world.db.flush()
    _sign_in(world, room.teacher.username)
    first = room.api.get("/courses/llms/gradebook").text
    assert "123 student(s), page 1 of 2" in first and "Next page" in first and "Previous page" not in first
    assert "Alice" in first and "awaiting grading" in first and "no attempt" in first and "z096" in first
    assert "z097" not in first and first.count('<th scope="row">') == 100
    second = room.api.get("/courses/llms/gradebook?page=2").text
    assert "page 2 of 2" in second and "z097" in second and "Alice" not in second
    assert "Previous page" in second and second.count('<th scope="row">') == 23
    assert room.api.get("/courses/llms/gradebook?page=9").status_code == 200  # past the end: the last page
