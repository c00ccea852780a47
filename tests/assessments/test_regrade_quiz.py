"""The quiz regrade against the one it replaced, on real databases; marks a person pinned.

``_reference_regrade`` is the regrade as it was before it was batched (attempt by attempt, one
variant and one replay at a time through the ORM), kept here as the reference: on quizzes under
each behaviour (deferred feedback, immediate feedback, interactive with penalties: tries, checks
and try-agains over the API), with a fixed key, a teacher's override and an essay graded by
rubric, the new regrade's dry run and commit report exactly what it reports, and the committed
question attempts hold exactly its replayed steps.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.attempts import repository as attempts
from assessments.attempts.service import engine_attempt, totals
from assessments.bank.service import variant_of
from assessments.grading import repository
from assessments.models import Attempt, GradeChange, Item, ItemVersion, Step, User
from engine.attempts import AttemptError
from tests.assessments.conftest import Clock, World
from tests.assessments.test_grading_regrade import ESSAY_TEXT, _definition, _put, _swap_the_numeric_key, swapped
from tests.assessments.test_grading_support import Classroom, classroom


@pytest.fixture
def room(world: World) -> Classroom:
    return classroom(world)


# --- the reference: the regrade as it was, one attempt and one question at a time ----------------


Replayed = dict[tuple[int, int], list[dict[str, Any]]]


def _reference_regrade(session: Session, quiz_id: int) -> tuple[dict[str, Any], Replayed]:
    """The old dry run's report (as JSON) and each replayed question's steps by (attempt, slot)."""
    pins = repository.pinned_versions(session, quiz_id)
    students: dict[int, dict[str, Any]] = {}
    replayed: Replayed = {}
    problems = []
    count = 0
    for attempt_id in repository.stale_attempt_ids(session, quiz_id):
        attempt = attempts.attempt(session, attempt_id)
        assert attempt is not None
        rows = attempts.question_attempts(session, attempt.id)
        steps = attempts.steps_of(session, [r.id for r in rows])
        questions = [(row, engine_attempt(session, row, [s.data for s in steps[row.id]])) for row in rows]
        replays = []
        for row, qa in questions:
            given = session.get(ItemVersion, row.item_version_id)
            target = pins.get(given.item_id) if given is not None else None
            if target is None or target.id == row.item_version_id:
                continue
            key = session.get(Item, target.item_id).key  # type: ignore[union-attr]
            try:
                variant = variant_of(target, row.seed, shuffle=bool(row.variant.get("shuffle", True)),
                                     shown=row.variant.get("order"))
                replays.append((row, qa, target, key, given, qa.regrade(variant)))
            except (AttemptError, ValueError) as exc:
                problems.append({"attempt_id": attempt.id, "slot": row.slot, "item": key,
                                 "new_version": target.number, "message": str(exc)})
        if not replays:
            continue
        new = {row.id: replay for row, _, _, _, _, replay in replays}
        marks, _ = totals([(row, new.get(row.id, qa)) for row, qa in questions])
        user = session.get(User, attempt.user_id)
        assert user is not None
        student = students.setdefault(user.id, {"user_id": user.id, "username": user.username,
                                                "display_name": user.display_name, "attempts": []})
        student["attempts"].append({
            "attempt_id": attempt.id, "number": attempt.number, "preview": attempt.preview,
            "old_marks": attempt.marks, "new_marks": marks,
            "max_marks": attempt.max_marks, "questions": [
                {"slot": row.slot, "item": key, "old_version": given.number, "new_version": target.number,
                 "old_state": qa.state.value, "new_state": replay.state.value, "old_fraction": qa.fraction,
                 "new_fraction": replay.fraction, "old_mark": qa.mark, "new_mark": replay.mark}
                for row, qa, target, key, given, replay in replays]})
        for row, _, _, _, _, replay in replays:
            replayed[(attempt.id, row.slot)] = [s.to_json() for s in replay.steps]
        count += len(replays)
    for student in students.values():
        student["attempts"].sort(key=lambda a: a["number"])
    report = {"questions": count, "students": sorted(students.values(), key=lambda s: s["username"]),
              "problems": problems}
    return report, replayed


def _regrade(room: Classroom, quiz_id: int, *, dry_run: bool) -> dict[str, Any]:
    reply = room.api.post(f"/api/v1/quizzes/{quiz_id}/regrade?dry_run={str(dry_run).lower()}",
                          headers=room.as_(room.teacher))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _json_floats(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the API would send it (marks through the API's JSON)."""
    import json

    return json.loads(json.dumps(report))


