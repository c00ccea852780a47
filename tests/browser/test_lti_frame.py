"""Assay inside an LMS's frame, in real Chromium: the test LMS (``lms.py``) on ``platform.test`` frames
Assay on ``tool.test``, two sites on loopback, both over HTTPS; a student's OIDC login, launch and
whole quiz attempt happen in the frame.

Each way a browser treats cookies in a third-party frame gets its own Chromium profile, whose
preferences are written before it starts (found with Chromium 156; its command-line switches for
this are gone, and a Playwright context already blocks unpartitioned third-party cookies):

- ``allowed``: ``profile.cookie_controls_mode`` 0, third-party cookies kept (Assay's cookies work);
- ``blocked``: ``cookie_controls_mode`` 1, "Block third-party cookies": only ``Partitioned`` (CHIPS)
  cookies are kept in the frame, which is what Assay's launch cookies are;
- ``none``: besides, a cookie exception blocks tool.test's cookies on platform.test's pages, as
  Safari keeps no third-party cookie at all: the login's state goes through the platform's storage
  (postMessage) and the session lives in the page; and where the platform offers no storage, the
  frame offers a new window, where Assay's cookies are first-party.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assessments.bank.content_sync import load_content
from assessments.config import Settings
from assessments.db import Database, session_scope
from assessments.demo import set_up_demo
from assessments.lti import http
from assessments.lti.schemas import RegistrationCreate
from assessments.lti.service import register
from assessments.migrations import upgrade
from assessments.models import Attempt, AttemptState, Course, LtiContext, LtiPlatform, Role, User, utcnow
from tests.browser.conftest import AXE, LAUNCH_ARGS, LiveServer, _free_port, shoot
from tests.browser.lms import CONTEXT, HOST_RULES, CourseLms, certificate
from tests.browser.test_student import _answer_everything
from tests.conftest import ROOT

PROFILES: dict[str, dict[str, Any]] = {
    "allowed": {"cookie_controls_mode": 0, "block_third_party_cookies": False},
    "blocked": {"cookie_controls_mode": 1, "block_third_party_cookies": True},
    "none": {"cookie_controls_mode": 1, "block_third_party_cookies": True,
             "content_settings": {"exceptions": {"cookies": {"[*.]tool.test,[*.]platform.test": {"setting": 2}}}}},
}
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}


@dataclass
class Site:
    lms: CourseLms
    assay: LiveServer
    database_url: str
    quiz_id: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("lti-frame")
    tls = certificate(folder)
    port = _free_port()
    tool = f"https://tool.test:{port}"
    lms = CourseLms(tool=tool, tls=tls)
    lms.start()
    url = f"sqlite:///{folder / 'assay.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with session_scope(database) as session:
        load_content(session, ROOT / "content", actor_id=None, now=utcnow())
        _, quiz_id = set_up_demo(session, utcnow())
        platform = register(session, RegistrationCreate.model_validate(lms.registration()), utcnow())
        course = session.scalars(select(Course)).one()
        session.add(LtiContext(platform_id=platform.id, context_id=CONTEXT, course_id=course.id))
    database.dispose()
    lms.quiz_id = quiz_id
    settings = Settings(data_dir=folder, secret_key="lti-frame-tests-" + "k" * 40, public_url=tool)
    assay = LiveServer(settings, url, port=port, host_name="tool.test", tls=tls)
    http.use_transport(lms.transport())
    assay.start()
    yield Site(lms, assay, url, quiz_id)
    assay.stop()
    http.use_transport(None)
    lms.stop()


@pytest.fixture
def chromium(browser: Any) -> Any:
    """Debian's Chromium as Playwright drives it (the session's Playwright: it runs one at a time)."""
    return browser.browser_type


def _browser(chromium: Any, tmp_path: Path, profile: str) -> Any:
    """A Chromium whose profile treats third-party cookies as ``profile`` says (its CSP enforced)."""
    folder = tmp_path / profile
    (folder / "Default").mkdir(parents=True)
    (folder / "Default" / "Preferences").write_text(json.dumps({"profile": PROFILES[profile]}))
    context = chromium.launch_persistent_context(
        str(folder), executable_path="/usr/bin/chromium", args=[*LAUNCH_ARGS, HOST_RULES],
        ignore_https_errors=True, viewport=WIDE)
    context.errors = []
    context.on("weberror", lambda error: context.errors.append(str(error.error)))
    context.on("console", lambda m: context.errors.append(m.text) if m.type == "error" else None)
    context.on("response", lambda r: context.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return context


def _axe(target: Any) -> None:
    """axe-core in a page or frame whose policy refuses injected scripts: evaluated, not injected."""
    target.evaluate(AXE.read_text())
    result = target.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})")
    problems = [f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
                for v in result["violations"]]
    assert problems == [], problems


def _accessible_at_both_widths(page: Any, target: Any, name: str) -> None:
    for size, label in ((WIDE, "desktop"), (NARROW, "390")):
        page.set_viewport_size(size)
        # A frame (as wide as the LMS's page) lays out again after the page: wait for it.
        target.wait_for_function("(width) => document.documentElement.clientWidth <= width", arg=size["width"])
        page.wait_for_timeout(200)
        _axe(target)
        # The page's own content (the site's header bar is base.html's, and not these pages' to fix).
        wider = target.evaluate("() => Array.from(document.querySelectorAll('main *')).filter("
                                "e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                                ".map(e => e.tagName + ' ' + e.className)")
        assert wider == [], f"{name} at {label}: {wider} scroll sideways"
        shoot(page, f"lti-{name}-{label}")
    page.set_viewport_size(WIDE)
    target.wait_for_function("(width) => document.documentElement.clientWidth > width", arg=NARROW["width"])


def _arrive(frame: Any, url: re.Pattern[str]) -> None:
    """Wait for the login, the platform's authorisation and the launch to bring the frame to ``url``
    (three sites' pages in turn, each in its own renderer on a busy machine); if they do not, say
    where the frame stopped and what it shows."""
    try:
        frame.wait_for_url(url, timeout=45_000)
    except Exception as exc:  # Playwright's TimeoutError: add what the frame shows
        try:
            shown = frame.evaluate("() => document.body ? document.body.innerText.slice(0, 400) : ''")
        except Exception as inner:  # noqa: BLE001 - a crashed or detached frame: say so
            shown = f"(the frame cannot be read: {inner})"
        raise AssertionError(f"the frame stopped at {frame.url}, showing {shown!r}") from exc


def _take_the_quiz(frame: Any) -> None:
    frame.click("form[action*='/start'] button")
    frame.wait_for_url(re.compile(r".*/attempts/\d+(\?.*)?$"))
    _answer_everything(frame)
    # A function, not an expression: the page's policy (no 'unsafe-eval') refuses evaluated strings.
    frame.wait_for_function("() => document.querySelector('[data-save-state]').dataset.kind === 'saved'",
                            timeout=10_000)
    frame.click("button[value=finish]")
    frame.wait_for_url(re.compile(r".*/finish(\?.*)?$"))
    frame.click("form[data-submit-form] button[type=submit]")
    frame.wait_for_url(re.compile(r".*/review(\?.*)?$"))


def _finished_attempts(site: Site, user: str) -> int:
    database = Database(site.database_url)
    with session_scope(database) as session:
        found = session.scalars(select(Attempt).join(User, User.id == Attempt.user_id).where(
            User.lti_subject == f"{site.lms.url}#{user}", Attempt.state == AttemptState.FINISHED)).all()
        count = len(found)
    database.dispose()
    return count


@pytest.mark.parametrize(("profile", "storage", "carried_in_page"), [
    ("allowed", False, False), ("blocked", False, False), ("none", True, True)])
def test_a_student_takes_a_quiz_inside_the_lms(site: Site, chromium: Any, tmp_path: Path, profile: str,
                                               storage: bool, carried_in_page: bool) -> None:
    browser = _browser(chromium, tmp_path, profile)
    page = browser.new_page()
    user = f"student-{profile}"
    page.goto(f"{site.lms.url}/course?user={user}&storage={int(storage)}")
    frame = page.frame(name="tool")
    _arrive(frame, re.compile(rf".*tool\.test:\d+/quizzes/{site.quiz_id}(\?.*)?$"))
    assert ("lti_session=" in frame.url) == carried_in_page, frame.url
    shoot(page, f"lti-frame-{profile}-quiz")
    _take_the_quiz(frame)
    shoot(page, f"lti-frame-{profile}-review")
    assert _finished_attempts(site, user) == 1
    assert browser.errors == [], browser.errors
    browser.close()


def test_without_cookies_or_platform_storage_the_frame_offers_a_new_window(site: Site, chromium: Any,
                                                                         tmp_path: Path) -> None:
    browser = _browser(chromium, tmp_path, "none")
    page = browser.new_page()
    page.goto(f"{site.lms.url}/course?user=student-window&storage=0")
    frame = page.frame(name="tool")
    button = frame.get_by_role("button", name="Open Assay in a new window")
    button.wait_for(timeout=10_000)
    _accessible_at_both_widths(page, frame, "new-window")
    button = page.frame(name="tool").get_by_role("button", name="Open Assay in a new window")  # after the resizes
    button.wait_for(timeout=10_000)
    button.scroll_into_view_if_needed()
    with browser.expect_page() as opened:
        button.click()
    window = opened.value
    window.wait_for_url(re.compile(rf".*tool\.test:\d+/quizzes/{site.quiz_id}$"), timeout=20_000)
    _take_the_quiz(window.main_frame)
    assert _finished_attempts(site, "student-window") == 1
    assert browser.errors == [], browser.errors
    browser.close()


def test_an_administrator_registers_assay_from_the_lms(site: Site, chromium: Any, tmp_path: Path) -> None:
    from assessments.auth.passwords import hash_password

    database = Database(site.database_url)
    with session_scope(database) as session:
        session.add(User(username="root", display_name="Administrator", role=Role.ADMIN,
                         password_hash=hash_password("a long admin password")))
    browser = _browser(chromium, tmp_path, "blocked")
    page = browser.new_page()
    page.goto(f"{site.assay.url}/login")
    page.fill("#username", "root")
    page.fill("#password", "a long admin password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.assay.url}/")
    page.goto(f"{site.assay.url}/lti/registrations")
    page.get_by_role("button", name="Open a registration link").click()
    link = page.input_value("#registration-link")
    assert link.startswith(f"{site.assay.url}/lti/register/")
    _accessible_at_both_widths(page, page.main_frame, "registrations")

    # The LMS's administrator pastes the link; the LMS opens it in its dialog (a frame).
    register_url = f"{link}?openid_configuration={site.lms.url}/openid-configuration&registration_token=dr-token"
    from urllib.parse import quote

    page.goto(f"{site.lms.url}/admin?register={quote(register_url, safe='')}")
    frame = page.frame(name="tool")
    frame.get_by_role("button", name="Register Assay").wait_for(timeout=10_000)
    _accessible_at_both_widths(page, frame, "register")
    frame.get_by_role("button", name="Register Assay").click()
    frame.get_by_role("heading", name="Assay is registered").wait_for()
    _accessible_at_both_widths(page, frame, "registered")
    frame.get_by_role("button", name="Done").click()
    page.wait_for_function("document.getElementById('closed').textContent === 'closed'")
    assert site.lms.registered[0]["initiate_login_uri"] == f"{site.assay.url}/lti/login"
    with session_scope(database) as session:
        made = session.scalars(select(LtiPlatform).where(LtiPlatform.client_id == "registered-dynamically")).one()
        assert made.deployment_ids == ["dr-1"] and made.registered_by == "dynamic"
    database.dispose()
    assert browser.errors == [], browser.errors
    browser.close()
