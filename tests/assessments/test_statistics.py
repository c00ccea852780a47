"""Quiz statistics through the API, and the flags a bad item raises."""

from __future__ import annotations

import csv
import io

from assessments.attempts.service import engine_attempts
from assessments.models import Attempt, CourseRole, Role
from engine.qtypes import qtype_for
from tests.assessments.conftest import World


def _answer(world: World, attempt_id: int, headers: dict[str, str], right: dict[int, bool]) -> None:
    """Answer each slot right or wrong, from the engine's own key for that student's variant."""
    api = world.client
    assert api is not None
    attempt = world.db.get(Attempt, attempt_id)
    assert attempt is not None
    for row, qa in engine_attempts(world.db, attempt):
        key = dict(qtype_for(qa.item).correct_response(qa.item, qa.variant))
        if not right[row.slot]:
            if "answer" in key and isinstance(key["answer"], bool):
                key = {"answer": not key["answer"]}
            elif "answer" in key:
                key = {"answer": str(float(key["answer"]) + 10)}
            elif "choices" in key:
                key = {"choices": [p for p in range(4) if p not in key["choices"]]}
            else:
                key = {"choice": (key["choice"] + 1) % 3}
        reply = api.put(f"/api/v1/attempts/{attempt_id}/responses/{row.slot}", headers=headers,
                        json={"response": key, "seq": 0})
        assert reply.status_code == 200, reply.text
    assert api.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers).status_code == 200


def test_statistics_flag_an_item_that_strong_students_get_wrong(world: World) -> None:
    api = world.client
    assert api is not None
    teacher = world.user("teacher", Role.INSTRUCTOR)
    students = [world.user(f"s{n}") for n in range(10)]
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR),
                          *((s, CourseRole.STUDENT) for s in students))
    quiz = world.quiz(course, ["tf", "numeric", "seed", "single"])
    for n, student in enumerate(students):
        headers = world.headers(student)
        started = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
        assert started.status_code == 201, started.text
        attempt_id = started.json()["id"]
        strong = n >= 4
        # slot 4 is the bad item: the strong students miss it, the weak ones get it
        _answer(world, attempt_id, headers, {1: strong, 2: strong or n == 0, 3: strong, 4: not strong})

    reply = api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=world.headers(teacher))
    assert reply.status_code == 200, reply.text
    stats = reply.json()
    assert stats["attempts"] == 10
    slot1, slot2, slot3, bad = stats["slots"]
    # the single-choice sample marks a wrong answer -0.5: facility (4 - 6 × 0.5) / 10
    assert [slot1["facility"], slot2["facility"], slot3["facility"], bad["facility"]] == [0.6, 0.7, 0.6, 0.1]
    assert bad["discrimination_index"] < 0 < slot1["discrimination_index"]
    assert "negative_discrimination" in [f["code"] for f in bad["flags"]]
    assert "negative_discrimination" not in [f["code"] for f in slot1["flags"]]
    assert stats["test"]["attempts"] == 10 and stats["test"]["mean"] == (6 + 7 + 6 + 4 - 3) / 10
    assert sum(stats["histogram"]) == 10

    table = api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=world.headers(teacher),
                    params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["slot"] for r in rows] == ["1", "2", "3", "4"] and "negative_discrimination" in rows[3]["flags"]

    item = api.get("/api/v1/items/single/statistics", headers=world.headers(teacher)).json()
    assert item["answers"] == 10 and item["facility"] == 0.1
    assert api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=world.headers(students[0])).status_code == 403
