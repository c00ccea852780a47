"""The batched regrade gives exactly what the one-by-one replay gives, on every item and behaviour.

:mod:`assessments.grading.regrade` makes variants a version at a time, grades deferred-feedback
questions' final responses with the vectorised grader on a dry run and replays the rest; the
reference is :meth:`engine.attempts.QuestionAttempt.regrade`, the replay of one question attempt
against a variant made on its own, which the regrade did question by question before. For every
item of the shipped bank, under every behaviour that can ask it (deferred feedback, immediate
feedback, interactive with a penalty per try, manual grading for essays), several seeds and
sessions (right, wrong and invalid answers from the item's own self-test and from other students'
variants, blank ones, several tries, a teacher's override and its clearing), and against two "fixed"
versions (the item itself, and the item with its options' shuffling turned the other way, which
moves every choice), the states and fractions are equal (``==``, not approximately) and a
commit's replayed steps are equal step for step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assessments.attempts.repository import Asked
from assessments.grading.regrade import Stale, Target, grade_final_responses, replay_all
from assessments.grading.schemas import RegradeProblem
from engine.attempts import Action, AttemptError
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.behaviours import behaviour_for
from engine.content.loader import item_files, load_items
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.variants import generate_batch
from tests.conftest import ROOT

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SEEDS = range(3)
STUDENT, TEACHER = "7", "1"
BEHAVIOURS = {"deferredfeedback": {}, "immediatefeedback": {}, "interactive": {"tries": 3, "penalty": 1 / 3}}


def _items() -> list[ItemBase]:
    loaded, problems = load_items(item_files(ROOT / "content"))
    assert not problems
    return [entry.item for entry in loaded]


ITEMS = _items()


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _responses(item: ItemBase) -> list[dict[str, Any] | None]:
    """Right, wrong and invalid answers of several variants (so right for one student is wrong,
    partly right or a misconception for another), and a blank one."""
    qtype = qtype_for(item)
    batch = generate_batch(item, range(100, 102))
    found: list[dict[str, Any] | None] = [None, {}]
    for row in range(len(batch)):
        found += [dict(case.response) for case in qtype.self_test_cases(item, batch[row])]
    return found


Session = list[tuple[Action, Any, dict[str, Any]]]


def _sessions(behaviour: str, answers: list[dict[str, Any] | None]) -> Iterator[Session]:
    """Sessions of actions (action, response, data) a student (and then a teacher) could have had."""
    pairs = list(zip(answers, answers[1:] + answers[:1], strict=True))
    for first, second in pairs:
        if behaviour in ("deferredfeedback", "manualgraded"):
            yield [(Action.SAVE, first, {}), (Action.SAVE, second, {}), (Action.FINISH, None, {})]
        elif behaviour == "immediatefeedback":
            yield [(Action.SAVE, first, {}), (Action.SUBMIT, second, {}), (Action.SUBMIT, first, {}),
                   (Action.FINISH, None, {})]
        else:
            yield [(Action.SUBMIT, first, {}), (Action.TRY_AGAIN, None, {}), (Action.SUBMIT, second, {}),
                   (Action.TRY_AGAIN, None, {}), (Action.SAVE, first, {}), (Action.FINISH, None, {})]
    first = next(a for a in answers if a)
    finish = [(Action.SAVE, first, {}), (Action.FINISH, None, {})]
    yield [*finish, (Action.MANUAL_GRADE, None, {"fraction": 0.5, "comment": "Checked by hand."})]
    yield [*finish, (Action.MANUAL_GRADE, None, {"fraction": 0.25}), (Action.MANUAL_GRADE, None, {"clear": True})]
    yield [(Action.FINISH, None, {})]


def _taken(item: ItemBase, behaviour: str, options: dict[str, Any], seed: int,
           session: Session) -> EngineAttempt:
    variant = _variant(item, seed)
    qa = EngineAttempt.start(variant, behaviour_for(behaviour, **options), actor=STUDENT, at=_at(0))
    for minute, (action, response, data) in enumerate(session, start=1):
        actor = TEACHER if action is Action.MANUAL_GRADE else STUDENT
        # An action the behaviour refuses in that state leaves no step, as the service answers 409.
        with contextlib.suppress(AttemptError):
            qa.process(action, response, actor=actor, at=_at(minute), **data)
    return qa


_VARIANTS: dict[tuple[str, int], Any] = {}


def _variant(item: ItemBase, seed: int) -> Any:
    key = (item.id, seed)
    if key not in _VARIANTS:
        _VARIANTS[key] = generate_batch(item, [seed])[0]
    return _VARIANTS[key]


def _fixed_versions(item: ItemBase) -> list[ItemBase]:
    versions = [item]
    if qtype_for(item).option_count(item) > 1 and item.type_name != "ordering":
        versions.append(item.model_copy(update={"shuffle": not item.shuffle}))
    return versions


def _stale(qa: EngineAttempt, new: ItemBase, slot: int, seed: int, behaviour: str, options: dict[str, Any]) -> Stale:
    asked = Asked(id=slot, attempt_id=slot, slot=1, item_version_id=1, seed=seed, shuffle=True, behaviour=behaviour,
                  behaviour_options=options, max_mark=2.0)
    return Stale(asked=asked, user_id=1, attempt_number=1, old_marks=None, max_marks=2.0, preview=False,
                 old_version=1, old_type=qa.item.type_name, target=Target(2, 2, "hash", new.type_name, new.id),
                 steps=list(qa.steps))


@pytest.mark.parametrize("item", ITEMS, ids=[item.id for item in ITEMS])
def test_the_batched_regrade_equals_the_replay_one_by_one(item: ItemBase) -> None:
    behaviours = {"manualgraded": {}} if item.type_name == "essay" else BEHAVIOURS
    answers = _responses(item)
    cases = 0
    for new in _fixed_versions(item):
        for behaviour, options in behaviours.items():
            taken = [(seed, qa) for seed in SEEDS for session in _sessions(behaviour, answers)
                     for qa in [_taken(item, behaviour, options, seed, session)]]
            batch = generate_batch(new, [seed for seed, _ in taken])
            dry = [_stale(qa, new, n, seed, behaviour, options) for n, (seed, qa) in enumerate(taken)]
            committed = [_stale(qa, new, n, seed, behaviour, options) for n, (seed, qa) in enumerate(taken)]
            for n, (stale_dry, stale_commit) in enumerate(zip(dry, committed, strict=True)):
                stale_dry.variant = stale_commit.variant = batch[n]
            problems: list[RegradeProblem] = []
            grade_final_responses(batch, dry)
            replay_all(dry, problems, only_unknown=True)
            replay_all(committed, problems, only_unknown=False)
            assert problems == []
            alone = {seed: generate_batch(new, [seed])[0] for seed in SEEDS}  # as variant_of makes one
            for (seed, qa), fast, full in zip(taken, dry, committed, strict=True):
                reference = qa.regrade(alone[seed])
                where = (item.id, behaviour, seed, [s.action.value for s in qa.steps])
                assert (fast.new_state, fast.new_fraction) == (reference.state, reference.fraction), where
                assert full.new is not None and [s.to_json() for s in full.new.steps] == [
                    s.to_json() for s in reference.steps], where
                if behaviour == "deferredfeedback" and all(s.manual is None for s in qa.steps):
                    assert fast.new is None, "a deferred-feedback question without a teacher's grade is vectorised"
                cases += 1
    assert cases >= 10 * len(behaviours)
