"""Walkthroughs of the interactive behaviour: tries, try again, and the penalty.

The item is "select every pair the ranking loss penalises more than a tie" with four fixed pairs;
options 0 and 1 are right. Partial scoring gives ½ per right option and takes ½ per wrong one,
so {0} is worth 0.5, {0, 2} is worth 0 and {0, 1} is worth 1. Penalty ⅓ per extra try.
"""

from datetime import UTC, datetime, timedelta

import pytest

from engine.attempts import Action, AttemptError, QuestionAttempt
from engine.behaviours import Interactive, behaviour_for
from engine.items import parse_item
from engine.states import QuestionState
from engine.variants import generate

STUDENT = "student:grace"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


ITEM = parse_item({
    "id": "which-pairs-are-penalised",
    "type": "multiple_response",
    "title": "Which pairs are penalised?",
    "stem": "Select every pair whose ranking loss exceeds a tie's.",
    "params": {"r_w": {"value": [-1.0, 0.5, 2.0, 1.0]}, "r_l": {"value": [1.0, 1.5, 0.0, -1.0]}},
    "compute": {"loss": "ranking_loss(r_w, r_l)", "tie": "ranking_loss(0, 0)"},
    "options": {
        "for_each": "i in 0..3",
        "text": "preferred {{ r_w[i]:.1f }}, rejected {{ r_l[i]:.1f }}",
        "correct": "loss[i] > tie",
    },
    "scoring": {"method": "partial", "wrong_selection_penalty": True},
    "shuffle": False,
    "max_mark": 3.0,
})
RIGHT = {"choices": [0, 1]}
HALF = {"choices": [0]}
ZERO = {"choices": [0, 2]}
WRONG = {"choices": [2, 3]}
INVALID = {"choices": ["first"]}
PENALTY = 1 / 3


def start(**options: object) -> QuestionAttempt:
    behaviour = behaviour_for("interactive", **options)
    return QuestionAttempt.start(generate(ITEM, 1), behaviour, actor=STUDENT, at=at(0))


def test_wrong_then_right_costs_one_penalty():
    qa = start()
    assert qa.tries_left == 3
    assert qa.state is QuestionState.TODO

    # Try 1: wrong. The question stays open, with this try's feedback showing.
    step = qa.process("submit", WRONG, actor=STUDENT, at=at(1)).step
    assert step is not None
    assert step.try_number == 1
    assert step.grade is not None
    assert step.grade.fraction == 0.0
    assert qa.state is QuestionState.TODO
    assert qa.state.is_active()
    assert qa.fraction is None
    assert qa.mark is None
    assert qa.tries_left == 2
    assert qa.feedback_visible

    # While the feedback shows, the answer is read-only...
    with pytest.raises(AttemptError, match="try again"):
        qa.process("save", RIGHT, actor=STUDENT, at=at(2))
    with pytest.raises(AttemptError, match="try again"):
        qa.process("submit", RIGHT, actor=STUDENT, at=at(2))
    # ...and re-sending the graded answer is no news.
    assert not qa.process("submit", WRONG, actor=STUDENT, at=at(2)).kept
    assert not qa.process("save", WRONG, actor=STUDENT, at=at(2)).kept
    assert len(qa.steps) == 2

    # "Try again" clears the feedback.
    qa.process("try_again", actor=STUDENT, at=at(3))
    assert qa.state is QuestionState.TODO
    assert not qa.feedback_visible
    assert qa.tries_left == 2
    with pytest.raises(AttemptError, match="no graded try"):
        qa.process("try_again", actor=STUDENT, at=at(3))

    # Try 2: right, worth 1 − ⅓.
    qa.process("submit", RIGHT, actor=STUDENT, at=at(4))
    assert qa.state is QuestionState.GRADEDRIGHT  # the answer was right...
    assert qa.fraction == pytest.approx(1 - PENALTY)  # ...the mark carries the penalty
    assert qa.mark == pytest.approx(3.0 * (1 - PENALTY))
    assert qa.tries_left == 0
    assert qa.feedback_visible
    assert [s.action for s in qa.steps] == [
        Action.START, Action.SUBMIT, Action.TRY_AGAIN, Action.SUBMIT,
    ]

    # Finishing the quiz afterwards changes nothing.
    assert not qa.process("finish", actor=STUDENT, at=at(5)).kept
    assert qa.fraction == pytest.approx(1 - PENALTY)


