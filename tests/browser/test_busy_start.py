"""Starting a quiz while the server is behind: the start is refused at once (503, Retry-After), the
page says so and when it will try again, and tries again by itself; the student lands in their
attempt as soon as the server lets them in. At desktop size and on a phone, axe clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from assessments import limits
from tests.browser.conftest import LiveServer, opened_page, sign_in
from tests.browser.test_taking import PHONE, SIZES, check_page, make_quiz


def admission(server: LiveServer) -> limits.Admission:
    """The live app's admission middleware (its stack is built by the first request)."""
    layer: Any = server._server.config.loaded_app  # the test's own server
    while not isinstance(layer, limits.Admission):
        layer = getattr(layer, "middleware_stack", None) or layer.app
    return layer


@pytest.fixture
def busy(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page at the parametrised size; the browser's report of the 503 itself is expected."""
    with opened_page(browser, viewport=request.param, bypass_csp=True, has_touch=request.param == PHONE) as page:
        yield page
    assert [e for e in page.errors if "status of 503" not in e] == [], page.errors


@pytest.mark.parametrize("busy", SIZES, indirect=True)
def test_a_refused_start_tries_again_by_itself(busy: Any, live_server: LiveServer) -> None:
    page = busy
    quiz_id = make_quiz(live_server, "Busy start", ["rlhf-pipeline-order"])
    sign_in(page, live_server, "student")
    page.goto(f"{live_server.url}/quizzes/{quiz_id}")
    page.clock.install()  # the page's countdown runs when the test moves the clock, not during axe
    gate = admission(live_server)
    refused = gate.refused
    gate.in_hand += gate.limit  # as many requests in hand as the server takes: a start is refused
    try:
        page.click("form[action$='/start'] button")
        page.wait_for_selector("h1:text('Busy: try again')")
        assert page.url.endswith(f"/quizzes/{quiz_id}/start")
        status = page.locator(".retry-status")
        page.wait_for_selector(".retry-status:not([hidden])")
        assert re.fullmatch(r"Trying again by itself in [12] seconds?…", status.inner_text())
        assert page.locator("button:text('Try again')").is_visible()
        check_page(page, "busy-start" + ("-phone" if page.viewport_size == PHONE else ""))
        with page.expect_navigation():  # still busy: the page sends the start again by itself, refused again
            page.clock.run_for(4000)
        page.wait_for_selector("h1:text('Busy: try again')")
        assert gate.refused == refused + 2
    finally:
        gate.in_hand -= gate.limit  # the queue drains
    page.wait_for_selector(".retry-status:not([hidden])")
    page.clock.run_for(4000)
    page.wait_for_url(re.compile(r".*/attempts/\d+$"), timeout=10_000)  # the page's own retry got in
