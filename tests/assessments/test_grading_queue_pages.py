"""The "Grade by question" pages: the questions that wait, a question's queue with names hidden,
"Save and next", bad marks said at their field, and responses in words on an attempt's page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from assessments.web.security import CSRF_FIELD
from engine.qtypes import qtype_for
from tests.assessments.conftest import World
from tests.assessments.test_authorization import session_cookie
from tests.assessments.test_grading_queue import ESSAYS, _class_takes, _quiz
from tests.assessments.test_grading_support import Classroom, classroom

CSRF = "csrf-of-the-grader"


@pytest.fixture
def room(world: World) -> Classroom:
    made = classroom(world)
    settings = made.api.app.state.settings  # type: ignore[attr-defined]
    made.api.cookies.set(*session_cookie(settings, user_id=made.teacher.id, csrf=CSRF)["cookie"].split("=", 1))
    return made


def _post(room: Classroom, url: str, **fields: Any) -> Any:
    return room.api.post(url, data={CSRF_FIELD: CSRF, **fields}, follow_redirects=False)


def summary(html: str) -> list[tuple[str, str]]:
    """The error summary's links: (the field's id, the message)."""
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', html)


def test_three_essays_graded_in_the_queue_with_names_hidden(room: Classroom) -> None:
    quiz_id = _quiz(room)
    attempts = _class_takes(room, quiz_id)
    manage = room.api.get(f"/quizzes/{quiz_id}/manage")
    assert f'href="/quizzes/{quiz_id}/grading"' in manage.text

    # The questions: the essay has three responses waiting, the single choice graded itself.
    questions = room.api.get(f"/quizzes/{quiz_id}/grading")
    assert questions.status_code == 200
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>\s*<td>(.*?)</td>\s*<td>(\d+)</td>", questions.text)
    assert rows == [("1", "Explain", '<span class="pill">3</span>', "3"),
                    ("2", "Which model has the lower loss", "0", "3")]

    # The queue, names hidden: Student 1's essay first, the rubric beside it, marks out of 4.
    url = f"/quizzes/{quiz_id}/slots/1/grading"
    queue = room.api.get(url, params={"state": "ungraded", "anonymous": "1"})
    assert queue.status_code == 200
    html = queue.text
    assert "Student 1, attempt 1" in html and ESSAYS["alice"] in html
    assert not re.search(r"Alice|Bob|Carol|alice|bob|carol", html)
    assert "Mark out of 4" in html or "Or a mark out of 4, instead of the rubric" in html
    assert "Mechanism" in html and "Full (4 points)" in html
    assert "{&#34;text&#34;" not in html and '{"text"' not in html

    # Save and next: Student 1 gets 3 marks, and Student 2's essay opens, still anonymous.
    saved = _post(room, f"/quizzes/{quiz_id}/slots/1/grading/{attempts['alice']}", mark="3", state="ungraded",
                  anonymous="1", comment="Name the flaw.")
    assert saved.status_code == 303, saved.text[:2000]
    assert saved.headers["location"].startswith(url)
    assert f"attempt={attempts['bob']}" in saved.headers["location"] and "anonymous=1" in saved.headers["location"]
    following = room.api.get(saved.headers["location"])
    assert "Saved: Student 1, attempt 1." in following.text and "Student 2, attempt 1" in following.text
    assert ESSAYS["bob"] in following.text

    # Bad marks are said at the field in the grader's words, and change nothing.
    steps = room.steps(room.row(attempts["bob"], 1).id)
    for mark, field, words in (
            ("5", "mark", "The mark must be 4 or less: the question is out of 4"),
            ("-1", "mark", "The mark must be 0 or more"),
            ("three", "mark", "Enter the mark as a number, such as 2.5"),
            ("", "rubric-mechanism-0", "Choose a level for every criterion, or enter a mark out of 4")):
        refused = _post(room, f"/quizzes/{quiz_id}/slots/1/grading/{attempts['bob']}", mark=mark,
                        state="ungraded", anonymous="1")
        assert refused.status_code == 400, mark
        assert summary(refused.text) == [(field, words)], mark
        assert f'value="{mark}"' in refused.text or not mark
        assert not re.search(r"Alice|Bob|Carol", refused.text)
    partly = _post(room, f"/quizzes/{quiz_id}/slots/1/grading/{attempts['bob']}", state="ungraded",
                   **{"rubric-mechanism": "1"})
    assert summary(partly.text) == [("rubric-safeguard-0", "Choose a level for “Safeguard”")]
    assert room.steps(room.row(attempts["bob"], 1).id) == steps

    # By rubric for Student 2, a mark for Student 3: then nothing waits and the names come back.
    by_rubric = _post(room, f"/quizzes/{quiz_id}/slots/1/grading/{attempts['bob']}", state="ungraded",
                      anonymous="1", **{"rubric-mechanism": "2", "rubric-safeguard": "0"})
    assert f"attempt={attempts['carol']}" in by_rubric.headers["location"]
    last = _post(room, f"/quizzes/{quiz_id}/slots/1/grading/{attempts['carol']}", mark="2,5", state="ungraded",
                 anonymous="1")
    assert "attempt=" not in last.headers["location"]
    done = room.api.get(last.headers["location"])
    assert "No response to this question waits for a grader." in done.text
    assert "Every response to this question is graded, so names are shown." in done.text
    everyone = room.api.get(url, params={"state": "all", "anonymous": "1"}).text
    assert all(name in everyone for name in ("Alice", "Bob", "Carol"))
    marks = room.api.get(f"/api/v1/quizzes/{quiz_id}/slots/1/responses", headers=room.as_(room.teacher),
                         params={"state": "all"}).json()["responses"]
    assert [(r["username"], r["mark"]) for r in marks] == [("alice", 3.0), ("bob", 3.2), ("carol", 2.5)]


def test_the_attempt_page_shows_responses_in_words_and_marks_out_of_the_maximum(room: Classroom) -> None:
    quiz_id = _quiz(room)
    attempt_id = room.take(room.alice, quiz_id, {1: {"text": ESSAYS["alice"]}, 2: {"choice": 1}})
    page = room.api.get(f"/attempts/{attempt_id}/grade")
    assert page.status_code == 200
    variant = room.variant(attempt_id, 2)
    chosen = qtype_for(variant.item).render(variant.item, variant)["options"][1]["text"]
    assert f'Response: <span class="answer">{chosen}</span>' in page.text
    assert "choice" not in page.text.split("</h1>", 1)[1].split("<form", 1)[0]
    assert ESSAYS["alice"] in page.text and "Mark out of 1" in page.text

    refused = _post(room, f"/attempts/{attempt_id}/slots/2/grade", mark="2")
    assert refused.status_code == 400
    assert summary(refused.text) == [("mark-2", "Question 2: The mark must be 1 or less: the question is out of 1")]
    assert 'id="mark-2-error"' in refused.text
    saved = _post(room, f"/attempts/{attempt_id}/slots/2/grade", mark="0.5", comment="Half: right reasoning.")
    assert saved.status_code == 303
    assert room.steps(room.row(attempt_id, 2).id)[-1][1:] == ("manual_grade", "mangrpartial", 0.5)
