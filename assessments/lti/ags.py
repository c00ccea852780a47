"""Assignment and Grade Services: a student's quiz grade, or their practice's completion, goes back to
the platform through the outbox.

The outbox is the job table: :func:`score_changed` listens for the attempts' and grading's events
(``AttemptFinished``, ``GradeChanged`` in :mod:`assessments.events`, published in the transaction
of the change) and enqueues one ``lti.score`` job per place the grade goes, keyed so that asking
twice sends once. The job reads the grade when it runs, so it always sends the latest; a platform that
is down makes the job fail and the runner retries it with backoff, so a score is never lost.
:func:`poll_scores` (job ``lti.scores.poll``, ``assay lti sync-scores``) enqueues every target
whose grade differs from what the platform last acknowledged: a safety net for changes no hook saw.

A practice counts toward no grade; what it may send is its completion. :func:`completion_changed`
listens for ``PracticeProgressed`` (published only when the instructor chose to send it) and, for
every link to the practice the student launched with a line item service, keeps the completion on
the score target and enqueues the same ``lti.score`` job: scoreGiven is the fraction of concepts
mastered times :data:`COMPLETION_MAXIMUM`, activityProgress ``InProgress`` until every concept is
mastered and then ``Completed``, gradingProgress ``FullyGraded``.
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
    Practice,
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
COMPLETION_MAXIMUM = 100.0
"""A practice's line item is out of 100: the percentage of its concepts the student has mastered."""


@dataclass(frozen=True)
class Grade:
    score: float | None
    maximum: float
    progress: str
    """gradingProgress: FullyGraded or PendingManual."""
    activity: str = "Completed"
    """activityProgress: a finished quiz is Completed; a practice is InProgress until all is mastered."""
    practice: bool = False

    @property
    def recorded(self) -> str:
        """What a target keeps as ``sent_progress``: a quiz's gradingProgress, a practice's activityProgress."""
        return self.activity if self.practice else self.progress


def resource_id(*, quiz_id: int | None = None, practice_id: int | None = None) -> str:
    """The line item's ``resourceId`` for a quiz's or a practice's link."""
    return f"assay-quiz-{quiz_id}" if quiz_id is not None else f"assay-practice-{practice_id}"


def _enqueue(session: Session, target: LtiScoreTarget, now: datetime | None) -> Job:
    return jobs.enqueue(session, SCORE_JOB, {"target_id": target.id}, key=f"lti-score:{target.id}", now=now,
                        max_attempts=SCORE_ATTEMPTS)


def score_changed(session: Session, quiz_id: int, user_id: int, now: datetime | None = None) -> list[Job]:
    """A student's grade at a quiz may have changed: queue its passback (in the caller's
    transaction: the jobs commit with the change)."""
    return [_enqueue(session, t, now) for t in repository.score_targets_for(session, quiz_id, user_id)]


def completion_changed(session: Session, event: events.PracticeProgressed, now: datetime | None = None) -> list[Job]:
    """A student's completion of a practice moved: keep it on each of their targets for the practice
    and queue its passback (nothing when the instructor no longer sends it)."""
    practice = session.get(Practice, event.practice_id)
    if practice is None or not practice.send_completion:
        return []
    queued = []
    for target in repository.practice_score_targets(session, event.practice_id, event.user_id):
        target.completion = event.completion
        queued.append(_enqueue(session, target, now))
    return queued


@events.subscribe(events.AttemptFinished, events.GradeChanged)
def _grade_may_have_moved(session: Session, event: events.AttemptFinished | events.GradeChanged,
                          now: datetime) -> None:
    score_changed(session, event.quiz_id, event.user_id, now)


@events.subscribe(events.PracticeProgressed)
def _completion_may_have_moved(session: Session, event: events.PracticeProgressed, now: datetime) -> None:
    completion_changed(session, event, now)


