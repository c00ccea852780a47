"""Grading by question over REST: a slot's responses in a queue, marks given out of the maximum,
names hidden while grading, and responses shown as their students saw them."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from assessments.grading.marking import shown_response
from assessments.models import GradeChange
from engine.attempts import QuestionAttempt
from engine.behaviours import behaviour_for
from engine.items import parse_item
from engine.variants import generate
from tests.assessments.conftest import World
from tests.assessments.test_grading_support import Classroom, classroom
from tests.engine import samples

ESSAYS = {
    "alice": "The policy exploits a flaw in the reward model instead of improving.",
    "bob": "Reward hacking: the score climbs while the answers get worse.",
    "carol": "The reward model is fooled by long answers, so the policy writes long answers.",
}


@pytest.fixture
def room(world: World) -> Classroom:
    return classroom(world)


def _quiz(room: Classroom) -> int:
    """An essay worth 4 and a single choice worth 1 (marked negatively: a wrong choice costs half)."""
    return room.quiz_by_api([{"items": ["essay"], "mark": 4}, {"items": ["single"], "mark": 1}])


def _class_takes(room: Classroom, quiz_id: int) -> dict[str, int]:
    """Alice, Bob and Carol answer (in that order) and the teacher previews the quiz."""
    carol = room.student("carol")
    attempts = {user.username: room.take(user, quiz_id, {1: {"text": ESSAYS[user.username]}, 2: {"choice": 0}})
                for user in (room.alice, room.bob, carol)}
    room.take(room.teacher, quiz_id, {1: {"text": "A preview, counted nowhere."}})
    return attempts


def _queue(room: Classroom, quiz_id: int, slot: int = 1, **params: str) -> dict[str, Any]:
    reply = room.api.get(f"/api/v1/quizzes/{quiz_id}/slots/{slot}/responses", headers=room.as_(room.teacher),
                         params=params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_an_essay_is_graded_in_the_queue_for_three_students(room: Classroom) -> None:
    quiz_id = _quiz(room)
    attempts = _class_takes(room, quiz_id)

    # Every student's essay waits, in the order they first finished; the preview is not there.
    queue = _queue(room, quiz_id)
    assert (queue["state"], queue["total"], queue["ungraded"], queue["anonymous"]) == ("ungraded", 3, 3, False)
    rows = queue["responses"]
    assert isinstance(rows, list)
    assert [(r["student"], r["username"], r["attempt_id"], r["response"]) for r in rows] == [
        (name.title(), name, attempts[name], ESSAYS[name]) for name in ("alice", "bob", "carol")]
    first = rows[0]
    assert (first["state"], first["needs_grading"], first["mark"], first["max_mark"], first["min_mark"]) == (
        "needsgrading", True, None, 4.0, 0.0)
    assert (first["item"], first["stem"], first["answered"]) == ("Explain", "Explain reward hacking.", True)
    assert [(c["id"], [level["points"] for level in c["levels"]]) for c in first["rubric"]] == [
        ("mechanism", [0.0, 2.0, 4.0]), ("safeguard", [0.0, 1.0])]

    # Anonymised: numbers instead of names, the same number for the same student.
    hidden = _queue(room, quiz_id, anonymous="true")
    assert hidden["anonymous"] is True
    assert [(r["student"], r["student_number"], r["user_id"], r["username"]) for r in hidden["responses"]] == [
        ("Student 1", 1, None, None), ("Student 2", 2, None, None), ("Student 3", 3, None, None)]
    assert not any(name in str(hidden) for name in ("alice", "Alice", "bob", "Bob", "carol", "Carol"))

    # Bob's essay gets 3 marks out of 4: a mark, not a fraction, through the manual grade.
    graded = room.api.post(f"/api/v1/attempts/{attempts['bob']}/slots/1/grade", headers=room.as_(room.teacher),
                           json={"mark": 3, "comment": "Say which flaw.", "reason": "queue"})
    assert graded.status_code == 200, graded.text
    assert (graded.json()["fraction"], graded.json()["mark"], graded.json()["state"]) == (0.75, 3.0, "mangrpartial")
    audit = room.world.db.query(GradeChange).filter_by(attempt_id=attempts["bob"]).one()
    assert (audit.new_mark, audit.reason) == (3.0, "queue")

    # Two wait now; the whole queue puts them first, then Bob's, graded.
    waiting = _queue(room, quiz_id)
    assert (waiting["total"], waiting["ungraded"]) == (2, 2)
    assert [r["attempt_id"] for r in waiting["responses"]] == [attempts["alice"], attempts["carol"]]
    everyone = _queue(room, quiz_id, state="all")
    assert (everyone["total"], everyone["ungraded"]) == (3, 2)
    bob = everyone["responses"][2]
    assert (bob["attempt_id"], bob["mark"], bob["comment"], bob["needs_grading"]) == (
        attempts["bob"], 3.0, "Say which flaw.", False)

    # Paged as every list is: a Link to the next page, the total over every page.
    paged = room.api.get(f"/api/v1/quizzes/{quiz_id}/slots/1/responses", headers=room.as_(room.teacher),
                         params={"state": "all", "limit": 2})
    assert [r["attempt_id"] for r in paged.json()["responses"]] == [attempts["alice"], attempts["carol"]]
    assert paged.json()["total"] == 3
    assert paged.headers["link"] == (f'</api/v1/quizzes/{quiz_id}/slots/1/responses'
                                     '?state=all&limit=2&offset=2>; rel="next"')
    last = room.api.get(f"/api/v1/quizzes/{quiz_id}/slots/1/responses", headers=room.as_(room.teacher),
                        params={"state": "all", "limit": 2, "offset": 2})
    assert [r["attempt_id"] for r in last.json()["responses"]] == [attempts["bob"]]
    assert "link" not in last.headers

    # By rubric and by mark, the other two; once none waits, names show even when hidden was asked.
    for name, body in (("alice", {"rubric": {"mechanism": 2, "safeguard": 1}}), ("carol", {"mark": 2.5})):
        reply = room.api.post(f"/api/v1/attempts/{attempts[name]}/slots/1/grade", headers=room.as_(room.teacher),
                              json=body)
        assert reply.status_code == 200, reply.text
    done = _queue(room, quiz_id, state="all", anonymous="true")
    assert (done["total"], done["ungraded"], done["anonymous"]) == (3, 0, False)
    assert [(r["student"], r["mark"], r["rubric_selected"]) for r in done["responses"]] == [
        ("Alice", 4.0, {"mechanism": 2, "safeguard": 1}), ("Bob", 3.0, None), ("Carol", 2.5, None)]
    assert _queue(room, quiz_id)["responses"] == []


def test_the_questions_to_grade_and_a_choice_shown_in_words(room: Classroom) -> None:
    quiz_id = _quiz(room)
    _class_takes(room, quiz_id)
    slots = room.api.get(f"/api/v1/quizzes/{quiz_id}/slots/2/responses", headers=room.as_(room.teacher),
                         params={"state": "all"}).json()
    # The single choice graded itself: nothing waits, and the answer reads as the option's text.
    assert (slots["total"], slots["ungraded"]) == (3, 0)
    first = slots["responses"][0]
    assert first["response"] in {"Model A", "Model B", "They tie"}
    assert first["min_mark"] == -0.5 and first["rubric"] is None


@pytest.mark.parametrize(("body", "message"), [
    ({"mark": 5}, "the mark must be 4 or less: the question is out of 4"),
    ({"mark": -1}, "the mark must be 0 or more"),
    ({"mark": 2, "fraction": 0.5}, "give a mark or a fraction, not both"),
])
def test_a_mark_out_of_range_is_refused_and_changes_nothing(room: Classroom, body: dict[str, float],
                                                            message: str) -> None:
    quiz_id = _quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: {"text": ESSAYS["alice"]}})
    steps = room.steps(room.row(attempt_id, 1).id)
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/grade", headers=room.as_(room.teacher), json=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == "invalid_grade"
    assert reply.json()["error"]["message"] == message
    assert room.steps(room.row(attempt_id, 1).id) == steps


def test_a_negative_mark_where_the_item_marks_negatively(room: Classroom) -> None:
    quiz_id = _quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {2: {"choice": 0}})
    reply = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/2/grade", headers=room.as_(room.teacher),
                          json={"mark": -0.5})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["mark"], reply.json()["fraction"]) == (-0.5, -0.5)
    too_low = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/2/grade", headers=room.as_(room.teacher),
                            json={"mark": -0.75})
    assert too_low.json()["error"]["message"] == "the mark must be -0.5 or more"


def test_who_may_read_the_queue(room: Classroom) -> None:
    quiz_id = _quiz(room)
    url = f"/api/v1/quizzes/{quiz_id}/slots/1/responses"
    assert room.api.get(url, headers=room.as_(room.alice)).status_code == 403
    assert room.api.get(url, headers=room.as_(room.outsider)).status_code == 404
    missing = room.api.get(f"/api/v1/quizzes/{quiz_id}/slots/3/responses", headers=room.as_(room.teacher))
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no question 3 in this quiz"
    bad = room.api.get(url, headers=room.as_(room.teacher), params={"state": "some"})
    assert bad.status_code == 422


def _answered(definition: str, response: dict[str, object]) -> QuestionAttempt:
    item = parse_item(yaml.safe_load(textwrap.dedent(definition)))
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    behaviour = behaviour_for("manualgraded" if item.type_name == "essay" else "deferredfeedback")
    qa = QuestionAttempt.start(generate(item, 7), behaviour, actor="s", at=at)
    qa.process("save", response, actor="s", at=at)
    return qa


def test_responses_read_as_the_student_gave_them() -> None:
    # A number with the unit that stood beside its box.
    in_nats = samples.NUMERIC.replace("tolerance:", "unit: nats\ntolerance:")
    assert shown_response(_answered(in_nats, {"answer": "0,75"})) == "0,75 nats"
    assert shown_response(_answered(samples.NUMERIC, {"answer": "0.75"})) == "0.75"
    # The chosen options' texts, in the order shown; an essay's whole text; nothing answered.
    single = _answered(samples.SINGLE, {"choice": 2})
    assert shown_response(single) == single.qtype.render(single.item, single.variant)["options"][2]["text"]
    long_essay = "word " * 120
    assert shown_response(_answered(samples.ESSAY.replace("max_words: 50", "max_words: 500"),
                                    {"text": long_essay})) == long_essay
    assert shown_response(_answered(samples.ESSAY, {"text": "  "})) == ""
