"""Quiz settings an instructor is refused or warned about, on the API and the builder page.

An interactive quiz offers "Try again" only after a try that is not right, so it tells the
student whether their answer was right: with correctness off during the attempt it is refused
(a quiz stored that way before still loads and runs). A quiz that does not shuffle options is
made, with a warning that says, measured on the bank, how often a single-choice key is first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from assessments.bank.service import item_model
from assessments.models import Course, CourseRole, Item, ItemVersion, Quiz, Role
from assessments.quizzes.service import FIRST_KEY_SEEDS
from assessments.web.security import CSRF_FIELD
from engine.qtypes import qtype_for
from engine.variants import generate
from tests.assessments.conftest import World
from tests.assessments.test_authorization import session_cookie
from tests.assessments.test_walkthroughs import ok

CSRF = "csrf-of-the-builder"
MOMENTS = ("during", "immediately_after", "later_while_open", "after_close")
SWITCHES = ("correctness", "marks", "feedback", "right_answer")
WITHOUT_CORRECTNESS = {"during": {"correctness": False, "marks": False, "feedback": True}}
REVIEW_FIELD = ["settings", "review", "during", "correctness"]


@dataclass
class Staffroom:
    world: World
    course: Course
    teacher: dict[str, str]
    student: dict[str, str]

    def create(self, **settings: Any) -> Any:
        assert self.world.client is not None
        return self.world.client.post(
            "/api/v1/courses/llms/quizzes", headers=self.teacher,
            json={"title": "Check", "settings": settings, "sections": [{"items": ["single"]}]})

    def quizzes(self) -> int:
        return int(self.world.db.scalar(select(func.count()).select_from(Quiz)) or 0)

    def builder(self, form: dict[str, str]) -> Any:
        """The builder page's form posted as the instructor (signed in by session cookie)."""
        api = self.world.client
        assert api is not None
        return api.post("/courses/llms/quizzes/new", data={CSRF_FIELD: CSRF, **form}, follow_redirects=False)


@pytest.fixture
def room(world: World) -> Staffroom:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    ada = world.user("ada")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (ada, CourseRole.STUDENT))
    api = world.client
    assert api is not None
    settings = api.app.state.settings  # type: ignore[attr-defined]
    api.cookies.set(*session_cookie(settings, user_id=teacher.id, csrf=CSRF)["cookie"].split("=", 1))
    return Staffroom(world, course, world.headers(teacher), world.headers(ada))


def builder_form(**fields: str) -> dict[str, str]:
    """The builder's form as the page first shows it (its defaults), with ``fields`` changed;
    a field given as "" is a checkbox left unticked."""
    form = {"title": "Built", "sections": "3", "section-0-items": "single", "behaviour": "deferredfeedback",
            "tries": "3", "attempts_allowed": "1", "grading_method": "highest", "shuffle_options": "on"}
    form |= {f"review-{m}-{s}": "on" for m in MOMENTS for s in SWITCHES if not (m == "during" and s == "right_answer")}
    form |= fields
    return {name: value for name, value in form.items() if value != ""}


# --- interactive without correctness during the attempt -------------------------------------------


def test_an_interactive_quiz_without_correctness_during_the_attempt_is_refused(room: Staffroom) -> None:
    refused = room.create(behaviour="interactive", review=WITHOUT_CORRECTNESS)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_quiz"
    assert [d["path"] for d in error["details"]] == [REVIEW_FIELD]
    message = error["details"][0]["message"]
    assert "Try again" in message and "whether an answer was right" in message
    assert room.quizzes() == 0, "nothing is made"
    # The other behaviours show nothing of a try before the question is finished: allowed.
    for behaviour in ("deferredfeedback", "immediatefeedback"):
        ok(room.create(behaviour=behaviour, review=WITHOUT_CORRECTNESS), 201)
    ok(room.create(behaviour="interactive"), 201)  # correctness during the attempt is on by default


def test_the_builder_refuses_it_at_the_field_and_keeps_what_was_chosen(room: Staffroom) -> None:
    page = room.builder(builder_form(behaviour="interactive", **{"review-during-correctness": ""}))
    assert page.status_code == 400, page.text[:2000]
    assert room.quizzes() == 0
    html = page.text
    # The summary links to the field, and the message is said again beside it.
    assert re.search(r'<a href="#review-during-correctness">[^<]*Try again', html), html
    assert html.count("whether an answer was right") == 2
    assert 'id="review-during-correctness"' in html
    assert not re.search(r'name="review-during-correctness"[^>]*checked', html), "the box stays unticked"
    assert re.search(r'<option value="interactive" selected>', html), "the behaviour stays chosen"


def test_a_quiz_stored_that_way_before_still_loads_and_runs(room: Staffroom) -> None:
    quiz = room.world.quiz(room.course, ["single"], behaviour="interactive",
                           review={m: dict.fromkeys(SWITCHES, False) for m in MOMENTS})
    api = room.world.client
    assert api is not None
    shown = ok(api.get(f"/api/v1/quizzes/{quiz.id}", headers=room.teacher))
    assert (shown["settings"]["behaviour"], shown["settings"]["review"]["during"]["correctness"]) == (
        "interactive", False)
    ok(api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=room.student), 201)
    assert api.get(f"/quizzes/{quiz.id}").status_code == 200


# --- options in authored order ------------------------------------------------------------------------


def first_key_share(room: Staffroom) -> tuple[int, int, int]:
    """(variants whose key is the first option, variants, items) over the bank's single-choice
    items, each in authored order for as many seeds as the service measures: worked out here one
    variant at a time."""
    first = total = 0
    versions = room.world.db.scalars(select(ItemVersion).join(Item, (Item.id == ItemVersion.item_id) & (
        Item.current_number == ItemVersion.number)).where(ItemVersion.type == "single_choice")).all()
    for version in versions:
        model = item_model(version).model_copy(update={"shuffle": False})
        for seed in range(FIRST_KEY_SEEDS):
            variant = generate(model, seed)
            first += qtype_for(model).correct_response(model, variant)["choice"] == 0
            total += 1
    return first, total, len(versions)


def test_a_quiz_without_shuffling_is_made_with_a_warning_measured_on_the_bank(room: Staffroom) -> None:
    first, total, items = first_key_share(room)
    assert items >= 2 and 0 < first < total
    made = ok(room.create(shuffle_options=False), 201)
    assert made["settings"]["shuffle_options"] is False and room.quizzes() == 1
    [warning] = made["warnings"]
    assert (warning["code"], warning["path"]) == ("options_not_shuffled", ["settings", "shuffle_options"])
    assert f"{first / total:.0%} of" in warning["message"] and f"{items} single-choice items" in warning["message"]
    assert ok(room.create(), 201)["warnings"] == []


def test_the_builder_warns_beside_the_shuffle_box(room: Staffroom) -> None:
    first, total, _ = first_key_share(room)
    api = room.world.client
    assert api is not None
    page = api.get("/courses/llms/quizzes/new")
    assert page.status_code == 200
    warning = re.search(r'<p class="hint warning" id="shuffle-options-warning">(.*?)</p>', page.text, re.DOTALL)
    assert warning is not None and f"{first / total:.0%} of" in warning.group(1)
    assert 'aria-describedby="shuffle-options-warning"' in page.text
    # Left unticked, the quiz is made (a warning, not a refusal).
    made = room.builder(builder_form(shuffle_options=""))
    assert made.status_code == 303 and room.quizzes() == 1
