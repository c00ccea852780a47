"""A hostile platform: id_tokens that are wrong in one way each. Every one is refused with a 4xx
that says why, and provisions nothing (no user, course, enrolment, context or link appears).

``docs/decisions.md`` lists what LTI 1.3 Core, Deep Linking 2.0 and the Security Framework say a
tool must check, each with the test here (or in ``test_launch``) that breaks it."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.lti.schemas import RegistrationCreate
from assessments.lti.service import register
from assessments.models import LtiNonce, User
from tests.assessments.conftest import Clock
from tests.assessments.lti.conftest import counts
from tests.assessments.lti.platform import (
    CLIENT_ID,
    DEEP_LINK_RETURN,
    INSTRUCTOR,
    ISSUER,
    LEARNER,
    TOOL,
    Platform,
    rsa_pem,
)

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
Claims = dict[str, Any]


def _drop(name: str) -> Callable[[Claims], None]:
    return lambda claims: claims.pop(name)


def _set(**values: Any) -> Callable[[Claims], None]:
    return lambda claims: claims.update(values)


def _lti(name: str, value: Any) -> Callable[[Claims], None]:
    return lambda claims: claims.update({LTI + name: value})


def _from_now(**seconds: int) -> Callable[[Claims], None]:
    """Times relative to when the token is made (not to when this module was imported: a long
    run reaches the PostgreSQL cases many minutes later)."""
    return lambda claims: claims.update({name: int(time.time()) + delta for name, delta in seconds.items()})


def _deep_linking(**settings: Any) -> Callable[[Claims], None]:
    """A deep linking request whose settings are ``settings`` (None: no settings claim)."""
    def mutate(claims: Claims) -> None:
        claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
        claims.pop(DL_SETTINGS, None)
        if settings:
            claims[DL_SETTINGS] = settings
    return mutate


LONG = "x" * 256
CASES: dict[str, tuple[Callable[[Claims], None], str]] = {
    "wrong iss": (_set(iss="https://evil.example"), "no platform is registered with the issuer"),
    "wrong aud": (_set(aud="someone-else"), "not addressed to assay"),
    "an audience assay does not trust": (_set(aud=[CLIENT_ID, "other-tool"]), "audience assay does not trust"),
    "azp not ours": (_set(azp="other-tool"), "azp is not our client_id"),
    "expired": (_from_now(exp=-60, iat=-120), "has expired"),
    "missing exp": (_drop("exp"), "no expiry time (exp)"),
    "iat in the future": (_from_now(iat=600, exp=900), "issued in the future"),
    "issued too long ago": (_from_now(iat=-3600, exp=600), "issued too long ago"),
    "missing iat": (_drop("iat"), "no issue time (iat)"),
    "missing nonce": (_drop("nonce"), "has no nonce"),
    "unknown deployment": (_lti("deployment_id", "deployment-9"), "deployment"),
    "missing deployment_id": (_drop(LTI + "deployment_id"), "deployment"),
    "wrong version": (_lti("version", "1.1.0"), "1.3.0"),
    "missing version": (_drop(LTI + "version"), "1.3.0"),
    "missing message_type": (_drop(LTI + "message_type"), "message_type"),
    "unknown message_type": (_lti("message_type", "LtiSubmissionReviewRequest"), "message_type"),
    "target_link_uri elsewhere": (_lti("target_link_uri", "https://evil.example/lti/launch"),
                                  "not the target_link_uri this browser's login"),
    "target_link_uri of another assay page": (_lti("target_link_uri", f"{TOOL}/lti/deep-link"),
                                              "not the target_link_uri this browser's login"),
    "missing target_link_uri": (_drop(LTI + "target_link_uri"), "no target_link_uri"),
    "missing roles": (_drop(LTI + "roles"), "no roles claim"),
    "empty roles": (_lti("roles", []), "no role in this course"),
    "institution roles only": (_lti("roles", ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"]),
                               "institution and system roles do not count"),
    "missing resource_link id": (_lti("resource_link", {"title": "Week 4"}), "no resource_link id"),
    "resource_link id over 255 characters": (_lti("resource_link", {"id": LONG}), "255"),
    "missing sub": (_drop("sub"), "no user (sub)"),
    "sub over 255 characters": (_set(sub=LONG), "255"),
    "missing context": (_drop(LTI + "context"), "no context"),
    "context id over 255 characters": (_lti("context", {"id": LONG}), "255"),
    "deep linking without settings": (_deep_linking(), "deep_link_return_url"),
    "deep linking with a relative return URL": (
        _deep_linking(deep_link_return_url="/deep_linking/return", accept_types=["ltiResourceLink"],
                      accept_presentation_document_targets=["window"]), "deep_link_return_url"),
    "deep linking that accepts no ltiResourceLink": (
        _deep_linking(deep_link_return_url=DEEP_LINK_RETURN, accept_types=["link", "file"],
                      accept_presentation_document_targets=["window"]), "ltiresourcelink"),
}
STATUS = {"wrong aud": 401, "an audience assay does not trust": 401}
"""The Security Framework (§5.1.3, step 3) has a token for another audience refused with a 401."""


def _post(lms: Platform, claims: Claims, state: str, *, key: str | None = None, kid: str | None = None,
          algorithm: str = "RS256") -> Any:
    headers = {} if kid == "" else {"kid": kid or lms.kid}
    token = jwt.encode(claims, key or lms.private_pem, algorithm=algorithm, headers=headers)
    return _post_token(lms, token, state)


def _post_token(lms: Platform, token: str, state: str) -> Any:
    return lms.client.post("/lti/launch", data={"id_token": token, "state": state}, follow_redirects=False)


def _good_claims(lms: Platform, preflight: dict[str, str]) -> Claims:
    form = lms.id_token(preflight, "mallory", [LEARNER], custom={"quiz_id": "1"})
    return jwt.decode(form["id_token"], options={"verify_signature": False})


def _refused(reply: Any, db: Session, before: dict[str, int], why: str, status: int = 400) -> None:
    assert reply.status_code == status, reply.text
    assert why.lower() in html.unescape(reply.text).lower()
    assert counts(db) == before
    assert db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#mallory")).first() is None


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_claim_is_refused(case: str, lms: Platform, db: Session) -> None:
    mutate, why = CASES[case]
    before = counts(db)
    preflight = lms.login("mallory")
    claims = _good_claims(lms, preflight)
    mutate(claims)
    _refused(_post(lms, claims, preflight["state"]), db, before, why, STATUS.get(case, 400))
    assert db.scalars(select(LtiNonce).where(LtiNonce.nonce == preflight["nonce"])).one().used_at is None


def test_a_launch_for_another_target_keeps_its_nonce_for_the_honest_launch(lms: Platform, db: Session) -> None:
    """LTI Core §5.3.4: the id_token's target_link_uri is the one the login initiation named."""
    preflight = lms.login("teacher-1")
    assert db.scalars(select(LtiNonce).where(LtiNonce.nonce == preflight["nonce"])).one().target_link_uri == (
        f"{TOOL}/lti/launch")
    before = counts(db)
    honest = lms.id_token(preflight, "teacher-1", [INSTRUCTOR], deep_link=True)
    forged = jwt.decode(honest["id_token"], options={"verify_signature": False})
    forged[LTI + "target_link_uri"] = "https://evil.example/lti/launch"
    _refused(_post(lms, forged, preflight["state"]), db, before, "target_link_uri")
    nonce = db.scalars(select(LtiNonce).where(LtiNonce.nonce == preflight["nonce"])).one()
    assert nonce.used_at is None
    # The same login's honest launch still completes: the refused one spent nothing.
    reply = _post_token(lms, honest["id_token"], honest["state"])
    assert (reply.status_code, reply.headers["location"]) == (303, "/lti/deep-link")
    db.refresh(nonce)
    assert nonce.used_at is not None