def _interactive_tries(room: Classroom, student: User, quiz_id: int) -> int:
    """Check a wrong answer, try again, check the key (a penalty), check nothing else; submit."""
    me = room.as_(student)
    started = room.api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=me).json()
    attempt_id = started["id"]
    seq = started["questions"][0]["seq"]
    wrong = swapped(room)(attempt_id, 1)
    checked = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/check", headers=me,
                            json={"response": wrong, "seq": seq})
    assert checked.status_code == 200, checked.text
    again = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/try-again", headers=me,
                          json={"seq": checked.json()["seq"]})
    assert again.status_code == 200, again.text
    right = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/check", headers=me,
                          json={"response": room.key(attempt_id, 1), "seq": again.json()["seq"]})
    assert right.status_code == 200, right.text
    assert room.api.post(f"/api/v1/attempts/{attempt_id}/submit", headers=me).status_code == 200
    return int(attempt_id)


@pytest.mark.parametrize("behaviour", ["deferredfeedback", "immediatefeedback", "interactive"])
def test_the_regrade_reports_and_writes_what_the_one_by_one_replay_does(room: Classroom, clock: Clock,
                                                                         behaviour: str) -> None:
    quiz = room.quiz(["numeric", "seed", "tf", "essay"], behaviour=behaviour)
    carol, dan = room.student("carol"), room.student("dan")
    wrong = swapped(room)
    room.take(room.alice, quiz.id, {1: "key", 2: "key", 3: "key", 4: ESSAY_TEXT})
    bob = room.take(room.bob, quiz.id, {1: wrong, 2: {"choices": [0]}, 4: ESSAY_TEXT})
    room.take(carol, quiz.id, {1: {"answer": "not a number"}, 3: {"answer": False}})
    if behaviour == "interactive":
        _interactive_tries(room, dan, quiz.id)
    else:
        room.take(dan, quiz.id, {1: wrong, 2: {"choices": [1, 2]}})
    teacher = room.as_(room.teacher)
    assert room.api.post(f"/api/v1/attempts/{bob}/slots/1/grade", headers=teacher,
                         json={"fraction": 0.25}).status_code == 200
    assert room.api.post(f"/api/v1/attempts/{bob}/slots/4/grade", headers=teacher,
                         json={"rubric": {"mechanism": 1, "safeguard": 1}}).status_code == 200
    _swap_the_numeric_key(room)
    essay = _definition(room, "essay")
    essay["rubric"]["criteria"][1]["levels"][1]["points"] = 2
    _put(room, "essay", essay)
    clock.advance(minutes=5)

    reference, replayed = _reference_regrade(room.world.db, quiz.id)
    assert reference["questions"] == 8 and reference["problems"] == []
    dry = _regrade(room, quiz.id, dry_run=True)
    assert {k: dry[k] for k in reference} == _json_floats(reference)
    committed = _regrade(room, quiz.id, dry_run=False)
    assert committed == {**dry, "dry_run": False, "committed": True}

    db = room.world.db
    db.expire_all()
    for (attempt_id, slot), steps in replayed.items():
        row = room.row(attempt_id, slot)
        stored = list(db.scalars(select(Step.data).where(Step.question_attempt_id == row.id).order_by(Step.seq)))
        assert stored == _json_floats({"s": steps})["s"], (attempt_id, slot)
    marks = {a["attempt_id"]: a["new_marks"] for s in reference["students"] for a in s["attempts"]}
    assert {a: db.get(Attempt, a).marks for a in marks} == marks  # type: ignore[union-attr]
    changes = list(db.scalars(select(GradeChange).where(GradeChange.quiz_id == quiz.id,
                                                        GradeChange.kind == "regrade")))
    assert len(changes) == 8 and {(c.attempt_id, c.slot) for c in changes} == set(replayed)


