"""The results and responses reports, their export, closing an attempt now and "my attempts", over REST.

One quiz of three questions (a numeric, a single choice, an essay) with a ten-minute limit. Alice
answers all three rightly (her essay waits for a grader); Bob, whose name a spreadsheet would run
as a formula, answers the numeric and the choice wrongly and writes no essay; Carol answers the
numeric and leaves her attempt open until her time is up; the teacher previews the quiz.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from assessments.bank.service import save_definition
from assessments.models import User
from tests.assessments.conftest import SAMPLES, T0, Clock, World
from tests.assessments.test_grading_support import Classroom, classroom

ESSAY = {"text": "The policy  exploits a flaw in the reward model\ninstead of improving."}
ESSAY_SHOWN = "The policy exploits a flaw in the reward model instead of improving."
WRONG_NUMBER = {"answer": "12345"}
FORMULA_NAME = '=HYPERLINK("http://evil.example","Bob")'


@dataclass
class Scene:
    room: Classroom
    carol: User
    quiz_id: int
    alice: int
    bob: int
    carol_attempt: int
    preview: int


@pytest.fixture
def scene(world: World) -> Scene:
    return build_scene(world)


def build_scene(world: World) -> Scene:
    """The quiz and its attempts, in ``world``'s session."""
    room = classroom(world)
    room.bob.display_name = FORMULA_NAME
    carol = room.student("carol")
    world.db.flush()
    quiz = room.quiz(["numeric", "single", "essay"], time_limit_minutes=10)

    def wrong_choice(attempt_id: int, slot: int) -> dict[str, Any]:
        return {"choice": (room.key(attempt_id, slot)["choice"] + 1) % 3}

    alice = room.take(room.alice, quiz.id, {1: "key", 2: "key", 3: ESSAY})
    bob = room.take(room.bob, quiz.id, {1: WRONG_NUMBER, 2: wrong_choice})
    carol_attempt = room.take(carol, quiz.id, {1: "key"}, submit=False)
    preview = room.api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=room.as_(room.teacher)).json()["id"]
    return Scene(room, carol, quiz.id, alice, bob, carol_attempt, preview)


def _get(scene: Scene, path: str, user: User | None = None, **params: Any) -> Any:
    room = scene.room
    reply = room.api.get(path, headers=room.as_(user or room.teacher), params=params)
    assert reply.status_code == 200, reply.text
    return reply


def _staff_view(scene: Scene, attempt_id: int) -> dict[str, Any]:
    """The attempt as its instructor reads it: every question's mark, as the engine gives it."""
    return dict(_get(scene, f"/api/v1/attempts/{attempt_id}").json())


def test_the_results_list_every_questions_mark_state_and_the_total(scene: Scene) -> None:
    reply = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/attempts")
    assert reply.headers["x-total-count"] == "3"  # the preview is not listed
    assert "link" not in reply.headers
    rows = reply.json()
    assert [(r["username"], r["state"], r["preview"]) for r in rows] == [
        ("alice", "finished", False), ("bob", "finished", False), ("carol", "in_progress", False)]
    alice, bob, carol = rows
    assert [(q["slot"], q["item_key"], q["state"], q["mark"], q["max_mark"]) for q in alice["questions"]] == [
        (1, "numeric", "gradedright", 1.0, 1.0), (2, "single", "gradedright", 1.0, 1.0),
        (3, "essay", "needsgrading", None, 1.0)]
    assert alice["marks"] is None and alice["needs_grading"] is True and alice["max_marks"] == 3.0
    assert alice["time_taken_seconds"] == 0.0  # the test's clock stood still while she answered
    # Bob: wrong number 0, wrong choice -0.5 (negative marking), no essay: gave up, 0.
    assert [(q["state"], q["mark"]) for q in bob["questions"]] == [
        ("gradedwrong", 0.0), ("gradedwrong", -0.5), ("gaveup", 0.0)]
    assert bob["marks"] == -0.5 and bob["needs_grading"] is False
    assert bob["display_name"] == FORMULA_NAME
    assert [(q["state"], q["mark"]) for q in carol["questions"]] == [
        ("complete", None), ("todo", None), ("todo", None)]
    assert carol["marks"] is None and carol["overdue"] is False and carol["time_taken_seconds"] is None
    # Each question's mark is the mark the attempt itself holds for it.
    for row in rows:
        view = _staff_view(scene, row["id"])
        assert [q.get("mark") for q in view["questions"]] == [q["mark"] for q in row["questions"]]
        assert view.get("marks") == row["marks"]


