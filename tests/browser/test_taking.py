"""Taking a quiz on any device: Check and Try again in the page (with and without JavaScript),
the summary before finishing, flags kept on the server, nothing lost on a reload, and every
student page at desktop size and on a 390 x 844 phone without sideways scrolling, axe clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from assessments.attempts.service import engine_attempts
from assessments.db import session_scope
from assessments.models import Attempt, Course, QuestionAttempt, utcnow
from assessments.quizzes.schemas import BehaviourName, QuizCreate, QuizSettings, ReviewOptions, ReviewPolicy, Section
from assessments.quizzes.service import add_quiz
from tests.browser.conftest import LiveServer, check_accessibility, opened_page, shoot, sign_in

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
NUMERIC = "perplexity-of-a-sequence"
ORDERING = "rlhf-pipeline-order"


def make_quiz(server: LiveServer, title: str, items: list[str], **settings: Any) -> int:
    database = server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).first()
        assert course is not None
        quiz = add_quiz(session, course.id, QuizCreate(
            title=title, settings=QuizSettings(attempts_allowed=None, **settings), sections=[Section(items=items)]),
            created_by_id=None, now=utcnow())
        quiz_id = quiz.id
    database.dispose()
    return quiz_id


def start(page: Any, server: LiveServer, quiz_id: int) -> int:
    page.goto(f"{server.url}/quizzes/{quiz_id}")
    page.click("form[action$='/start'] button")
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def right_answers(server: LiveServer, attempt_id: int) -> dict[int, dict[str, Any]]:
    """Each slot's right response, read from the engine (as only a test may)."""
    database = server.database()
    with session_scope(database) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        found = {row.slot: dict(qa.qtype.correct_response(qa.item, qa.variant))
                 for row, qa in engine_attempts(session, attempt)}
    database.dispose()
    return found


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    if width > viewport:  # name the widest culprits: the innermost elements past the window's edge
        culprits = page.evaluate("""(edge) => Array.from(document.querySelectorAll('body *'))
            .filter(el => el.getBoundingClientRect().right > edge + 1
                          && !Array.from(el.children).some(c => c.getBoundingClientRect().right > edge + 1))
            .slice(0, 8)
            .map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""",
                                 viewport)
        raise AssertionError(f"{page.url} is {width} px wide in a {viewport} px window: {culprits}")


def check_page(page: Any, name: str | None = None) -> None:
    """What every student page must pass at any size: no sideways scroll and axe clean."""
    no_sideways_scroll(page)
    check_accessibility(page)
    if name is not None:
        shoot(page, name)


def _wait_saved(page: Any) -> None:
    page.wait_for_function("document.querySelector('[data-save-state]').dataset.kind === 'saved'", timeout=10_000)


