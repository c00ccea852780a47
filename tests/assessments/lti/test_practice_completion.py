"""A practice placed in an LMS: deep linked beside the quizzes, launched by a student, practised in the
browser until concepts are mastered, and its completion (never a grade) sent to the platform's
gradebook only when the instructor chose it (``lti1p3platform`` plays the LMS)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.auth.tokens import ALL_SCOPES
from assessments.config import Settings
from assessments.deps import Account, Principal
from assessments.lti import ags
from assessments.models import (
    Course,
    Job,
    JobState,
    LtiResourceLink,
    LtiScoreTarget,
    Practice,
    PracticeQuestion,
    User,
)
from assessments.practice import service as practices
from assessments.practice.schemas import PracticeIn
from assessments.security import CSRF_FIELD
from tests.assessments.conftest import Clock
from tests.assessments.lti.conftest import lti_course
from tests.assessments.lti.platform import INSTRUCTOR, ISSUER, LEARNER, LINEITEMS, TOOL, Platform
from tests.assessments.test_practice import _right

CONCEPTS = ["dpo", "bradley-terry-model"]
"""Two concepts, each with one numeric item in the test bank (dpo-loss-value, bradley-terry-preference-probability)."""
MAX_ANSWERS = 60


def _practice(db: Session, course: Course, settings: Settings, clock: Clock) -> Practice:
    teacher = db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#teacher-1")).one()
    made = practices.create(db, Principal(Account.of(teacher), ALL_SCOPES, "session"), settings.content_dir,
                            course.slug, PracticeIn(title="Preferences", concepts=CONCEPTS), clock.now)
    practice = db.get(Practice, made.id)
    assert practice is not None and not practice.send_completion
    return practice


def _csrf(html: str) -> str:
    return html.split(f'name="{CSRF_FIELD}" value="', 1)[1].split('"', 1)[0]


def _deep_link(lms: Platform, practice: Practice, *, send_completion: bool) -> dict[str, Any]:
    """The instructor's deep linking launch, the picker, and the item the platform keeps."""
    assert lms.launch("teacher-1", [INSTRUCTOR], deep_link=True).status_code == 303
    picker = lms.client.get("/lti/deep-link")
    assert picker.status_code == 200 and "Reward models" in picker.text and "Preferences" in picker.text
    form = {"resource": f"practice:{practice.id}", CSRF_FIELD: _csrf(picker.text)}
    if send_completion:
        form["send_completion"] = "1"
    answer = lms.client.post("/lti/deep-link", data=form)
    assert answer.status_code == 200, answer.text
    [item] = lms.accept_deep_link(answer.text)
    return item


def _student_launch(lms: Platform, db: Session, practice: Practice, sub: str = "student-1") -> User:
    reply = lms.launch(sub, [LEARNER], custom={"practice_id": str(practice.id)}, resource_link="practice-link")
    assert (reply.status_code, reply.headers["location"]) == (303, f"/practices/{practice.id}"), reply.text
    return db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#{sub}")).one()


def _answer_right_in_the_browser(lms: Platform, db: Session, practice: Practice) -> None:
    """What the student does on the practice page the launch opened: read the question, answer it."""
    page = lms.client.get(f"/practices/{practice.id}")
    assert page.status_code == 200 and "Check my answer" in page.text, page.text
    found = re.search(rf'action="/practices/{practice.id}/questions/(\d+)/answer"', page.text)
    assert found is not None
    question = int(found.group(1))
    key = _right(db, question)["answer"]
    graded = lms.client.post(f"/practices/{practice.id}/questions/{question}/answer",
                             data={CSRF_FIELD: _csrf(page.text), "s1-present": "1", "s1-answer": key})
    assert graded.status_code == 200 and '<h2 id="outcome">Right</h2>' in graded.text, graded.text


def _send_queued(db: Session) -> list[Job]:
    """What the outbox holds for LTI scores, each sent as the job runner would."""
    queued = list(db.scalars(select(Job).where(Job.kind == ags.SCORE_JOB, Job.state == JobState.QUEUED)))
    for job in queued:
        ags._score_job(db, job.payload, lambda _: None)
        job.state = JobState.DONE
    db.flush()
    return queued


