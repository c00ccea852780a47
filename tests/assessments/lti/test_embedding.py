"""Launches inside the LMS's frame: the frame policy, cookies that work in a third-party frame, the
platform's storage where no cookie survives, and the launch's session carried by its pages."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from assessments.app import lti_cookie_warning
from assessments.config import Settings
from assessments.lti.embedding import set_login_cookies
from assessments.models import LtiNonce
from assessments.security import LAUNCH_TOKEN_HEADER, LAUNCH_TOKEN_PARAM, LTI_KEY, Sessions
from tests.assessments.lti.conftest import counts, lti_course
from tests.assessments.lti.platform import ISSUER, LEARNER, TOOL, Platform

LMS = "https://lms.example.edu"
FRAMED = {"sec-fetch-dest": "iframe", "sec-fetch-site": "cross-site"}
SAME_ORIGIN = {"sec-fetch-site": "same-origin"}


def _data(page: str, name: str) -> str:
    return html.unescape(page.split(f'data-{name}="', 1)[1].split('"', 1)[0])


def _hidden(page: str, name: str) -> str:
    return html.unescape(page.split(f'name="{name}" value="', 1)[1].split('"', 1)[0])


def test_pages_refuse_frames_but_a_launchs_pages_let_its_platform_frame_them(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    elsewhere = TestClient(lms.client.app).get("/login")
    assert "frame-ancestors 'none'" in elsewhere.headers["content-security-policy"]
    assert elsewhere.headers["x-frame-options"] == "DENY"
    assert lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz.id)}).status_code == 303
    page = lms.client.get(f"/quizzes/{quiz.id}")
    assert page.status_code == 200
    assert f"frame-ancestors {LMS};" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers


def _session_app(secure: bool) -> TestClient:
    app = FastAPI()

    @app.get("/begin")
    def begin(request: Request, lti: bool = False) -> PlainTextResponse:
        request.session["user_id"] = 1
        if lti:
            request.session[LTI_KEY] = {"platform": 1, "frames": [LMS], "carrier": "cookie"}
        return PlainTextResponse("ok")

    @app.get("/end")
    def end(request: Request) -> PlainTextResponse:
        request.session.clear()
        return PlainTextResponse("ok")

    app.add_middleware(Sessions, secret_key="s" * 40, secure=secure)
    return TestClient(app, base_url="https://testserver")


def test_a_launchs_session_cookie_is_partitioned_and_cross_site_where_cookies_are_secure() -> None:
    secure = _session_app(secure=True)
    cookie = secure.get("/begin", params={"lti": "true"}).headers["set-cookie"]
    assert cookie.endswith("; HttpOnly; SameSite=None; Secure; Partitioned"), cookie
    assert secure.get("/end").headers["set-cookie"].endswith("SameSite=None; Secure; Partitioned"), \
        "signing out clears the partitioned cookie, where it lives"
    own = _session_app(secure=True).get("/begin").headers["set-cookie"]
    assert own.endswith("; HttpOnly; SameSite=Lax; Secure"), "a session begun on Assay's own pages stays Lax"
    plain = _session_app(secure=False).get("/begin", params={"lti": "true"}).headers["set-cookie"]
    assert plain.endswith("; HttpOnly; SameSite=Lax"), "without Secure, SameSite=None would be refused: Lax"


def test_the_login_state_cookie_comes_back_in_a_third_party_frame() -> None:
    from fastapi.responses import Response

    response = Response()
    set_login_cookies(response, "abc", secure=True, probe=True)
    state, probe = response.headers.getlist("set-cookie")
    assert state.startswith("lti1p3-state-abc=1;") and "HttpOnly" in state
    for cookie in (state, probe):
        assert "Path=/lti/" in cookie and cookie.endswith("SameSite=None; Secure; Partitioned")
    assert probe.startswith("assay_lti_probe=1;") and "HttpOnly" not in probe, "the page's script reads the probe"
    response = Response()
    set_login_cookies(response, "abc", secure=False, probe=False)
    assert response.headers["set-cookie"].endswith("; HttpOnly; SameSite=Lax"), "development over http: Lax"


def _framed_login(lms: Platform, **extra: str) -> str:
    params = {"iss": ISSUER, "login_hint": "student-1", "target_link_uri": f"{TOOL}/lti/launch",
              "lti_message_hint": "resource-1", "client_id": lms.registration.get_client_id()} | extra
    reply = lms.client.get("/lti/login", params=params, headers=FRAMED, follow_redirects=False)
    assert reply.status_code == 200, reply.text
    assert f"frame-ancestors {LMS};" in reply.headers["content-security-policy"]
    return reply.text


def test_a_framed_login_keeps_its_state_in_the_platforms_storage_and_offers_a_new_window(
        lms: Platform, db: Session) -> None:
    page = _framed_login(lms, lti_storage_target="post_message_forwarding")
    state, nonce = _data(page, "state"), _data(page, "nonce")
    assert db.query(LtiNonce).filter_by(state=state, nonce=nonce).one().used_at is None
    assert _data(page, "storage-target") == "post_message_forwarding"
    assert _data(page, "storage-origin") == LMS, "lti.put_data goes to the OIDC authorisation endpoint's origin"
    assert _data(page, "auth-url").startswith(f"{LMS}/api/lti/authorize_redirect?")
    relaunch = page.split('target="_blank">', 1)[1].split("</form>", 1)[0]
    assert 'name="lti_storage_target"' not in relaunch and _hidden(relaunch, "login_hint") == "student-1"
    assert lms.client.cookies.get(f"lti1p3-state-{state}") == "1"
    assert _framed_login(lms, lti_storage_target="../../etc").count('data-storage-target=""') == 1, \
        "a storage target that is not a frame's name is ignored"


def _launch_form(lms: Platform, page: str, quiz_id: int) -> dict[str, Any]:
    preflight = {k: v[0] for k, v in parse_qs(urlsplit(_data(page, "auth-url")).query).items()}
    return dict(lms.id_token(preflight, "student-1", [LEARNER], custom={"quiz_id": str(quiz_id)}))


@pytest.fixture
def quiz_link(lms: Platform, db: Session) -> int:
    _, quiz = lti_course(db, lms)
    lms.client.cookies.clear()
    return quiz.id


def test_a_launch_that_lost_its_cookie_is_checked_in_the_platforms_storage_and_lives_in_its_page(
        lms: Platform, db: Session, quiz_link: int) -> None:
    page = _framed_login(lms, lti_storage_target="_parent")
    form = _launch_form(lms, page, quiz_link)
    lms.client.cookies.clear()  # the frame keeps no cookie
    before = counts(db)
    check = lms.client.post("/lti/launch", data={"id_token": form["id_token"], "state": form["state"],
                                                 "lti_storage_target": "_parent"}, follow_redirects=False)
    assert check.status_code == 200, check.text
    assert _data(check.text, "state") == _data(page, "state") and _data(check.text, "nonce") == _data(page, "nonce")
    assert f"frame-ancestors {LMS};" in check.headers["content-security-policy"]
    assert counts(db) == before, "the check page provisions nothing"

    posted = {"id_token": _hidden(check.text, "id_token"), "state": _hidden(check.text, "state")}
    for origin in ({}, {"origin": "https://evil.example"}):
        refused = lms.client.post("/lti/launch/verify", data=posted, headers=origin, follow_redirects=False)
        assert refused.status_code == 403 and counts(db) == before
    done = lms.client.post("/lti/launch/verify", data=posted, headers={"origin": TOOL}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert "assay_session" not in done.headers.get("set-cookie", ""), "no cookie: the session lives in the page"
    location = urlsplit(done.headers["location"])
    assert location.path == f"/quizzes/{quiz_link}"
    token = parse_qs(location.query)[LAUNCH_TOKEN_PARAM][0]

    quiz = lms.client.get(done.headers["location"], headers=SAME_ORIGIN, follow_redirects=False)
    assert quiz.status_code == 200 and f"frame-ancestors {LMS};" in quiz.headers["content-security-policy"]
    assert '<meta name="assay-session" content="' in quiz.text
    start = re.search(r'action="(/quizzes/\d+/start\?[^"]*)"', quiz.text)
    assert start is not None and f"{LAUNCH_TOKEN_PARAM}=" in start.group(1), "its forms carry the token"
    begun = lms.client.post(html.unescape(start.group(1)), headers=SAME_ORIGIN, follow_redirects=False,
                            data={"csrf_token": _hidden(quiz.text, "csrf_token")})
    assert begun.status_code == 303 and f"{LAUNCH_TOKEN_PARAM}=" in begun.headers["location"]
    assert begun.headers[LAUNCH_TOKEN_HEADER], "every answer renews the token"

    for headers in ({"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}):
        foreign = lms.client.get(f"/quizzes/{quiz_link}", params={LAUNCH_TOKEN_PARAM: token}, headers=headers,
                                 follow_redirects=False)
        assert foreign.status_code == 303 and foreign.headers["location"].startswith("/login"), \
            "a link from another site cannot sign a visitor in with someone's token"
    forged = lms.client.get(f"/quizzes/{quiz_link}", params={LAUNCH_TOKEN_PARAM: token[:-2] + "xx"},
                            headers=SAME_ORIGIN, follow_redirects=False)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/login")

    replay = lms.client.post("/lti/launch/verify", data=posted, headers={"origin": TOOL}, follow_redirects=False)
    assert replay.status_code == 400 and "nonce" in replay.text, "the nonce is spent"


def test_a_launch_without_cookie_or_storage_is_refused_where_the_lms_can_show_it(
        lms: Platform, db: Session, quiz_link: int) -> None:
    form = _launch_form(lms, _framed_login(lms), quiz_link)
    lms.client.cookies.clear()
    before = counts(db)
    reply = lms.client.post("/lti/launch", data={"id_token": form["id_token"], "state": form["state"]},
                            follow_redirects=False)
    assert reply.status_code == 400 and "state does not match" in html.unescape(reply.text)
    assert f"frame-ancestors {LMS};" in reply.headers["content-security-policy"]
    assert counts(db) == before


def test_the_public_url_says_whether_cookies_are_secure() -> None:
    assert Settings(public_url="https://assay.example.edu/").secure_cookies
    assert Settings(public_url="https://assay.example.edu/").public_url == "https://assay.example.edu"
    assert Settings(public_url="http://127.0.0.1:8000").secure_cookies, "Chromium keeps Secure cookies on loopback"
    assert Settings(public_url="http://localhost:8000").secure_cookies
    assert not Settings(public_url="http://assay.example.edu").secure_cookies
    assert not Settings().secure_cookies
    assert not Settings(public_url="https://assay.example.edu", cookie_secure=False).secure_cookies
    for bad in ("assay.example.edu", "ftp://assay.example.edu", "https://assay.example.edu/?x=1"):
        with pytest.raises(ValueError, match="public_url"):
            Settings(public_url=bad)


def test_start_says_when_platforms_are_registered_but_cookies_are_not_secure() -> None:
    said = lti_cookie_warning(Settings(public_url="http://assay.example.edu"), registered=2)
    assert said is not None and "2 LTI platform(s) are registered but cookies are not Secure" in said
    assert "ASSAY_PUBLIC_URL" in said
    assert lti_cookie_warning(Settings(), registered=0) is None, "no platform: nothing to say"
    assert lti_cookie_warning(Settings(public_url="https://assay.example.edu"), registered=2) is None
