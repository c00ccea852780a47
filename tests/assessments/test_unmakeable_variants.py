"""A question whose item cannot make a student's variant: the start takes the slot's next seed,
and when none works, refuses with 503 saying which question, never the item's expressions, and
stores nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from assessments.attempts import service
from assessments.models import Attempt, CourseRole, QuestionAttempt, Role
from engine.variants import VariantError
from tests.assessments.conftest import World

SECRET_EXPRESSION = "ranking_loss(r_w, r_l) > log(2)"


def failing_seeds(monkeypatch: pytest.MonkeyPatch, bad: set[int] | None) -> list[int]:
    """Every seed asked of ``variant_of``; the seeds in ``bad`` (all, when None) fail as an item
    whose constraints are never met would."""
    asked: list[int] = []
    real = service.variant_of

    def variant_of(version: Any, seed: int, *, shuffle: bool = True) -> Any:
        asked.append(seed)
        if bad is None or seed in bad:
            raise VariantError(f"constraints not met: {SECRET_EXPRESSION}")
        return real(version, seed, shuffle=shuffle)

    monkeypatch.setattr(service, "variant_of", variant_of)
    return asked


def test_a_seed_the_item_cannot_make_gives_way_to_the_slots_next(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    student = world.user("ada")
    course = world.course("llms", (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["tf", "numeric"])
    monkeypatch.setattr(service.secrets, "randbits", lambda _: 12345)
    first = service.slot_seed(12345, 1)
    asked = failing_seeds(monkeypatch, {first})
    with caplog.at_level(logging.WARNING, logger="assay"):
        started = world.client.post(f"/api/v1/quizzes/{quiz.id}/attempts",  # type: ignore[union-attr]
                                    headers=world.headers(student))
    assert started.status_code == 201, started.text
    assert asked == [first, service.slot_seed(12345, 1, 1), service.slot_seed(12345, 2)]
    row = world.db.scalars(select(QuestionAttempt).where(QuestionAttempt.attempt_id == started.json()["id"],
                                                         QuestionAttempt.slot == 1)).one()
    assert row.seed == service.slot_seed(12345, 1, 1)  # stored: review and regrade use it
    assert f"cannot make the variant of seed {first}" in caplog.text


def test_a_question_no_seed_can_make_refuses_the_start_and_stores_nothing(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    student = world.user("ada")
    teacher = world.user("teacher", Role.INSTRUCTOR)
    course = world.course("llms", (student, CourseRole.STUDENT), (teacher, CourseRole.INSTRUCTOR))
    quiz = world.quiz(course, ["tf"])
    asked = failing_seeds(monkeypatch, None)
    refused = world.client.post(f"/api/v1/quizzes/{quiz.id}/attempts",  # type: ignore[union-attr]
                                headers=world.headers(student))
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "question_unavailable"
    assert error["message"].startswith("question 1 of this quiz cannot be prepared: tell your instructor")
    assert SECRET_EXPRESSION not in refused.text and "tf" not in error["message"]
    assert len(asked) == service.SEEDS_PER_SLOT
    assert world.db.scalar(select(func.count(Attempt.id)).where(Attempt.quiz_id == quiz.id)) == 0
