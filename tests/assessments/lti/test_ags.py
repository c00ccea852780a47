"""Grade passback (AGS) through the outbox: service tokens, line items, scores, and an LMS that is down."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments import jobs
from assessments.app import create_app
from assessments.attempts.schemas import SaveRequest
from assessments.attempts.service import finish, save, start
from assessments.auth.tokens import ALL_SCOPES
from assessments.bank.service import save_definition
from assessments.config import Settings
from assessments.db import Database, session_scope
from assessments.deps import Account, Principal
from assessments.lti import ags, http, tokens
from assessments.lti.schemas import RegistrationCreate
from assessments.lti.service import register
from assessments.migrations import upgrade
from assessments.models import Course, Job, JobState, LtiScoreTarget, Quiz, User, utcnow
from engine.content.loader import load_item_text
from tests.assessments.conftest import SAMPLES
from tests.assessments.lti.conftest import add_quiz, lti_course
from tests.assessments.lti.platform import ISSUER, LEARNER, SCORE_SCOPE, Platform


def _student_finishes(db: Session, lms: Platform, quiz: Quiz, sub: str = "student-1",
                      answer: dict[str, str] | None = None) -> User:
    reply = lms.launch(sub, [LEARNER], custom={"quiz_id": str(quiz.id)})
    assert reply.status_code == 303, reply.text
    student = db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#{sub}")).one()
    principal = Principal(Account.of(student), ALL_SCOPES, "session")
    attempt = start(db, principal, quiz.id, utcnow()).attempt
    if answer is not None:
        save(db, principal, attempt.id, 1, SaveRequest(response=answer, seq=0), utcnow(), 30)
    finish(db, attempt, None, utcnow())
    db.flush()
    return student


def test_a_finished_attempt_sends_its_score_to_a_line_item_made_for_it(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    student = _student_finishes(db, lms, quiz)
    [hooked] = db.scalars(select(Job).where(Job.kind == ags.SCORE_JOB)).all()  # queued by finishing
    queued = ags.score_changed(db, quiz.id, student.id)
    assert [(j.kind, j.state) for j in queued] == [(ags.SCORE_JOB, JobState.QUEUED)]
    assert queued[0].id == hooked.id
    assert ags.score_changed(db, quiz.id, student.id)[0].id == queued[0].id, "asking twice sends once"

    ags._score_job(db, queued[0].payload, lambda _: None)
    assert lms.lineitems == [{"scoreMaximum": 1.0, "label": "Reward models", "resourceId": f"assay-quiz-{quiz.id}",
                              "resourceLinkId": "resource-1", "id": f"{ISSUER}/api/lti/courses/101/line_items/1"}]
    [score] = lms.scores
    assert score["lineitem"] == lms.lineitems[0]["id"]
    assert {k: score[k] for k in ("userId", "scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress")} == {
        "userId": "student-1", "scoreGiven": 0.0, "scoreMaximum": 1.0, "activityProgress": "Completed",
        "gradingProgress": "FullyGraded"}

    # Sent again (a regrade, say): the same line item, the cached token, a later timestamp.
    ags._score_job(db, queued[0].payload, lambda _: None)
    assert len(lms.lineitems) == 1 and lms.token_requests == 1
    assert lms.scores[1]["timestamp"] > lms.scores[0]["timestamp"]
    target = db.scalars(select(LtiScoreTarget)).one()
    assert (target.sent_score, target.sent_progress) == (0.0, "FullyGraded")
    assert ags.poll_scores(db, utcnow()) == 0, "nothing left to send"


def test_an_essay_waiting_for_a_grader_is_sent_as_pending_manual(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms, "essay")
    student = _student_finishes(db, lms, quiz, answer={"text": "The policy games the reward model."})
    assert ags.poll_scores(db, utcnow()) == 1, "the poll finds the grade no hook announced"
    job = db.scalars(select(Job).where(Job.kind == ags.SCORE_JOB)).one()
    ags._score_job(db, job.payload, lambda _: None)
    [score] = lms.scores
    assert score["gradingProgress"] == "PendingManual" and "scoreGiven" not in score
    assert score["userId"] == "student-1" and student.id


def test_a_launch_without_the_score_scope_sends_nothing(lms: Platform, db: Session) -> None:
    assert SCORE_SCOPE  # the platform grants it by default; a link whose launch lacked it has no target
    _, quiz = lti_course(db, lms)
    reply = lms.launch("teacher-1", ["Instructor"], custom={"quiz_id": str(quiz.id)})
    assert reply.status_code == 303
    assert db.scalars(select(LtiScoreTarget)).all() == [], "instructors get no grade back"


def test_a_score_is_not_lost_while_the_platform_is_down(tmp_path: Path) -> None:
    """The real job runner on a database of its own: the platform answers 503, the job is retried
    later with backoff, and the score arrives once the platform is back."""
    url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    upgrade(url)
    database = Database(url)
    settings = Settings(data_dir=tmp_path, secret_key="outbox-" + "s" * 40)
    try:
        with session_scope(database) as session:
            body = SAMPLES["numeric"]
            save_definition(session, yaml.safe_load(textwrap.dedent(body)), source="samples", actor_id=None,
                            now=utcnow(), item=load_item_text(body))
        with TestClient(create_app(settings, database)) as client:
            lms = Platform(client)
            with session_scope(database) as session:
                register(session, RegistrationCreate.model_validate(lms.registration_body()), utcnow())
            lms.trust_tool_keys()
            http.use_transport(lms.transport())
            tokens.clear_cache()
            assert lms.launch("teacher-1", ["Instructor"], deep_link=True).status_code == 303
            with session_scope(database) as session:
                quiz_id = add_quiz(session, session.scalars(select(Course)).one()).id
            jobs.run_until_idle(database)  # the quiz's opening: its students' variants prepared
            assert lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz_id)}).status_code == 303
            with session_scope(database) as session:
                student = session.scalars(select(User).where(User.lti_subject == f"{ISSUER}#student-1")).one()
                principal = Principal(Account.of(student), ALL_SCOPES, "session")
                finish(session, start(session, principal, quiz_id, utcnow()).attempt, None, utcnow())
                [job] = ags.score_changed(session, quiz_id, student.id)
                job_id = job.id

            lms.down = True
            failed = jobs.run_one(database)
            assert failed is not None and failed.id == job_id
            assert (failed.state, failed.attempts) == (JobState.QUEUED, 1) and "503" in (failed.error or "")
            assert failed.run_after > utcnow() and lms.scores == []
            assert jobs.run_one(database) is None, "not due again before its backoff"

            lms.down = False
            done = jobs.run_one(database, now=utcnow() + timedelta(seconds=5))
            assert done is not None and done.state == JobState.DONE
            assert [(s["userId"], s["scoreGiven"], s["gradingProgress"]) for s in lms.scores] == [
                ("student-1", 0.0, "FullyGraded")]
    finally:
        http.use_transport(None)
        tokens.clear_cache()
        database.dispose()
