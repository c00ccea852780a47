"""Which course role a launch gives: the context (membership) roles decide; institution and system
roles never raise anyone, whatever else the launch says."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.lti import nrps
from assessments.lti.roles import course_role
from assessments.models import CourseRole, Enrolment, LtiContext, LtiScoreTarget, Role, User, utcnow
from tests.assessments.lti.conftest import counts, lti_course
from tests.assessments.lti.platform import INSTRUCTOR, ISSUER, LEARNER, Platform

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
TEACHING_ASSISTANT = LIS + "membership/Instructor#TeachingAssistant"
INSTITUTION_INSTRUCTOR = LIS + "institution/person#Instructor"
INSTITUTION_ADMINISTRATOR = LIS + "institution/person#Administrator"
SYSTEM_ADMINISTRATOR = LIS + "system/person#Administrator"

STUDENT, TEACHER = CourseRole.STUDENT, CourseRole.INSTRUCTOR
ROLES: dict[str, tuple[list[Any], CourseRole | None]] = {
    "membership Learner": ([LEARNER], STUDENT),
    "membership Instructor": ([INSTRUCTOR], TEACHER),
    "membership ContentDeveloper": ([LIS + "membership#ContentDeveloper"], TEACHER),
    "membership Administrator (of the course)": ([LIS + "membership#Administrator"], TEACHER),
    "teaching assistant (an Instructor sub-role)": ([TEACHING_ASSISTANT], TEACHER),
    "teaching assistant with its principal role": ([TEACHING_ASSISTANT, INSTRUCTOR], TEACHER),
    "membership Learner and membership Instructor": ([LEARNER, INSTRUCTOR], TEACHER),
    "a Learner sub-role named Instructor": ([LIS + "membership/Learner#Instructor"], STUDENT),
    "short Learner": (["Learner"], STUDENT),
    "short Instructor": (["Instructor"], TEACHER),
    "short TeachingAssistant (LTI 1.1)": (["TeachingAssistant"], TEACHER),
    "LTI 1.1 context URN Instructor": (["urn:lti:role:ims/lis/Instructor"], TEACHER),
    "LTI 1.1 context URN Learner sub-role": (["urn:lti:role:ims/lis/Learner/NonCreditLearner"], STUDENT),
    "Learner with institution Instructor": ([LEARNER, INSTITUTION_INSTRUCTOR], STUDENT),
    "Learner with institution and system Administrator": (
        [LEARNER, INSTITUTION_ADMINISTRATOR, SYSTEM_ADMINISTRATOR], STUDENT),
    "short Learner with institution Instructor": (["Learner", INSTITUTION_INSTRUCTOR], STUDENT),
    "Learner with LTI 1.1 institution and system URNs": (
        [LEARNER, "urn:lti:instrole:ims/lis/Instructor", "urn:lti:sysrole:ims/lis/Administrator"], STUDENT),
    "Learner who is a test user": ([LEARNER, "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"],
                                   STUDENT),
    "institution Instructor only": ([INSTITUTION_INSTRUCTOR], None),
    "system Administrator only": ([SYSTEM_ADMINISTRATOR], None),
    "deprecated person#Administrator only": ([LIS + "person#Administrator"], None),
    "LTI 1.1 institution URN only": (["urn:lti:instrole:ims/lis/Instructor"], None),
    "Mentor and an unknown role": ([LIS + "membership#Mentor", "urn:unknown"], None),
    "no roles": ([], None),
    "roles that are not strings": ([42, None, {"role": "Instructor"}], None),
}


@pytest.mark.parametrize("case", ROLES, ids=list(ROLES))
def test_the_context_role_decides(case: str) -> None:
    roles, expected = ROLES[case]
    assert course_role(roles) == expected


def _user(db: Session, sub: str) -> User:
    return db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#{sub}")).one()


def _enrolment(db: Session, user: User) -> Enrolment:
    return db.scalars(select(Enrolment).where(Enrolment.user_id == user.id)).one()


def test_a_learner_with_an_institution_instructor_role_takes_the_quiz_as_a_student(lms: Platform,
                                                                                 db: Session) -> None:
    _, quiz = lti_course(db, lms)
    reply = lms.launch("ta-1", [LEARNER, INSTITUTION_INSTRUCTOR], custom={"quiz_id": str(quiz.id)})
    assert (reply.status_code, reply.headers["location"]) == (303, f"/quizzes/{quiz.id}")
    student = _user(db, "ta-1")
    assert (student.role, _enrolment(db, student).role) == (Role.STUDENT, CourseRole.STUDENT)
    assert db.scalars(select(LtiScoreTarget).where(LtiScoreTarget.user_id == student.id)).one()
    assert lms.client.get(f"/quizzes/{quiz.id}/manage").status_code == 403


def test_an_institution_role_does_not_raise_an_existing_student(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    assert lms.launch("student-1", [LEARNER], custom={"quiz_id": str(quiz.id)}).status_code == 303
    again = lms.launch("student-1", [LEARNER, INSTITUTION_INSTRUCTOR, SYSTEM_ADMINISTRATOR])
    assert (again.status_code, again.headers["location"]) == (303, f"/quizzes/{quiz.id}")
    student = _user(db, "student-1")
    assert (student.role, _enrolment(db, student).role) == (Role.STUDENT, CourseRole.STUDENT)


def test_a_teaching_assistant_teaches(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    reply = lms.launch("ta-2", [TEACHING_ASSISTANT], custom={"quiz_id": str(quiz.id)})
    assert (reply.status_code, reply.headers["location"]) == (303, f"/quizzes/{quiz.id}/manage")
    assistant = _user(db, "ta-2")
    assert (assistant.role, _enrolment(db, assistant).role) == (Role.INSTRUCTOR, CourseRole.INSTRUCTOR)


def test_a_learner_who_also_teaches_the_course_teaches(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    reply = lms.launch("both-1", [LEARNER, INSTRUCTOR], custom={"quiz_id": str(quiz.id)})
    assert (reply.status_code, reply.headers["location"]) == (303, f"/quizzes/{quiz.id}/manage")
    assert _enrolment(db, _user(db, "both-1")).role == CourseRole.INSTRUCTOR


def test_institution_and_system_roles_alone_are_refused(lms: Platform, db: Session) -> None:
    _, quiz = lti_course(db, lms)
    before = counts(db)
    reply = lms.launch("dean-1", [INSTITUTION_INSTRUCTOR, SYSTEM_ADMINISTRATOR], custom={"quiz_id": str(quiz.id)})
    assert reply.status_code == 400 and "no role in this course" in reply.text
    assert "institution and system roles" in reply.text
    assert counts(db) == before


def test_the_roster_enrols_a_learner_with_an_institution_role_as_a_student(lms: Platform, db: Session) -> None:
    course, _ = lti_course(db, lms)
    lms.members = [{"user_id": "ta-3", "roles": [LEARNER, INSTITUTION_INSTRUCTOR], "status": "Active"},
                   {"user_id": "dean-2", "roles": [INSTITUTION_ADMINISTRATOR], "status": "Active"}]
    done = nrps.sync_roster(db, db.scalars(select(LtiContext)).one(), utcnow())
    assert done.active == 1
    member = _user(db, "ta-3")
    assert (member.role, _enrolment(db, member).role) == (Role.STUDENT, CourseRole.STUDENT)
    assert db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#dean-2")).first() is None
    assert _enrolment(db, member).course_id == course.id
