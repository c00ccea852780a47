"""A key fix regraded in a real browser, with a teacher's override shown to the student, listed on
the regrade page with the mark the regrade would give, and cleared there; at desktop width and on
a 390 × 844 phone, with axe on every page."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

ITEM = "bert-total-parameter-count"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _quiz(live_server: LiveServer) -> int:
    from sqlalchemy import select

    from assessments.db import session_scope
    from assessments.models import Course, utcnow
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        quiz = add_quiz(session, course.id, QuizCreate(
            title="Parameter counts", settings=QuizSettings(attempts_allowed=None),
            sections=[Section(items=[ITEM])]), created_by_id=None, now=utcnow())
        quiz_id = quiz.id
    database.dispose()
    return quiz_id


def _fix_the_key(live_server: LiveServer, quiz_id: int) -> None:
    """The item's "fix": its answer becomes 1 (what the student typed), and the quiz moves to it."""
    from sqlalchemy import select, update

    from assessments.bank.service import save_definition
    from assessments.db import session_scope
    from assessments.models import Item, ItemVersion, QuizItem, utcnow

    database = live_server.database()
    with session_scope(database) as session:
        item = session.scalars(select(Item).where(Item.key == ITEM)).one()
        current = session.scalars(select(ItemVersion).where(ItemVersion.item_id == item.id)
                                  .order_by(ItemVersion.number.desc())).first()
        assert current is not None
        saved = save_definition(session, {**current.definition, "answer": "1 + 0 * total"}, source="browser test",
                                actor_id=None, now=utcnow())
        fixed = session.scalars(select(ItemVersion.id).where(ItemVersion.item_id == item.id,
                                                             ItemVersion.number == saved.version)).one()
        session.execute(update(QuizItem).where(QuizItem.quiz_id == quiz_id, QuizItem.item_id == item.id)
                        .values(item_version_id=fixed))
    database.dispose()


def test_an_override_is_shown_listed_at_the_regrade_and_cleared(browser: Any, live_server: LiveServer) -> None:
    quiz_id = _quiz(live_server)
    student = browser.new_context(viewport=SIZES["desktop"], bypass_csp=True).new_page()
    sign_in(student, live_server, "student")
    student.goto(f"{live_server.url}/quizzes/{quiz_id}")
    student.click("form[action$='/start'] button")
    student.fill("section[data-type=numeric] input[inputmode=decimal]", "1")
    student.wait_for_function("document.querySelector('[data-save-state]').dataset.kind === 'saved'")
    student.click("button[value=finish]")
    student.click("form[data-submit-form] button[type=submit]")
    student.wait_for_url(re.compile(r".*/attempts/(\d+)/review$"))
    attempt_id = int(re.findall(r"/attempts/(\d+)/review", student.url)[0])
    assert "Your teacher set this mark" not in student.content()

    teacher = browser.new_context(viewport=SIZES["desktop"], bypass_csp=True).new_page()
    sign_in(teacher, live_server, "instructor")
    teacher.goto(f"{live_server.url}/attempts/{attempt_id}/grade")
    teacher.fill("section[id=q1] input[name=mark]", "0.5")  # out of 1 mark
    teacher.click("section[id=q1] button[type=submit]")
    teacher.wait_for_url(re.compile(r".*/grade\?message=Grade.*"))

    student.reload()
    assert "Your teacher set this mark" in student.content()
    shoot(student, "student-review-mark-set-by-teacher")
    check_accessibility(student)

    _fix_the_key(live_server, quiz_id)
    for size, viewport in SIZES.items():
        teacher.set_viewport_size(viewport)
        teacher.goto(f"{live_server.url}/quizzes/{quiz_id}/regrade")
        pinned = teacher.locator("section[aria-labelledby=pinned-title] li")
        assert pinned.count() == 1
        row = pinned.first.inner_text()
        assert "Mark kept: 0.5 / 1" in row and "gives 1 / 1" in row and "override" in row
        shoot(teacher, f"instructor-regrade-pinned-{size}")
        check_accessibility(teacher)
        _no_sideways_scroll(teacher, viewport["width"])

    teacher.click("section[aria-labelledby=pinned-title] button[type=submit]")
    teacher.wait_for_url(re.compile(rf".*/quizzes/{quiz_id}/regrade\?message=.*"))
    assert "Override cleared" in teacher.content()
    assert teacher.locator("section[aria-labelledby=pinned-title]").count() == 0
    teacher.click("form[action$='/regrade'] button[type=submit]")
    assert "Regraded" in teacher.content()
    check_accessibility(teacher)

    student.reload()
    assert "Your teacher set this mark" not in student.content()
    assert "Correct" in student.content()
    student.context.close()
    teacher.context.close()
