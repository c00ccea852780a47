"""Deep Linking 2.0: an instructor picks a quiz or a practice and Assay answers with a signed
LtiDeepLinkingResponse.

The request's settings (where to return, the platform's opaque ``data``, the presentations it
accepts) wait in the instructor's web session between the launch and the choice; the response
carries one ``ltiResourceLink`` to our launch URL, naming the quiz (``quiz_id``) or the practice
(``practice_id``) in a custom parameter, and the presentation the platform accepts (Deep Linking
2.0 §3.4.3.2 and §4.4.1: ``iframe`` with a height where the platform takes it, else ``window``). A
quiz's link has a ``lineItem`` for its grades; a practice's has one only when the instructor chose
to send its completion (the fraction of its concepts each student has mastered, out of
:data:`~assessments.lti.ags.COMPLETION_MAXIMUM`). That choice is the practice's own
(``send_completion``, as over REST): it holds for every link to the practice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from assessments.deps import Principal
from assessments.errors import Forbidden, Invalid, NotFound
from assessments.lti import keys, repository
from assessments.lti.ags import COMPLETION_MAXIMUM, resource_id
from assessments.lti.validation import CLAIM, DL_CLAIM, LTI_VERSION, LaunchRefused, VerifiedToken
from assessments.models import Course, CourseRole, LtiPlatform, Practice, Quiz
from assessments.practice import service as practices
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


@dataclass(frozen=True)
class Choice:
    """What the instructor picked: a quiz or a practice (and, for a practice, whether its
    completion goes to the gradebook)."""

    kind: str
    id: int
    send_completion: bool = False

    @classmethod
    def parse(cls, resource: str, *, send_completion: bool = False) -> Choice:
        """``quiz:<id>`` or ``practice:<id>``, as the picker's radio buttons send them."""
        kind, _, raw = resource.partition(":")
        if kind not in ("quiz", "practice") or not raw.isdigit() or len(raw) > 10:
            raise Invalid("Choose a quiz or a practice to add to the course", code="invalid_choice")
        return cls(kind, int(raw), send_completion and kind == "practice")


def choices(session: Session, principal: Principal, pending: Any) -> tuple[Course, list[Quiz], list[Practice]]:
    _, course = _pending(session, principal, pending)
    return course, repository.quizzes_of(session, course.id), repository.practices_of(session, course.id)


def _content_item(session: Session, principal: Principal, course: Course, choice: Choice,
                  launch_url: str) -> dict[str, Any]:
    if choice.kind == "quiz":
        quiz = session.get(Quiz, choice.id)
        if quiz is None or quiz.course_id != course.id:
            raise NotFound(f"no quiz {choice.id} in this course")
        return {"type": "ltiResourceLink", "title": quiz.title, "url": launch_url,
                "custom": {"quiz_id": str(quiz.id)},
                "lineItem": {"scoreMaximum": quiz_out(quiz, course).max_marks, "label": quiz.title,
                             "resourceId": resource_id(quiz_id=quiz.id)}}
    practice = session.get(Practice, choice.id)
    if practice is None or practice.course_id != course.id:
        raise NotFound(f"no practice {choice.id} in this course")
    practices.choose_completion(session, principal, practice.id, send=choice.send_completion)
    item: dict[str, Any] = {"type": "ltiResourceLink", "title": practice.title, "url": launch_url,
                            "custom": {"practice_id": str(practice.id)}}
    if practice.send_completion:
        item["lineItem"] = {"scoreMaximum": COMPLETION_MAXIMUM, "label": f"{practice.title} (completion)",
                            "resourceId": resource_id(practice_id=practice.id)}
    return item


def response_jwt(session: Session, principal: Principal, pending: Any, choice: Choice, launch_url: str,
                 now: datetime) -> tuple[str, str]:
    """The signed LtiDeepLinkingResponse for the chosen quiz or practice, and the URL to post it to."""
    request, course = _pending(session, principal, pending)
    platform = session.get(LtiPlatform, request["platform_id"])
    if platform is None:
        raise LaunchRefused("the platform is no longer registered")
    item = _content_item(session, principal, course, choice, launch_url) | (request.get("presentation") or {})
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