def _shown(score: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(score[k] for k in ("userId", "scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress"))


def test_a_practice_sends_the_fraction_of_concepts_mastered_when_the_instructor_chose_it(
        lms: Platform, db: Session, settings: Settings, clock: Clock, client: TestClient) -> None:
    course, _ = lti_course(db, lms)
    practice = _practice(db, course, settings, clock)

    item = _deep_link(lms, practice, send_completion=True)
    assert item == {"type": "ltiResourceLink", "title": "Preferences", "url": f"{TOOL}/lti/launch",
                    "custom": {"practice_id": str(practice.id)},
                    "lineItem": {"scoreMaximum": 100.0, "label": "Preferences (completion)",
                                 "resourceId": f"assay-practice-{practice.id}"},
                    "iframe": {"height": 900}}
    db.refresh(practice)
    assert practice.send_completion, "the instructor's choice is the practice's"

    # The instructor's own launch of the link opens the class view.
    teacher = lms.launch("teacher-1", [INSTRUCTOR], custom={"practice_id": str(practice.id)},
                         resource_link="practice-link")
    assert (teacher.status_code, teacher.headers["location"]) == (303, f"/practices/{practice.id}/class")

    student = _student_launch(lms, db, practice)
    link = db.scalars(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "practice-link")).one()
    assert (link.practice_id, link.quiz_id, link.lineitems_url) == (practice.id, None, LINEITEMS)
    target = db.scalars(select(LtiScoreTarget).where(LtiScoreTarget.link_id == link.id)).one()
    assert (target.user_id, target.lti_user_id, target.completion) == (student.id, "student-1", None)

    # Right answers until the first concept is mastered: half the practice's concepts.
    mastered = 0
    for _ in range(MAX_ANSWERS):
        _answer_right_in_the_browser(lms, db, practice)
        mastered = practices.mastery_of(db, settings.content_dir, practice, student.id, clock.now).mastered
        if mastered:
            break
    assert mastered == 1
    assert len(_send_queued(db)) == 1, "one job however many answers announced progress"
    assert lms.lineitems == [{"scoreMaximum": 100.0, "label": "Preferences (completion)",
                              "resourceId": f"assay-practice-{practice.id}", "resourceLinkId": "practice-link",
                              "id": f"{LINEITEMS}/1"}]
    assert [_shown(s) for s in lms.scores] == [("student-1", 50.0, 100.0, "InProgress", "FullyGraded")]
    assert lms.scores[0]["lineitem"] == f"{LINEITEMS}/1"

    # On to the second concept: every concept mastered, the practice is Completed.
    for _ in range(MAX_ANSWERS):
        _answer_right_in_the_browser(lms, db, practice)
        mastered = practices.mastery_of(db, settings.content_dir, practice, student.id, clock.now).mastered
        if mastered == len(CONCEPTS):
            break
    assert mastered == len(CONCEPTS)
    _send_queued(db)
    assert [_shown(s) for s in lms.scores][-1] == ("student-1", 100.0, 100.0, "Completed", "FullyGraded")
    assert len(lms.lineitems) == 1, "the line item is found again, not made twice"
    db.refresh(target)
    assert (target.completion, target.sent_score, target.sent_progress) == (1.0, 100.0, "Completed")
    assert ags.poll_scores(db, clock.now) == 0, "the platform has the latest"
    assert "Every concept is mastered" in lms.client.get(f"/practices/{practice.id}").text

    # The safety net: a completion the platform has not acknowledged is sent again by the poll.
    target.sent_score = 50.0
    assert ags.poll_scores(db, clock.now) == 1
    _send_queued(db)
    assert _shown(lms.scores[-1]) == ("student-1", 100.0, 100.0, "Completed", "FullyGraded")


def test_a_practice_whose_instructor_did_not_choose_to_send_completion_sends_nothing(
        lms: Platform, db: Session, settings: Settings, clock: Clock, client: TestClient) -> None:
    course, _ = lti_course(db, lms)
    practice = _practice(db, course, settings, clock)
    practice.send_completion = True  # chosen over REST before; the picker's unticked box turns it off
    db.flush()

    item = _deep_link(lms, practice, send_completion=False)
    assert "lineItem" not in item and item["custom"] == {"practice_id": str(practice.id)}
    db.refresh(practice)
    assert not practice.send_completion

    student = _student_launch(lms, db, practice)
    for _ in range(12):
        _answer_right_in_the_browser(lms, db, practice)
    assert practices.mastery_of(db, settings.content_dir, practice, student.id, clock.now).mastered >= 1
    assert db.scalars(select(Job).where(Job.kind == ags.SCORE_JOB)).all() == []
    assert ags.poll_scores(db, clock.now) == 0
    assert lms.scores == [] and lms.lineitems == []
    assert db.scalars(select(LtiScoreTarget)).one().completion is None


def test_the_picker_refuses_a_choice_it_did_not_offer_and_changes_nothing(
        lms: Platform, db: Session, settings: Settings, clock: Clock, client: TestClient) -> None:
    course, quiz = lti_course(db, lms)
    practice = _practice(db, course, settings, clock)
    picker = lms.client.get("/lti/deep-link")
    csrf = _csrf(picker.text)
    for resource in ("", "practice:", "lesson:1", "practice:12345678901"):
        refused = lms.client.post("/lti/deep-link", data={"resource": resource, CSRF_FIELD: csrf,
                                                          "send_completion": "1"})
        assert refused.status_code == 400, resource
        assert "There is a problem" in refused.text and 'href="#resource-choice"' in refused.text
    other = lms.client.post("/lti/deep-link", data={"resource": f"practice:{practice.id + 1000}", CSRF_FIELD: csrf})
    assert other.status_code == 404
    db.refresh(practice)
    assert not practice.send_completion
    # The request still waits: the instructor may choose again (a quiz, by its old field).
    chosen = lms.client.post("/lti/deep-link", data={"quiz_id": str(quiz.id), CSRF_FIELD: csrf})
    assert chosen.status_code == 200
    assert lms.accept_deep_link(chosen.text)[0]["custom"] == {"quiz_id": str(quiz.id)}


def test_a_launch_naming_a_practice_of_another_course_is_refused(
        lms: Platform, db: Session, settings: Settings, clock: Clock, client: TestClient) -> None:
    course, _ = lti_course(db, lms)
    practice = _practice(db, course, settings, clock)
    elsewhere = Course(slug="elsewhere", title="Elsewhere")
    db.add(elsewhere)
    db.flush()
    practice.course_id = elsewhere.id
    db.flush()
    reply = lms.launch("student-9", [LEARNER], custom={"practice_id": str(practice.id)}, resource_link="stray")
    assert reply.status_code == 400 and "names no practice of this course" in reply.text
    assert db.scalars(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "stray")).first() is None
    assert db.scalars(select(PracticeQuestion)).first() is None
