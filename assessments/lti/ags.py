"""Assignment and Grade Services: a student's quiz grade goes back to the platform through the outbox.

The outbox is the job table: :func:`score_changed` listens for the attempts' and grading's events
(``AttemptFinished``, ``GradeChanged`` in :mod:`assessments.events`, published in the transaction
of the change) and enqueues one ``lti.score`` job per place the grade goes, keyed so that asking
twice sends once. The job reads the grade when it runs, so it always sends the latest; a platform that
is down makes the job fail and the runner retries it with backoff, so a score is never lost.
:func:`poll_scores` (job ``lti.scores.poll``, ``assay lti sync-scores``) enqueues every target
whose grade differs from what the platform last acknowledged: a safety net for changes no hook saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments import events, jobs
from assessments.grading.service import quiz_grade
from assessments.lti import http, repository
from assessments.lti.tokens import service_token
from assessments.models import (
    Attempt,
    AttemptState,
    Course,
    Job,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreTarget,
    Quiz,
    utcnow,
)
from assessments.quizzes.service import quiz_out, settings_of

SCORE_JOB = "lti.score"
POLL_JOB = "lti.scores.poll"
SCORE_ATTEMPTS = 24
"""A job retried 24 times with the runner's backoff (capped at 30 minutes) waits out a day's outage."""
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"


@dataclass(frozen=True)
class Grade:
    score: float | None
    maximum: float
    progress: str  # FullyGraded or PendingManual


def score_changed(session: Session, quiz_id: int, user_id: int, now: datetime | None = None) -> list[Job]:
    """A student's grade at a quiz may have changed: queue its passback (in the caller's
    transaction: the jobs commit with the change)."""
    return [jobs.enqueue(session, SCORE_JOB, {"target_id": t.id}, key=f"lti-score:{t.id}", now=now,
                         max_attempts=SCORE_ATTEMPTS)
            for t in repository.score_targets_for(session, quiz_id, user_id)]


@events.subscribe(events.AttemptFinished, events.GradeChanged)
def _grade_may_have_moved(session: Session, event: events.AttemptFinished | events.GradeChanged,
                          now: datetime) -> None:
    score_changed(session, event.quiz_id, event.user_id, now)


def current_grade(session: Session, quiz: Quiz, user_id: int) -> Grade | None:
    """The student's quiz grade by the quiz's grading method; None before any attempt finished."""
    marks = list(session.scalars(select(Attempt.marks).where(
        Attempt.quiz_id == quiz.id, Attempt.user_id == user_id, Attempt.state == AttemptState.FINISHED)
        .order_by(Attempt.number)))
    if not marks:
        return None
    course = session.get(Course, quiz.course_id)
    assert course is not None
    grade = quiz_grade(settings_of(quiz).grading_method, marks)
    pending = any(m is None for m in marks)
    return Grade(grade, quiz_out(quiz, course).max_marks, "PendingManual" if pending else "FullyGraded")


def poll_scores(session: Session, now: datetime) -> int:
    """Enqueue a score job for every target whose grade is not what the platform last got."""
    count = 0
    for target in repository.all_score_targets(session):
        link = session.get(LtiResourceLink, target.link_id)
        quiz = session.get(Quiz, link.quiz_id) if link else None
        grade = current_grade(session, quiz, target.user_id) if quiz else None
        if grade is not None and (grade.score, grade.progress) != (target.sent_score, target.sent_progress):
            jobs.enqueue(session, SCORE_JOB, {"target_id": target.id}, key=f"lti-score:{target.id}", now=now,
                         max_attempts=SCORE_ATTEMPTS)
            count += 1
    return count


def _with_path(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def _check(reply: Any, what: str) -> Any:
    if reply.status_code >= 300:
        raise http.PlatformUnavailable(f"{what} answered {reply.status_code}")
    return reply


def line_item(session: Session, link: LtiResourceLink, platform: LtiPlatform, maximum: float, label: str,
              now: datetime) -> str:
    """The link's line item URL: the one its launch named, else found by resource id, else made."""
    if link.lineitem_url:
        return link.lineitem_url
    if not link.lineitems_url:
        raise LookupError("the platform gave this link no line item service")
    token = service_token(session, platform, {LINEITEM_SCOPE, SCORE_SCOPE}, now)
    headers = {"authorization": f"Bearer {token}"}
    resource_id = f"assay-quiz-{link.quiz_id}"
    container = urlsplit(link.lineitems_url)
    query = "&".join(q for q in (container.query, urlencode({"resource_link_id": link.resource_link_id,
                                                             "resource_id": resource_id})) if q)
    with http.client() as client:
        found = _check(client.get(urlunsplit(container._replace(query=query)),
                                  headers=headers | {"accept": LINEITEMS_TYPE}), "the line items service").json()
        mine = [i for i in found if i.get("resourceId") == resource_id
                and i.get("resourceLinkId") in (None, link.resource_link_id)]
        if mine:
            link.lineitem_url = str(mine[0]["id"])
        else:
            made = _check(client.post(link.lineitems_url, headers=headers | {"content-type": LINEITEM_TYPE},
                                      json={"scoreMaximum": maximum, "label": label, "resourceId": resource_id,
                                            "resourceLinkId": link.resource_link_id}), "creating a line item")
            link.lineitem_url = str(made.json()["id"])
    session.flush()
    return link.lineitem_url


def send_score(session: Session, target: LtiScoreTarget, now: datetime) -> dict[str, Any] | None:
    """Post the target's current grade; what was sent, or None when there is nothing to send."""
    link = session.get(LtiResourceLink, target.link_id)
    quiz = session.get(Quiz, link.quiz_id) if link else None
    platform = session.get(LtiPlatform, link.platform_id) if link else None
    if link is None or quiz is None or platform is None:
        return None
    grade = current_grade(session, quiz, target.user_id)
    if grade is None:
        return None
    url = line_item(session, link, platform, grade.maximum, quiz.title, now)
    # Timestamps must increase for one user and line item: a platform ignores an older score.
    stamp = now if target.sent_at is None or now > target.sent_at else target.sent_at + timedelta(milliseconds=1)
    body: dict[str, Any] = {"userId": target.lti_user_id, "scoreMaximum": grade.maximum,
                            "activityProgress": "Completed", "gradingProgress": grade.progress,
                            "timestamp": stamp.isoformat(timespec="milliseconds")}
    if grade.score is not None:
        body["scoreGiven"] = grade.score
    token = service_token(session, platform, {LINEITEM_SCOPE, SCORE_SCOPE}, now)
    base, _, query = url.partition("?")
    with http.client() as client:
        _check(client.post(_with_path(base, "/scores") + (f"?{query}" if query else ""), json=body,
                           headers={"authorization": f"Bearer {token}", "content-type": SCORE_TYPE}),
               "the score service")
    target.sent_score, target.sent_progress, target.sent_at = grade.score, grade.progress, stamp
    return body


@jobs.handler(SCORE_JOB)
def _score_job(session: Session, payload: dict[str, Any], _progress: jobs.Progress) -> dict[str, Any] | None:
    target = session.get(LtiScoreTarget, payload["target_id"])
    if target is None:
        return None
    sent = send_score(session, target, utcnow())
    return {"sent": sent}


@jobs.handler(POLL_JOB)
def _poll_job(session: Session, _payload: dict[str, Any], _progress: jobs.Progress) -> dict[str, Any]:
    return {"enqueued": poll_scores(session, utcnow())}