def test_right_first_time_is_full_marks():
    qa = start()
    qa.process("save", RIGHT, actor=STUDENT, at=at(1))
    qa.process("submit", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.fraction == 1.0
    assert qa.mark == 3.0
    assert len(qa.steps) == 3


def test_right_on_the_third_try():
    qa = start()
    for minute, response in enumerate((WRONG, ZERO), start=1):
        qa.process("submit", response, actor=STUDENT, at=at(2 * minute))
        qa.process("try_again", actor=STUDENT, at=at(2 * minute + 1))
    qa.process("submit", RIGHT, actor=STUDENT, at=at(9))
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.fraction == pytest.approx(1 - 2 * PENALTY)


def test_the_same_answer_as_the_last_try_uses_no_try():
    qa = start()
    qa.process("submit", WRONG, actor=STUDENT, at=at(1))
    qa.process("try_again", actor=STUDENT, at=at(2))
    assert not qa.process("submit", WRONG, actor=STUDENT, at=at(3)).kept
    assert qa.tries_left == 2
    assert len(qa.steps) == 3


def test_out_of_tries_keeps_the_best_adjusted_try():
    qa = start()
    qa.process("submit", HALF, actor=STUDENT, at=at(1))      # 0.5, adjusted 0.5
    qa.process("try_again", actor=STUDENT, at=at(2))
    qa.process("submit", ZERO, actor=STUDENT, at=at(3))      # 0.0, adjusted 0
    qa.process("try_again", actor=STUDENT, at=at(4))
    qa.process("submit", WRONG, actor=STUDENT, at=at(5))     # 0.0 on the last try: finished
    assert qa.state is QuestionState.GRADEDWRONG  # how the last answer was judged
    assert qa.fraction == pytest.approx(0.5)       # the best try stands
    assert qa.mark == pytest.approx(1.5)
    assert qa.tries_left == 0
    with pytest.raises(AttemptError, match="finished"):
        qa.process("submit", RIGHT, actor=STUDENT, at=at(6))


def test_penalty_floors_at_zero():
    qa = start(tries=4, penalty=0.5)
    for n, response in enumerate((WRONG, ZERO, HALF)):
        qa.process("submit", response, actor=STUDENT, at=at(2 * n + 1))
        qa.process("try_again", actor=STUDENT, at=at(2 * n + 2))
    qa.process("submit", RIGHT, actor=STUDENT, at=at(9))  # 1 − 3 × ½ < 0
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.fraction == 0.0


def test_an_invalid_submit_uses_no_try():
    qa = start()
    step = qa.process("submit", INVALID, actor=STUDENT, at=at(1)).step
    assert step is not None
    assert step.state is QuestionState.INVALID
    assert step.error is not None
    assert qa.tries_left == 3
    assert not qa.feedback_visible
    assert not qa.process("submit", INVALID, actor=STUDENT, at=at(2)).kept
    qa.process("submit", RIGHT, actor=STUDENT, at=at(3))
    assert qa.fraction == 1.0


def test_finishing_in_the_try_again_state_keeps_the_graded_try():
    qa = start()
    qa.process("submit", HALF, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.GRADEDPARTIAL
    assert qa.fraction == pytest.approx(0.5)
    assert len(Interactive.graded_tries(qa)) == 1


def test_finishing_grades_a_changed_answer_as_one_more_try():
    qa = start()
    qa.process("submit", WRONG, actor=STUDENT, at=at(1))
    qa.process("try_again", actor=STUDENT, at=at(2))
    qa.process("save", RIGHT, actor=STUDENT, at=at(3))
    finish = qa.process("finish", actor=STUDENT, at=at(4)).step
    assert finish is not None
    assert finish.try_number == 2
    assert qa.state is QuestionState.GRADEDRIGHT
    assert qa.fraction == pytest.approx(1 - PENALTY)


def test_finishing_with_nothing_submitted_or_saved_gives_up():
    qa = start()
    qa.process("finish", actor=STUDENT, at=at(1))
    assert qa.state is QuestionState.GAVEUP
    assert qa.mark == 0.0


def test_finishing_with_an_invalid_answer_after_a_graded_try():
    qa = start()
    qa.process("submit", HALF, actor=STUDENT, at=at(1))
    qa.process("try_again", actor=STUDENT, at=at(2))
    qa.process("save", INVALID, actor=STUDENT, at=at(3))
    finish = qa.process("finish", actor=STUDENT, at=at(4)).step
    assert finish is not None
    assert finish.error is not None
    assert qa.state is QuestionState.GRADEDPARTIAL
    assert qa.fraction == pytest.approx(0.5)


@pytest.mark.parametrize(("options", "message"), [
    ({"tries": 0}, "tries"),
    ({"tries": 2.5}, "tries"),
    ({"penalty": 1.5}, "penalty"),
    ({"penalty": True}, "penalty"),
    ({"hints": 2}, "hints"),
])
def test_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        behaviour_for("interactive", **options)


def test_options_round_trip():
    behaviour = behaviour_for("interactive", tries=2, penalty=0.25)
    assert behaviour.options() == {"tries": 2, "penalty": 0.25}
    assert behaviour_for("interactive", **behaviour.options()).options() == behaviour.options()
