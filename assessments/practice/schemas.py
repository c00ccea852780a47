"""Practice's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.items.metadata import Slug

MAX_PRACTICE_CONCEPTS = 200


class PracticeIn(BaseModel):
    """A practice of a quiz's items (``quiz_id``) or of the course's items on ``concepts``."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    quiz_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    concepts: list[Slug] = Field(default_factory=list, max_length=MAX_PRACTICE_CONCEPTS)
    send_completion: bool = False
    """Send the fraction of concepts mastered to the LMS that launched the practice."""


class PracticeOut(BaseModel):
    id: int
    course_id: int
    quiz_id: int | None
    title: str
    concepts: list[str]
    send_completion: bool


class PracticeQuestionOut(BaseModel):
    """A question to answer: what the student sees of the variant, never its key."""

    id: int
    item: str
    concept: str
    rule: str
    """Why it was chosen: remediation, information or review."""
    question: dict[str, Any]


class NextOut(BaseModel):
    """The next question, or none: every concept mastered and no review due before ``next_review``."""

    question: PracticeQuestionOut | None
    next_review: datetime | None = None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: dict[str, Any]


class AnswerOut(BaseModel):
    """A practice answer graded at once, with everything: nothing here counts toward a grade."""

    id: int
    outcome: str
    fraction: float
    feedback: list[str]
    misconception: str | None
    misconception_says: str | None
    solution: str | None
    right_answer: dict[str, Any] | None
    concepts: list[ConceptOut]


class ConceptOut(BaseModel):
    concept: str
    title: str
    state: str
    """not_started, learning, mastered or review_due."""
    mastery: float
    """The posterior probability that the student's success rate on the concept is at least 0.8."""
    mean: float
    """The posterior mean of the success rate."""
    answered: int
    right: float
    prerequisites: list[str]
    next_review: datetime | None
    advice: str


class MasteryOut(BaseModel):
    practice_id: int
    user_id: int
    answered: int
    ability: float
    ability_se: float
    mastered: int
    completion: float
    """The fraction of concepts mastered (what an LMS may receive)."""
    concepts: list[ConceptOut]


class ConceptClassOut(BaseModel):
    concept: str
    title: str
    students: int
    """Students who answered a question on it."""
    mastered: int
    missed: int
    """Wrong answers on the concept, over all students."""
    misconceptions: list[MisconceptionCount]


class MisconceptionCount(BaseModel):
    name: str
    says: str | None
    count: int


class ClassOut(BaseModel):
    practice_id: int
    students: int
    concepts: list[ConceptClassOut]
    """Most missed first."""


AnswerOut.model_rebuild()
ConceptClassOut.model_rebuild()
