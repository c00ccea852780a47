"""Responses of the audit trail: one change to one question's grade, and a page of them.

For instructors of the quiz's course only: the rows carry fractions, marks and reasons.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from assessments.marks import Mark
from assessments.models import GradeChangeKind

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class GradeChangeOut(BaseModel):
    """One row of ``grade_changes``: who, when, what, from what to what, and why."""

    id: int
    at: datetime
    kind: GradeChangeKind
    """``manual_grade`` (a question a person grades), ``override`` (a person's fraction replacing
    the engine's), ``comment`` (a comment on an engine-graded question, fraction unchanged) or
    ``regrade`` (a committed regrade against the item's current version) or ``closed`` (an
    instructor closed the attempt in progress, and it was graded)."""
    actor_id: int | None
    """None when the user has since been deleted; ``actor_username`` still says who."""
    actor_username: str
    course_id: int
    quiz_id: int
    attempt_id: int
    attempt_number: int
    student_id: int
    student_username: str
    student_display_name: str
    slot: int
    question_attempt_id: int
    """The slot's question attempt that holds the new grade (after a regrade, the replacement)."""
    step_seq: int
    """The step of the slot's question attempt that holds the new grade."""
    item_key: str
    old_version: int
    new_version: int
    old_state: str
    new_state: str
    old_fraction: Mark | None
    new_fraction: Mark | None
    old_mark: Mark | None
    new_mark: Mark | None
    max_mark: float
    old_marks: Mark | None
    """The attempt's total before the change (None while a question awaited a grader)."""
    new_marks: Mark | None
    max_marks: float
    comment: str | None
    """The comment given to the student with this change."""
    reason: str | None
    """Why, for the record (never shown to the student)."""


class GradeChangePage(BaseModel):
    """Newest first. Ask for the next page with ``offset`` (as every list: the ``Link`` header
    names it) or with ``before=next_before``; None: this is the last."""

    changes: list[GradeChangeOut]
    limit: int
    offset: int = 0
    total: int
    """How many changes match, every page together (also in the ``X-Total-Count`` header)."""
    next_before: int | None
