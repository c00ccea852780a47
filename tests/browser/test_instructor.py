"""An instructor in a real browser: the bank with filters, an item's preview at a chosen seed,
and a quiz built with the builder."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

SEED_ITEM = "ranking-loss-which-pair-is-penalised"


def test_bank_filters_and_item_preview(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/bank")
    everything = page.locator("table.list tbody tr").count()
    assert everything >= 60
    page.check("input[value='bloom:Analysis']")
    page.click("form.filters button[type=submit]")
    filtered = page.locator("table.list tbody tr").count()
    assert 0 < filtered < everything
    shoot(page, "instructor-bank")
    check_accessibility(page)

    page.goto(f"{live_server.url}/bank/{SEED_ITEM}?seed=3")
    first = page.locator("ol.preview-options").inner_text()
    assert "Key:" in page.content() and "absolute-scores" in page.content()
    page.fill("#seed", "4")
    page.click("form.seed button[type=submit]")
    page.wait_for_url(re.compile(r".*seed=4$"))
    assert page.locator("ol.preview-options").inner_text() != first, "another seed, other numbers"
    shoot(page, "instructor-item-preview")
    check_accessibility(page)


def test_instructor_builds_a_quiz(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/courses/foundations-of-llms/quizzes/new")
    check_accessibility(page)
    page.fill("#title", "Alignment check")
    page.fill("#section-0-items", SEED_ITEM)
    page.fill("#section-1-tags", "chapter:Ch.4 Alignment\nbloom:Analysis")
    page.fill("#section-1-count", "2")
    page.select_option("#behaviour", "interactive")
    shoot(page, "instructor-quiz-builder")
    page.click("form.builder > button[type=submit]")
    page.wait_for_url(re.compile(r".*/quizzes/\d+$"))
    assert "Alignment check" in page.content() and "3 (3 marks)" in page.content()

    page.goto(f"{live_server.url}/courses/foundations-of-llms/quizzes/new")
    page.fill("#title", "Broken")
    page.fill("#section-0-items", "no-such-item")
    page.click("form.builder > button[type=submit]")
    assert "no item 'no-such-item'" in page.content()
    page.errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")


def test_instructor_grades_an_essay_and_opens_the_statistics(browser: Any, live_server: LiveServer) -> None:
    from sqlalchemy import select

    from assessments.db import session_scope
    from assessments.models import Course, utcnow
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        quiz = add_quiz(session, course.id, QuizCreate(
            title="Case study", settings=QuizSettings(attempts_allowed=None),
            sections=[Section(items=["rlhf-reward-hacking-spike-root-cause", SEED_ITEM])]),
            created_by_id=None, now=utcnow())
        quiz_id = quiz.id
    database.dispose()

    student = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    sign_in(student, live_server, "student")
    student.goto(f"{live_server.url}/quizzes/{quiz_id}")
    student.click("form[action$='/start'] button")
    student.fill("section[data-type=essay] textarea",
                 "The spike comes from the policy exploiting the reward model off-distribution. " * 12)
    student.locator("section[data-type=multiple_response] input[name$=choices]").first.check()
    student.wait_for_function("document.querySelector('[data-save-state]').dataset.kind === 'saved'")
    student.click("button[value=finish]")
    student.click("form[data-submit-form] button[type=submit]")
    student.wait_for_url(re.compile(r".*/review$"))
    assert "waiting for an instructor" in student.content()
    student.context.close()

    teacher = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    sign_in(teacher, live_server, "instructor")
    teacher.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    assert "needs grading" in teacher.content()
    teacher.click("text=Review and grade")
    for criterion in teacher.locator("fieldset.criterion").all():
        criterion.locator("input[type=radio]").last.check()  # the top level of every criterion
    teacher.fill("section[id=q1] textarea[name=comment]", "A precise diagnosis.")
    shoot(teacher, "instructor-grading")
    check_accessibility(teacher)
    teacher.click("section[id=q1] button[type=submit]")
    teacher.wait_for_url(re.compile(r".*/grade\?message=Grade.*"))
    assert "Grade saved." in teacher.content() and "waiting for grading" not in teacher.content()

    teacher.goto(f"{live_server.url}/quizzes/{quiz_id}/statistics")
    assert teacher.locator("svg.plot").count() == 3  # facility/discrimination, totals, the options chosen
    assert teacher.locator("table.per-question tbody tr").count() == 2
    shoot(teacher, "instructor-statistics")
    check_accessibility(teacher)
    teacher.goto(f"{live_server.url}/quizzes/{quiz_id}/regrade")
    assert "Nothing to regrade" in teacher.content()
    teacher.context.close()
