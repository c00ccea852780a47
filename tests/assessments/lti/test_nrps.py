"""Roster sync (NRPS): every page is read, members enrolled with their mapped roles, leavers removed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.lti import nrps
from assessments.models import CourseRole, Enrolment, LtiContext, User, utcnow
from tests.assessments.lti.conftest import lti_course
from tests.assessments.lti.platform import INSTRUCTOR, ISSUER, LEARNER, MEMBERSHIPS, Platform


def _member(user_id: str, role: str, status: str = "Active") -> dict[str, object]:
    return {"user_id": user_id, "roles": [role], "status": status, "name": user_id.title(),
            "email": f"{user_id}@example.edu"}


def test_the_roster_is_read_page_by_page(lms: Platform, db: Session) -> None:
    course, quiz = lti_course(db, lms)
    assert lms.launch("leaver", [LEARNER], custom={"quiz_id": str(quiz.id)}).status_code == 303
    lms.members = [_member("teacher-1", INSTRUCTOR), _member("ann", LEARNER), _member("bob", "Learner"),
                   _member("cat", LEARNER), _member("leaver", LEARNER, status="Deleted"),
                   _member("mentor", "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor")]
    context = db.scalars(select(LtiContext)).one()
    assert context.memberships_url == MEMBERSHIPS

    done = nrps.sync_roster(db, context, utcnow())
    assert (done.pages, done.active, done.removed) == (3, 4, 1)
    roster = {u.lti_subject: e.role for e, u in db.execute(
        select(Enrolment, User).join(User, User.id == Enrolment.user_id).where(Enrolment.course_id == course.id))}
    assert roster == {f"{ISSUER}#teacher-1": CourseRole.INSTRUCTOR, f"{ISSUER}#ann": CourseRole.STUDENT,
                      f"{ISSUER}#bob": CourseRole.STUDENT, f"{ISSUER}#cat": CourseRole.STUDENT}
    again = nrps.sync_roster(db, context, utcnow())
    assert (again.active, again.removed) == (4, 0), "a second sync changes nothing"


def test_a_leaver_with_a_long_user_id_is_found_by_their_hashed_subject(lms: Platform, db: Session) -> None:
    course, quiz = lti_course(db, lms)
    long_id = "l" * 240  # with the issuer, longer than lti_subject holds: stored as its SHA-256
    assert lms.launch(long_id, [LEARNER], custom={"quiz_id": str(quiz.id)}).status_code == 303
    lms.members = [_member(long_id, LEARNER, status="Inactive")]
    done = nrps.sync_roster(db, db.scalars(select(LtiContext)).one(), utcnow())
    assert (done.active, done.removed) == (0, 1)
    assert db.scalars(select(Enrolment).where(Enrolment.course_id == course.id,
                                              Enrolment.role == CourseRole.STUDENT)).first() is None
