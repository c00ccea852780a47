"""Regrade over REST: an item is fixed through the API and the quiz moved to the new version, a
dry run shows each student's diff and
changes nothing, the commit replaces question attempts (keeping the old ones) and the new
fractions show; a second regrade finds nothing to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from assessments.models import Attempt, Item, ItemVersion, QuestionAttempt, QuizItem, Step
from engine.functions import ranking_loss
from tests.assessments.conftest import T0, Clock, World
from tests.assessments.test_grading_support import Classroom, classroom

ESSAY_TEXT = {"text": "The policy exploits a flaw in the reward model instead of improving."}


@pytest.fixture
def room(world: World) -> Classroom:
    return classroom(world)


def _definition(room: Classroom, key: str) -> dict[str, Any]:
    item = room.api.get(f"/api/v1/items/{key}", headers=room.as_(room.teacher))
    assert item.status_code == 200, item.text
    definition: dict[str, Any] = item.json()["definition"]
    return definition


def _put(room: Classroom, key: str, definition: dict[str, Any]) -> int:
    """The teacher publishes a new version, and moves every quiz of the course that gives the
    item to it (a new version reaches a quiz only when its instructors choose it)."""
    saved = room.api.put(f"/api/v1/items/{key}", headers=room.as_(room.teacher), json=definition)
    assert saved.status_code == 200, saved.text
    quizzes = room.world.db.scalars(select(QuizItem.quiz_id).join(Item, Item.id == QuizItem.item_id)
                                    .where(Item.key == key).distinct())
    for quiz_id in quizzes:
        moved = room.api.post(f"/api/v1/quizzes/{quiz_id}/pins?dry_run=false", headers=room.as_(room.teacher),
                              json={"items": [key]})
        assert moved.status_code == 200, moved.text
    return int(saved.json()["version"])


def _swap_the_numeric_key(room: Classroom) -> int:
    """The "fix": the key becomes the loss with the scores swapped (and the old key a misconception)."""
    definition = _definition(room, "numeric")
    definition["answer"] = "ranking_loss(r_l, r_w)"
    definition["misconceptions"] = {"forgot-the-log": "1 - sigmoid(r_w - r_l)",
                                    "unswapped": "ranking_loss(r_w, r_l)"}
    return _put(room, "numeric", definition)


def swapped(room: Classroom) -> Callable[[int, int], dict[str, str]]:
    """The student's own variant's loss with the scores swapped: wrong before the fix, right after."""
    def answer(attempt_id: int, slot: int) -> dict[str, str]:
        variant = room.variant(attempt_id, slot)
        return {"answer": f"{float(ranking_loss(variant.value('r_l'), variant.value('r_w'))):.12g}"}
    return answer


def _regrade(room: Classroom, quiz_id: int, *, dry_run: bool) -> dict[str, Any]:
    reply = room.api.post(f"/api/v1/quizzes/{quiz_id}/regrade?dry_run={str(dry_run).lower()}",
                          headers=room.as_(room.teacher))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _question_rows(room: Classroom, attempt_id: int) -> list[QuestionAttempt]:
    return list(room.world.db.scalars(select(QuestionAttempt).where(QuestionAttempt.attempt_id == attempt_id)
                                      .order_by(QuestionAttempt.id)))


def _snapshot(room: Classroom, attempt_id: int) -> list[tuple[Any, ...]]:
    """Every question attempt of the attempt with its steps, as stored."""
    return [(row.id, row.slot, row.item_version_id, row.replaced_at, room.steps(row.id))
            for row in _question_rows(room, attempt_id)]


def _question(old_version: int, new_version: int, old: tuple[str, float], new: tuple[str, float],
              slot: int = 1, item: str = "numeric", max_mark: float = 1.0) -> dict[str, Any]:
    return {"slot": slot, "item": item, "old_version": old_version, "new_version": new_version,
            "old_state": old[0], "new_state": new[0], "old_fraction": old[1], "new_fraction": new[1],
            "old_mark": old[1] * max_mark, "new_mark": new[1] * max_mark}


def test_a_fixed_key_is_regraded_after_a_dry_run(room: Classroom, clock: Clock) -> None:
    quiz = room.quiz(["numeric"])
    carol = room.student("carol")
    right = room.take(room.alice, quiz.id, {1: "key"})
    wrong = room.take(room.bob, quiz.id, {1: swapped(room)})
    open_attempt = room.take(carol, quiz.id, {1: "key"}, submit=False)
    assert (room.world.db.get(Attempt, right).marks, room.world.db.get(Attempt, wrong).marks) == (1.0, 0.0)
    v1 = room.row(right, 1).item_version_id

    assert _swap_the_numeric_key(room) == 2
    clock.advance(minutes=30)
    before = {a: _snapshot(room, a) for a in (right, wrong, open_attempt)}

    expected_students = [
        {"user_id": room.alice.id, "username": "alice", "display_name": "Alice", "attempts": [
            {"attempt_id": right, "number": 1, "preview": False, "old_marks": 1.0, "new_marks": 0.0, "max_marks": 1.0,
             "questions": [_question(1, 2, ("gradedright", 1.0), ("gradedwrong", 0.0))]}]},
        {"user_id": room.bob.id, "username": "bob", "display_name": "Bob", "attempts": [
            {"attempt_id": wrong, "number": 1, "preview": False, "old_marks": 0.0, "new_marks": 1.0, "max_marks": 1.0,
             "questions": [_question(1, 2, ("gradedwrong", 0.0), ("gradedright", 1.0))]}]},
    ]
    dry = _regrade(room, quiz.id, dry_run=True)
    assert dry == {"quiz_id": quiz.id, "dry_run": True, "committed": False, "at": "2026-11-02T09:30:00Z",
                   "questions": 2, "skipped_in_progress": 1, "students": expected_students, "problems": [],
                   "pinned": []}
    # A dry run changes nothing.
    assert {a: _snapshot(room, a) for a in before} == before
    assert (room.world.db.get(Attempt, right).marks, room.world.db.get(Attempt, wrong).marks) == (1.0, 0.0)

    committed = _regrade(room, quiz.id, dry_run=False)
    assert committed == {**dry, "dry_run": False, "committed": True}

    # The old question attempt is kept as it was, marked replaced; a new one holds the replay.
    old, new = _question_rows(room, right)
    assert (old.item_version_id, old.replaced_at, new.replaced_at) == (v1, clock.now, None)
    assert room.steps(old.id) == before[right][0][4]
    v2 = room.world.db.scalars(select(ItemVersion.id).where(ItemVersion.item_id == room.world.db.get(
        ItemVersion, v1).item_id, ItemVersion.number == 2)).one()
    assert (new.item_version_id, new.seed, new.slot, new.behaviour, new.max_mark) == (
        v2, old.seed, 1, "deferredfeedback", 1.0)
    assert new.variant["shuffle"] == old.variant["shuffle"]
    assert [s[1:] for s in room.steps(new.id)] == [
        ("start", "todo", None), ("save", "complete", None), ("finish", "gradedwrong", 0.0)]
    # The replayed steps keep their actor and time.
    replayed = room.world.db.scalars(select(Step).where(Step.question_attempt_id == new.id).order_by(Step.seq))
    assert {(s.actor_id, s.created_at) for s in replayed} == {(room.alice.id, T0)}

    # The new fractions show, to the students and in the attempts' marks.
    assert (room.world.db.get(Attempt, right).marks, room.world.db.get(Attempt, wrong).marks) == (0.0, 1.0)
    alice_view = room.api.get(f"/api/v1/attempts/{right}", headers=room.as_(room.alice)).json()
    assert alice_view["marks"] == 0.0 and alice_view["questions"][0]["outcome"] == "wrong"
    bob_view = room.api.get(f"/api/v1/attempts/{wrong}", headers=room.as_(room.bob)).json()
    assert bob_view["marks"] == 1.0 and bob_view["questions"][0]["outcome"] == "right"

    # The attempt in progress keeps its version; nothing is left to regrade.
    assert _snapshot(room, open_attempt) == before[open_attempt]
    for dry_run in (True, False):
        again = _regrade(room, quiz.id, dry_run=dry_run)
        assert (again["students"], again["questions"], again["committed"]) == ([], 0, False)
    assert room.world.db.scalar(select(func.count()).select_from(QuestionAttempt).where(
        QuestionAttempt.attempt_id.in_([right, wrong]))) == 4


def test_manual_grades_survive_a_regrade_and_rubric_selections_are_scored_again(room: Classroom) -> None:
    quiz = room.quiz(["numeric", "essay"])
    attempt_id = room.take(room.alice, quiz.id, {1: {"answer": "12345"}, 2: ESSAY_TEXT})
    teacher = room.as_(room.teacher)
    room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/grade", headers=teacher, json={"fraction": 0.5})
    graded = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/2/grade", headers=teacher,
                           json={"rubric": {"mechanism": 1, "safeguard": 1}, "comment": "Good."})
    assert graded.json()["marks"] == 1.1

    _swap_the_numeric_key(room)
    essay = _definition(room, "essay")
    essay["rubric"]["criteria"][1]["levels"][1]["points"] = 2  # naming a safeguard is worth 2 of 6
    assert _put(room, "essay", essay) == 2

    result = _regrade(room, quiz.id, dry_run=False)
    (student,) = result["students"]
    (attempt,) = student["attempts"]
    assert attempt["old_marks"] == 1.1 and attempt["new_marks"] == pytest.approx(0.5 + 4 / 6)
    numeric, essay_diff = attempt["questions"]
    assert numeric == _question(1, 2, ("mangrpartial", 0.5), ("mangrpartial", 0.5))
    assert essay_diff["new_fraction"] == pytest.approx(4 / 6)
    assert (essay_diff["item"], essay_diff["old_fraction"], essay_diff["new_state"]) == ("essay", 0.6, "mangrpartial")

    # The replayed grades are still the teacher's; grading again acts on the new question attempt.
    new_row = room.row(attempt_id, 2)
    last = room.world.db.scalars(select(Step).where(Step.question_attempt_id == new_row.id)
                                 .order_by(Step.seq.desc())).first()
    assert (last.action, last.actor_id, last.data["manual"]["comment"]) == ("manual_grade", room.teacher.id, "Good.")
    regraded = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/2/grade", headers=teacher,
                             json={"rubric": {"mechanism": 2, "safeguard": 1}})
    assert regraded.json()["marks"] == 1.5 and regraded.json()["seq"] == len(room.steps(new_row.id)) - 1


def test_a_fix_that_cannot_be_replayed_refuses_the_whole_regrade(room: Classroom) -> None:
    quiz = room.quiz(["tf", "numeric"])
    attempt_id = room.take(room.alice, quiz.id, {1: "key", 2: "key"})
    tf = _definition(room, "tf")
    _put(room, "tf", {**tf, "title": "More than a tie? (reworded)"})
    # The numeric item becomes an essay: a deferred-feedback question cannot be replayed as one.
    essay = {**_definition(room, "essay"), "id": "numeric"}
    _put(room, "numeric", essay)
    before = _snapshot(room, attempt_id)

    dry = _regrade(room, quiz.id, dry_run=True)
    assert dry["questions"] == 1 and dry["students"][0]["attempts"][0]["questions"] == [
        _question(1, 2, ("gradedright", 1.0), ("gradedright", 1.0), item="tf")]
    (problem,) = dry["problems"]
    assert {k: v for k, v in problem.items() if k != "message"} == {
        "attempt_id": attempt_id, "slot": 2, "item": "numeric", "new_version": 2}
    assert "graded by a person" in problem["message"] and "'deferredfeedback'" in problem["message"]

    refused = room.api.post(f"/api/v1/quizzes/{quiz.id}/regrade?dry_run=false", headers=room.as_(room.teacher))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("regrade_impossible", "the regrade was refused; nothing was changed")
    assert error["details"] == dry["problems"]
    assert _snapshot(room, attempt_id) == before


def test_a_dry_run_is_the_default(room: Classroom) -> None:
    quiz = room.quiz(["numeric"])
    attempt_id = room.take(room.alice, quiz.id, {1: "key"})
    _swap_the_numeric_key(room)
    reply = room.api.post(f"/api/v1/quizzes/{quiz.id}/regrade", headers=room.as_(room.teacher))
    assert reply.json()["dry_run"] is True and reply.json()["questions"] == 1
    assert len(_question_rows(room, attempt_id)) == 1


def test_only_the_course_instructors_regrade(room: Classroom) -> None:
    quiz = room.quiz(["numeric"])
    attempt_id = room.take(room.alice, quiz.id, {1: "key"})
    _swap_the_numeric_key(room)
    for dry_run in ("true", "false"):
        url = f"/api/v1/quizzes/{quiz.id}/regrade?dry_run={dry_run}"
        assert room.api.post(url).status_code == 401
        assert room.api.post(url, headers=room.as_(room.alice)).status_code == 403
        outsider = room.api.post(url, headers=room.as_(room.outsider))
        assert outsider.status_code == 404 and outsider.json()["error"]["message"] == f"no quiz {quiz.id}"
    assert room.api.post("/api/v1/quizzes/987654/regrade", headers=room.as_(room.teacher)).status_code == 404
    assert len(_question_rows(room, attempt_id)) == 1
