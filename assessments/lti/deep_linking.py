"""Deep Linking 2.0: an instructor picks a quiz and Assay answers with a signed LtiDeepLinkingResponse.

The request's settings (where to return, the platform's opaque ``data``, the presentations it
accepts) wait in the instructor's web session between the launch and the choice; the response
carries one ``ltiResourceLink`` to our launch URL, naming the quiz in a custom parameter, with a
``lineItem`` for its grades and the presentation the platform accepts (Deep Linking 2.0 §3.4.3.2 and
§4.4.1: ``iframe`` with a height where the platform takes it, else ``window``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from assessments.deps import Principal
from assessments.errors import Forbidden, NotFound
from assessments.lti import keys, repository
from assessments.lti.validation import CLAIM, DL_CLAIM, LTI_VERSION, LaunchRefused, VerifiedToken
from assessments.models import Course, CourseRole, LtiPlatform, Quiz
from assessments.quizzes.service import quiz_out

SESSION_KEY = "lti_deep_link"
RESPONSE_LIFETIME = timedelta(minutes=5)
FRAME_HEIGHT = 900
"""The height (CSS pixels) Assay asks of a platform's iframe: a question, its answer and the
navigation without a second scroll bar on a laptop."""
PRESENTATIONS = ("iframe", "window")
"""What Assay may ask a platform for, best first: in its frame, else a window of its own."""


def presentation(accepted: Any) -> dict[str, Any]:
    """The content item's presentation: the first of :data:`PRESENTATIONS` the platform accepts
    (``accept_presentation_document_targets``); none when it names neither."""
    targets = [t for t in accepted if isinstance(t, str)] if isinstance(accepted, list) else []
    if "iframe" in targets:
        return {"iframe": {"height": FRAME_HEIGHT}}
    if "window" in targets:
        return {"window": {"targetName": "_blank"}}
    return {}


def pending_request(verified: VerifiedToken, course: Course) -> dict[str, Any]:
    """What the web session keeps of a deep linking request until the instructor chooses."""
    settings = verified.claims[DL_CLAIM + "deep_linking_settings"]
    return {"platform_id": verified.platform.id, "deployment_id": verified.claim("deployment_id"),
            "return_url": settings["deep_link_return_url"], "data": settings.get("data"),
            "presentation": presentation(settings.get("accept_presentation_document_targets")),
            "course_id": course.id}


def _pending(session: Session, principal: Principal, pending: Any) -> tuple[dict[str, Any], Course]:
    if not isinstance(pending, dict):
        raise NotFound("no deep linking request is waiting: start again from your LMS")
    course = session.get(Course, pending["course_id"])
    enrolment = repository.enrolment(session, pending["course_id"], principal.user.id) if course else None
    if course is None or enrolment is None:
        raise NotFound("no deep linking request is waiting: start again from your LMS")
    if enrolment.role != CourseRole.INSTRUCTOR:
        raise Forbidden("instructors of this course only")
    return pending, course


def choices(session: Session, principal: Principal, pending: Any) -> tuple[Course, list[Quiz]]:
    _, course = _pending(session, principal, pending)
    return course, repository.quizzes_of(session, course.id)


def response_jwt(session: Session, principal: Principal, pending: Any, quiz_id: int, launch_url: str,
                 now: datetime) -> tuple[str, str]:
    """The signed LtiDeepLinkingResponse for the chosen quiz, and the URL to post it to."""
    request, course = _pending(session, principal, pending)
    quiz = session.get(Quiz, quiz_id)
    if quiz is None or quiz.course_id != course.id:
        raise NotFound(f"no quiz {quiz_id} in this course")
    platform = session.get(LtiPlatform, request["platform_id"])
    if platform is None:
        raise LaunchRefused("the platform is no longer registered")
    item = {"type": "ltiResourceLink", "title": quiz.title, "url": launch_url,
            "custom": {"quiz_id": str(quiz.id)},
            "lineItem": {"scoreMaximum": quiz_out(quiz, course).max_marks, "label": quiz.title,
                         "resourceId": f"assay-quiz-{quiz.id}"},
            **(request.get("presentation") or {})}
    claims: dict[str, Any] = {
        "iss": platform.client_id, "aud": [platform.issuer], "azp": platform.client_id,
        "iat": int(now.timestamp()), "exp": int((now + RESPONSE_LIFETIME).timestamp()),
        "nonce": secrets.token_urlsafe(16),
        CLAIM + "deployment_id": request["deployment_id"],
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": LTI_VERSION,
        DL_CLAIM + "content_items": [item],
    }
    if request.get("data") is not None:
        claims[DL_CLAIM + "data"] = request["data"]
    return keys.sign(session, claims, now), request["return_url"]
