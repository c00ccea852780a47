"""LTI registrations, the OIDC login, and the launch: who the user is, their course and quiz or practice.

A launch provisions on first sight: the user (``lti_subject`` is the issuer and ``sub``), the
course (from the context claim), the enrolment with the role its context roles give, and the
resource link (mapped to a quiz by the ``quiz_id`` custom parameter our deep linking response set,
or to a practice by ``practice_id``).
Everything is checked before anything is written, and a refusal raises, so the request's one
commit point rolls back whatever was started.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assessments.courses.service import RESERVED_SLUG_PREFIX
from assessments.deps import Principal
from assessments.errors import Conflict, NotFound
from assessments.lti import repository
from assessments.lti.roles import course_role
from assessments.lti.schemas import RegistrationCreate, RegistrationUpdate
from assessments.lti.validation import (
    AGS_CLAIM,
    NRPS_CLAIM,
    RESOURCE_LINK_REQUEST,
    LaunchRefused,
    VerifiedToken,
    check_message,
    registration_of,
    verify_id_token,
)
from assessments.models import (
    Course,
    CourseRole,
    Enrolment,
    LtiContext,
    LtiNonce,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreTarget,
    Practice,
    Quiz,
    Role,
    User,
)
from assessments.security import origins

NONCE_LIFETIME = timedelta(minutes=10)
MAX_TARGET_LENGTH = 1000
STATE_COOKIE_PREFIX = "lti1p3-state-"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"



# --- registrations ------------------------------------------------------------------------------


def register(session: Session, body: RegistrationCreate, now: datetime, *, registered_by: str = "hand",
             configuration: dict[str, Any] | None = None) -> LtiPlatform:
    if repository.platform(session, body.issuer, body.client_id) is not None:
        raise Conflict(f"the platform {body.issuer!r} with client_id {body.client_id!r} is already registered")
    frames = origins([body.issuer, str(body.auth_login_url), *(str(o) for o in body.frame_origins)])
    platform = LtiPlatform(issuer=body.issuer, client_id=body.client_id, deployment_ids=list(body.deployment_ids),
                           auth_login_url=str(body.auth_login_url), auth_token_url=str(body.auth_token_url),
                           jwks_url=str(body.jwks_url), frame_origins=frames, registered_by=registered_by,
                           platform_configuration=configuration, created_at=now)
    try:
        with session.begin_nested():
            session.add(platform)
            session.flush()
    except IntegrityError:
        raise Conflict("that platform was registered at the same moment") from None
    return platform


def update(session: Session, principal: Principal, platform_id: int, body: RegistrationUpdate) -> LtiPlatform:
    """Change a registration's deployments or frame origins (administrators only)."""
    principal.require_admin()
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound(f"no LTI registration {platform_id}")
    if body.deployment_ids is not None:
        platform.deployment_ids = list(dict.fromkeys(body.deployment_ids))
    if body.frame_origins is not None:
        platform.frame_origins = origins([platform.issuer, platform.auth_login_url,
                                          *(str(o) for o in body.frame_origins)])
    session.flush()
    return platform


def registrations(session: Session, principal: Principal, *, limit: int | None = None,
                  offset: int = 0) -> list[LtiPlatform]:
    principal.require_admin()
    return repository.platforms(session, limit=limit, offset=offset)


# --- OIDC login initiation ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginRedirect:
    url: str
    state: str
    nonce: str
    platform: LtiPlatform


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def login(session: Session, params: dict[str, str], our_url: str, now: datetime) -> LoginRedirect:
    """Answer a platform's login initiation: a redirect to its authorisation endpoint."""
    for name in ("iss", "login_hint", "target_link_uri"):
        if not params.get(name):
            raise LaunchRefused(f"the login request lacks {name}")
    known = repository.platforms_of_issuer(session, params["iss"])
    if params.get("client_id"):
        known = [p for p in known if p.client_id == params["client_id"]]
    if not known:
        raise LaunchRefused("no platform is registered with that issuer and client_id", code="lti_unknown_issuer")
    if len(known) > 1:
        raise LaunchRefused("several registrations share that issuer: the login must name its client_id")
    platform = known[0]
    deployment = params.get("lti_deployment_id")
    if deployment and deployment not in platform.deployment_ids:
        raise LaunchRefused(f"the deployment {deployment!r} is not registered", code="lti_unknown_deployment")
    target = params["target_link_uri"]
    if len(target) > MAX_TARGET_LENGTH:
        raise LaunchRefused(f"the target_link_uri is longer than {MAX_TARGET_LENGTH} characters")
    if _origin(target) != _origin(our_url) or not urlsplit(target).path.startswith("/lti/"):
        raise LaunchRefused("the target_link_uri is not one of Assay's LTI endpoints")
    repository.purge_nonces(session, now - NONCE_LIFETIME)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session.add(LtiNonce(nonce=nonce, state=state, platform_id=platform.id, target_link_uri=target,
                         expires_at=now + NONCE_LIFETIME))
    session.flush()
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
             "client_id": platform.client_id, "redirect_uri": target, "login_hint": params["login_hint"],
             "state": state, "nonce": nonce}
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return LoginRedirect(platform.auth_login_url + separator + urlencode(query), state, nonce, platform)


