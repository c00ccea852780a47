"""A quiz's whole life in a real browser, as an instructor runs it in a week of term: the quiz is
built with the picker from the bank (a computed item whose key is wrong, and an essay), previewed
(the preview counted nowhere), published; a student with one and a half times the time limit
takes it on a phone and sees their own limit; two more students take it; the essays are graded in
the queue for all three; the instructor overrides one student's mark; the key is fixed and the
quiz regraded, the override shown in the dry run and cleared; the responses report and the CSV
carry every question's mark and response; the quiz is archived with everything kept."""

from __future__ import annotations

import csv
import io
import math
import re
import secrets
import textwrap
from typing import Any

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in
from tests.browser.test_quiz_life import PHONE, _no_sideways_scroll

COURSE = "foundations-of-llms"
ESSAY_ITEM = "rlhf-reward-hacking-spike-root-cause"
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "a long password for the walk"
ESSAYS = {
    "student": "Length bias in the reward model: the policy writes longer answers the labellers did not prefer. ",
    "walk-ana": "The KL target was raised, so the policy drifted to where the reward model is wrong. ",
    "walk-ben": "Labeller batch V3 rewarded a template; the reward model learned it and the policy found it. ",
}
ESSAY_MARKS = {"student": "3", "walk-ana": "2", "walk-ben": "4"}


def _numeric_item(key: str, *, fixed: bool) -> str:
    """The computed item, its key swapped (the author's slip) or fixed."""
    answer = "ranking_loss(r_w, r_l)" if fixed else "ranking_loss(r_l, r_w)"
    return textwrap.dedent(f"""\
        id: {key}
        type: numeric
        title: Ranking loss of the week's pair
        tags:
          course: Foundations of Large Language Models
          chapter: Ch.4 Alignment
          bloom: Apply
        concepts: [reward-model-ranking-loss]
        stem: >-
          The reward model scores the preferred response r_w = {{{{ r_w }}}}
          and the other r_l = {{{{ r_l }}}}. What is the ranking loss?
        params:
          r_w: {{uniform: [-2, 2], step: 0.1}}
          r_l: {{uniform: [-2, 2], step: 0.1}}
        constraints: [abs(r_w - r_l) >= 0.3]
        answer: {answer}
        tolerance: {{sigfigs: 3}}
        misconceptions:
          forgot-the-log: 1 - sigmoid(r_w - r_l)
        """)


def _loss(stem: str) -> str:
    """The right answer to the student's own variant, from the numbers their stem shows."""
    found = re.search(r"r_w = (-?\d+(?:\.\d+)?) and the other r_l = (-?\d+(?:\.\d+)?)", stem)
    assert found, stem
    r_w, r_l = float(found.group(1)), float(found.group(2))
    return f"{math.log1p(math.exp(-(r_w - r_l))):.4f}"


def _api(context: Any, username: str, password: str) -> dict[str, str]:
    token = context.request.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert token.ok, token.text()
    return {"authorization": f"Bearer {token.json()['access_token']}"}


def _students(live_server: LiveServer) -> None:
    """Two more students in the demo course (the demo's own student is the third)."""
    from sqlalchemy import select

    from assessments.auth.passwords import hash_password
    from assessments.db import session_scope
    from assessments.models import Course, CourseRole, Enrolment, Role, User

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course).where(Course.slug == COURSE)).one()
        for username in ("walk-ana", "walk-ben"):
            user = User(username=username, display_name=username.removeprefix("walk-").title(), role=Role.STUDENT,
                        password_hash=hash_password(PASSWORD))
            session.add(user)
            session.flush()
            session.add(Enrolment(course_id=course.id, user_id=user.id, role=CourseRole.STUDENT))
    database.dispose()


def _take_over_rest(context: Any, quiz_id: int, username: str) -> int:
    """A student's attempt over REST: the computed question answered right, the essay written."""
    me = _api(context, username, PASSWORD)
    attempt = context.request.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=me)
    assert attempt.status == 201, attempt.text()
    view = attempt.json()
    questions = {q["question"]["type"]: q for q in view["questions"]}
    numeric, essay = questions["numeric"], questions["essay"]
    for question, response in ((numeric, {"answer": _loss(numeric["question"]["stem"])}),
                               (essay, {"text": ESSAYS[username] * 8})):
        saved = context.request.put(f"/api/v1/attempts/{view['id']}/responses/{question['slot']}", headers=me,
                                    data={"response": response, "seq": question["seq"]})
        assert saved.status == 200, saved.text()
    assert context.request.post(f"/api/v1/attempts/{view['id']}/submit", headers=me).status == 200
    return int(view["id"])


