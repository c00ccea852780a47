"""Per-item statistics of a quiz: options chosen, misconception rates among wrong answers, facility
by drawn parameter, "too few attempts", previews left out, and statistics kept until a grade changes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from assessments.attempts.service import engine_attempts
from assessments.db import Database
from assessments.migrations import upgrade
from assessments.models import Attempt, Course, CourseRole, Quiz, QuizStatisticsCache, Role, utcnow
from assessments.reports import service
from assessments.reports.repository import Fingerprint
from assessments.reports.schemas import QuizStatistics
from engine.functions import ranking_loss, sigmoid
from engine.qtypes import qtype_for
from tests.assessments.conftest import World
from tests.assessments.test_web import _sign_in

# the single-choice sample: options "Model A", "Model B" (one of them right per variant) and
# "They tie" (never right; it names the misconception order-only); a wrong answer costs 0.5
PICKS = ["key"] * 6 + ["tie"] * 4 + ["other"] * 2
# the numeric sample: the loss, or its misconceptions forgot-the-log and swapped
NUMBERS = ["key"] * 4 + ["forgot-the-log"] * 5 + ["swapped"] * 3


def _response(qa: Any, pick: str) -> dict[str, Any]:
    key = dict(qtype_for(qa.item).correct_response(qa.item, qa.variant))
    order = list(qa.variant.order) if qa.variant.order is not None else []
    if qa.item.type_name == "single_choice":
        right = order[key["choice"]]  # authored index of the right option
        authored = {"key": right, "tie": 2, "other": 1 - right}[pick]
        return {"choice": order.index(authored)}
    r_w, r_l = (float(qa.variant.values[name][0]) for name in ("r_w", "r_l"))
    value = {"key": float(ranking_loss(r_w, r_l)), "forgot-the-log": float(1 - sigmoid(r_w - r_l)),
             "swapped": float(ranking_loss(r_l, r_w))}[pick]
    return {"answer": f"{value:.6g}"}


def _take(world: World, user: Any, quiz_id: int, picks: dict[int, str]) -> int:
    api = world.client
    assert api is not None
    headers = world.headers(user)
    started = api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
    assert started.status_code == 201, started.text
    attempt_id = int(started.json()["id"])
    attempt = world.db.get(Attempt, attempt_id)
    assert attempt is not None
    for row, qa in engine_attempts(world.db, attempt):
        reply = api.put(f"/api/v1/attempts/{attempt_id}/responses/{row.slot}", headers=headers,
                        json={"response": _response(qa, picks[row.slot]), "seq": 0})
        assert reply.status_code == 200, reply.text
    assert api.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers).status_code == 200
    return attempt_id


def _class(world: World, students: int) -> tuple[Any, list[Any], Any]:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    pupils = [world.user(f"s{n:02d}") for n in range(students)]
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), *((s, CourseRole.STUDENT) for s in pupils))
    return teacher, pupils, world.quiz(course, ["single", "numeric"])


def test_statistics_count_options_and_the_misconceptions_of_wrong_answers(world: World) -> None:
    api = world.client
    assert api is not None
    teacher, students, quiz = _class(world, 12)
    for n, student in enumerate(students):
        _take(world, student, quiz.id, {1: PICKS[n], 2: NUMBERS[n]})
    _take(world, teacher, quiz.id, {1: "tie", 2: "swapped"})  # a preview: counted nowhere

    stats = api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=world.headers(teacher)).json()
    assert stats["attempts"] == 12 and stats["min_attempts_for_flags"] == 10
    single, numeric = stats["slots"]
    assert not single["too_few_attempts"] and single["facility"] == (6 - 6 * 0.5) / 12
    (item,) = single["breakdown"]
    assert (item["key"], item["answers"], item["graded"], item["wrong"]) == ("single", 12, 12, 6)
    assert [o["text"] for o in item["options"]] == ["Model A", "Model B", "They tie"]
    chosen = [o["chosen"] for o in item["options"]]
    assert chosen[2] == 4 and chosen[0] + chosen[1] == 8
    keys = [o["key"] for o in item["options"]]
    # A or B is right in each variant, never the tie: their shares over the 12 variants add to one
    assert keys[2] == 0.0 and keys[0] + keys[1] == pytest.approx(1.0) and 0 < keys[0] < 1
    assert [o["share"] for o in item["options"]] == [chosen[0] / 12, chosen[1] / 12, 4 / 12]
    assert item["misconceptions"] == [{"name": "order-only", "says": "only the order of the scores matters",
                                       "count": 4, "rate": 4 / 6}]
    assert item["unexplained"] == 2
    # 4 of the 6 wrong answers share a misconception: flagged (12 answers are enough to flag)
    assert "shared_misconception" in [f["code"] for f in single["flags"]]
    assert item["parameters"][0]["name"] == "a_w" and len(item["parameters"]) == 4

    (loss,) = numeric["breakdown"]
    assert numeric["facility"] == 4 / 12 and loss["wrong"] == 8 and loss["options"] == []
    rates = {m["name"]: (m["count"], m["rate"]) for m in loss["misconceptions"]}
    assert rates == {"forgot-the-log": (5, 5 / 8), "swapped": (3, 3 / 8)} and loss["unexplained"] == 0
    by_name = {p["name"]: p for p in loss["parameters"]}
    assert set(by_name) == {"r_w", "r_l"} and by_name["r_w"]["summary"] == "value"
    for parameter in by_name.values():
        bins = parameter["bins"]
        assert sum(b["count"] for b in bins) == 12
        assert sum(b["count"] * (b["facility"] or 0) for b in bins) == pytest.approx(4)  # the 4 right answers
        assert bins[0]["low"] < bins[-1]["high"]

    # the item across quizzes: the same misconception rates
    across = api.get("/api/v1/items/numeric/statistics", headers=world.headers(teacher)).json()
    assert across["answers"] == 12 and across["misconception_rates"] == {"forgot-the-log": 5 / 8, "swapped": 3 / 8}


def test_one_attempt_is_too_few_to_flag_and_a_preview_is_not_counted(world: World) -> None:
    api = world.client
    assert api is not None
    teacher, (student,), quiz = _class(world, 1)
    _take(world, teacher, quiz.id, {1: "key", 2: "key"})
    empty = api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=world.headers(teacher)).json()
    assert (empty["attempts"], empty["slots"]) == (0, [])
    _take(world, student, quiz.id, {1: "tie", 2: "swapped"})

    stats = api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=world.headers(teacher)).json()
    assert stats["attempts"] == 1
    for slot in stats["slots"]:
        # facility 0 from one answer would have said "too hard": too few to say anything
        assert slot["too_few_attempts"] and slot["flags"] == [] and slot["attempts"] == 1
    assert stats["slots"][1]["breakdown"][0]["misconceptions"][1] == {
        "name": "swapped", "says": "swapped", "count": 1, "rate": 1.0}

    _sign_in(world, "teacher")
    html = api.get(f"/quizzes/{quiz.id}/statistics").text
    assert "Too few attempts\n  (n = 1)" in html and "too few attempts (n = 1)" in html
    assert "order-only" in html and "swapped" in html and "1 of 1 (100%)" in html
    # one variant: one of A and B is its key; one answer spans no range of a parameter
    assert html.count("<strong>key</strong>") == 1 and "Facility by" not in html


def test_statistics_are_kept_until_an_attempt_finishes_or_a_grade_changes(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    api = world.client
    assert api is not None
    teacher, students, quiz = _class(world, 3)
    first = _take(world, students[0], quiz.id, {1: "tie", 2: "key"})
    url, headers = f"/api/v1/quizzes/{quiz.id}/statistics", world.headers(teacher)
    assert api.get(url, headers=headers).json()["slots"][0]["facility"] == -0.5
    kept = world.db.scalar(select(QuizStatisticsCache.fingerprint).where(QuizStatisticsCache.quiz_id == quiz.id))
    assert kept == f"1:{first}:0"

    computed = service.compute_quiz_statistics
    calls: list[int] = []
    monkeypatch.setattr(service, "compute_quiz_statistics",
                        lambda session, quiz_id, progress=None: calls.append(quiz_id) or computed(session, quiz_id))
    assert api.get(url, headers=headers).json()["attempts"] == 1 and calls == []  # read back, not computed

    _take(world, students[1], quiz.id, {1: "key", 2: "key"})
    assert api.get(url, headers=headers).json()["attempts"] == 2 and calls == [quiz.id]

    # an override of the first student's wrong answer: a grade change, so computed again
    graded = api.post(f"/api/v1/attempts/{first}/slots/1/grade", headers=headers,
                      json={"fraction": 1.0, "reason": "the tie was defensible"})
    assert graded.status_code == 200, graded.text
    again = api.get(url, headers=headers).json()
    assert calls == [quiz.id, quiz.id] and again["slots"][0]["facility"] == 1.0
    assert api.get(url, headers=headers).json() == again and len(calls) == 2
    # statistics kept by an older Assay that no longer read as today's: computed again, not a 500
    world.db.execute(update(QuizStatisticsCache).values(statistics={"quiz_id": "a version ago"}))
    assert api.get(url, headers=headers).json() == again and len(calls) == 3


def test_an_ask_answers_even_when_the_write_lock_is_taken(tmp_path: Path) -> None:
    """On SQLite a GET reads a snapshot without the write lock: keeping what it computed must not
    make the instructor wait behind a writer (or be refused); it gives up and keeps it next time."""
    url = f"sqlite:///{tmp_path / 'assay.sqlite3'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            course = Course(slug="c", title="C")
            session.add(course)
            session.flush()
            quiz = Quiz(course_id=course.id, title="Q", settings={}, sections=[])
            session.add(quiz)
            session.flush()
            quiz_id = quiz.id
        stats = QuizStatistics(quiz_id=quiz_id, attempts=0, test=None, slots=[], histogram=[])
        fingerprint = Fingerprint(quiz_id, 0, 0, 0)
        with database.engine.connect() as writer:
            writer.begin()  # BEGIN IMMEDIATE: another writer holds the lock
            with database.read_sessions() as reader:
                began = time.perf_counter()
                service._keep(reader, fingerprint, stats, utcnow())
                assert time.perf_counter() - began < 5  # not the 30 s busy timeout
                assert reader.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
                reader.commit()
            writer.rollback()
        with database.read_sessions() as reader:
            assert reader.scalar(select(func.count()).select_from(QuizStatisticsCache)) == 0
            service._keep(reader, fingerprint, stats, utcnow())  # the lock is free: kept
            reader.commit()
            assert reader.scalar(select(QuizStatisticsCache.fingerprint)) == "0:0:0"
    finally:
        database.dispose()