def test_filters_and_previews(scene: Scene, clock: Clock) -> None:
    path = f"/api/v1/quizzes/{scene.quiz_id}/attempts"

    def names(**params: Any) -> list[str]:
        reply = _get(scene, path, **params)
        rows = reply.json()
        assert reply.headers["x-total-count"] == str(len(rows))
        return [r["username"] + (" (preview)" if r["preview"] else "") for r in rows]

    assert names(status="finished") == ["alice", "bob"]
    assert names(status="needs_grading") == ["alice"]
    assert names(status="in_progress") == ["carol"]
    assert names(status="overdue") == []
    assert names(previews="true") == ["alice", "bob", "carol", "teacher (preview)"]
    clock.advance(minutes=11)
    assert names(status="in_progress") == []
    assert names(status="overdue") == ["carol"]
    assert names(status="overdue", previews="true") == ["carol", "teacher (preview)"]
    refused = scene.room.api.get(path, headers=scene.room.as_(scene.room.teacher), params={"status": "late"})
    assert refused.status_code == 422 and "status" in refused.text


def test_pages_carry_the_total_and_links(scene: Scene) -> None:
    path = f"/api/v1/quizzes/{scene.quiz_id}/attempts"
    reply = _get(scene, path, limit=1, offset=1)
    assert [r["username"] for r in reply.json()] == ["bob"]
    assert reply.headers["x-total-count"] == "3"
    assert reply.headers["link"] == (f'<{path}?limit=1&offset=2>; rel="next", '
                                     f'<{path}?limit=1&offset=0>; rel="prev"')
    last = _get(scene, path, limit=2, offset=2)
    assert [r["username"] for r in last.json()] == ["carol"]
    assert last.headers["link"] == f'<{path}?limit=2&offset=0>; rel="prev"'
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        refused = scene.room.api.get(path, headers=scene.room.as_(scene.room.teacher), params=bad)
        assert refused.status_code == 422, bad


def test_the_responses_report_shows_what_the_student_saw_and_their_variant(scene: Scene) -> None:
    room = scene.room
    rows = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/responses").json()
    alice, bob, carol = rows
    numeric = room.variant(scene.alice, 1)
    assert alice["questions"][0]["response"] == room.key(scene.alice, 1)["answer"]
    assert alice["questions"][0]["variant"] == numeric.params
    assert alice["questions"][0]["variant_text"] == "; ".join(f"{k} = {v:.6g}" for k, v in numeric.params.items())
    single = room.variant(scene.alice, 2)
    assert single.order is not None
    right = next(p for p, k in enumerate(single.order) if single.key["correct"][0, k])
    assert alice["questions"][1]["response"] == ["Model A", "Model B", "They tie"][single.order[right]]
    assert alice["questions"][2]["response"] == ESSAY_SHOWN
    assert bob["questions"][0]["response"] == "12345"
    assert bob["questions"][1]["response"] in ("Model A", "Model B", "They tie")
    bobs = room.variant(scene.bob, 2)
    assert bobs.order is not None
    bobs_right = next(p for p, k in enumerate(bobs.order) if bobs.key["correct"][0, k])
    assert bob["questions"][1]["response"] == ["Model A", "Model B", "They tie"][bobs.order[(bobs_right + 1) % 3]]
    assert bob["questions"][2]["response"] == ""
    assert [q["response"] for q in carol["questions"]] == [room.key(scene.carol_attempt, 1)["answer"], "", ""]
    for row in rows:
        assert "{" not in json.dumps([q["response"] for q in row["questions"]])  # never raw JSON