@pytest.fixture
def sized(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page at the size the test is parametrised with (desktop or phone)."""
    with opened_page(browser, viewport=request.param, bypass_csp=True, has_touch=request.param == PHONE) as page:
        yield page
    assert page.errors == [], page.errors


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_check_and_try_again_in_an_interactive_quiz(sized: Any, live_server: LiveServer) -> None:
    page = sized
    quiz_id = make_quiz(live_server, "Interactive practice", [NUMERIC], behaviour=BehaviourName.INTERACTIVE)
    sign_in(page, live_server, "student")
    attempt_id = start(page, live_server, quiz_id)
    right = right_answers(live_server, attempt_id)[1]["answer"]
    question = page.locator("section.question[data-slot='1']")
    assert question.locator("text=Tries left: 3").count() == 1
    question.locator("input[name=s1-answer]").fill("123456")
    question.locator("button[data-check]").click()
    page.wait_for_selector("section.question[data-slot='1'] .verdict.wrong")
    question = page.locator("section.question[data-slot='1']")
    assert question.locator("input[name=s1-answer]").is_disabled(), "a checked question stays editable"
    assert question.locator("input[name=s1-answer]").input_value() == "123456"
    assert question.locator(".mark").count() == 0, "a try's mark is the question's only once it is done"
    assert question.locator("text=Tries left: 2").count() == 1
    assert page.locator("[data-nav='1']").get_attribute("aria-label") == "Question 1: checked, try again"
    check_page(page)
    question.locator("button[data-try-again]").click()
    page.wait_for_selector("section.question[data-slot='1'] button[data-check]")
    question = page.locator("section.question[data-slot='1']")
    assert question.locator("input[name=s1-answer]").is_enabled()
    question.locator("input[name=s1-answer]").fill(right)
    question.locator("button[data-check]").click()
    page.wait_for_selector("section.question[data-slot='1'] .verdict.partial")
    question = page.locator("section.question[data-slot='1']")
    # right on the second try: one penalty of a third, shown as the review shows it
    assert question.locator(".mark").inner_text() == "Mark 0.67 out of 1"
    assert question.locator("button[data-check], button[data-try-again]").count() == 0
    check_page(page, "student-check-interactive" + ("-phone" if page.viewport_size == PHONE else ""))
    page.reload()  # as the server has it
    assert page.locator("section.question[data-slot='1'] .verdict.partial").count() == 1
    assert page.locator("section.question[data-slot='1'] input[name=s1-answer]").is_disabled()


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_check_without_javascript_and_during_options(browser: Any, sized: Any, live_server: LiveServer) -> None:
    """Immediate feedback with a "during" policy that shows correctness only: the form's Check
    button, no script, shows the verdict and neither the marks nor the feedback."""
    sized.context.close()
    context = browser.new_context(viewport=sized.viewport_size, java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    policy = ReviewPolicy(during=ReviewOptions(correctness=True))
    quiz_id = make_quiz(live_server, "Immediate, verdict only", [NUMERIC], behaviour=BehaviourName.IMMEDIATE,
                        review=policy)
    sign_in(page, live_server, "student")
    attempt_id = start(page, live_server, quiz_id)
    right = right_answers(live_server, attempt_id)[1]["answer"]
    page.fill("input[name=s1-answer]", right)
    page.click("button[data-check]")
    page.wait_for_load_state()
    question = page.locator("section.question[data-slot='1']")
    assert question.locator(".verdict.right").inner_text() == "Correct"
    assert question.locator(".mark").count() == 0 and question.locator(".feedback").count() == 0
    assert question.locator("input[name=s1-answer]").is_disabled()
    assert question.locator("button[data-check]").count() == 0
    no_sideways_scroll(page)
    context.close()


def test_a_question_checked_through_the_api_looks_the_same(page: Any, live_server: LiveServer) -> None:
    quiz_id = make_quiz(live_server, "Checked elsewhere", [NUMERIC], behaviour=BehaviourName.INTERACTIVE)
    sign_in(page, live_server, "student")
    attempt_id = start(page, live_server, quiz_id)
    csrf = page.locator("[data-attempt]").get_attribute("data-csrf")
    reply = page.request.post(f"{live_server.url}/api/v1/attempts/{attempt_id}/slots/1/check",
                              data={"response": {"answer": "123456"}, "seq": 0}, headers={"x-csrf-token": csrf})
    assert reply.status == 200, reply.text()
    assert reply.json()["state"] == "try_again"
    page.reload()
    question = page.locator("section.question[data-slot='1']")
    assert question.locator("input[name=s1-answer]").is_disabled()
    assert question.locator("input[name=s1-answer]").input_value() == "123456"
    assert question.locator(".verdict.wrong").inner_text() == "Incorrect"
    assert question.locator("button[data-try-again]").count() == 1
    assert page.locator("[data-nav='1']").get_attribute("aria-label") == "Question 1: checked, try again"


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_summary_flags_and_one_question_per_page(sized: Any, live_server: LiveServer) -> None:
    page = sized
    quiz_id = make_quiz(live_server, "Three questions", [NUMERIC, "ranking-loss-which-pair-is-penalised",
                                                           "perplexity-after-loss-drop"])
    sign_in(page, live_server, "student")
    attempt_id = start(page, live_server, quiz_id)
    page.locator("input[data-flag='2']").check()
    page.wait_for_function("document.querySelector('[data-nav=\"2\"]').classList.contains('flagged')")
    page.fill("input[name=s1-answer]", "two")  # answered, but not a number
    page.wait_for_selector("#s1-error:not([hidden])")
    _wait_saved(page)
    # the flag is the server's: it shows on a page of one question, in another browser alike
    page.goto(f"{live_server.url}/attempts/{attempt_id}?q=2")
    assert page.locator("input[data-flag='2']").is_checked()
    assert page.locator("section.question").count() == 1
    assert page.locator("button[value='1']").inner_text() == "Previous"
    assert page.locator("button[value='3']").inner_text() == "Next"
    page.locator("section.question input[name$=choices]").first.check()
    page.click("button[value='3']")
    page.wait_for_url(re.compile(r".*\?q=3$"))
    assert page.locator("button[value='2']").inner_text() == "Previous"
    check_page(page)
    page.click("button[value=finish]")
    page.wait_for_url(re.compile(r".*/finish$"))
    statuses = {row.get_attribute("data-summary"): row.locator("td").first.inner_text()
                for row in page.locator("tr[data-summary]").all()}
    assert statuses["1"].startswith("Not valid")
    assert statuses["2"] == "Answered"
    assert statuses["3"] == "Not answered"
    assert page.locator("tr[data-summary='2'] td").nth(1).inner_text() == "Flagged"
    assert page.locator("tr[data-summary='1'] a").get_attribute("href") == f"/attempts/{attempt_id}?q=1"
    check_page(page, "student-summary" + ("-phone" if page.viewport_size == PHONE else ""))
    reply = page.request.get(f"{live_server.url}/api/v1/attempts/{attempt_id}")
    assert [q["flagged"] for q in reply.json()["questions"]] == [False, True, False]
    page.click("form[data-submit-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/review$"))
    check_page(page)


def test_flags_without_javascript(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    quiz_id = make_quiz(live_server, "Flags by form", [NUMERIC, "perplexity-after-loss-drop"])
    sign_in(page, live_server, "student")
    attempt_id = start(page, live_server, quiz_id)
    page.check("input[data-flag='2']")
    page.click("button[value=stay]:not(.default-submit)")
    page.wait_for_load_state()
    assert page.locator("input[data-flag='2']").is_checked()
    database = live_server.database()
    with session_scope(database) as session:
        flags = {row.slot: row.flagged for row in session.execute(
            select(QuestionAttempt.slot, QuestionAttempt.flagged).where(QuestionAttempt.attempt_id == attempt_id))}
    database.dispose()
    assert flags == {1: False, 2: True}
    context.close()


def test_a_reload_100_ms_after_typing_loses_nothing(page: Any, live_server: LiveServer) -> None:
    quiz_id = make_quiz(live_server, "Typed then reloaded", [NUMERIC])
    sign_in(page, live_server, "student")
    start(page, live_server, quiz_id)
    page.fill("input[name=s1-answer]", "2.75")
    page.wait_for_timeout(100)  # well inside the autosave's delay
    page.reload()
    assert page.locator("input[name=s1-answer]").input_value() == "2.75"
    # what a student writes in another form is read, and they are told how, beside the field
    page.fill("input[name=s1-answer]", "0,5")
    page.wait_for_function("document.querySelector('[data-read-as]').textContent === 'Read as 0.5.'")
    page.fill("input[name=s1-answer]", "1/0")
    page.wait_for_function("document.querySelector('#s1-error').textContent.includes('denominator')")
    assert page.locator("#s1-answer").get_attribute("aria-invalid") == "true"
    assert page.locator("[data-read-as]").inner_text() == ""


def test_an_answer_typed_before_the_page_script_runs_is_saved(page: Any, live_server: LiveServer) -> None:
    """A slow connection: the student types while the attempt's script is still on its way; once it
    runs, it saves what differs from what the page was served with."""
    quiz_id = make_quiz(live_server, "Typed early", [NUMERIC])
    sign_in(page, live_server, "student")
    held: list[Any] = []
    page.route("**/static/attempt.js", lambda route: held.append(route))  # noqa: PLW0108 - Playwright wants a function
    page.goto(f"{live_server.url}/quizzes/{quiz_id}")
    page.click("form[action$='/start'] button")
    page.wait_for_url(re.compile(r".*/attempts/\d+$"), wait_until="commit")
    page.fill("input[name=s1-answer]", "2.75")
    assert held, "the script was asked for before the answer was typed"
    held[0].continue_()
    page.wait_for_function("() => document.querySelector('[data-save-state]').dataset.kind === 'saved'")
    page.unroute("**/static/attempt.js")
    page.reload()
    assert page.locator("input[name=s1-answer]").input_value() == "2.75"


def test_ordering_starts_unanswered_and_the_timer_speaks(page: Any, live_server: LiveServer) -> None:
    database = live_server.database()
    quiz_id = make_quiz(live_server, "Ordering, timed", [ORDERING], time_limit_minutes=30)
    sign_in(page, live_server, "student")
    attempt_id = start(page, live_server, quiz_id)
    selects = page.locator("ol.ordering select").all()
    assert selects and all(s.input_value() == "" for s in selects), "ordering positions are pre-filled"
    assert page.locator("[data-nav='1']").get_attribute("aria-label") == "Question 1: not answered"
    with session_scope(database) as session:
        session.execute(update(Attempt).where(Attempt.id == attempt_id)
                        .values(deadline_at=utcnow() + timedelta(minutes=5, seconds=2)))
    database.dispose()
    page.reload()
    page.wait_for_function("document.querySelector('[data-time-announce]').textContent === '5 minutes left.'",
                           timeout=10_000)
    for select_ in selects:  # every option at position 1: said at once, beside the positions
        select_.select_option("1")
    page.wait_for_function("document.querySelector('#s1-error').textContent.includes('exactly once')")
    for n, select_ in enumerate(selects, start=1):
        select_.select_option(str(n))
    _wait_saved(page)
    assert page.locator("#s1-error").is_hidden()
    assert page.locator("[data-nav='1']").get_attribute("aria-label") == "Question 1: answered"


@pytest.mark.parametrize("sized", SIZES, indirect=True)
def test_every_student_page_fits_and_passes_axe(sized: Any, live_server: LiveServer) -> None:
    """The pages a student sees, with the bank's widest items (tables, display maths, plots)."""
    from assessments.models import Item

    page = sized
    suffix = "-phone" if page.viewport_size == PHONE else ""
    database = live_server.database()
    with session_scope(database) as session:
        keys = list(session.scalars(select(Item.key).order_by(Item.key)))
    database.dispose()
    quiz_id = make_quiz(live_server, "The whole bank, on " + ("a phone" if suffix else "a desktop"), keys)
    sign_in(page, live_server, "student")
    check_page(page, "student-dashboard" + suffix)
    page.goto(f"{live_server.url}/quizzes/{quiz_id}")
    check_page(page)
    attempt_id = start(page, live_server, quiz_id)
    check_page(page)
    page.goto(f"{live_server.url}/attempts/{attempt_id}?q=1")
    check_page(page)
    page.goto(f"{live_server.url}/attempts/{attempt_id}/finish")
    check_page(page)
    page.click("form[data-submit-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/review$"))
    check_page(page)
    marks = {kind: {box.inner_text() for box in page.locator(f"section[data-type={kind}] .box").all()}
             for kind in ("single_choice", "multiple_response")}
    assert marks == {"single_choice": {"○"}, "multiple_response": {"☐"}}, "single choice shown as checkboxes"
    header = page.locator("header.bar").bounding_box()
    assert header is not None and header["height"] < 60, "the header wraps"



def test_an_essay_below_its_word_minimum_is_said_beside_it(page: Any, live_server: LiveServer) -> None:
    quiz_id = make_quiz(live_server, "A short essay", ["rlhf-blueprint-regulated-customer-support"])
    sign_in(page, live_server, "student")
    start(page, live_server, quiz_id)
    page.fill("textarea[name=s1-text]", "Too short.")
    page.wait_for_function("document.querySelector('#s1-error').textContent.startsWith('write at least')")
    assert page.locator("textarea[name=s1-text]").get_attribute("aria-describedby") == "s1-error"
    assert page.locator("[data-nav='1']").get_attribute("aria-label") == "Question 1: not valid"
    page.fill("textarea[name=s1-text]", "The policy exploits the reward model's errors. " * 80)  # 560 words
    page.wait_for_function("document.querySelector('#s1-error').hidden")
    assert page.locator("[data-nav='1']").get_attribute("aria-label") == "Question 1: answered"