def test_several_audiences_need_an_azp_that_names_the_login_s_registration(lms: Platform, db: Session,
                                                                          clock: Clock) -> None:
    """Security Framework §5.1.3, steps 4 and 5: with several audiences (here both Assay's: the LMS
    registered it twice), azp says which registration the token is for."""
    register(db, RegistrationCreate.model_validate(lms.registration_body() | {"client_id": "assay-tool-2"}),
             clock.now)
    preflight = lms.login("teacher-1")  # names CLIENT_ID: its nonce belongs to that registration
    honest = lms.id_token(preflight, "teacher-1", [INSTRUCTOR], deep_link=True)
    claims = jwt.decode(honest["id_token"], options={"verify_signature": False}) | {
        "aud": [CLIENT_ID, "assay-tool-2"]}
    before = counts(db)
    _refused(_post(lms, claims | {"azp": None}, preflight["state"]), db, before, "several audiences but no azp")
    _refused(_post(lms, claims | {"azp": "assay-tool-2"}, preflight["state"]), db, before, "nonce")
    reply = _post(lms, claims | {"azp": CLIENT_ID}, preflight["state"])
    assert (reply.status_code, reply.headers["location"]) == (303, "/lti/deep-link")


@pytest.mark.parametrize(("algorithm", "key"), [("HS256", "a secret that both sides know, long enough for HS256"),
                                                  ("none", None)])