# --- the launch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """What a verified launch provisioned, and where the browser goes next."""

    user: User
    course: Course
    role: CourseRole
    token: VerifiedToken
    quiz: Quiz | None
    link: LtiResourceLink | None
    practice: Practice | None = None


def platform_for_check(session: Session, unverified: dict[str, Any]) -> LtiPlatform:
    """The registration an unchecked id_token names (to show the page that checks its state in the
    platform's storage; the launch itself is checked in full afterwards)."""
    return registration_of(session, unverified)


def verify_launch(session: Session, id_token: str, state: str, cookie_state: str | None,
                  now: datetime) -> VerifiedToken:
    """Every check of a launch, then the nonce is spent (only by a launch that passed them all).
    Provisions nothing."""
    if not state or cookie_state != state:
        raise LaunchRefused("the launch's state does not match this browser's login", code="lti_bad_state")
    verified = verify_id_token(session, id_token, now)
    nonce = verified.claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise LaunchRefused("the id_token has no nonce", code="lti_bad_nonce")
    row = repository.usable_nonce(session, nonce, verified.platform.id, now)
    if row is None or row.state != state:
        raise LaunchRefused("the nonce is unknown, expired or already used", code="lti_bad_nonce")
    check_message(verified)
    if verified.claim("target_link_uri") != row.target_link_uri:
        raise LaunchRefused("the id_token's target_link_uri is not the target_link_uri this browser's login "
                            "was given", code="lti_wrong_target")
    if course_role(verified.claim("roles")) is None:
        raise LaunchRefused("the launch gives you no role in this course that Assay knows (a context role such "
                            "as Learner or Instructor); institution and system roles do not count",
                            code="lti_no_role")
    row.used_at = now
    return verified


def subject_of(platform: LtiPlatform, sub: str) -> str:
    subject = f"{platform.issuer}#{sub}"
    return subject if len(subject) <= 255 else "sha256:" + hashlib.sha256(subject.encode()).hexdigest()


def _free_username(session: Session) -> str:
    """A random username for an LMS user (a name derived from the subject could be taken first)."""
    while True:
        username = "lti-" + secrets.token_hex(10)
        if repository.user_by_username(session, username) is None:
            return username


def provision_user(session: Session, platform: LtiPlatform, person: dict[str, Any], role: CourseRole,
                   now: datetime) -> User:
    """The Assay user for a platform's person (a launch's claims or a roster member), made on first sight."""
    subject = subject_of(platform, str(person.get("sub") or person.get("user_id")))
    name = person.get("name") or " ".join(
        str(person[k]) for k in ("given_name", "family_name") if person.get(k)) or "LMS user"
    user = repository.user_by_subject(session, subject)
    if user is None:
        user = User(username=_free_username(session), display_name=str(name)[:200],
                    email=person.get("email") if isinstance(person.get("email"), str) else None,
                    role=Role.INSTRUCTOR if role == CourseRole.INSTRUCTOR else Role.STUDENT,
                    password_hash=None, lti_subject=subject, created_at=now)
        session.add(user)
        session.flush()
    elif not user.is_active:
        raise LaunchRefused("this account is deactivated in Assay", code="lti_inactive")
    elif role == CourseRole.INSTRUCTOR and user.role == Role.STUDENT:
        user.role = Role.INSTRUCTOR
    return user


def _free_slug(session: Session) -> str:
    """A random slug under the prefix no one else may use (so no one can take it first)."""
    while True:
        slug = RESERVED_SLUG_PREFIX + secrets.token_hex(8)
        if repository.course_by_slug(session, slug) is None:
            return slug


