"""Walkthroughs of deferred and immediate feedback: a student's session, step by step.

The item is the course's numeric sibling: "what is the ranking loss when the preferred response
scores a and the rejected one 0?", with a = 2, so the key is −log σ(2) = 0.126928.
"""

from datetime import UTC, datetime, timedelta

import pytest

from engine.attempts import Action, AttemptError, QuestionAttempt
from engine.behaviours import behaviour_for
from engine.items import parse_item
from engine.states import QuestionState
from engine.variants import generate

STUDENT = "student:ada"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


ITEM = parse_item({
    "id": "ranking-loss-value",
    "type": "numeric",
    "title": "Ranking loss of one pair",
    "stem": "The preferred response scores {{ a }}, the rejected one 0. What is the loss?",
    "params": {"a": {"value": 2.0}},
    "answer": "ranking_loss(a, 0)",           # 0.126928
    "tolerance": {"relative": 0.01},
    "misconceptions": {"swapped": "ranking_loss(0, a)"},  # 2.126928
    "max_mark": 2.0,
})
RIGHT = {"answer": "0.127"}
WRONG = {"answer": "0.5"}
SWAPPED = {"answer": "2.127"}
INVALID = {"answer": "about a half"}


def start(name: str) -> QuestionAttempt:
    return QuestionAttempt.start(generate(ITEM, 1), behaviour_for(name), actor=STUDENT, at=at(0))


# --- deferred feedback --------------------------------------------------------------------------

def test_deferred_save_change_and_finish_right():
    qa = start("deferredfeedback")
    assert len(qa.steps) == 1
    assert qa.state is QuestionState.TODO
    assert qa.fraction is None
    assert qa.mark is None
    assert qa.tries_left == 1
    assert not qa.feedback_visible

    # The student types an answer; it is saved, not graded.
    outcome = qa.process("save", WRONG, actor=STUDENT, at=at(1))
    assert outcome.kept
    assert outcome.step is not None
    assert outcome.step.seq == 1
    assert qa.state is QuestionState.COMPLETE
    assert qa.fraction is None
    assert qa.mark is None
    assert qa.response == WRONG

    # Autosave sends the same answer again: no new step.
    assert not qa.process("save", WRONG, actor=STUDENT, at=at(2)).kept
    assert len(qa.steps) == 2

    # The student changes their mind.
    qa.process("save", RIGHT, actor=STUDENT, at=at(3))
    assert len(qa.steps) == 3
    assert qa.state is QuestionState.COMPLETE
    assert not qa.feedback_visible

    # The quiz is submitted: the last saved answer is graded.
    assert qa.behaviour.can_finish(qa)
    qa.process("finish", actor=STUDENT, at=at(4))
    assert not qa.behaviour.can_finish(qa)
    assert len(qa.steps) == 4
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.fraction == 1.0
    assert qa.mark == 2.0
    assert qa.tries_left == 0
    assert qa.feedback_visible

    # Submitting the quiz twice changes nothing.
    assert not qa.process("finish", actor=STUDENT, at=at(5)).kept
    assert len(qa.steps) == 4

    # A late save from a stale tab is refused, and says why.
    with pytest.raises(AttemptError, match="finished"):
        qa.process("save", WRONG, actor=STUDENT, at=at(6))
    assert len(qa.steps) == 4
    assert [s.state for s in qa.steps] == [
        QuestionState.TODO, QuestionState.COMPLETE, QuestionState.COMPLETE,
        QuestionState.GRADEDRIGHT,
    ]


