"""A student in a real browser: the demo quiz end to end, autosave across a reload and a server
restart, the timer submitting the attempt, and no key on any page before review allows it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from assessments.attempts.service import engine_attempts
from assessments.auth.passwords import hash_password
from assessments.db import session_scope
from assessments.models import Attempt, AttemptState, Course, CourseRole, Enrolment, Role, User, utcnow
from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in


def _start(page: Any, server: LiveServer) -> int:
    page.goto(f"{server.url}/quizzes/{server.quiz_id}")
    page.click("form[action$='/start'] button")
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _answer_everything(page: Any) -> None:
    """A plausible answer to every question on the page, by the inputs each type shows."""
    for section in page.locator("section.question").all():
        kind = section.get_attribute("data-type")
        if kind in ("single_choice", "true_false"):
            section.locator("input[type=radio]").first.check()
        elif kind == "multiple_response":
            section.locator("input[name$=choices]").first.check()
        elif kind in ("numeric", "short_text"):
            section.locator("input[name$=answer]").fill("0.5")
        elif kind == "essay":
            section.locator("textarea").fill("The policy exploits the reward model's errors. " * 10)
        elif kind == "matching":
            for select_ in section.locator("select").all():
                select_.select_option(index=1)
        elif kind == "ordering":
            selects = section.locator("select").all()
            for n, select_ in enumerate(reversed(selects)):
                select_.select_option(str(n + 1))


def _wait_saved(page: Any) -> None:
    page.wait_for_function("document.querySelector('[data-save-state]').dataset.kind === 'saved'", timeout=10_000)


def _secrets(server: LiveServer, attempt_id: int) -> list[str]:
    """Texts that only review may show: the worked solutions and the keys' feedback."""
    from engine.texts import render

    found = []
    database = server.database()
    with session_scope(database) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        for _, qa in engine_attempts(session, attempt):
            model, variant = qa.item, qa.variant
            if model.solution:
                found.append(render(model.solution, variant.values).strip().splitlines()[0][:60])
            if model.type_name == "numeric":
                found.append(qa.qtype.correct_response(model, variant)["answer"])
    database.dispose()
    return [s for s in found if len(s) >= 4]


def test_student_completes_the_demo_quiz(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "student")
    shoot(page, "student-dashboard")
    check_accessibility(page)
    page.goto(f"{live_server.url}/quizzes/{live_server.quiz_id}")
    shoot(page, "student-quiz-start")
    check_accessibility(page)
    attempt_id = _start(page, live_server)

    html = page.content()
    for secret in _secrets(live_server, attempt_id):
        assert secret not in html, f"the page shows {secret!r} before review"
    assert "right answer" not in html.lower() and "worked solution" not in html.lower()
    check_accessibility(page)

    _answer_everything(page)
    _wait_saved(page)
    shoot(page, "student-attempt")
    page.click("button[value=finish]")
    page.wait_for_url(re.compile(r".*/finish$"))
    shoot(page, "student-confirm")
    check_accessibility(page)
    page.click("form[data-submit-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/review$"))
    assert page.locator("svg.plot").count() >= 1, "the ranking-loss plot is missing"
    assert page.locator(".verdict").count() >= 1
    shoot(page, "student-review")
    check_accessibility(page)


def test_autosave_survives_a_reload_and_a_server_restart(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "student")
    _start(page, live_server)
    box = page.locator("section.question[data-slot='1'] input[name$=choices]").nth(1)
    box.check()
    _wait_saved(page)
    page.reload()
    assert page.locator("section.question[data-slot='1'] input[name$=choices]").nth(1).is_checked()
    live_server.restart()
    page.reload()
    assert page.locator("section.question[data-slot='1'] input[name$=choices]").nth(1).is_checked()


def test_the_timer_submits_the_attempt_when_time_is_up(page: Any, live_server: LiveServer) -> None:
    database = live_server.database()
    with session_scope(database) as session:
        user = User(username="timed", display_name="Timed Student", role=Role.STUDENT,
                    password_hash=hash_password("a long password"))
        session.add(user)
        session.flush()
        course = session.scalars(select(Course)).first()
        assert course is not None
        session.add(Enrolment(course_id=course.id, user_id=user.id, role=CourseRole.STUDENT))
    sign_in(page, live_server, "timed", "a long password")
    attempt_id = _start(page, live_server)
    with session_scope(database) as session:  # the quiz allows an hour; this attempt has seconds
        session.execute(update(Attempt).where(Attempt.id == attempt_id)
                        .values(deadline_at=utcnow() + timedelta(seconds=4)))
    page.reload()
    page.locator("section.question[data-slot='1'] input[name$=choices]").first.check()
    page.wait_for_url(re.compile(r".*/review$"), timeout=20_000)
    with session_scope(database) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.state == AttemptState.FINISHED
    database.dispose()


def test_every_item_of_the_bank_renders_accessibly(page: Any, live_server: LiveServer) -> None:
    """One attempt holding the whole bank: every question type and every item's text on one page."""
    from assessments.models import Item
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz

    database = live_server.database()
    with session_scope(database) as session:
        keys = list(session.scalars(select(Item.key).order_by(Item.key)))
        course = session.scalars(select(Course)).first()
        assert course is not None and len(keys) >= 60
        quiz = add_quiz(session, course.id, QuizCreate(title="The whole bank",
                                                       settings=QuizSettings(attempts_allowed=None),
                                                       sections=[Section(items=keys)]),
                        created_by_id=None, now=utcnow())
        quiz_id = quiz.id
    database.dispose()
    sign_in(page, live_server, "student")
    page.goto(f"{live_server.url}/quizzes/{quiz_id}")
    page.click("form[action$='/start'] button")
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    assert page.locator("section.question").count() == len(keys)
    check_accessibility(page)
