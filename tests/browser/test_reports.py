"""The results and responses reports in a real browser: the student has one finished attempt and one
still open; the instructor reads every question's mark, closes the open attempt and grades it now,
reads the responses as the student saw them with their variant's numbers, and downloads the CSV,
whose per-question marks are the attempts' own. Desktop and 390 px wide (no sideways scroll: the
wide tables scroll in their own boxes), axe on every page."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.request
from typing import Any

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in
from tests.browser.test_quiz_life import PHONE, _no_sideways_scroll

ITEMS = ["ranking-loss-which-pair-is-penalised", "bradley-terry-preference-probability",
         "rlhf-reward-hacking-spike-root-cause"]
ESSAY = "The reward model rewards length, so the policy writes long answers instead of better ones."


class _Reply:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code, self.text = status_code, text

    def json(self) -> Any:
        return json.loads(self.text)


def _call(method: str, url: str, headers: dict[str, str] | None = None, json_body: Any = None) -> _Reply:
    """One API request (the standard library's client: the browser's session stays out of it)."""
    data = None if json_body is None else json.dumps(json_body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={**(headers or {}), "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request) as reply:
            return _Reply(reply.status, reply.read().decode())
    except urllib.error.HTTPError as error:
        return _Reply(error.code, error.read().decode())


def _token(server: LiveServer, username: str) -> dict[str, str]:
    reply = _call("POST", f"{server.url}/api/v1/auth/token",
                       json_body={"username": username, "password": server.accounts[username].password})
    assert reply.status_code == 200, reply.text
    return {"authorization": f"Bearer {reply.json()['access_token']}"}


def _quiz(server: LiveServer, teacher: dict[str, str]) -> int:
    made = _call("POST", f"{server.url}/api/v1/courses/foundations-of-llms/quizzes", headers=teacher, json_body={
        "title": "Reports check", "settings": {"attempts_allowed": None, "shuffle_options": False},
        "sections": [{"items": ITEMS}]})
    assert made.status_code == 201, made.text
    quiz_id = int(made.json()["id"])
    published = _call("PUT", f"{server.url}/api/v1/quizzes/{quiz_id}/status", headers=teacher,
                          json_body={"status": "published"})
    assert published.status_code == 200, published.text
    return quiz_id


def _attempt(server: LiveServer, student: dict[str, str], quiz_id: int, *, submit: bool) -> int:
    started = _call("POST", f"{server.url}/api/v1/quizzes/{quiz_id}/attempts", headers=student)
    assert started.status_code in (200, 201), started.text
    attempt = started.json()
    answers = {1: {"choices": [0, 2]}, 2: {"answer": "0.62"}, 3: {"text": ESSAY}}
    for question in attempt["questions"]:
        saved = _call("PUT", f"{server.url}/api/v1/attempts/{attempt['id']}/responses/{question['slot']}",
                          headers=student, json_body={"response": answers[question["slot"]], "seq": question["seq"]})
        assert saved.status_code == 200, saved.text
    if submit:
        assert _call("POST", f"{server.url}/api/v1/attempts/{attempt['id']}/submit", headers=student).status_code == 200
    return int(attempt["id"])


def _check(page: Any, name: str) -> None:
    shoot(page, name)
    check_accessibility(page)
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    check_accessibility(page)
    shoot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_results_responses_and_the_csv(page: Any, live_server: LiveServer) -> None:
    teacher = _token(live_server, "instructor")
    student = _token(live_server, "student")
    quiz_id = _quiz(live_server, teacher)
    finished = _attempt(live_server, student, quiz_id, submit=True)
    open_ = _attempt(live_server, student, quiz_id, submit=False)

    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    page.click("a.button:has-text('Results')")
    page.wait_for_url(re.compile(rf".*/quizzes/{quiz_id}/results$"))
    assert page.locator("table.results thead th", has_text=re.compile(r"^Q\d$")).count() == 3
    row = page.locator(f"#attempt-{finished}")
    assert "needs grading" in row.inner_text()
    api_rows = _call("GET", f"{live_server.url}/api/v1/quizzes/{quiz_id}/attempts", headers=teacher).json()
    marks = {r["id"]: [q["mark"] for q in r["questions"]] for r in api_rows}
    cells = row.locator("td").all_inner_texts()[6:9]
    assert [c.split("/")[0].strip() for c in cells] == [
        "–" if m is None else f"{round(m, 2):g}" for m in marks[finished]]
    _check(page, "reports-results")

    # close the open attempt and grade it now, with a reason for the record
    page.fill(f"#reason-{open_}", "left early, unwell")
    page.click(f"form[action='/attempts/{open_}/close'] button")
    page.wait_for_url(re.compile(r".*/results\?message=.*"))
    assert "Attempt 2 closed and graded" in page.locator("p.notice").inner_text()
    assert page.locator(f"form[action='/attempts/{open_}/close']").count() == 0
    page.select_option("#status", "needs_grading")
    page.click("form.report-filter button[type=submit]")
    page.wait_for_url(re.compile(r".*status=needs_grading.*"))
    assert page.locator("tbody tr[id^=attempt-]").count() == 2  # both essays wait for a grader

    # the responses as the student saw them, with the variant's numbers
    page.click("a.button:has-text('Responses')")
    page.wait_for_url(re.compile(rf".*/quizzes/{quiz_id}/responses.*"))
    card = page.locator(f"#attempt-{finished}")
    text = card.inner_text()
    assert ESSAY in text and "0.62" in text and "preferred scored" in text
    assert re.search(r"r_w = \[", text), text
    assert "{" not in card.locator("td.response").all_inner_texts()[0]
    _check(page, "reports-responses")

    # the CSV, downloaded: per-question marks as the attempts hold them
    page.goto(f"{live_server.url}/quizzes/{quiz_id}/results")
    with page.expect_download() as download:
        page.click("a:has-text('Export (CSV)')")
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    api_rows = _call("GET", f"{live_server.url}/api/v1/quizzes/{quiz_id}/attempts", headers=teacher).json()
    assert len(table) == len(api_rows) == 2
    for exported, listed in zip(table, api_rows, strict=True):
        for q in listed["questions"]:
            mark = q["mark"]
            assert exported[f"q{q['slot']}_mark"] == ("" if mark is None else f"{mark:g}")
        assert exported["q3_response"] == ESSAY