def test_a_pinned_mark_is_listed_with_what_the_regrade_would_give_and_can_be_cleared(room: Classroom,
                                                                                   clock: Clock) -> None:
    quiz = room.quiz(["numeric", "tf"])
    attempt_id = room.take(room.alice, quiz.id, {1: swapped(room), 2: "key"})
    teacher = room.as_(room.teacher)
    alice = room.as_(room.alice)
    given = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/1/grade", headers=teacher,
                          json={"fraction": 0.5, "comment": "Half for the working."})
    assert given.json()["state"] == "mangrpartial"
    review = room.api.get(f"/api/v1/attempts/{attempt_id}", headers=alice).json()
    assert review["questions"][0]["set_by_teacher"] is True and "set_by_teacher" not in review["questions"][1]
    _swap_the_numeric_key(room)
    clock.advance(minutes=5)

    dry = _regrade(room, quiz.id, dry_run=True)
    assert dry["pinned"] == [{
        "attempt_id": attempt_id, "number": 1, "user_id": room.alice.id, "username": "alice",
        "display_name": "Alice", "slot": 1, "item": "numeric", "kind": "override", "state": "mangrpartial",
        "mark": 0.5, "would_be_state": "gradedright", "would_be_mark": 1.0, "max_mark": 1.0}]
    assert dry["students"][0]["attempts"][0]["questions"][0]["new_mark"] == 0.5  # the override stands

    # Cleared: the engine's mark again (wrong, before the fix), in the audit trail; nothing left to clear.
    cleared = room.api.request("DELETE", f"/api/v1/attempts/{attempt_id}/slots/1/grade", headers=teacher,
                               json={"reason": "The key was wrong; let the regrade decide."})
    assert cleared.status_code == 200, cleared.text
    assert {k: cleared.json()[k] for k in ("state", "fraction", "mark", "marks")} == {
        "state": "gradedwrong", "fraction": 0.0, "mark": 0.0, "marks": 1.0}
    (change,) = room.world.db.scalars(select(GradeChange).where(GradeChange.kind == "grade_cleared"))
    assert (change.old_state, change.new_state, change.old_mark, change.new_mark, change.actor_id, change.reason) == (
        "mangrpartial", "gradedwrong", 0.5, 0.0, room.teacher.id, "The key was wrong; let the regrade decide.")
    again = room.api.request("DELETE", f"/api/v1/attempts/{attempt_id}/slots/1/grade", headers=teacher)
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_clear"
    review = room.api.get(f"/api/v1/attempts/{attempt_id}", headers=alice).json()
    assert "set_by_teacher" not in review["questions"][0]
    assert review["questions"][0]["feedback"][-1] == "Half for the working."  # the comment stays

    # Now the regrade moves the mark, and no mark is pinned.
    dry = _regrade(room, quiz.id, dry_run=True)
    assert dry["pinned"] == []
    assert dry["students"][0]["attempts"][0]["questions"][0]["new_mark"] == 1.0
    committed = _regrade(room, quiz.id, dry_run=False)
    assert committed["students"][0]["attempts"][0]["new_marks"] == 2.0


def test_clearing_refuses_an_attempt_in_progress_and_a_missing_slot(room: Classroom) -> None:
    quiz = room.quiz(["numeric"])
    teacher = room.as_(room.teacher)
    open_attempt = room.take(room.alice, quiz.id, {1: "key"}, submit=False)
    refused = room.api.request("DELETE", f"/api/v1/attempts/{open_attempt}/slots/1/grade", headers=teacher)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "attempt_in_progress"
    done = room.take(room.bob, quiz.id, {1: "key"})
    missing = room.api.request("DELETE", f"/api/v1/attempts/{done}/slots/9/grade", headers=teacher)
    assert missing.status_code == 404
    too_long = room.api.request("DELETE", f"/api/v1/attempts/{done}/slots/1/grade", headers=teacher,
                                json={"reason": "x" * 2001})
    assert too_long.status_code == 422