def _course(session: Session, verified: VerifiedToken, now: datetime) -> tuple[LtiContext, Course]:
    claim = verified.claim("context")
    context = repository.context(session, verified.platform.id, claim["id"])
    if context is None:
        title = str(claim.get("title") or claim.get("label") or "LMS course")[:300]
        course = Course(slug=_free_slug(session), title=title, created_at=now)
        session.add(course)
        session.flush()
        context = LtiContext(platform_id=verified.platform.id, context_id=claim["id"], course_id=course.id,
                             created_at=now)
        session.add(context)
        session.flush()
    nrps = verified.claims.get(NRPS_CLAIM)
    if isinstance(nrps, dict) and isinstance(nrps.get("context_memberships_url"), str):
        context.memberships_url = nrps["context_memberships_url"]
    mapped = session.get(Course, context.course_id)
    assert mapped is not None
    return context, mapped


def enrol(session: Session, course: Course, user: User, role: CourseRole, now: datetime) -> None:
    enrolment = repository.enrolment(session, course.id, user.id)
    if enrolment is None:
        session.add(Enrolment(course_id=course.id, user_id=user.id, role=role, created_at=now))
    else:
        enrolment.role = role
    session.flush()


def _custom_target(verified: VerifiedToken, course: Course, session: Session) -> Quiz | Practice | None:
    """The quiz (``quiz_id``) or practice (``practice_id``) the link's custom parameters name."""
    custom = verified.claim("custom")
    custom = custom if isinstance(custom, dict) else {}
    target: Quiz | Practice | None
    if custom.get("quiz_id") is not None:
        name, raw = "quiz", str(custom["quiz_id"])
        target = session.get(Quiz, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    elif custom.get("practice_id") is not None:
        name, raw = "practice", str(custom["practice_id"])
        target = session.get(Practice, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    else:
        return None
    if target is None or target.course_id != course.id:
        raise LaunchRefused(f"the link's {name}_id names no {name} of this course", code="lti_unknown_quiz")
    return target


def _link(session: Session, verified: VerifiedToken, context: LtiContext, course: Course,
          now: datetime) -> LtiResourceLink | None:
    claim = verified.claim("resource_link")
    link = repository.resource_link(session, verified.platform.id, claim["id"])
    target = _custom_target(verified, course, session)
    if link is None:
        if target is None:
            return None
        link = LtiResourceLink(platform_id=verified.platform.id, resource_link_id=claim["id"],
                               deployment_id=verified.claim("deployment_id"), context_id=context.id,
                               quiz_id=target.id if isinstance(target, Quiz) else None,
                               practice_id=target.id if isinstance(target, Practice) else None,
                               title=claim.get("title"), ags_scopes=[], created_at=now)
        session.add(link)
        repository.forget_unlinked(session)
    elif link.context_id != context.id:
        raise LaunchRefused("this resource link belongs to another course", code="lti_unknown_quiz")
    ags = verified.claims.get(AGS_CLAIM)
    if isinstance(ags, dict):
        link.lineitems_url = ags.get("lineitems") or link.lineitems_url
        link.lineitem_url = ags.get("lineitem") or link.lineitem_url
        link.ags_scopes = [s for s in ags.get("scope", []) if isinstance(s, str)]
    session.flush()
    return link


def launch(session: Session, id_token: str, state: str, cookie_state: str | None, now: datetime) -> Launch:
    """Verify the launch, then provision the user, course, enrolment and resource link."""
    verified = verify_launch(session, id_token, state, cookie_state, now)
    role = course_role(verified.claim("roles"))
    assert role is not None
    user = provision_user(session, verified.platform, verified.claims, role, now)
    context, course = _course(session, verified, now)
    enrol(session, course, user, role, now)
    link = quiz = practice = None
    if verified.message_type == RESOURCE_LINK_REQUEST:
        link = _link(session, verified, context, course, now)
        if link is not None:
            quiz = session.get(Quiz, link.quiz_id) if link.quiz_id is not None else None
            practice = session.get(Practice, link.practice_id) if link.practice_id is not None else None
        if quiz is None and practice is None and role == CourseRole.STUDENT:
            raise LaunchRefused("this link is not set up yet: ask your instructor to choose its quiz",
                                code="lti_link_not_set_up")
        if link is not None and role == CourseRole.STUDENT and SCORE_SCOPE in link.ags_scopes:
            _score_target(session, link, user, verified)
    return Launch(user, course, role, verified, quiz, link, practice)


def _score_target(session: Session, link: LtiResourceLink, user: User, verified: VerifiedToken) -> None:
    if repository.score_target(session, link.id, user.id) is None:
        session.add(LtiScoreTarget(link_id=link.id, user_id=user.id, lti_user_id=verified.claims["sub"]))
        session.flush()
