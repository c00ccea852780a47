"""Walkthroughs of manual grading: an essay graded by rubric, and instructors' overrides.

The essay asks why DPO needs no reward model. Its rubric: "reasoning" (0, 1 or 2 points) and
"clarity" (0 or 1 point), so 3 points in all.
"""

from datetime import UTC, datetime, timedelta

import pytest

from engine.attempts import AttemptError, QuestionAttempt
from engine.behaviours import behaviour_for
from engine.items import parse_item
from engine.states import QuestionState
from engine.variants import generate

STUDENT = "student:alan"
TEACHER = "teacher:barbara"
T0 = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


ESSAY = parse_item({
    "id": "why-dpo-needs-no-reward-model",
    "type": "essay",
    "title": "DPO without a reward model",
    "stem": "Explain why DPO can align a policy without training a separate reward model.",
    "rubric": {"criteria": [
        {"id": "reasoning", "title": "Reasoning", "levels": [
            {"points": 0, "label": "missing"},
            {"points": 1, "label": "partial"},
            {"points": 2, "label": "complete"},
        ]},
        {"id": "clarity", "title": "Clarity", "levels": [
            {"points": 0, "label": "unclear"},
            {"points": 1, "label": "clear"},
        ]},
    ]},
    "max_mark": 6.0,
})
ANSWER = {"text": "The optimal policy under a KL constraint gives the reward in closed form."}


def start_essay() -> QuestionAttempt:
    return QuestionAttempt.start(generate(ESSAY, 1), behaviour_for("manualgraded"),
                                 actor=STUDENT, at=at(0))


def test_essay_graded_by_rubric_then_overridden():
    qa = start_essay()
    qa.process("save", ANSWER, actor=STUDENT, at=at(5))
    assert qa.state is QuestionState.COMPLETE
    assert not qa.process("save", ANSWER, actor=STUDENT, at=at(6)).kept

    # Grading before the attempt is finished is refused.
    with pytest.raises(AttemptError, match="before it is finished"):
        qa.process("manual_grade", actor=TEACHER, at=at(7), fraction=1.0)

    qa.process("finish", actor=STUDENT, at=at(10))
    assert qa.state is QuestionState.NEEDSGRADING
    assert qa.state.summary == "needsgrading"
    assert qa.fraction is None
    assert qa.mark is None
    assert len(qa.steps) == 3

    # The teacher picks a level per criterion: 2 + 0 of 3 points.
    step = qa.process("manual_grade", actor=TEACHER, at=at(60),
                      rubric={"reasoning": 2, "clarity": 0}, comment="Right idea; say more.").step
    assert step is not None
    assert step.actor == TEACHER
    assert step.manual is not None
    assert step.manual.rubric == {"reasoning": 2, "clarity": 0}
    assert qa.state is QuestionState.MANGRPARTIAL
    assert qa.state.summary == "manuallygraded"
    assert qa.fraction == pytest.approx(2 / 3)
    assert qa.mark == pytest.approx(4.0)
    assert qa.manual_comment == "Right idea; say more."
    grade = qa.latest_grade
    assert grade is not None
    assert grade.feedback[0].startswith("Reasoning: complete")

    # Pressing "save" twice on the grading form makes no new step.
    assert not qa.process("manual_grade", actor=TEACHER, at=at(61),
                          rubric={"reasoning": 2, "clarity": 0},
                          comment="Right idea; say more.").kept

    # On appeal, full marks.
    qa.process("manual_grade", actor="teacher:claude", at=at(90), fraction=1.0,
               comment="Clear enough on a second reading.")
    assert qa.state is QuestionState.MANGRRIGHT
    assert qa.mark == 6.0
    assert len(qa.steps) == 5
    assert [s.state for s in qa.steps][:3] == [
        QuestionState.TODO, QuestionState.COMPLETE, QuestionState.NEEDSGRADING,
    ]


