"""An LMS course's Assay slug is random under the reserved prefix ``lti-``, and an LMS user's username is
random too: nobody can take either first."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.models import Course, LtiContext, LtiPlatform, Role, User
from tests.assessments.conftest import World
from tests.assessments.lti.platform import CONTEXT, INSTRUCTOR, ISSUER, Platform


def _predictable_slug(db: Session) -> str:
    """The slug Assay used to derive from the platform and the context, before slugs were random."""
    platform = db.scalars(select(LtiPlatform)).one()
    return "lti-" + hashlib.sha256(f"{platform.id}:{CONTEXT}".encode()).hexdigest()[:16]


def _lti_course(db: Session) -> Course:
    return db.scalars(select(Course).join(LtiContext, LtiContext.course_id == Course.id)).one()


def test_an_instructor_cannot_take_an_lms_course_s_slug_first(lms: Platform, db: Session, world: World,
                                                               client: TestClient) -> None:
    squatter = world.headers(world.user("mallory", Role.INSTRUCTOR))
    taken = client.post("/api/v1/courses", json={"slug": _predictable_slug(db), "title": "Mine"},
                        headers=squatter)
    assert taken.status_code == 400, taken.text
    assert taken.json()["error"]["code"] == "reserved_slug"
    reply = lms.launch("teacher-1", [INSTRUCTOR], deep_link=True)
    assert (reply.status_code, reply.headers["location"]) == (303, "/lti/deep-link")


def test_a_course_already_holding_the_old_slug_does_not_break_the_first_launch(lms: Platform, db: Session) -> None:
    old = _predictable_slug(db)
    db.add(Course(slug=old, title="Made before the prefix was reserved"))
    db.flush()
    reply = lms.launch("teacher-1", [INSTRUCTOR], deep_link=True)
    assert (reply.status_code, reply.headers["location"]) == (303, "/lti/deep-link")
    slug = _lti_course(db).slug
    assert re.fullmatch(r"lti-[0-9a-f]{16}", slug) and slug != old


def test_a_user_holding_the_old_username_does_not_break_a_first_launch(lms: Platform, db: Session,
                                                                      world: World) -> None:
    """LMS users' usernames are random too: an administrator's account named as the old derivation
    (``lti-`` and the subject's SHA-256) would have made this user's first launch fail."""
    world.user("lti-" + hashlib.sha256(f"{ISSUER}#teacher-1".encode()).hexdigest()[:20])
    reply = lms.launch("teacher-1", [INSTRUCTOR], deep_link=True)
    assert (reply.status_code, reply.headers["location"]) == (303, "/lti/deep-link")
    teacher = db.scalars(select(User).where(User.lti_subject == f"{ISSUER}#teacher-1")).one()
    assert re.fullmatch(r"lti-[0-9a-f]{20}", teacher.username)