def test_the_csv_export_carries_every_questions_mark_and_response(scene: Scene) -> None:
    reply = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/attempts/export", format="csv")
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == f'attachment; filename="quiz-{scene.quiz_id}-attempts.csv"'
    table = list(csv.DictReader(io.StringIO(reply.text)))
    assert list(table[0])[:10] == ["username", "display_name", "attempt", "state", "preview", "started_at",
                                   "finished_at", "time_taken_seconds", "marks", "max_marks"]
    assert list(table[0])[10:16] == ["q1_item", "q1_state", "q1_mark", "q1_max_mark", "q1_response", "q1_variant"]
    assert [r["username"] for r in table] == ["alice", "bob", "carol"]
    assert table[1]["display_name"] == "'" + FORMULA_NAME  # a spreadsheet shows it, never runs it
    for row in table:
        attempt_id = {"alice": scene.alice, "bob": scene.bob, "carol": scene.carol_attempt}[row["username"]]
        view = _staff_view(scene, attempt_id)
        for q in view["questions"]:
            mark = q.get("mark")
            assert row[f"q{q['slot']}_mark"] == ("" if mark is None else f"{mark:g}"), (row["username"], q["slot"])
        assert row["marks"] == ("" if view.get("marks") is None else f"{view['marks']:g}")
    assert table[0]["q3_response"] == ESSAY_SHOWN and table[0]["q3_state"] == "needsgrading"
    assert table[1]["q1_response"] == "12345" and table[1]["q2_mark"] == "-0.5"
    assert table[1]["q1_variant"].startswith("r_w = ")
    assert table[2]["state"] == "in_progress" and table[2]["finished_at"] == ""

    only = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/attempts/export", format="csv", status="needs_grading")
    assert [r["username"] for r in csv.DictReader(io.StringIO(only.text))] == ["alice"]


def test_the_json_export_is_the_responses_report_whole(scene: Scene) -> None:
    exported = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/attempts/export", format="json", previews="true")
    assert exported.headers["content-type"] == "application/json"
    listed = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/responses", previews="true").json()
    assert exported.json() == listed
    assert [r["preview"] for r in listed] == [False, False, False, True]


def test_closing_an_attempt_now_grades_it_and_is_audited(scene: Scene) -> None:
    room = scene.room
    teacher = room.as_(room.teacher)
    url = f"/api/v1/attempts/{scene.carol_attempt}/close"
    assert room.api.post(url, headers=room.as_(scene.carol)).status_code == 403  # not the owner's to close
    assert room.api.post(url, headers=room.as_(room.alice)).status_code == 404
    assert room.api.post(url, headers=room.as_(room.outsider)).status_code == 404
    too_long = room.api.post(url, headers=teacher, json={"reason": "x" * 2001})
    assert too_long.status_code == 422 and "reason" in too_long.text

    closed = room.api.post(url, headers=teacher, json={"reason": "left the exam room ill"})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["state"], body["marks"], body["max_marks"]) == ("finished", 1.0, 3.0)
    # graded as the sweep grades: the answered question right, the unanswered ones given up
    row = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/attempts", status="finished").json()[2]
    assert [(q["state"], q["mark"]) for q in row["questions"]] == [
        ("gradedright", 1.0), ("gaveup", 0.0), ("gaveup", 0.0)]
    again = room.api.post(url, headers=teacher)
    assert again.status_code == 409 and again.json()["error"]["code"] == "attempt_finished"

    changes = _get(scene, f"/api/v1/attempts/{scene.carol_attempt}/grade-changes").json()["changes"]
    assert sorted((c["kind"], c["slot"], c["actor_username"], c["old_state"], c["new_state"], c["new_marks"],
                   c["reason"]) for c in changes) == [
        ("closed", 1, "teacher", "complete", "gradedright", 1.0, "left the exam room ill"),
        ("closed", 2, "teacher", "todo", "gaveup", 1.0, "left the exam room ill"),
        ("closed", 3, "teacher", "todo", "gaveup", 1.0, "left the exam room ill")]

    # The trail is paged as every list is.
    path = f"/api/v1/attempts/{scene.carol_attempt}/grade-changes"
    first = _get(scene, path, limit=2)
    assert [c["slot"] for c in first.json()["changes"]] == [3, 2]  # newest first
    assert (first.json()["total"], first.headers["x-total-count"]) == (3, "3")
    assert first.headers["link"] == f'<{path}?limit=2&offset=2>; rel="next"'
    second = _get(scene, path, limit=2, offset=2)
    assert [c["slot"] for c in second.json()["changes"]] == [1]
    assert second.headers["link"] == f'<{path}?limit=2&offset=0>; rel="prev"'
    assert second.json()["next_before"] is None
    quiz_trail = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/grade-changes", student_id=scene.carol.id)
    assert quiz_trail.headers["x-total-count"] == "3" and "link" not in quiz_trail.headers


