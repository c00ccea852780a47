"""Matching attempts: the answer pool is shuffled even where a quiz does not shuffle, and an
attempt asked before it always was (its pool in authored order) is reviewed and regraded as it
was taken: from the option order stored with it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from assessments.bank import service as bank_service
from assessments.bank.service import save_definition
from assessments.models import Attempt, ItemVersion, QuestionAttempt
from engine.qtypes.matching import Matching
from tests.assessments.conftest import T0, World
from tests.assessments.test_grading_support import Classroom, classroom
from tests.engine import samples

SEED = 11
"""An attempt seed whose matching variant's pool is shuffled (not in authored order)."""
AUTHORED = [0, 1, 2, 3, 4]
UNSHUFFLED_ITEM = "matching-unshuffled"


@pytest.fixture
def room(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Classroom]:
    monkeypatch.setattr("assessments.attempts.service.secrets.randbits", lambda _bits: SEED)
    data = yaml.safe_load(textwrap.dedent(samples.MATCHING))
    save_definition(world.db, {**data, "id": UNSHUFFLED_ITEM, "shuffle": False}, source="test",
                    actor_id=None, now=T0)
    fresh_caches()
    yield classroom(world)
    fresh_caches()


def fresh_caches() -> None:
    """Variants as a process that starts now makes them (none cached from before)."""
    bank_service._VARIANTS.data.clear()
    bank_service._RENDERED.data.clear()


def answers(view: dict[str, Any]) -> list[str]:
    return [a["text"] for a in view["questions"][0]["question"]["answers"]]


def test_a_quiz_that_does_not_shuffle_still_shuffles_a_matching_pool(room: Classroom) -> None:
    for key, settings in (("matching", {"shuffle_options": False}), (UNSHUFFLED_ITEM, {})):
        quiz = room.quiz([key], **settings)
        started = room.api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=room.as_(room.alice))
        assert started.status_code == 201, started.text
        row = room.world.db.scalars(select(QuestionAttempt).where(
            QuestionAttempt.attempt_id == started.json()["id"])).one()
        assert row.variant["order"] != AUTHORED, key
        right = room.key(started.json()["id"], 1)["matches"]
        assert right != [0, 1, 2], f"{key}: the key reads straight down the pool"


@pytest.mark.parametrize(("key", "quiz_settings"), [("matching", {"shuffle_options": False}), (UNSHUFFLED_ITEM, {})],
                         ids=["quiz-without-shuffling", "item-without-shuffling"])
def test_an_attempt_taken_with_the_pool_in_authored_order_reviews_and_regrades_as_taken(
        room: Classroom, monkeypatch: pytest.MonkeyPatch, key: str, quiz_settings: dict[str, Any]) -> None:
    quiz = room.quiz([key], **quiz_settings)
    # Before matching pools always shuffled: the pool in authored order, the key [0, 1, 2].
    with monkeypatch.context() as before:
        before.setattr(Matching, "always_shuffles", False)
        taken = room.take(room.alice, quiz.id, {1: {"matches": [0, 1, 2]}})
        wrong = room.take(room.bob, quiz.id, {1: {"matches": [1, 0, 4]}})
        shown_then = answers(room.api.get(f"/api/v1/attempts/{taken}", headers=room.as_(room.alice)).json())
    fresh_caches()
    row = room.row(taken, 1)
    assert row.variant["order"] == AUTHORED
    assert (room.world.db.get(Attempt, taken).marks, room.world.db.get(Attempt, wrong).marks) == (1.0, 0.0)

    # Now: the same pool, the same key, the same marks, in the review and in the instructor's view.
    view = room.api.get(f"/api/v1/attempts/{taken}", headers=room.as_(room.alice)).json()
    question = view["questions"][0]
    assert answers(view) == shown_then
    assert (question["state"], question["right_answer"], view["marks"]) == ("right", {"matches": [0, 1, 2]}, 1.0)
    staff = room.api.get(f"/api/v1/attempts/{wrong}", headers=room.as_(room.teacher)).json()["questions"][0]
    assert (staff["state"], staff["mark"], staff["response"]) == ("wrong", 0.0, {"matches": [1, 0, 4]})

    # A regrade against a new version replays the responses on the pool as it was shown.
    version = room.world.db.get(ItemVersion, row.item_version_id)
    assert version is not None
    definition = dict(version.definition)
    save_definition(room.world.db, {**definition, "title": "Match, fixed"}, source="test", actor_id=None, now=T0)
    moved = room.api.post(f"/api/v1/quizzes/{quiz.id}/pins?dry_run=false", headers=room.as_(room.teacher), json={})
    assert moved.status_code == 200 and len(moved.json()["changes"]) == 1, moved.text
    regraded = room.api.post(f"/api/v1/quizzes/{quiz.id}/regrade?dry_run=false", headers=room.as_(room.teacher))
    assert regraded.status_code == 200, regraded.text
    replayed = [q for s in regraded.json()["students"] for a in s["attempts"] for q in a["questions"]]
    assert [(q["new_version"], q["old_state"], q["new_state"]) for q in replayed] == [
        (2, "gradedright", "gradedright"), (2, "gradedwrong", "gradedwrong")]
    assert (room.world.db.get(Attempt, taken).marks, room.world.db.get(Attempt, wrong).marks) == (1.0, 0.0)
    assert room.row(taken, 1).variant["order"] == AUTHORED and room.row(taken, 1).item_version_id != row.item_version_id
