"""Requests and responses of attempts. A response model never has a field for a key unless the
review policy filled it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assessments.marks import Mark


class QuestionView(BaseModel):
    model_config = ConfigDict(validate_assignment=True)  # a mark set after construction is a Mark too

    slot: int
    seq: int
    """The last step's number: send it back with the next save (a stale one gets 409)."""
    state: str
    """not_answered, answered, invalid, try_again, finished, needs_grading, or (where the review
    policy shows correctness) right, partial, wrong."""
    question: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str | None = None
    """Why the saved response cannot be graded as it stands (never about the key)."""
    max_mark: float
    tries_left: int | None = None
    can_check: bool | None = None
    """Immediate-feedback and interactive quizzes, during the attempt: whether the question may be
    checked now (``POST .../slots/{slot}/check``)."""
    can_try_again: bool | None = None
    """Interactive quizzes: the checked try was not right and tries are left (``.../try-again``)."""
    outcome: str | None = None
    mark: Mark | None = None
    feedback: list[str] | None = None
    solution: str | None = None
    right_answer: dict[str, Any] | None = None
    flagged: bool = False
    """The student's own "come back to this" mark (``PUT .../slots/{slot}/flag``)."""


class AttemptView(BaseModel):
    id: int
    quiz_id: int
    user_id: int
    number: int
    state: str
    started_at: datetime
    deadline_at: datetime | None = None
    """Absent when the quiz has no time limit and no close date."""
    finished_at: datetime | None = None
    """Absent while the attempt is in progress."""
    review: str
    """during, immediately_after, later_while_open or after_close (or staff)."""
    marks: Mark | None = None
    max_marks: float
    needs_grading: bool | None = None
    questions: list[QuestionView]


class SaveRequest(BaseModel):
    response: dict[str, Any] = Field(max_length=50)
    seq: int = Field(ge=0)


class SaveResult(BaseModel):
    seq: int
    saved: bool
    """False when the response equals the one already saved (no new step)."""
    state: str
    error: str | None = None
    """Why the response as saved cannot be graded (a number that does not read as one, an essay
    below its word minimum), in the student's words: shown beside the field as they type."""
    read_as: str | None = None
    """How a number written in another form was read (``0,5`` or ``1/2``: ``0.5``)."""


class FlagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flagged: bool


class FlagResult(BaseModel):
    slot: int
    flagged: bool


class SubmitResult(BaseModel):
    id: int
    state: str
    finished_at: datetime | None = None
    marks: Mark | None = None
    max_marks: float