def test_my_attempts_show_marks_only_as_the_review_policy_allows(scene: Scene, world: World, clock: Clock) -> None:
    room = scene.room
    hidden = room.quiz(["numeric"], review={"immediately_after": {"marks": False},
                                            "later_while_open": {"marks": False}})
    mine = room.take(room.alice, hidden.id, {1: "key"})
    reply = _get(scene, "/api/v1/me/attempts", room.alice)
    assert reply.headers["x-total-count"] == "2"
    rows = reply.json()
    assert [(r["id"], r["quiz_id"], r["state"], r.get("marks"), r["review"]) for r in rows] == [
        (mine, hidden.id, "finished", None, "immediately_after"),
        (scene.alice, scene.quiz_id, "finished", None, "immediately_after")]  # her essay waits for a grader
    graded = room.api.post(f"/api/v1/attempts/{scene.alice}/slots/3/grade", headers=room.as_(room.teacher),
                           json={"fraction": 0.5})
    assert graded.status_code == 200, graded.text
    clock.advance(minutes=5)
    rows = _get(scene, "/api/v1/me/attempts", room.alice, quiz_id=scene.quiz_id).json()
    assert [(r["id"], r["marks"], r["review"]) for r in rows] == [(scene.alice, 2.5, "later_while_open")]
    assert "marks" not in _get(scene, "/api/v1/me/attempts", room.alice, quiz_id=hidden.id).json()[0]
    carol = _get(scene, "/api/v1/me/attempts", scene.carol, status="in_progress").json()
    assert [(r["id"], r.get("marks"), r["review"]) for r in carol] == [(scene.carol_attempt, None, "during")]
    # a student's list holds their own attempts only
    assert _get(scene, "/api/v1/me/attempts", room.bob).headers["x-total-count"] == "1"


def test_students_and_outsiders_cannot_read_the_reports(scene: Scene) -> None:
    room = scene.room
    for path in ("attempts", "responses", "attempts/export"):
        url = f"/api/v1/quizzes/{scene.quiz_id}/{path}"
        assert room.api.get(url, headers=room.as_(room.alice)).status_code == 403, path
        assert room.api.get(url, headers=room.as_(room.outsider)).status_code == 404, path


# --- the pages ----------------------------------------------------------------------------------


def _signed_in(scene: Scene, user: User) -> Any:
    from tests.assessments.test_authorization import session_cookie

    api = scene.room.api
    settings = api.app.state.settings  # type: ignore[attr-defined]
    api.cookies.set(*session_cookie(settings, user_id=user.id, csrf=PAGE_CSRF)["cookie"].split("=", 1))
    return api


PAGE_CSRF = "csrf-of-the-reports-test"