def test_a_token_not_signed_with_rs256_is_refused(algorithm: str, key: str | None, lms: Platform,
                                                  db: Session) -> None:
    before = counts(db)
    preflight = lms.login("mallory")
    token = jwt.encode(_good_claims(lms, preflight), key, algorithm=algorithm, headers={"kid": lms.kid})
    _refused(_post_token(lms, token, preflight["state"]), db, before, "must be signed with RS256")


def test_a_token_that_names_no_key_is_refused(lms: Platform, db: Session) -> None:
    before = counts(db)
    preflight = lms.login("mallory")
    _refused(_post(lms, _good_claims(lms, preflight), preflight["state"], kid=""), db, before, "names no key (kid)")


def test_a_launch_that_is_not_a_jwt_is_refused(lms: Platform, db: Session) -> None:
    before = counts(db)
    preflight = lms.login("mallory")
    _refused(_post_token(lms, "not.a-jwt", preflight["state"]), db, before, "not a JWT")


def test_claims_assay_does_not_understand_are_ignored(lms: Platform, db: Session) -> None:
    """LTI Core §4.3: receivers must ignore claims they do not understand, and not refuse them."""
    preflight = lms.login("teacher-1")
    claims = jwt.decode(lms.id_token(preflight, "teacher-1", [INSTRUCTOR], deep_link=True)["id_token"],
                        options={"verify_signature": False})
    claims["https://vendor.example/claim/session"] = {"id": "89023sj890dju080"}
    claims[LTI + "tool_platform"] = {"guid": "lms-1", "future_property": [1, 2, 3]}
    reply = _post(lms, claims, preflight["state"])
    assert (reply.status_code, reply.headers["location"]) == (303, "/lti/deep-link")


def test_a_token_signed_with_another_key_is_refused(lms: Platform, db: Session) -> None:
    before = counts(db)
    preflight = lms.login("mallory")
    reply = _post(lms, _good_claims(lms, preflight), preflight["state"], key=rsa_pem())
    _refused(reply, db, before, "signature does not verify")


def test_an_unknown_kid_is_refetched_once_then_refused(lms: Platform, db: Session) -> None:
    from tests.assessments.lti.conftest import lti_course

    lti_course(db, lms)  # the platform's key set is cached now
    before = counts(db)
    preflight = lms.login("mallory")
    claims = _good_claims(lms, preflight)
    fetched = lms.jwks_fetches
    _refused(_post(lms, claims, preflight["state"], key=rsa_pem(), kid="not-a-key-of-theirs"), db, before,
             "has no key")
    assert lms.jwks_fetches == fetched + 1, "exactly one refetch for a kid the cache lacks"


def test_a_platform_that_rotated_its_key_is_refetched_and_accepted(lms: Platform, db: Session) -> None:
    from tests.assessments.lti.conftest import lti_course

    lti_course(db, lms)  # the platform's key set is cached now
    fetched = lms.jwks_fetches
    lms.use_key(rsa_pem())
    reply = lms.launch("teacher-1", ["Instructor"], deep_link=True)
    assert reply.status_code == 303, reply.text
    assert lms.jwks_fetches == fetched + 1


def test_a_reused_nonce_is_refused(lms: Platform, db: Session) -> None:
    first, second = lms.login("mallory"), lms.login("mallory")
    teacher = _good_claims(lms, first)
    teacher.pop(LTI + "custom")
    teacher["sub"], teacher[LTI + "roles"] = "teacher-1", ["Instructor"]
    assert _post(lms, teacher, first["state"]).status_code == 200  # a link with no quiz yet: a notice
    before = counts(db)
    replay = _good_claims(lms, first)  # the used nonce, posted with the second login's state and cookie
    _refused(_post(lms, replay, second["state"]), db, before, "nonce")


def test_a_state_that_is_not_this_browsers_is_refused(lms: Platform, db: Session) -> None:
    before = counts(db)
    preflight = lms.login("mallory")
    claims = _good_claims(lms, preflight)
    _refused(_post(lms, claims, "forged-state"), db, before, "state does not match")
    lms.client.cookies.clear()  # the right state, but from a browser that never started this login
    _refused(_post(lms, claims, preflight["state"]), db, before, "state does not match")


def test_a_nonce_from_another_login_is_refused(lms: Platform, db: Session) -> None:
    """The nonce is bound to the state of the login that made it: a token made for one login cannot
    complete another, even in the browser that started both."""
    first, second = lms.login("mallory"), lms.login("mallory")
    before = counts(db)
    _refused(_post(lms, _good_claims(lms, first), second["state"]), db, before, "nonce")
