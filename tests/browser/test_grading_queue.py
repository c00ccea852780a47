"""Grading by question in a real browser: three students' essays graded in the queue with "Save
and next", names hidden, a mark that does not fit said at its field; at desktop width and on a
390 px phone (no sideways scroll), axe on every page."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in
from tests.browser.test_quiz_life import PHONE, _no_sideways_scroll

ESSAY_ITEM = "rlhf-reward-hacking-spike-root-cause"
STUDENTS = {
    "grace": "The reward model learned the template from labeller batch V3, and the raised KL target let the "
             "policy reach it. ",
    "henry": "Optimiser instability is ruled out: approx_kl and the clip fraction are unchanged while the "
             "reward jumps. ",
    "ines": "Reverting the KL target hides the biased reward model; the data must be fixed and the model "
            "stress-tested. ",
}
PASSWORD = "a long password for the queue"


def _quiz_taken_by_three(browser: Any, live_server: LiveServer) -> int:
    """A quiz of one essay worth 4 marks; Grace, Henry and Ines answer it and submit, over REST
    (the browser's own request context)."""
    from sqlalchemy import select

    from assessments.auth.passwords import hash_password
    from assessments.db import session_scope
    from assessments.models import Course, CourseRole, Enrolment, Role, User, utcnow
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        for username in STUDENTS:
            user = User(username=username, display_name=username.title(), role=Role.STUDENT,
                        password_hash=hash_password(PASSWORD))
            session.add(user)
            session.flush()
            session.add(Enrolment(course_id=course.id, user_id=user.id, role=CourseRole.STUDENT))
        quiz_id = add_quiz(session, course.id, QuizCreate(
            title="Incident review", settings=QuizSettings(attempts_allowed=None),
            sections=[Section(items=[ESSAY_ITEM], mark=4)]), created_by_id=None, now=utcnow()).id
    database.dispose()
    context = browser.new_context(base_url=live_server.url)
    api = context.request
    for username, sentence in STUDENTS.items():
        token = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        me = {"authorization": f"Bearer {token.json()['access_token']}"}
        attempt = api.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=me)
        assert attempt.status == 201, attempt.text()
        attempt_id = attempt.json()["id"]
        saved = api.put(f"/api/v1/attempts/{attempt_id}/responses/1", headers=me,
                        data={"response": {"text": sentence * 20}, "seq": 0})
        assert saved.status == 200, saved.text()
        assert api.post(f"/api/v1/attempts/{attempt_id}/submit", headers=me).status == 200
    context.close()
    return int(quiz_id)


def _teacher(browser: Any, live_server: LiveServer, viewport: dict[str, int]) -> Any:
    teacher = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(teacher, live_server, "instructor")
    return teacher


def _names_hidden(page: Any) -> None:
    text = page.locator("main").inner_text()
    assert not re.search(r"Grace|Henry|Ines|grace|henry|ines", text), text[:500]


def test_three_essays_graded_in_the_queue_with_names_hidden(browser: Any, live_server: LiveServer) -> None:
    quiz_id = _quiz_taken_by_three(browser, live_server)
    desk = _teacher(browser, live_server, {"width": 1280, "height": 900})
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    desk.click("text=Grade by question")
    desk.wait_for_url(re.compile(rf".*/quizzes/{quiz_id}/grading$"))
    cells = desk.locator("table.list tbody tr").first.locator("td").all_inner_texts()
    assert (cells[0], cells[2], cells[3]) == ("1", "3", "3")  # question 1: 3 waiting of 3
    check_accessibility(desk)
    desk.click("text=Grade with names hidden")
    desk.wait_for_url(re.compile(r".*/slots/1/grading\?state=ungraded&anonymous=1$"))
    assert desk.locator("#response-title").inner_text() == "Student 1, attempt 1"
    assert "Grade: out of 4 marks" in desk.content()
    _names_hidden(desk)
    _no_sideways_scroll(desk)
    shoot(desk, "grading-queue")
    check_accessibility(desk)

    # A mark above the maximum is refused at its field, in the grader's words.
    desk.fill("#mark", "9")
    desk.click("#grade-form button[type=submit]")
    assert desk.locator(".error-summary").inner_text().endswith("The mark must be 4 or less: the question is out of 4")
    assert "The mark must be 4 or less" in desk.locator("#mark-error").inner_text()
    assert desk.input_value("#mark") == "9"
    _names_hidden(desk)
    shoot(desk, "grading-queue-error")
    check_accessibility(desk)

    # Save and next: a mark for Student 1, then the rubric's top levels for Student 2.
    desk.fill("#mark", "3")
    desk.fill("#comment", "Name the labeller batch.")
    desk.click("#grade-form button[type=submit]")
    desk.wait_for_url(re.compile(r".*attempt=\d+.*"))
    assert "Saved: Student 1, attempt 1." in desk.locator("p.notice").inner_text()
    assert desk.locator("#response-title").inner_text() == "Student 2, attempt 1"
    for criterion in desk.locator("fieldset.criterion").all():
        criterion.locator("input[type=radio]").last.check()
    desk.click("#grade-form button[type=submit]")
    desk.wait_for_url(re.compile(r".*attempt=\d+.*"))
    assert desk.locator("#response-title").inner_text() == "Student 3, attempt 1"
    _names_hidden(desk)
    desk.context.close()

    # On a phone: the third essay, graded with a mark; then nothing waits and the names return.
    phone = _teacher(browser, live_server, PHONE)
    phone.goto(f"{live_server.url}/quizzes/{quiz_id}/slots/1/grading?state=ungraded&anonymous=1")
    assert phone.locator("#response-title").inner_text() == "Student 3, attempt 1"
    _names_hidden(phone)
    _no_sideways_scroll(phone)
    shoot(phone, "grading-queue-phone")
    check_accessibility(phone)
    phone.fill("#mark", "2,5")
    phone.click("#grade-form button[type=submit]")
    phone.wait_for_url(re.compile(r".*message=.*"))
    assert "No response to this question waits for a grader." in phone.locator("p.notice").inner_text()
    phone.click("text=All responses")
    rows = [r.locator("td").all_inner_texts() for r in phone.locator("table.queue tbody tr").all()]
    assert [(r[0], r[3]) for r in rows] == [("Grace", "3"), ("Henry", "4"), ("Ines", "2.5")]
    _no_sideways_scroll(phone)
    check_accessibility(phone)
    phone.context.close()