def test_the_results_page_shows_marks_filters_and_closes_an_attempt(scene: Scene) -> None:
    from assessments.web.security import CSRF_FIELD

    api = _signed_in(scene, scene.room.teacher)
    page = api.get(f"/quizzes/{scene.quiz_id}/results")
    assert page.status_code == 200, page.text[:2000]
    html = page.text
    assert "Attempts 1–3 of 3" in html and "preview" not in html.split("<tbody>")[1]
    assert html.count('<th scope="col">Q') == 3
    assert "needs grading" in html and "-0.5" in html
    assert f'action="/attempts/{scene.carol_attempt}/close"' in html
    assert f'action="/attempts/{scene.alice}/close"' not in html  # a finished attempt has no such action
    assert "/attempts/export?format=csv" in html

    bad = api.get(f"/quizzes/{scene.quiz_id}/results", params={"status": "late"})
    assert bad.status_code == 400
    assert '<a href="#status">Choose which attempts to show from the list</a>' in bad.text
    assert 'aria-invalid="true"' in bad.text

    beyond = api.get(f"/quizzes/{scene.quiz_id}/results", params={"offset": "50"})
    assert "No attempts on this page: 3 in all." in beyond.text
    assert f'href="/quizzes/{scene.quiz_id}/results?status=&amp;offset=0">Previous page' in beyond.text
    finished = api.get(f"/quizzes/{scene.quiz_id}/results", params={"status": "finished", "previews": "yes"})
    assert "Attempts 1–2 of 2" in finished.text and "close" not in finished.text.split("<tbody>")[1]

    closed = api.post(f"/attempts/{scene.carol_attempt}/close", data={CSRF_FIELD: PAGE_CSRF, "reason": "fire alarm"},
                      follow_redirects=False)
    assert closed.status_code == 303
    assert closed.headers["location"].startswith(f"/quizzes/{scene.quiz_id}/results?message=Attempt%201%20closed")
    after = api.get(closed.headers["location"])
    assert "Attempt 1 closed and graded: 1 of 3." in after.text
    again = api.post(f"/attempts/{scene.carol_attempt}/close", data={CSRF_FIELD: PAGE_CSRF}, follow_redirects=False)
    assert "was%20not%20closed" in again.headers["location"]
    history = api.get(f"/attempts/{scene.carol_attempt}/grade-history")
    assert "fire alarm" in history.text and "closed" in history.text


def test_the_responses_page_shows_responses_and_variants(scene: Scene) -> None:
    api = _signed_in(scene, scene.room.teacher)
    page = api.get(f"/quizzes/{scene.quiz_id}/responses")
    assert page.status_code == 200, page.text[:2000]
    assert ESSAY_SHOWN in page.text and "12345" in page.text
    assert "r_w = " in page.text and "a_w = " in page.text
    assert page.text.count('class="card response-attempt"') == 3
    student = _signed_in(scene, scene.room.alice)
    assert student.get(f"/quizzes/{scene.quiz_id}/responses").status_code == 403


def test_the_xlsx_export_holds_the_csvs_columns_as_text_and_numbers(scene: Scene) -> None:
    reply = _get(scene, f"/api/v1/quizzes/{scene.quiz_id}/attempts/export", format="xlsx")
    assert reply.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert reply.headers["content-disposition"] == f'attachment; filename="quiz-{scene.quiz_id}-attempts.xlsx"'
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        shared = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
    assert "<f>" not in sheet  # not one formula, whatever the cells say
    texts = re.findall(r"<t[^>]*>([^<]*)</t>", sheet + shared)
    assert "q3_response" in texts and ESSAY_SHOWN in texts
    assert FORMULA_NAME.replace('"', "&quot;") in texts or FORMULA_NAME in texts  # as text, no apostrophe needed
    # Bob's row (the third row): his choice question's mark is the number -0.5
    bob_row = re.search(r'<row r="3"[^>]*>(.*?)</row>', sheet)
    assert bob_row is not None and "<v>-0.5</v>" in bob_row.group(1)


def test_a_number_is_shown_with_the_unit_that_stood_beside_its_box(world: World) -> None:
    room = classroom(world)
    definition = yaml.safe_load(textwrap.dedent(SAMPLES["numeric"])) | {"id": "numeric-in-nats", "unit": "nats"}
    save_definition(world.db, definition, source="test", actor_id=None, now=T0)
    quiz = room.quiz(["numeric-in-nats"])
    attempt = room.take(room.alice, quiz.id, {1: {"answer": "0.25"}})
    reply = room.api.get(f"/api/v1/quizzes/{quiz.id}/responses", headers=room.as_(room.teacher))
    assert reply.status_code == 200, reply.text
    assert [(r["id"], r["questions"][0]["response"]) for r in reply.json()] == [(attempt, "0.25 nats")]
