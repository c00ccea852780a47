"""Registrations, keys, the OIDC round trip, launches and deep linking, against ``lti1p3platform``."""

from __future__ import annotations

from datetime import timedelta

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.lti import deep_linking, keys
from assessments.models import CourseRole, Enrolment, LtiNonce, LtiResourceLink, Role, User, utcnow
from tests.assessments.conftest import Clock, World
from tests.assessments.lti.conftest import counts, lti_course
from tests.assessments.lti.platform import CLIENT_ID, DEEP_LINK_RETURN, ISSUER, LEARNER, TOOL, Platform


def test_an_admin_registers_a_platform_and_lists_registrations(world: World, client: TestClient) -> None:
    admin = world.headers(world.user("root", Role.ADMIN))
    body = Platform(client).registration_body()
    made = client.post("/api/v1/lti/registrations", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json() | {"id": 0, "created_at": ""} == body | {
        "id": 0, "created_at": "", "registered_by": "hand", "frame_origins": ["https://lms.example.edu"]}
    assert client.post("/api/v1/lti/registrations", json=body, headers=admin).status_code == 409
    assert [r["issuer"] for r in client.get("/api/v1/lti/registrations", headers=admin).json()] == [ISSUER]
    for change in ({"jwks_url": "not a url"}, {"deployment_ids": ["d" * 256]}, {"deployment_ids": []}):
        bad = client.post("/api/v1/lti/registrations", json=body | change, headers=admin)
        assert bad.status_code == 422, change


def test_our_key_set_is_published_and_rotation_keeps_the_old_key_for_its_grace(db: Session,
                                                                               client: TestClient) -> None:
    first = client.get("/lti/jwks").json()["keys"]
    assert [k["alg"] for k in first] == ["RS256"] and "d" not in first[0]
    now = keys.signing_key(db, utcnow()).created_at
    rotated = keys.rotate(db, now, timedelta(days=2))
    assert [k["kid"] for k in keys.published(db, now + timedelta(days=1))["keys"]] == [first[0]["kid"], rotated.kid]
    assert [k["kid"] for k in keys.published(db, now + timedelta(days=3))["keys"]] == [rotated.kid]
    signed = keys.sign(db, {"hello": "platform"}, now)
    assert jwt.get_unverified_header(signed)["kid"] == rotated.kid


def test_login_redirects_to_the_platform_with_state_and_a_stored_nonce(lms: Platform, db: Session) -> None:
    preflight = lms.login("student-1")
    assert preflight["client_id"] == CLIENT_ID and preflight["redirect_uri"] == f"{TOOL}/lti/launch"
    assert (preflight["response_type"], preflight["response_mode"], preflight["scope"], preflight["prompt"]) == (
        "id_token", "form_post", "openid", "none")
    assert preflight["login_hint"] == "student-1" and preflight["lti_message_hint"] == "resource-1"
    row = db.scalars(select(LtiNonce).where(LtiNonce.nonce == preflight["nonce"])).one()
    assert row.state == preflight["state"] and row.used_at is None
    assert row.target_link_uri == f"{TOOL}/lti/launch"  # the launch's id_token must name the same
    assert lms.client.cookies.get(f"lti1p3-state-{preflight['state']}") == "1"


def test_login_refuses_a_foreign_target_or_an_unknown_platform(lms: Platform) -> None:
    good = {"iss": ISSUER, "login_hint": "u", "target_link_uri": f"{TOOL}/lti/launch", "client_id": CLIENT_ID}
    assert lms.client.post("/lti/login", data=good, follow_redirects=False).status_code == 302
    for change in ({"target_link_uri": "https://evil.example/lti/launch"}, {"iss": "https://other.example"},
                   {"target_link_uri": f"{TOOL}/lti/launch?" + "x" * 1000},
                   {"client_id": "nobody"}, {"lti_deployment_id": "unregistered"}, {"login_hint": ""}):
        reply = lms.client.get("/lti/login", params=good | change, follow_redirects=False)
        assert reply.status_code == 400, change


def test_an_instructor_deep_links_a_quiz(lms: Platform, db: Session) -> None:
    course, quiz = lti_course(db, lms)
    teacher = db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#teacher-1")).one()
    assert teacher.role == Role.INSTRUCTOR and course.title == "Foundations of LLMs"
    picker = lms.client.get("/lti/deep-link")
    assert picker.status_code == 200 and "Reward models" in picker.text
    csrf = picker.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = lms.client.post("/lti/deep-link", data={"quiz_id": str(quiz.id), "csrf_token": "forged"})
    assert refused.status_code == 403
    answer = lms.client.post("/lti/deep-link", data={"quiz_id": str(quiz.id), "csrf_token": csrf})
    assert answer.status_code == 200
    assert f"form-action {ISSUER}" in answer.headers["content-security-policy"]
    items = lms.accept_deep_link(answer.text)
    assert items == [{"type": "ltiResourceLink", "title": "Reward models", "url": f"{TOOL}/lti/launch",
                      "custom": {"quiz_id": str(quiz.id)},
                      "lineItem": {"scoreMaximum": 1.0, "label": "Reward models",
                                   "resourceId": f"assay-quiz-{quiz.id}"},
                      "iframe": {"height": deep_linking.FRAME_HEIGHT}}]  # the platform accepts iframes
    claims = lms.deep_link_claims
    assert (claims["iss"], claims["aud"]) == (CLIENT_ID, [ISSUER])
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == {"opaque": "platform-data"}
    assert DEEP_LINK_RETURN in answer.text
    # The request is used up: posting again needs a new deep linking launch.
    assert lms.client.post("/lti/deep-link", data={"quiz_id": str(quiz.id), "csrf_token": csrf}).status_code == 404


def test_a_student_launch_provisions_and_lands_in_the_quiz(lms: Platform, db: Session) -> None:
    course, quiz = lti_course(db, lms)
    reply = lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz.id)})
    assert (reply.status_code, reply.headers["location"]) == (303, f"/quizzes/{quiz.id}")
    student = db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#student-1")).one()
    assert (student.role, student.display_name, student.email) == (Role.STUDENT, "Ada Lovelace",
                                                                   "student-1@example.edu")
    enrolment = db.scalars(select(Enrolment).where(Enrolment.user_id == student.id)).one()
    assert (enrolment.course_id, enrolment.role) == (course.id, CourseRole.STUDENT)
    link = db.scalars(select(LtiResourceLink)).one()
    assert (link.resource_link_id, link.quiz_id, link.lineitems_url) == ("resource-1", quiz.id,
                                                                         f"{ISSUER}/api/lti/courses/101/line_items")
    assert lms.client.get(f"/quizzes/{quiz.id}").status_code == 200
    # A second launch of the same link finds everything it needs, and makes nothing new.
    before = counts(db)
    again = lms.launch("student-1", [LEARNER])
    assert (again.status_code, again.headers["location"]) == (303, f"/quizzes/{quiz.id}")
    assert counts(db) == before