def completion_grade(target: LtiScoreTarget) -> Grade | None:
    """A practice's completion as a score; None before the practice announced any."""
    if target.completion is None:
        return None
    done = target.completion >= 1.0
    return Grade(round(target.completion * COMPLETION_MAXIMUM, 6), COMPLETION_MAXIMUM, "FullyGraded",
                 "Completed" if done else "InProgress", practice=True)


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


def target_grade(session: Session, link: LtiResourceLink, target: LtiScoreTarget) -> tuple[Grade, str] | None:
    """What the target's link sends now, and the line item's label: the quiz grade, or the practice's
    completion while its instructor sends it and the link's launch gave a line item service."""
    if link.quiz_id is not None:
        quiz = session.get(Quiz, link.quiz_id)
        grade = current_grade(session, quiz, target.user_id) if quiz else None
        return (grade, quiz.title) if grade is not None and quiz is not None else None
    practice = session.get(Practice, link.practice_id) if link.practice_id is not None else None
    if practice is None or not practice.send_completion or not (link.lineitem_url or link.lineitems_url):
        return None
    grade = completion_grade(target)
    return (grade, f"{practice.title} (completion)") if grade is not None else None


def poll_scores(session: Session, now: datetime) -> int:
    """Enqueue a score job for every target whose grade is not what the platform last got."""
    count = 0
    for target in repository.all_score_targets(session):
        link = session.get(LtiResourceLink, target.link_id)
        found = target_grade(session, link, target) if link else None
        if found is not None and (found[0].score, found[0].recorded) != (target.sent_score, target.sent_progress):
            _enqueue(session, target, now)
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
    resource = resource_id(quiz_id=link.quiz_id, practice_id=link.practice_id)
    container = urlsplit(link.lineitems_url)
    query = "&".join(q for q in (container.query, urlencode({"resource_link_id": link.resource_link_id,
                                                             "resource_id": resource})) if q)
    with http.client() as client:
        found = _check(client.get(urlunsplit(container._replace(query=query)),
                                  headers=headers | {"accept": LINEITEMS_TYPE}), "the line items service").json()
        mine = [i for i in found if i.get("resourceId") == resource
                and i.get("resourceLinkId") in (None, link.resource_link_id)]
        if mine:
            link.lineitem_url = str(mine[0]["id"])
        else:
            made = _check(client.post(link.lineitems_url, headers=headers | {"content-type": LINEITEM_TYPE},
                                      json={"scoreMaximum": maximum, "label": label, "resourceId": resource,
                                            "resourceLinkId": link.resource_link_id}), "creating a line item")
            link.lineitem_url = str(made.json()["id"])
    session.flush()
    return link.lineitem_url


def send_score(session: Session, target: LtiScoreTarget, now: datetime) -> dict[str, Any] | None:
    """Post the target's current grade; what was sent, or None when there is nothing to send."""
    link = session.get(LtiResourceLink, target.link_id)
    platform = session.get(LtiPlatform, link.platform_id) if link else None
    found = target_grade(session, link, target) if link else None
    if link is None or platform is None or found is None:
        return None
    grade, label = found
    url = line_item(session, link, platform, grade.maximum, label, now)
    # Timestamps must increase for one user and line item: a platform ignores an older score.
    stamp = now if target.sent_at is None or now > target.sent_at else target.sent_at + timedelta(milliseconds=1)
    body: dict[str, Any] = {"userId": target.lti_user_id, "scoreMaximum": grade.maximum,
                            "activityProgress": grade.activity, "gradingProgress": grade.progress,
                            "timestamp": stamp.isoformat(timespec="milliseconds")}
    if grade.score is not None:
        body["scoreGiven"] = grade.score
    token = service_token(session, platform, {LINEITEM_SCOPE, SCORE_SCOPE}, now)
    base, _, query = url.partition("?")
    with http.client() as client:
        _check(client.post(_with_path(base, "/scores") + (f"?{query}" if query else ""), json=body,
                           headers={"authorization": f"Bearer {token}", "content-type": SCORE_TYPE}),
               "the score service")
    target.sent_score, target.sent_progress, target.sent_at = grade.score, grade.recorded, stamp
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