def test_a_comment_alone_keeps_the_mark():
    qa = start_essay()
    qa.process("save", ANSWER, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    # A comment before any mark: still waiting for a grade.
    qa.process("manual_grade", actor=TEACHER, at=at(3), comment="Looking at this tomorrow.")
    assert qa.state is QuestionState.NEEDSGRADING
    assert qa.mark is None
    qa.process("manual_grade", actor=TEACHER, at=at(4), fraction=0.5)
    qa.process("manual_grade", actor=TEACHER, at=at(5), comment="See the model answer.")
    assert qa.state is QuestionState.MANGRPARTIAL
    assert qa.fraction == 0.5
    assert qa.manual_comment == "See the model answer."


def test_blank_essay_gives_up_and_can_still_be_graded():
    qa = start_essay()
    qa.process("finish", actor=STUDENT, at=at(1))
    assert qa.state is QuestionState.GAVEUP
    assert qa.mark == 0.0
    qa.process("manual_grade", actor=TEACHER, at=at(2), comment="Nothing submitted.")
    assert qa.state is QuestionState.MANGAVEUP
    assert qa.state.is_commented()
    assert not qa.state.is_manually_graded()
    assert qa.mark == 0.0
    qa.process("manual_grade", actor=TEACHER, at=at(3), fraction=0.5,
               comment="Submitted on paper.")
    assert qa.state is QuestionState.MANGRPARTIAL
    assert qa.mark == 3.0


def test_an_essay_outside_the_word_limits_still_goes_to_a_person():
    item = parse_item({**ESSAY.model_dump(exclude_defaults=True), "type": "essay",
                       "response": {"min_words": 50}})
    qa = QuestionAttempt.start(generate(item, 1), behaviour_for("manualgraded"),
                               actor=STUDENT, at=at(0))
    step = qa.process("save", ANSWER, actor=STUDENT, at=at(1)).step
    assert step is not None
    assert step.state is QuestionState.INVALID
    assert step.error is not None
    assert "at least 50 words" in step.error
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.NEEDSGRADING


@pytest.mark.parametrize(("data", "message"), [
    ({"rubric": {"reasoning": 2}}, "clarity"),
    ({"rubric": {"reasoning": 2, "clarity": 0, "style": 1}}, "style"),
    ({"rubric": {"reasoning": 3, "clarity": 0}}, "levels 0 to 2"),
    ({"rubric": {"reasoning": "2", "clarity": 0}}, "levels 0 to 2"),
    ({"rubric": [2, 0]}, "map criterion ids"),
    ({"rubric": {"reasoning": 2, "clarity": 0}, "fraction": 1.0}, "disagrees"),
    ({"fraction": 1.5}, "between 0 and 1"),
    ({"fraction": -0.1}, "between 0 and 1"),
    ({"fraction": "0.5"}, "number"),
    ({"fraction": float("nan")}, "number"),
    ({}, "needs a fraction, rubric selections or a comment"),
    ({"mark": 3}, "takes no 'mark'"),
])
def test_bad_manual_grades_are_refused_with_a_reason(data, message):
    qa = start_essay()
    qa.process("save", ANSWER, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    with pytest.raises(AttemptError, match=message):
        qa.process("manual_grade", actor=TEACHER, at=at(3), **data)
    assert qa.state is QuestionState.NEEDSGRADING
    assert len(qa.steps) == 3


def test_an_essay_cannot_be_graded_automatically():
    with pytest.raises(AttemptError, match="manualgraded"):
        QuestionAttempt.start(generate(ESSAY, 1), behaviour_for("deferredfeedback"),
                              actor=STUDENT, at=at(0))


# --- overrides on automatically graded questions ------------------------------------------------

CHOICE = parse_item({
    "id": "which-model-is-better",
    "type": "single_choice",
    "title": "Which model?",
    "stem": "Which reward model ranks the pair better?",
    "options": [
        {"text": "A", "correct": True},
        {"text": "B"},
        {"text": "They tie"},
    ],
    "shuffle": False,
    "scoring": {"negative": 0.25},
})


def test_instructor_overrides_an_automatic_grade():
    qa = QuestionAttempt.start(generate(CHOICE, 1), behaviour_for("deferredfeedback"),
                               actor=STUDENT, at=at(0))
    qa.process("save", {"choice": 1}, actor=STUDENT, at=at(1))
    qa.process("finish", actor=STUDENT, at=at(2))
    assert qa.state is QuestionState.GRADEDWRONG
    assert qa.fraction == -0.25  # negative marking

    # The option's wording was ambiguous: half marks for everyone who chose B.
    qa.process("manual_grade", actor=TEACHER, at=at(30), fraction=0.5,
               comment="Option B was ambiguous.")
    assert qa.state is QuestionState.MANGRPARTIAL
    assert qa.state.is_graded()
    assert qa.state.is_manually_graded()
    assert qa.fraction == 0.5
    # A comment alone on a graded question keeps the fraction.
    qa.process("manual_grade", actor=TEACHER, at=at(31), comment="Noted in the errata.")
    assert qa.fraction == 0.5
    assert qa.state is QuestionState.MANGRPARTIAL


def test_a_manual_fraction_may_reach_the_items_negative_floor():
    qa = QuestionAttempt.start(generate(CHOICE, 1), behaviour_for("immediatefeedback"),
                               actor=STUDENT, at=at(0))
    qa.process("submit", {"choice": 0}, actor=STUDENT, at=at(1))
    qa.process("manual_grade", actor=TEACHER, at=at(2), fraction=-0.25)
    assert qa.state is QuestionState.MANGRWRONG
    with pytest.raises(AttemptError, match=r"between -0\.25 and 1"):
        qa.process("manual_grade", actor=TEACHER, at=at(3), fraction=-0.5)


def test_rubric_selections_need_a_rubric():
    qa = QuestionAttempt.start(generate(CHOICE, 1), behaviour_for("deferredfeedback"),
                               actor=STUDENT, at=at(0))
    qa.process("finish", actor=STUDENT, at=at(1))
    with pytest.raises(AttemptError, match="no rubric"):
        qa.process("manual_grade", actor=TEACHER, at=at(2), rubric={"x": 0})