def test_an_instructor_launch_lands_in_the_quiz_workspace(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    short_role = lms.launch("teacher-1", ["Instructor"], custom={"quiz_id": str(quiz.id)})
    assert (short_role.status_code, short_role.headers["location"]) == (303, f"/quizzes/{quiz.id}/manage")
    assert lms.client.get(f"/quizzes/{quiz.id}/manage").status_code == 200


def test_a_student_of_a_link_with_no_quiz_is_told_and_nothing_is_made(lms: Platform, db: Session) -> None:
    lti_course(db, lms)
    before = counts(db)
    reply = lms.launch("student-2", [LEARNER], resource_link="unplaced")
    assert reply.status_code == 400 and "not set up yet" in reply.text
    assert counts(db) == before


def test_expired_nonces_are_forgotten_at_the_next_login(lms: Platform, db: Session, clock: Clock) -> None:
    old = lms.login("student-1")["nonce"]
    clock.advance(minutes=30)
    lms.login("student-2")
    assert db.scalars(select(LtiNonce).where(LtiNonce.nonce == old)).first() is None


def test_the_deep_link_asks_for_the_presentation_the_platform_accepts() -> None:
    """Deep Linking 2.0 §4.4.1 accept_presentation_document_targets: iframe (with a height) first."""
    assert deep_linking.presentation(["iframe", "window"]) == {"iframe": {"height": deep_linking.FRAME_HEIGHT}}
    assert deep_linking.presentation(["window"]) == {"window": {"targetName": "_blank"}}
    assert deep_linking.presentation(["embed"]) == {} == deep_linking.presentation(None)
