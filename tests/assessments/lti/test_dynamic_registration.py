"""LTI Dynamic Registration end to end against an in-process platform that follows the spec
(``registrar.Registrar``), and against malformed, unsigned and hostile ones: each refused with a
4xx that says what was wrong, registering nothing and leaving the link unused."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.lti import http, tokens
from assessments.models import LtiPlatform, LtiRegistrationLink, Role, User
from tests.assessments.conftest import Clock, World
from tests.assessments.lti.conftest import add_quiz
from tests.assessments.lti.platform import CLIENT_ID, DEPLOYMENT, ISSUER, LEARNER, TOOL, Platform, rsa_pem
from tests.assessments.lti.registrar import (
    CONFIGURATION_URL,
    PLATFORM_CONFIGURATION,
    REGISTRATION_TOKEN,
    Registrar,
)

ORIGIN = {"origin": TOOL}


@pytest.fixture
def registrar(client: TestClient, clock: Clock) -> Iterator[Registrar]:
    from assessments.models import utcnow

    clock.now = utcnow()  # the platform signs with the real clock
    found = Registrar(Platform(client))
    http.use_transport(found.transport())
    tokens.clear_cache()
    yield found
    http.use_transport(None)
    tokens.clear_cache()


def _admin(world: World) -> dict[str, str]:
    user = world.db.scalars(select(User).where(User.username == "root")).first() or world.user("root", Role.ADMIN)
    return world.headers(user)


def _link(world: World, client: TestClient) -> str:
    admin = _admin(world)
    made = client.post("/api/v1/lti/registration-links", headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["url"].startswith(f"{TOOL}/lti/register/")
    return str(made.json()["url"])


def _hidden(page: str, name: str) -> str:
    return html.unescape(page.split(f'name="{name}" value="', 1)[1].split('"', 1)[0])


def _registered(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(LtiPlatform)) or 0


def test_an_lms_registers_assay_and_its_launches_then_work(world: World, client: TestClient, db: Session,
                                                          registrar: Registrar) -> None:
    link = _link(world, client)
    opened = client.get(registrar.start_url(link))
    assert opened.status_code == 200, opened.text
    assert "Register Assay with moodle" in opened.text and f"{TOOL}/lti/launch" in opened.text
    assert "frame-ancestors https://lms.example.edu" in opened.headers["content-security-policy"]
    assert _registered(db) == 0, "showing what would be registered registers nothing"

    done = client.post(urlpath(link), headers=ORIGIN, data={
        "openid_configuration": _hidden(opened.text, "openid_configuration"),
        "registration_token": _hidden(opened.text, "registration_token")})
    assert done.status_code == 200, done.text
    assert "Assay is registered" in done.text and CLIENT_ID in done.text and DEPLOYMENT in done.text

    [sent] = registrar.requests  # what Assay asked the platform to register (DR's tool configuration)
    assert sent["initiate_login_uri"] == f"{TOOL}/lti/login" and sent["redirect_uris"] == [f"{TOOL}/lti/launch"]
    assert sent["jwks_uri"] == f"{TOOL}/lti/jwks" and sent["token_endpoint_auth_method"] == "private_key_jwt"
    assert sent["scope"].split() == [
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem", "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"], "only scopes the platform has"
    lti = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert [m["type"] for m in lti["messages"]] == ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]
    assert lti["domain"] == "testserver" and "email" in lti["claims"]

    platform = db.scalars(select(LtiPlatform)).one()
    assert (platform.issuer, platform.client_id, platform.deployment_ids) == (ISSUER, CLIENT_ID, [DEPLOYMENT])
    assert platform.registered_by == "dynamic" and platform.frame_origins == ["https://lms.example.edu"]
    assert platform.platform_configuration is not None
    assert platform.platform_configuration["product_family_code"] == "moodle"
    row = db.scalars(select(LtiRegistrationLink)).one()
    assert row.used_at is not None and row.platform_id == platform.id

    again = client.post(urlpath(link), headers=ORIGIN, data={"openid_configuration": CONFIGURATION_URL})
    assert again.status_code == 404 and "used already" in again.text, "the link works once"

    # The platform installs Assay's key set and launches a student into a quiz.
    lms = registrar.platform
    lms.trust_tool_keys()
    teacher = lms.launch("teacher-1", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
                         deep_link=True)
    assert teacher.status_code == 303, teacher.text
    from assessments.models import Course

    quiz = add_quiz(db, db.scalars(select(Course)).one())
    student = lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz.id)})
    assert student.status_code == 303 and student.headers["location"] == f"/quizzes/{quiz.id}"


def urlpath(link: str) -> str:
    return link.removeprefix(TOOL)


def test_only_an_administrator_opens_a_registration_link(world: World, client: TestClient, db: Session) -> None:
    teacher = world.headers(world.user("teacher", Role.INSTRUCTOR))
    assert client.post("/api/v1/lti/registration-links", headers=teacher).status_code == 403
    assert client.post("/api/v1/lti/registration-links").status_code == 401
    assert db.scalar(select(func.count()).select_from(LtiRegistrationLink)) == 0


def test_unknown_and_expired_links_are_refused(world: World, client: TestClient, db: Session,
                                               registrar: Registrar, clock: Clock) -> None:
    reply = client.get(registrar.start_url("/lti/register/not-a-link-of-ours"))
    assert reply.status_code == 404 and "not one Assay made" in reply.text
    link = _link(world, client)
    clock.advance(hours=1, seconds=1)
    reply = client.get(registrar.start_url(link))
    assert reply.status_code == 404 and "expired" in reply.text
    reply = client.post(urlpath(link), headers=ORIGIN, data={"openid_configuration": CONFIGURATION_URL})
    assert reply.status_code == 404 and _registered(db) == 0 and registrar.requests == []


def test_the_link_pasted_into_a_browser_says_where_it_belongs(world: World, client: TestClient,
                                                             registrar: Registrar) -> None:
    reply = client.get(urlpath(_link(world, client)))
    assert reply.status_code == 400 and "tool registration" in reply.text


def test_the_confirmation_is_taken_only_from_assays_own_page(world: World, client: TestClient, db: Session,
                                                            registrar: Registrar) -> None:
    link = _link(world, client)
    form = {"openid_configuration": CONFIGURATION_URL, "registration_token": REGISTRATION_TOKEN}
    for headers in ({}, {"origin": "https://evil.example"}):
        reply = client.post(urlpath(link), headers=headers, data=form)
        assert reply.status_code == 403 and "Assay's own page" in html.unescape(reply.text)
    assert _registered(db) == 0 and registrar.requests == []


def _signed(registrar: Registrar, claims: dict[str, Any], key: str | None = None, kid: str | None = None) -> str:
    lms = registrar.platform
    return jwt.encode(claims, key or lms.private_pem, algorithm="RS256", headers={"kid": kid or lms.kid})


Hostile = Callable[[Registrar], None]


def _config(**change: Any) -> Hostile:
    def edit(registrar: Registrar) -> None:
        for name, value in change.items():
            if value is None:
                registrar.configuration.pop(name, None)
            else:
                registrar.configuration[name] = value
    return edit


def _serve(url: str, response: httpx2.Response) -> Hostile:
    def edit(registrar: Registrar) -> None:
        registrar.served[url] = response
    return edit


def _no_signing_key(registrar: Registrar) -> None:
    registrar.keys = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]}


def _forged_metadata(registrar: Registrar) -> None:
    registrar.configuration["signed_metadata"] = _signed(registrar, {"iss": ISSUER}, key=rsa_pem())


def _contradicting_metadata(registrar: Registrar) -> None:
    registrar.configuration["signed_metadata"] = _signed(
        registrar, {"iss": ISSUER, "registration_endpoint": "https://elsewhere.example/register"})


def _answer(**answer: Any) -> Hostile:
    def edit(registrar: Registrar) -> None:
        registrar.answer = answer
    return edit


def _wrong_token(registrar: Registrar) -> None:
    registrar.token_spent = True


HOSTILE: dict[str, tuple[Hostile, str]] = {
    "issuer-elsewhere": (_config(issuer="https://attacker.example"), "not on the host its configuration came from"),
    "issuer-http": (_config(issuer="http://lms.example.edu"), "issuer is not an https URL"),
    "no-registration-endpoint": (_config(registration_endpoint=None), "no usable registration_endpoint"),
    "registration-endpoint-http": (_config(registration_endpoint="http://lms.example.edu/r"),
                                   "registration_endpoint is not an https URL"),
    "no-private-key-jwt": (_config(token_endpoint_auth_methods_supported=["client_secret_basic"]),
                           "private_key_jwt"),
    "no-rs256": (_config(id_token_signing_alg_values_supported=["none"]), "RS256"),
    "no-lti-configuration": (_config(**{PLATFORM_CONFIGURATION: None}), PLATFORM_CONFIGURATION),
    "unsigned-key-set": (_no_signing_key, "no RS256 signing key"),
    "forged-signed-metadata": (_forged_metadata, "signed_metadata does not verify"),
    "contradicting-signed-metadata": (_contradicting_metadata, "says otherwise than its configuration"),
    "not-json": (_serve(CONFIGURATION_URL, httpx2.Response(200, text="<html>hello</html>")), "not a JSON object"),
    "huge": (_serve(CONFIGURATION_URL, httpx2.Response(200, json={"issuer": ISSUER, "pad": "x" * 70_000})),
             "larger than 64 KB"),
    "down": (_serve(CONFIGURATION_URL, httpx2.Response(503)), "answered 503"),
    "redirect": (_serve(CONFIGURATION_URL, httpx2.Response(302, headers={"location": "https://attacker.example/c"})),
                 "answered 302"),
    "refuses-token": (_wrong_token, "the registration token is unknown or spent"),
    "no-client-id": (_answer(client_secret="s3cret"), "no usable client_id"),
    "bad-deployment": (_answer(client_id="c", **{"https://purl.imsglobal.org/spec/lti-tool-configuration":
                                                 {"deployment_id": ["not", "an", "id"]}}), "deployment_id"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_a_hostile_platform_is_refused_and_nothing_is_registered(case: str, world: World, client: TestClient,
                                                                 db: Session, registrar: Registrar) -> None:
    hostile, why = HOSTILE[case]
    link = _link(world, client)
    hostile(registrar)
    reply = client.post(urlpath(link), headers=ORIGIN,
                        data={"openid_configuration": CONFIGURATION_URL, "registration_token": REGISTRATION_TOKEN})
    assert reply.status_code == 400, reply.text
    assert why in html.unescape(reply.text)
    assert "frame-ancestors https://lms.example.edu" in reply.headers["content-security-policy"]
    assert _registered(db) == 0
    assert db.scalars(select(LtiRegistrationLink)).one().used_at is None


def test_an_openid_configuration_url_that_is_not_https_is_not_fetched(world: World, client: TestClient,
                                                                      registrar: Registrar) -> None:
    link = _link(world, client)
    reply = client.get(urlpath(link) + "?openid_configuration=http://lms.example.edu/openid")
    assert reply.status_code == 400 and "not an https URL" in html.unescape(reply.text)


def test_a_platform_registered_twice_is_a_conflict(world: World, client: TestClient, db: Session,
                                                   registrar: Registrar) -> None:
    for expected in (200, 409):
        registrar.token_spent = False
        reply = client.post(urlpath(_link(world, client)), headers=ORIGIN, data={
            "openid_configuration": CONFIGURATION_URL, "registration_token": REGISTRATION_TOKEN})
        assert reply.status_code == expected, reply.text
    assert _registered(db) == 1


def test_a_registration_without_a_deployment_says_so(world: World, client: TestClient, db: Session,
                                                     registrar: Registrar) -> None:
    registrar.answer = {"client_id": "client-without-deployment"}
    reply = client.post(urlpath(_link(world, client)), headers=ORIGIN, data={
        "openid_configuration": CONFIGURATION_URL, "registration_token": REGISTRATION_TOKEN})
    assert reply.status_code == 200 and "none yet" in reply.text
    platform = db.scalars(select(LtiPlatform)).one()
    assert platform.deployment_ids == []
    admin = _admin(world)
    patched = client.patch(f"/api/v1/lti/registrations/{platform.id}", headers=admin,
                           json={"deployment_ids": ["d-7"], "frame_origins": ["https://school.instructure.com/x"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["deployment_ids"] == ["d-7"]
    assert patched.json()["frame_origins"] == ["https://lms.example.edu", "https://school.instructure.com"]


