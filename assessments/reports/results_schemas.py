"""Responses of the results and responses reports, and of a student's list of their own attempts.

The report rows are for the course's instructors: they carry every question's mark and state.
A student's own list (:class:`MyAttempt`) carries only what the quiz's review policy shows them now.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from assessments.marks import Mark

MAX_REASON = 2000


class AttemptFilter(enum.StrEnum):
    """Which attempts a report lists (Moodle's "attempts that are" filter)."""

    FINISHED = "finished"
    """Submitted or closed, graded or waiting for a grader."""
    IN_PROGRESS = "in_progress"
    """Open, and their time (if they have a limit) not yet up."""
    OVERDUE = "overdue"
    """Open, with their time up: the sweep closes and grades them after the grace period."""
    NEEDS_GRADING = "needs_grading"
    """Finished, with a question waiting for a person to grade it."""


class QuestionResult(BaseModel):
    """One question of an attempt in the results report."""

    slot: int
    item_key: str
    version: int
    state: str
    """The question's state as the engine names it (``gradedright``, ``needsgrading``, ``todo``, ...)."""
    mark: Mark | None
    """In marks; None while it is not graded (in progress, or waiting for a grader)."""
    max_mark: float


class AttemptResult(BaseModel):
    """One attempt, one row of the results report."""

    id: int
    user_id: int
    username: str
    display_name: str
    number: int
    state: str
    """``in_progress`` or ``finished``."""
    preview: bool
    """A staff member's preview: listed only when asked for, never counted in grades or statistics."""
    overdue: bool
    needs_grading: bool
    started_at: datetime
    deadline_at: datetime | None
    finished_at: datetime | None
    time_taken_seconds: float | None
    """From start to finish; None while the attempt is in progress."""
    marks: Mark | None
    """The attempt's total; None in progress or while a question waits for a grader."""
    max_marks: float
    questions: list[QuestionResult]


class QuestionResponse(QuestionResult):
    """One question's response as its student saw it, and the numbers of the student's variant."""

    response: str
    """The response as text: the chosen options' texts, the essay, the number with its unit ("" if none)."""
    variant: dict[str, Any]
    """The parameters the student's variant drew (name -> number or list of numbers)."""
    variant_text: str
    """The same, as one line: ``r_w = 1.5; r_l = [0.2, -1]``."""


class AttemptResponses(AttemptResult):
    """One attempt, one row of the responses report (and of an export): the results row with
    every question's response."""

    questions: list[QuestionResponse]  # type: ignore[assignment]


class CloseRequest(BaseModel):
    """Why an instructor closes an attempt in progress (kept in the grade audit trail)."""

    reason: str | None = Field(default=None, max_length=MAX_REASON)


class CloseResult(BaseModel):
    id: int
    state: str
    finished_at: datetime | None
    marks: Mark | None
    """None while a question (an essay) waits for a grader."""
    max_marks: float


class MyAttempt(BaseModel):
    """One of the caller's own attempts; ``marks`` only where the quiz's review policy shows them now
    (left out otherwise, as a field left empty is: the reply names nothing the policy hides)."""

    id: int
    quiz_id: int
    quiz_title: str
    number: int
    state: str
    started_at: datetime
    deadline_at: datetime | None = None
    finished_at: datetime | None = None
    marks: Mark | None = None
    max_marks: float
    review: str
    """The review moment now: ``during``, ``immediately_after``, ``later_while_open``, ``after_close``."""
