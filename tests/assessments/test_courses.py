"""Creating courses through the API: slugs are checked, and the ``lti-`` prefix is Assay's own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.models import Course, Role
from tests.assessments.conftest import World


def test_an_instructor_creates_a_course_and_teaches_it(world: World, client: TestClient) -> None:
    teacher = world.headers(world.user("tess", Role.INSTRUCTOR))
    made = client.post("/api/v1/courses", json={"slug": "rl-101", "title": "RL"}, headers=teacher)
    assert made.status_code == 201, made.text
    assert made.json()["slug"] == "rl-101"
    again = client.post("/api/v1/courses", json={"slug": "rl-101", "title": "RL"}, headers=teacher)
    assert again.status_code == 409


@pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.ADMIN])
@pytest.mark.parametrize("slug", ["lti-0123456789abcdef", "lti-mine"])
def test_the_lti_prefix_is_reserved(slug: str, role: Role, world: World, client: TestClient,
                                 db: Session) -> None:
    caller = world.headers(world.user("caller", role))
    before = db.scalar(select(func.count()).select_from(Course))
    reply = client.post("/api/v1/courses", json={"slug": slug, "title": "Squat"}, headers=caller)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == {
        "code": "reserved_slug",
        "message": "course slugs that start with 'lti-' are reserved for the courses LMS launches create: "
                   "choose another slug"}
    assert db.scalar(select(func.count()).select_from(Course)) == before


def test_a_slug_that_merely_contains_lti_is_fine(world: World, client: TestClient) -> None:
    teacher = world.headers(world.user("tess", Role.INSTRUCTOR))
    for slug in ("lti", "my-lti-course", "ltiish"):
        made = client.post("/api/v1/courses", json={"slug": slug, "title": slug}, headers=teacher)
        assert made.status_code == 201, (slug, made.text)
