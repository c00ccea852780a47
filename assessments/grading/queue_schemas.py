"""Responses of grading by question: a slot's responses in a queue, and the slots that wait.

For instructors of the quiz's course only: they carry marks, the rubric and the worked solution.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel

from assessments.marks import Mark


class QueueState(enum.StrEnum):
    UNGRADED = "ungraded"
    """Only the responses waiting for a grader."""
    ALL = "all"
    """Every response: those waiting first, then the rest."""


class RubricLevelOut(BaseModel):
    points: float
    label: str
    description: str


class RubricCriterionOut(BaseModel):
    id: str
    title: str
    description: str
    levels: list[RubricLevelOut]
    """Level indexes (from 0) are what a grade's ``rubric`` selects."""


class QueuedResponse(BaseModel):
    """One student's response to the question, as they saw it, with what grading it needs."""

    attempt_id: int
    attempt_number: int
    student: str
    """The student's name, or "Student N" while the queue is anonymous."""
    student_number: int
    """N of "Student N": the same student has the same number at every question of the quiz."""
    user_id: int | None
    username: str | None
    """None while the queue is anonymous."""
    finished_at: datetime | None
    item: str
    """The title of the item asked (a draw may ask different items at one slot)."""
    type: str
    """The item's question type (``essay``, ``single_choice``, ...)."""
    stem: str
    """The question as the student was asked it (Markdown with maths)."""
    response: str
    """The response in words: an essay's text, the chosen options' texts, a number with its unit;
    empty when nothing was answered."""
    answered: bool
    state: str
    """The engine's state of the question (``needsgrading`` while it waits for a grader)."""
    needs_grading: bool
    mark: Mark | None
    max_mark: float
    min_mark: Mark
    """The lowest mark the question can be given (below 0 only with negative marking)."""
    comment: str | None
    """The last comment a grader gave the student."""
    rubric: list[RubricCriterionOut] | None = None
    rubric_selected: dict[str, int] | None = None
    """The levels chosen at the last grade by rubric."""
    solution: str | None = None
    """The item's worked solution for this student's variant (Markdown)."""


class ResponseQueue(BaseModel):
    quiz_id: int
    slot: int
    state: QueueState
    anonymous: bool
    """Whether names are hidden in this answer: asked for, and some response still waits (once
    every response is graded the names are shown)."""
    total: int
    """Responses matching ``state`` (every page's rows together)."""
    ungraded: int
    """Responses at the slot waiting for a grader."""
    responses: list[QueuedResponse]


class SlotToGrade(BaseModel):
    slot: int
    items: str
    """The titles of the items asked at the slot."""
    responses: int
    ungraded: int
