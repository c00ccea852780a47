"""The deep linking picker in a real browser: the course's quizzes and practices, the completion box, and
a choice refused at its field. At desktop width and on a 390 × 844 phone, with axe on every state.

The instructor signs in on Assay's own page; the deep linking request an LMS launch would leave in
their session is put there as the session middleware signs it (the launch itself is tested against
an LTI platform in tests/assessments/lti)."""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any

import itsdangerous
import pytest

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SESSION_COOKIE = "assay_session"


@pytest.fixture(scope="module")
def course_with_a_practice(live_server: LiveServer) -> int:
    from sqlalchemy import select

    from assessments.db import session_scope
    from assessments.models import Course, Practice, utcnow

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        session.add(Practice(course_id=course.id, title="Preferences until mastered", created_at=utcnow(),
                             concepts=["bradley-terry-model"]))
        found = course.id
    database.dispose()
    return found


def _with_deep_link_request(page: Any, server: LiveServer, course_id: int) -> None:
    """The signed-in session, with a deep linking request waiting in it."""
    signer = itsdangerous.TimestampSigner(server.settings.resolved_secret_key)
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    session = json.loads(b64decode(signer.unsign(cookie["value"].encode())))
    session["lti_deep_link"] = {"platform_id": 0, "deployment_id": "d", "return_url": "https://lms.test/return",
                                "data": None, "presentation": {}, "course_id": course_id}
    cookie["value"] = signer.sign(b64encode(json.dumps(session).encode())).decode()
    page.context.add_cookies([cookie])


def _no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", SIZES)
def test_the_picker_offers_quizzes_and_practices(browser: Any, live_server: LiveServer, course_with_a_practice: int,
                                                 size: str) -> None:
    viewport = SIZES[size]
    page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, live_server, "instructor")
    _with_deep_link_request(page, live_server, course_with_a_practice)
    page.goto(f"{live_server.url}/lti/deep-link")
    assert page.locator("h1").inner_text().startswith("Choose a quiz or a practice")
    assert page.locator("input[name=resource][value^='quiz:']").count() >= 1
    assert page.get_by_label("Preferences until mastered").count() == 1
    completion = page.get_by_label("Send each student's completion of the practice to the gradebook")
    assert not completion.is_checked()
    _no_sideways_scroll(page, viewport["width"])
    check_accessibility(page)
    shoot(page, f"lti-picker-{size}")

    # A choice the page never offers (none at all): refused at the field, nothing sent to the LMS.
    page.evaluate("document.querySelectorAll('input[name=resource]').forEach(r => { r.checked = false; })")
    page.click("form[action='/lti/deep-link'] button[type=submit]")
    assert page.locator(".error-summary").inner_text().startswith("There is a problem")
    assert page.locator(".error-summary a[href='#resource-choice']").inner_text() == (
        "Choose a quiz or a practice to add to the course")
    assert page.title().startswith("Error:")
    _no_sideways_scroll(page, viewport["width"])
    check_accessibility(page)
    shoot(page, f"lti-picker-error-{size}")
    page.context.close()
