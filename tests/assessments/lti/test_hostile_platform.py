"""A hostile platform: id_tokens that are wrong in one way each. Every one is refused with a 4xx
that says why, and provisions nothing (no user, course, enrolment, context or link appears)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.models import User
from tests.assessments.lti.conftest import counts
from tests.assessments.lti.platform import CLIENT_ID, ISSUER, LEARNER, Platform, rsa_pem

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
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


CASES: dict[str, tuple[Callable[[Claims], None], str]] = {
    "wrong iss": (_set(iss="https://evil.example"), "no platform is registered with the issuer"),
    "wrong aud": (_set(aud="someone-else"), "not addressed to assay"),
    "several audiences, no azp": (lambda c: (c.update(aud=[CLIENT_ID, "other-tool"]), c.pop("azp"))[0],
                                  "several audiences but no azp"),
    "expired": (_from_now(exp=-60, iat=-120), "has expired"),
    "iat in the future": (_from_now(iat=600, exp=900), "issued in the future"),
    "unknown deployment": (_lti("deployment_id", "deployment-9"), "deployment"),
    "wrong version": (_lti("version", "1.1.0"), "1.3.0"),
    "missing message_type": (_drop(LTI + "message_type"), "message_type"),
    "missing roles": (_drop(LTI + "roles"), "no roles claim"),
    "missing resource_link id": (_lti("resource_link", {"title": "Week 4"}), "no resource_link id"),
    "missing sub": (_drop("sub"), "no user (sub)"),
}


def _post(lms: Platform, claims: Claims, state: str, *, key: str | None = None, kid: str | None = None) -> Any:
    token = jwt.encode(claims, key or lms.private_pem, algorithm="RS256", headers={"kid": kid or lms.kid})
    return lms.client.post("/lti/launch", data={"id_token": token, "state": state}, follow_redirects=False)


def _good_claims(lms: Platform, preflight: dict[str, str]) -> Claims:
    form = lms.id_token(preflight, "mallory", [LEARNER], custom={"quiz_id": "1"})
    return jwt.decode(form["id_token"], options={"verify_signature": False})


def _refused(reply: Any, db: Session, before: dict[str, int], why: str) -> None:
    assert 400 <= reply.status_code < 500, reply.text
    assert why.lower() in reply.text.lower()
    assert counts(db) == before
    assert db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#mallory")).first() is None


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_claim_is_refused(case: str, lms: Platform, db: Session) -> None:
    mutate, why = CASES[case]
    before = counts(db)
    preflight = lms.login("mallory")
    claims = _good_claims(lms, preflight)
    mutate(claims)
    _refused(_post(lms, claims, preflight["state"]), db, before, why)


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
