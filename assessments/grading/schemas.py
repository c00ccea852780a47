"""Requests and responses of grading: manual grades, regrade diffs, grades and the gradebook.

Every response here is for instructors of the quiz's course; they may carry fractions and marks.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from assessments.marks import Mark
from assessments.quizzes.schemas import GradingMethod

MAX_COMMENT = 20_000
MAX_REASON = 2_000


class ManualGradeRequest(BaseModel):
    """A person's grade for one slot: a mark (out of the question's ``max_mark``) or a fraction,
    rubric selections (criterion id → level index, from 0), a comment, or a comment with either.
    A mark or fraction given with rubric selections must agree with what the rubric scores.
    ``reason`` is kept in the grade audit trail for instructors (the student sees the comment,
    never the reason)."""

    model_config = ConfigDict(extra="forbid")

    mark: float | None = Field(default=None, allow_inf_nan=False)
    """In marks, as graders give them: 0 up to the question's maximum (below 0 only where the
    item marks negatively). Not with ``fraction``."""
    fraction: float | None = None
    rubric: dict[str, StrictInt] | None = Field(default=None, max_length=100)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)
    reason: str | None = Field(default=None, max_length=MAX_REASON)


class ClearGradeRequest(BaseModel):
    """Withdraw the mark a person gave a question (a manual grade or an override): the question's
    mark is the engine's again, and a regrade moves it. ``reason`` is kept in the grade audit
    trail."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_REASON)


class ManualGradeResult(BaseModel):
    attempt_id: int
    slot: int
    seq: int
    """The slot's last step."""
    recorded: bool
    """False when the grade equals the last one given (no new step)."""
    state: str
    """The engine's state of the question: mangrright, mangrpartial, mangrwrong, mangaveup,
    manfinished, or needsgrading when only a comment was given on an ungraded answer."""
    fraction: Mark | None
    mark: Mark | None
    max_mark: float
    marks: Mark | None
    """The attempt's marks: None while any of its questions still needs grading."""
    max_marks: float
    needs_grading: bool


class RegradedQuestion(BaseModel):
    slot: int
    item: str
    old_version: int
    new_version: int
    old_state: str
    new_state: str
    old_fraction: Mark | None
    new_fraction: Mark | None
    old_mark: Mark | None
    new_mark: Mark | None


class RegradedAttempt(BaseModel):
    attempt_id: int
    number: int
    preview: bool = False
    """A staff member's preview: regraded too, counted nowhere."""
    old_marks: Mark | None
    new_marks: Mark | None
    max_marks: float
    questions: list[RegradedQuestion]


class RegradedStudent(BaseModel):
    user_id: int
    username: str
    display_name: str
    attempts: list[RegradedAttempt]


class RegradeProblem(BaseModel):
    """A question that cannot be replayed against its item's current version."""

    attempt_id: int
    slot: int
    item: str
    new_version: int
    message: str


class PinnedMark(BaseModel):
    """A stale question whose mark a person set (a manual grade, or an override of the engine's):
    the regrade keeps ``mark``; without that grade it would give ``would_be_mark``. Clearing it
    (``DELETE /api/v1/attempts/{attempt_id}/slots/{slot}/grade``) lets the regrade move it."""

    attempt_id: int
    number: int
    user_id: int
    username: str
    display_name: str
    slot: int
    item: str
    kind: str
    """``override`` (a fraction given over the engine's grade) or ``manual_grade`` (a question a
    person grades)."""
    state: str
    mark: Mark | None
    would_be_state: str
    would_be_mark: Mark | None
    max_mark: float


class RegradeResult(BaseModel):
    quiz_id: int
    dry_run: bool
    committed: bool
    """True when the question attempts below were replaced (never on a dry run)."""
    at: datetime
    questions: int
    """How many question attempts were (or, on a dry run, would be) replayed."""
    skipped_in_progress: int
    """Attempts still in progress: they keep the versions they were given."""
    students: list[RegradedStudent]
    problems: list[RegradeProblem] = Field(default_factory=list)
    pinned: list[PinnedMark] = Field(default_factory=list)
    """Questions among those replayed whose mark a person pinned: the regrade leaves their marks."""


class GradeFormat(enum.StrEnum):
    JSON = "json"
    CSV = "csv"


class StudentGrade(BaseModel):
    user_id: int
    username: str
    display_name: str
    attempts: int
    """Finished attempts."""
    pending: int
    """Finished attempts still waiting for a person to grade them (they count for no grade)."""
    grade: Mark | None
    """The quiz grade by the quiz's grading method, in marks; None without a graded attempt
    (or, for first and last, while that attempt is pending)."""


class QuizGrades(BaseModel):
    quiz_id: int
    title: str
    grading_method: GradingMethod
    max_marks: float
    students: list[StudentGrade]


class GradebookQuiz(BaseModel):
    id: int
    title: str
    grading_method: GradingMethod
    max_marks: float


class GradebookCell(BaseModel):
    quiz_id: int
    attempts: int
    pending: int
    grade: Mark | None


class GradebookRow(BaseModel):
    user_id: int
    username: str
    display_name: str
    grades: list[GradebookCell]
    """One per quiz, in the order of ``quizzes``."""


class Gradebook(BaseModel):
    course: str
    quizzes: list[GradebookQuiz]
    students: list[GradebookRow]