def _pick(page: Any, text: str, key: str) -> None:
    """Search the picker for ``text`` and add the item ``key`` to the first section."""
    page.fill("#pick-q", "")
    page.locator("#pick-q").press_sequentially(text, delay=20)
    page.locator(f"#pick-{key}").wait_for()
    page.check(f"#pick-{key}")
    page.select_option("#pick-section", "0")
    page.click("[data-picker-add]")


def test_a_quiz_from_the_picker_to_the_archive(browser: Any, live_server: LiveServer) -> None:
    token = secrets.token_hex(3)
    key = f"week-pair-loss-{token}"
    _students(live_server)
    desk = browser.new_context(viewport=DESKTOP, base_url=live_server.url, bypass_csp=True).new_page()
    sign_in(desk, live_server, "instructor")
    teacher = _api(desk.context, "instructor", live_server.accounts["instructor"].password)
    made = desk.context.request.post(f"/api/v1/items?bank=course:{COURSE}", data=_numeric_item(key, fixed=False),
                                     headers={**teacher, "content-type": "application/yaml"})
    assert made.status == 201, made.text()

    # Built with the picker: the computed item and the essay, each at its own max mark.
    desk.goto(f"{live_server.url}/courses/{COURSE}/quizzes/new")
    desk.fill("#title", f"Week 4 check {token}")
    _pick(desk, key, key)
    _pick(desk, "reward-hacking-spike", ESSAY_ITEM)
    assert desk.input_value("#section-0-items") == f"{key}\n{ESSAY_ITEM}"
    assert desk.input_value(f"#section-0-mark-{key}") == "1"  # the item's own max mark
    desk.fill(f"#section-0-mark-{ESSAY_ITEM}", "4")  # the essay's rubric is out of 4 here
    desk.fill("#time_limit_minutes", "20")
    desk.click("form.builder > button[type=submit]")
    desk.wait_for_url(re.compile(r".*/quizzes/\d+$"))
    quiz_url = desk.url
    quiz_id = int(quiz_url.rsplit("/", 1)[1])
    assert "This quiz is draft: students do not see it" in desk.locator("p.notice").inner_text()

    # Previewed: an attempt marked as a preview, counted nowhere.
    desk.click("form[action$='/start'] button")
    desk.wait_for_url(re.compile(r".*/attempts/\d+$"))
    desk.click("button[value=finish]")
    desk.wait_for_url(re.compile(r".*/finish$"))
    desk.click("form[data-submit-form] button[type=submit]")
    desk.wait_for_url(re.compile(r".*/review$"))
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    assert desk.locator("span.pill", has_text="preview").count() == 1

    # Published; the demo student gets one and a half times the limit.
    desk.click("form[action$='/status'] button:has-text('Publish now')")
    desk.wait_for_url(re.compile(r".*/manage\?message=.*"))
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/overrides")
    desk.select_option("#who", "user:student")
    desk.fill("#time_multiplier", "1.5")
    desk.click("form[action$='/overrides'] button[type=submit]")
    desk.wait_for_url(re.compile(r".*/overrides\?message=.*"))

    # The student takes it on a phone: their own limit, their own numbers.
    phone = browser.new_context(viewport=PHONE, bypass_csp=True, has_touch=True).new_page()
    sign_in(phone, live_server, "student")
    phone.goto(quiz_url)
    assert re.search(r"Your time limit\s+30 minutes", phone.locator("dl.facts").inner_text())
    phone.click("form[action$='/start'] button")
    phone.wait_for_url(re.compile(r".*/attempts/\d+$"))
    numeric = phone.locator("section.question[data-type=numeric]")
    numeric.locator("input[name$=answer]").fill(_loss(numeric.locator(".stem").inner_text()))
    phone.locator("section.question[data-type=essay] textarea").fill(ESSAYS["student"] * 8)
    phone.wait_for_function("() => document.querySelector('[data-save-state]').dataset.kind === 'saved'",
                            timeout=10_000)
    _no_sideways_scroll(phone)
    phone.click("button[value=finish]")
    phone.wait_for_url(re.compile(r".*/finish(\?.*)?$"))
    phone.click("form[data-submit-form] button[type=submit]")
    phone.wait_for_url(re.compile(r".*/review(\?.*)?$"))
    shoot(phone, "quiz-walk-student-review-390")
    others = {username: _take_over_rest(desk.context, quiz_id, username) for username in ("walk-ana", "walk-ben")}

    # The essays, graded in the queue with "Save and next", for all three students.
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/grading")
    essay_slot = 2
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/slots/{essay_slot}/grading?state=ungraded")
    graded: dict[str, str] = {}
    for _ in range(3):
        title = desk.locator("#response-title").inner_text()
        who = next(u for u in ESSAYS if _display(u) in title)
        desk.fill("#mark", ESSAY_MARKS[who])
        desk.click("#grade-form button[type=submit]")
        desk.wait_for_url(re.compile(r".*(attempt=\d+|message=).*"))
        graded[who] = ESSAY_MARKS[who]
    assert "No response to this question waits for a grader." in desk.locator("p.notice").inner_text()
    check_accessibility(desk)
    assert graded == ESSAY_MARKS

    # (the key fix and the regrade, with an override shown and cleared: see _regrade)
    _regrade(desk, live_server, quiz_id, key, others["walk-ana"], teacher)

    # The responses report: each student's answer and their variant's numbers.
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/responses")
    report = desk.locator("main").inner_text()
    for username, essay in ESSAYS.items():
        assert essay.strip()[:40] in report, username
    assert "r_w" in report and "r_l" in report
    _no_sideways_scroll(desk)
    check_accessibility(desk)
    shoot(desk, "quiz-walk-responses")

    # The CSV: every question's mark, the students' own.
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/results")
    with desk.expect_download() as download:
        desk.click("a:has-text('Export (CSV)')")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    marks = {row["username"]: row for row in rows}
    assert set(marks) == set(ESSAYS), marks.keys()
    for username in ESSAYS:
        assert float(marks[username]["q1_mark"]) == 1.0, (username, marks[username])
        assert float(marks[username]["q2_mark"]) == float(ESSAY_MARKS[username]), (username, marks[username])

    # Archived: put away, every attempt and grade kept.
    desk.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    desk.click("form[action$='/status'] button:has-text('Archive')")
    desk.wait_for_url(re.compile(r".*/manage\?message=.*"))
    assert "This quiz is archived" in desk.content()
    phone.goto(quiz_url)
    assert "This quiz is closed" in phone.content()
    desk.context.close()
    phone.context.close()


