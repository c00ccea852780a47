"""Walkthroughs of clearing a mark a person gave: the engine's own grade stands again.

Clearing appends a manual-grade step marked ``cleared`` (steps are never removed); the question's
state and fraction are those of its last step no person made; a regrade replays the clearing.
"""

import pytest

from engine.attempts import AttemptError, QuestionAttempt
from engine.behaviours import behaviour_for
from engine.states import QuestionState
from engine.variants import generate
from tests.engine.test_behaviours_manual import ANSWER, CHOICE, ESSAY, STUDENT, TEACHER, at


def _graded_wrong() -> QuestionAttempt:
    qa = QuestionAttempt.start(generate(CHOICE, 1), behaviour_for("deferredfeedback"), actor=STUDENT, at=at(0))
    qa.process("save", {"choice": 1}, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    return qa


def test_an_override_is_cleared_and_the_engines_grade_stands_again():
    qa = _graded_wrong()
    assert qa.pinned_by_hand is None
    qa.process("manual_grade", actor=TEACHER, at=at(30), fraction=0.5, comment="Option B was ambiguous.")
    override = qa.last_step
    assert qa.pinned_by_hand == override and qa.fraction == 0.5

    outcome = qa.process("manual_grade", actor=TEACHER, at=at(40), clear=True)
    assert outcome.kept and outcome.step is not None
    assert outcome.step.manual is not None and outcome.step.manual.cleared
    assert (qa.state, qa.fraction, qa.pinned_by_hand) == (QuestionState.GRADEDWRONG, -0.25, None)
    assert len(qa.steps) == 5  # start, save, finish, override, clearing: nothing removed
    assert qa.manual_comment == "Option B was ambiguous."  # the comment stays for the student
    assert outcome.step.to_json()["manual"] == {"fraction": None, "rubric": None, "comment": None, "cleared": True}
    assert override.to_json()["manual"] == {"fraction": 0.5, "rubric": None, "comment": "Option B was ambiguous."}

    with pytest.raises(AttemptError, match="nothing to clear"):
        qa.process("manual_grade", actor=TEACHER, at=at(41), clear=True)


def test_clearing_takes_nothing_else():
    qa = _graded_wrong()
    qa.process("manual_grade", actor=TEACHER, at=at(30), fraction=0.5)
    with pytest.raises(AttemptError, match="takes nothing else"):
        qa.process("manual_grade", actor=TEACHER, at=at(31), clear=True, fraction=1.0)


def test_a_cleared_essay_grade_waits_for_a_grader_again_and_a_regrade_replays_the_clearing():
    qa = QuestionAttempt.start(generate(ESSAY, 3), behaviour_for("manualgraded"), actor=STUDENT, at=at(0))
    qa.process("save", ANSWER, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    qa.process("manual_grade", actor=TEACHER, at=at(10), fraction=0.5)
    qa.process("manual_grade", actor=TEACHER, at=at(11), clear=True)
    assert (qa.state, qa.fraction, qa.mark) == (QuestionState.NEEDSGRADING, None, None)

    replayed = qa.regrade(generate(ESSAY, 3))
    assert [s.to_json() for s in replayed.steps] == [s.to_json() for s in qa.steps]
    alone = QuestionAttempt.replay(qa.steps, generate(ESSAY, 3), qa.behaviour, max_mark=qa.max_mark, manual=False)
    assert [s.action.value for s in alone.steps] == ["start", "save", "finish"]
