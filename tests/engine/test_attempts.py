"""Question attempts: states, append-only steps, storage, regrade as a replay, and refusals."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from engine.attempts import Action, AttemptError, ManualGrade, QuestionAttempt, Step
from engine.behaviours import BEHAVIOURS, behaviour_for
from engine.items import NumericItem, parse_item
from engine.qtypes import qtype_for
from engine.qtypes.base import Grade, QuestionType, ResponseError, SelfTestCase
from engine.states import QuestionState, graded_state_for, manually_graded_state_for
from engine.variants import Variant, generate

STUDENT = "student:emmy"
TEACHER = "teacher:barbara"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def numeric(answer: str) -> NumericItem:
    item = parse_item({
        "id": "ranking-loss-of-a-pair", "type": "numeric", "title": "t", "stem": "s",
        "params": {"a": {"uniform": [1, 2], "step": 0.1}},
        "answer": answer, "tolerance": {"relative": 0.01},
    })
    assert isinstance(item, NumericItem)
    return item


# Version 1 swapped the arguments; version 2 is the fix.
V1 = numeric("ranking_loss(0, a)")
V2 = numeric("ranking_loss(a, 0)")
SEED = 42


def key_of(item: NumericItem) -> dict[str, Any]:
    variant = generate(item, SEED)
    return dict(qtype_for(item).correct_response(item, variant))


TRUE_VALUE = key_of(V2)   # what a student who knows the loss types
V1_KEY = key_of(V1)       # what version 1 wrongly expected


def start(item: NumericItem = V1, name: str = "deferredfeedback",
          **options: Any) -> QuestionAttempt:
    return QuestionAttempt.start(generate(item, SEED), behaviour_for(name, **options),
                                 actor=STUDENT, at=at(0))


# --- states -------------------------------------------------------------------------------------

def test_state_predicates_follow_moodle():
    active = {QuestionState.TODO, QuestionState.INVALID, QuestionState.COMPLETE}
    for state in QuestionState:
        assert state.is_active() == (state in active)
        assert state.is_finished() != state.is_active()
    assert QuestionState.GRADEDPARTIAL.is_graded()
    assert not QuestionState.GAVEUP.is_graded()
    assert QuestionState.MANGRRIGHT.is_graded()
    assert QuestionState.MANGRRIGHT.is_correct()
    assert QuestionState.MANGAVEUP.is_gave_up()
    assert QuestionState.MANGAVEUP.is_commented()
    assert not QuestionState.NEEDSGRADING.is_graded()
    assert [s.summary for s in (QuestionState.COMPLETE, QuestionState.NEEDSGRADING,
                                QuestionState.MANFINISHED, QuestionState.GRADEDRIGHT)] == [
        "inprogress", "needsgrading", "manuallygraded", "autograded"]


@pytest.mark.parametrize(("fraction", "graded", "manual"), [
    (-0.25, QuestionState.GRADEDWRONG, QuestionState.MANGRWRONG),
    (0.0, QuestionState.GRADEDWRONG, QuestionState.MANGRWRONG),
    (1e-12, QuestionState.GRADEDWRONG, QuestionState.MANGRWRONG),
    (0.5, QuestionState.GRADEDPARTIAL, QuestionState.MANGRPARTIAL),
    (1 - 1e-12, QuestionState.GRADEDRIGHT, QuestionState.MANGRRIGHT),
    (1.0, QuestionState.GRADEDRIGHT, QuestionState.MANGRRIGHT),
])
def test_states_for_a_fraction(fraction, graded, manual):
    assert graded_state_for(fraction) is graded
    assert manually_graded_state_for(fraction) is manual


def test_where_a_comment_leads():
    assert QuestionState.NEEDSGRADING.commented(None) is QuestionState.NEEDSGRADING
    assert QuestionState.NEEDSGRADING.commented(1.0) is QuestionState.MANGRRIGHT
    assert QuestionState.GAVEUP.commented(None) is QuestionState.MANGAVEUP
    assert QuestionState.FINISHED.commented(0.5) is QuestionState.MANFINISHED
    assert QuestionState.GRADEDRIGHT.commented(0.0) is QuestionState.MANGRWRONG
    with pytest.raises(ValueError, match="cannot be graded by hand yet"):
        QuestionState.COMPLETE.commented(1.0)


# --- steps are history --------------------------------------------------------------------------

def test_steps_are_append_only():
    qa = start()
    qa.process("save", TRUE_VALUE, actor=STUDENT, at=at(1))
    steps = qa.steps
    assert isinstance(steps, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        steps[1].state = QuestionState.GRADEDRIGHT  # type: ignore[misc]
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.steps[:2] == steps
    assert [s.seq for s in qa.steps] == [0, 1, 2]


def test_any_question_type_will_do():
    """The attempt asks only the QuestionType interface: a stand-in type is enough."""

    class Guess(QuestionType[Any]):
        """Guess the key: right within 0.01, half marks within 0.5."""

        name = "guess"

        def prepare(self, item, names, batch):
            return {}

        def render(self, item, variant):
            return {}

        def parse(self, item, variant, raw):
            try:
                return float(raw["x"])
            except (KeyError, TypeError, ValueError):
                raise ResponseError("enter a number") from None

        def grade(self, item, variant, response):
            off = abs(response - float(variant.key["x"][0]))
            return Grade(1.0 if off <= 0.01 else 0.5 if off <= 0.5 else 0.0)

        def summarise(self, item, variant, response):
            return str(response.get("x"))

        def correct_response(self, item, variant):
            return {"x": float(variant.key["x"][0])}

        def self_test_cases(self, item, variant):
            return [SelfTestCase("right", self.correct_response(item, variant), "right")]

    variant = Variant(item=V1, seed=7, values={}, order=None, key={"x": np.array([3.0])})
    qa = QuestionAttempt.start(variant, behaviour_for("interactive"), actor=STUDENT, at=at(0),
                               qtype=Guess(), max_mark=4.0)
    qa.process("submit", {"x": "3.3"}, actor=STUDENT, at=at(1))       # half marks, try 1
    assert qa.state is QuestionState.TODO
    assert qa.latest_grade == Grade(0.5)
    qa.process("try_again", actor=STUDENT, at=at(2))
    qa.process("submit", {"x": "three"}, actor=STUDENT, at=at(3))     # invalid: no try used
    assert qa.state is QuestionState.INVALID
    assert qa.tries_left == 2
    qa.process("submit", {"x": "3"}, actor=STUDENT, at=at(4))         # right on try 2
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.fraction == pytest.approx(2 / 3)
    assert qa.mark == pytest.approx(8 / 3)

    # A corrected key, given as a variant with the same seed.
    fixed = Variant(item=V1, seed=7, values={}, order=None, key={"x": np.array([3.3])})
    assert qa.regrade(fixed).fraction == 1.0


# --- storage ------------------------------------------------------------------------------------

def test_to_json_and_back():
    qa = start(name="interactive", tries=2, penalty=0.25)
    qa.process("submit", {"answer": "1"}, actor=STUDENT, at=at(1))
    qa.process("try_again", actor=STUDENT, at=at(2))
    qa.process("save", {"answer": "nope"}, actor=STUDENT, at=at(3))
    qa.process("save", TRUE_VALUE, actor=STUDENT, at=at(4))
    stored = json.loads(json.dumps(qa.to_json()))  # plain JSON all the way down
    assert stored["behaviour"] == {"name": "interactive", "options": {"tries": 2, "penalty": 0.25}}
    assert stored["steps"][0]["at"] == "2026-03-02T12:00:00+00:00"

    back = QuestionAttempt.from_json(stored, generate(V1, SEED))
    assert back.steps == qa.steps
    assert (back.state, back.fraction, back.mark, back.tries_left, back.response) == (
        qa.state, qa.fraction, qa.mark, qa.tries_left, qa.response)

    # A restored attempt carries on where it stopped.
    back.process("finish", actor=STUDENT, at=at(5))
    assert back.state is QuestionState.GRADEDWRONG  # version 1's key
    assert back.fraction == 0.0
    assert Step.from_json(back.steps[-1].to_json()) == back.steps[-1]


def test_step_json_is_what_asdict_gave():
    """Step.to_json writes its fields by hand (asdict's generic deep copy was a start's main cost):
    the same keys in the same order and the same values, copied, as asdict with the enums, time
    and grade converted."""
    step = Step(seq=3, action=Action.MANUAL_GRADE, state=QuestionState.MANGRPARTIAL, actor=TEACHER, at=at(7),
                response={"order": [2, 0, 1], "nested": {"a": [1.5, None, True]}, "pair": (1, "x")},
                fraction=0.5, grade=Grade(0.5, ("a", "b"), "m", "says"), error="e", try_number=2,
                manual=ManualGrade(0.5, {"clarity": 1}, "fine"))
    expected = dataclasses.asdict(step)
    expected.update(action="manual_grade", state=step.state.value, at=step.at.isoformat(),
                    grade=step.grade.to_json() if step.grade else None)
    expected["manual"].pop("cleared")  # written only where a mark was cleared: stored steps stay as they were
    data = step.to_json()
    assert list(data.items()) == list(expected.items())
    assert data["response"] is not step.response
    assert data["response"]["nested"]["a"] is not step.response["nested"]["a"]
    assert data["manual"]["rubric"] is not step.manual.rubric  # type: ignore[union-attr]


def test_from_json_refuses_a_mismatched_or_broken_history():
    qa = start()
    qa.process("save", TRUE_VALUE, actor=STUDENT, at=at(1))
    stored = qa.to_json()
    with pytest.raises(AttemptError, match="seed"):
        QuestionAttempt.from_json(stored, generate(V1, SEED + 1))
    stored["steps"] = stored["steps"][1:]
    with pytest.raises(AttemptError, match="out of order"):
        QuestionAttempt.from_json(stored, generate(V1, SEED))


# --- regrade is a replay ------------------------------------------------------------------------

def test_regrade_replays_against_the_fixed_version():
    qa = start()
    qa.process("save", TRUE_VALUE, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.GRADEDWRONG  # version 1 expected the swapped value
    before = qa.to_json()

    fixed = qa.regrade(V2)
    assert fixed.state is QuestionState.GRADEDRIGHT
    assert fixed.mark == 1.0
    assert fixed.item is V2
    assert fixed.variant.seed == SEED
    assert [(s.action, s.actor, s.at, s.response) for s in fixed.steps] == [
        (s.action, s.actor, s.at, s.response) for s in qa.steps]
    # The original is untouched: "review as it was" still shows what the student saw.
    assert qa.to_json() == before
    assert qa.state is QuestionState.GRADEDWRONG
    # Replaying twice gives the same history.
    assert qa.regrade(V2).steps == fixed.steps


def test_regrade_drops_tries_the_fix_makes_moot():
    qa = start(name="interactive")
    qa.process("submit", TRUE_VALUE, actor=STUDENT, at=at(1))   # wrong under version 1
    qa.process("try_again", actor=STUDENT, at=at(2))
    qa.process("submit", V1_KEY, actor=STUDENT, at=at(3))       # "right" under version 1
    assert qa.fraction == pytest.approx(2 / 3)

    fixed = qa.regrade(V2)
    assert fixed.state is QuestionState.GRADEDRIGHT
    assert fixed.fraction == 1.0  # right on the first try after all
    assert [s.action for s in fixed.steps] == [Action.START, Action.SUBMIT]


def test_regrade_keeps_manual_grades():
    qa = start()
    qa.process("save", TRUE_VALUE, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    qa.process("manual_grade", actor=TEACHER, at=at(3), fraction=0.5, comment="Half: key bug.")
    fixed = qa.regrade(V2)
    assert fixed.state is QuestionState.MANGRPARTIAL  # the teacher's word stands
    assert fixed.fraction == 0.5
    assert fixed.steps[-1].actor == TEACHER
    assert fixed.manual_comment == "Half: key bug."

    # A comment without a mark does not freeze the old automatic grade.
    qb = start()
    qb.process("save", TRUE_VALUE, actor=STUDENT, at=at(1))
    qb.process("finish", actor=STUDENT, at=at(2))
    qb.process("manual_grade", actor=TEACHER, at=at(3), comment="Checking the key.")
    assert qb.state is QuestionState.MANGRWRONG
    assert qb.regrade(V2).state is QuestionState.MANGRRIGHT


def test_regrade_scores_rubric_selections_with_the_new_rubric():
    def essay(top: float) -> Any:
        return parse_item({
            "id": "e", "type": "essay", "title": "t", "stem": "s",
            "rubric": {"criteria": [
                {"id": "reasoning", "title": "R", "levels": [
                    {"points": 0, "label": "no"}, {"points": 1, "label": "some"},
                    {"points": top, "label": "all"}]},
                {"id": "clarity", "title": "C", "levels": [
                    {"points": 0, "label": "no"}, {"points": 1, "label": "yes"}]},
            ]},
        })

    qa = QuestionAttempt.start(generate(essay(2), 1), behaviour_for("manualgraded"),
                               actor=STUDENT, at=at(0))
    qa.process("save", {"text": "An answer."}, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    qa.process("manual_grade", actor=TEACHER, at=at(3), rubric={"reasoning": 2, "clarity": 0})
    assert qa.fraction == pytest.approx(2 / 3)
    assert qa.regrade(essay(4)).fraction == pytest.approx(4 / 5)


def test_regrade_keeps_the_seed_and_the_slots_max_mark():
    qa = QuestionAttempt.start(generate(V1, SEED), behaviour_for("deferredfeedback"),
                               actor=STUDENT, at=at(0), max_mark=5.0)
    with pytest.raises(AttemptError, match="seed"):
        qa.regrade(generate(V2, SEED + 1))
    assert qa.regrade(V2).max_mark == 5.0


# --- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "response", "kwargs", "message"), [
    ("peek", None, {}, "unknown action 'peek'"),
    ("start", None, {}, "starts exactly once"),
    ("finish", {"answer": "1"}, {}, "takes no response"),
    ("save", {"answer": "1"}, {"fraction": 1.0}, "takes no 'fraction'"),
    ("save", ["1"], {}, "mapping"),
    ("try_again", None, {}, "does not accept 'try_again'"),
])
def test_actions_refused_in_the_wrong_place(action, response, kwargs, message):
    qa = start()
    with pytest.raises(AttemptError, match=message):
        qa.process(action, response, actor=STUDENT, at=at(1), **kwargs)
    assert len(qa.steps) == 1


def test_times_must_say_their_zone():
    qa = start()
    with pytest.raises(AttemptError, match="timezone-aware"):
        qa.process("save", TRUE_VALUE, actor=STUDENT, at=datetime(2026, 3, 2, 12, 1))  # noqa: DTZ001


def test_an_attempt_must_start_first():
    qa = QuestionAttempt(generate(V1, SEED), behaviour_for("deferredfeedback"))
    with pytest.raises(AttemptError, match="not been started"):
        _ = qa.state
    with pytest.raises(AttemptError, match="starts exactly once"):
        qa.process("save", TRUE_VALUE, actor=STUDENT, at=at(1))


def test_behaviour_registry():
    assert set(BEHAVIOURS) == {"deferredfeedback", "immediatefeedback", "interactive",
                               "manualgraded"}
    with pytest.raises(ValueError, match="choose one of deferredfeedback"):
        behaviour_for("adaptive")
    with pytest.raises(ValueError, match="deferredfeedback"):
        behaviour_for("deferredfeedback", tries=2)


def test_regrade_finishes_what_was_finished():
    """Right first time under version 1; the fix makes that try wrong. The question was
    finished when the student moved on, so the replay is finished too (Moodle's rule)."""
    qa = start(name="interactive")
    qa.process("submit", V1_KEY, actor=STUDENT, at=at(1))
    assert qa.state is QuestionState.GRADEDRIGHT

    fixed = qa.regrade(V2)
    assert [s.action for s in fixed.steps] == [Action.START, Action.SUBMIT, Action.FINISH]
    assert fixed.steps[-1].at == at(1)
    assert fixed.state is QuestionState.GRADEDWRONG
    assert fixed.fraction == 0.0


def test_the_history_does_not_share_the_callers_response():
    qa = start()
    response = {"answer": "1.5"}
    qa.process("save", response, actor=STUDENT, at=at(1))
    response["answer"] = "9"
    assert qa.steps[1].response == {"answer": "1.5"}
    copy_ = qa.response
    assert copy_ is not None
    copy_["answer"] = "9"
    assert qa.response == {"answer": "1.5"}
    assert "not started" in repr(QuestionAttempt(generate(V1, SEED), behaviour_for("manualgraded")))