def _display(username: str) -> str:
    return {"student": "Demo Student", "walk-ana": "Ana", "walk-ben": "Ben"}[username]


def _regrade(desk: Any, live_server: LiveServer, quiz_id: int, key: str, ana_attempt: int,
             teacher: dict[str, str]) -> None:
    """The instructor gives Ana half marks on the computed question by hand (an override), fixes
    the item's key, and regrades: the dry run lists Ana's question as pinned by the override; the
    override is cleared, and the regrade gives every student full marks."""
    desk.goto(f"{live_server.url}/attempts/{ana_attempt}/grade")
    desk.fill("section[id=q1] input[name=mark]", "0.5")  # out of 1: "half marks for the method"
    desk.click("section[id=q1] button[type=submit]")
    desk.wait_for_url(re.compile(r".*/grade\?message=Grade.*"))

    # The key is fixed (a new version of the item), and the quiz is moved to it: on to the regrade.
    fixed = desk.context.request.put(f"/api/v1/items/{key}", data=_numeric_item(key, fixed=True),
                                     headers={**teacher, "content-type": "application/yaml"})
    assert fixed.ok, fixed.text()
    assert fixed.json()["version"] == 2
    desk.goto(f"{live_server.url}/bank/{key}/versions")
    desk.select_option("#use-2", str(quiz_id))
    desk.click("form[action$='/versions/2/use'] button[type=submit]")
    desk.wait_for_url(re.compile(rf".*/quizzes/{quiz_id}/regrade$"))

    # The dry run: Ana's question kept at the override's 0.5, the regrade would give 1.
    pinned = desk.locator("section[aria-labelledby=pinned-title] li")
    assert pinned.count() == 1
    row = pinned.first.inner_text()
    assert "Ana" in row and "Mark kept: 0.5 / 1" in row and "gives 1 / 1" in row, row
    shoot(desk, "quiz-walk-regrade-pinned")
    check_accessibility(desk)
    desk.click("section[aria-labelledby=pinned-title] button[type=submit]")
    desk.wait_for_url(re.compile(rf".*/quizzes/{quiz_id}/regrade\?message=.*"))
    assert "Override cleared" in desk.content()
    desk.click("form[action$='/regrade'] button[type=submit]")
    assert "Regraded" in desk.content()