def test_deferred_wrong_answer_names_the_misconception():
    qa = start("deferredfeedback")
    qa.process("save", SWAPPED, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.GRADEDWRONG
    assert qa.fraction == 0.0
    assert qa.mark == 0.0
    grade = qa.latest_grade
    assert grade is not None
    assert grade.misconception == "swapped"


def test_deferred_invalid_response_is_saved_but_cannot_be_graded():
    qa = start("deferredfeedback")
    step = qa.process("save", INVALID, actor=STUDENT, at=at(1)).step
    assert step is not None
    assert step.state is QuestionState.INVALID
    assert step.error is not None
    assert "number" in step.error
    assert qa.response == INVALID  # saved all the same: nothing the student typed is lost
    assert qa.mark is None

    # Finishing with an answer that cannot be graded: gave up, worth nothing (as Moodle).
    finish = qa.process("finish", actor=STUDENT, at=at(2)).step
    assert finish is not None
    assert qa.state is QuestionState.GAVEUP
    assert qa.state.is_gave_up()
    assert not qa.state.is_graded()
    assert qa.fraction == 0.0
    assert qa.mark == 0.0
    assert finish.error == step.error
    assert finish.grade is None


def test_deferred_invalid_then_fixed_is_graded():
    qa = start("deferredfeedback")
    qa.process("save", INVALID, actor=STUDENT, at=at(1))
    qa.process("save", RIGHT, actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.COMPLETE
    qa.process("finish", actor=STUDENT, at=at(3))
    assert qa.state is QuestionState.GRADEDRIGHT


def test_deferred_nothing_answered_gives_up():
    qa = start("deferredfeedback")
    # A blank save right after starting changes nothing.
    assert not qa.process("save", {"answer": ""}, actor=STUDENT, at=at(1)).kept
    qa.process("finish", actor=STUDENT, at=at(2))
    assert [s.action for s in qa.steps] == [Action.START, Action.FINISH]
    assert qa.state is QuestionState.GAVEUP
    assert qa.mark == 0.0


def test_deferred_clearing_an_answer_goes_back_to_todo():
    qa = start("deferredfeedback")
    qa.process("save", RIGHT, actor=STUDENT, at=at(1))
    qa.process("save", {"answer": ""}, actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.TODO
    qa.process("finish", actor=STUDENT, at=at(3))
    assert qa.state is QuestionState.GAVEUP


def test_deferred_has_no_submit_button():
    qa = start("deferredfeedback")
    with pytest.raises(AttemptError, match="does not accept 'submit'"):
        qa.process("submit", RIGHT, actor=STUDENT, at=at(1))
    assert len(qa.steps) == 1


# --- immediate feedback -------------------------------------------------------------------------

def test_immediate_submit_grades_and_finishes_at_once():
    qa = start("immediatefeedback")
    qa.process("save", WRONG, actor=STUDENT, at=at(1))
    assert qa.state is QuestionState.COMPLETE
    assert not qa.feedback_visible

    # "Check": the answer sent with the submit is graded, one try only.
    step = qa.process("submit", RIGHT, actor=STUDENT, at=at(2)).step
    assert step is not None
    assert step.try_number == 1
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.mark == 2.0
    assert qa.feedback_visible
    assert qa.tries_left == 0
    assert len(qa.steps) == 3

    # A double click re-sends the same submit: discarded.
    assert not qa.process("submit", RIGHT, actor=STUDENT, at=at(3)).kept
    # A different answer after the check is refused.
    with pytest.raises(AttemptError, match="finished"):
        qa.process("submit", WRONG, actor=STUDENT, at=at(4))
    # Submitting the whole quiz later keeps the graded state.
    assert not qa.process("finish", actor=STUDENT, at=at(5)).kept
    assert len(qa.steps) == 3
    assert qa.state is QuestionState.GRADEDRIGHT


def test_immediate_submit_without_a_response_grades_the_saved_one():
    qa = start("immediatefeedback")
    qa.process("save", SWAPPED, actor=STUDENT, at=at(1))
    step = qa.process("submit", actor=STUDENT, at=at(2)).step
    assert step is not None
    assert step.response == SWAPPED
    assert qa.state is QuestionState.GRADEDWRONG
    assert qa.mark == 0.0


def test_immediate_invalid_submit_costs_nothing():
    qa = start("immediatefeedback")
    step = qa.process("submit", INVALID, actor=STUDENT, at=at(1)).step
    assert step is not None
    assert step.state is QuestionState.INVALID
    assert step.error is not None
    assert qa.state.is_active()
    assert qa.mark is None
    # The same invalid submit again is no news.
    assert not qa.process("submit", INVALID, actor=STUDENT, at=at(2)).kept
    qa.process("submit", RIGHT, actor=STUDENT, at=at(3))
    assert qa.state is QuestionState.GRADEDRIGHT
    assert len(qa.steps) == 3


def test_immediate_blank_submit_is_invalid():
    qa = start("immediatefeedback")
    step = qa.process("submit", {"answer": ""}, actor=STUDENT, at=at(1)).step
    assert step is not None
    assert step.state is QuestionState.INVALID
    assert step.error is not None
    assert "Answer" in step.error


def test_immediate_finish_without_submit_grades_the_last_save():
    qa = start("immediatefeedback")
    qa.process("save", RIGHT, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.mark == 2.0
