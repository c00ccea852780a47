"""A wrong answer is worth 0, never -0.

An item without negative marking scores a wrong answer 0 − 0, which IEEE 754 writes -0.0; the
engine keeps its own numbers as computed (a stored attempt replays to the same bits), so the
sign must go where a mark leaves Assay: the API's JSON and the pages.
"""

from __future__ import annotations

import math
import re

from assessments.models import CourseRole, Role
from assessments.security import CSRF_FIELD
from tests.assessments.conftest import World
from tests.assessments.test_walkthroughs import Student, ok, work_out
from tests.assessments.test_web import _sign_in as sign_in


def test_a_wrong_true_false_answer_is_worth_0_in_the_api_and_on_the_review_page(world: World) -> None:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    ada = world.user("ada")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (ada, CourseRole.STUDENT))
    quiz = world.quiz(course, ["tf"])
    world.db.commit()
    me = Student(world, ada, quiz)
    ok(me.start(), 201)
    ok(me.save(1, {"answer": not work_out(me.question(1))["answer"]}))
    ok(me.submit())

    review = me.api.get(f"/api/v1/attempts/{me.attempt_id}", headers=me.headers)
    [question] = review.json()["questions"]
    assert (question["state"], question["mark"]) == ("wrong", 0.0)
    assert math.copysign(1.0, question["mark"]) == 1.0, "the mark is -0.0"
    assert "-0.0" not in review.text

    override = me.api.post(f"/api/v1/attempts/{me.attempt_id}/slots/1/grade", headers=world.headers(teacher),
                           json={"comment": "Look again at the sign of r_w - r_l."})
    assert override.status_code == 200, override.text
    assert (override.json()["fraction"], override.json()["mark"]) == (0.0, 0.0)
    assert "-0.0" not in override.text

    sign_in(world, "ada")
    page = me.api.get(f"/attempts/{me.attempt_id}/review")
    assert page.status_code == 200
    assert '<span class="mark">0 / 1</span>' in page.text
    # No "-0" mark anywhere (a "-0.7" score may show). The page's CSRF tokens are random text,
    # which holds "-0" now and then: they are taken out first.
    text = page.text
    tokens = re.findall(rf'name="{CSRF_FIELD}" value="([^"]*)"', text)
    assert tokens  # the sign-out form's, at least
    for token in tokens:
        text = text.replace(token, "")
    assert "-0" not in text.replace("-0.", "")


def test_marks_round_to_0_not_to_minus_0() -> None:
    from assessments.web.templating import templates

    marks = templates.env.filters["marks"]
    assert [marks(x) for x in (-0.0, -0.001, 0.666, 2.0, None)] == ["0", "0", "0.67", "2", "–"]
