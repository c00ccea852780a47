"""A quiz's settings, sections and review policy, as the API and the database hold them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GradingMethod(enum.StrEnum):
    HIGHEST = "highest"
    LAST = "last"
    FIRST = "first"
    AVERAGE = "average"


class ReviewOptions(BaseModel):
    """What a student may see of a question at one moment."""

    model_config = ConfigDict(extra="forbid")

    correctness: bool = False
    """Whether each answer was right, partly right or wrong."""
    marks: bool = False
    feedback: bool = False
    """Feedback on the response, misconception feedback and the worked solution."""
    right_answer: bool = False


def _all() -> ReviewOptions:
    return ReviewOptions(correctness=True, marks=True, feedback=True, right_answer=True)


class ReviewPolicy(BaseModel):
    """Moodle's four review moments. ``during`` applies to immediate and interactive behaviours."""

    model_config = ConfigDict(extra="forbid")

    during: ReviewOptions = Field(default_factory=lambda: ReviewOptions(
        correctness=True, marks=True, feedback=True))
    immediately_after: ReviewOptions = Field(default_factory=_all)
    """Within two minutes of finishing."""
    later_while_open: ReviewOptions = Field(default_factory=_all)
    after_close: ReviewOptions = Field(default_factory=_all)


class Draw(BaseModel):
    """``count`` items drawn at random from those matching every tag query (and ``q``)."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(default_factory=list)
    q: str | None = None
    type: str | None = None
    count: int = Field(default=1, ge=1, le=200)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    items: list[str] = Field(default_factory=list)
    """Fixed items, by key, in order."""
    draw: Draw | None = None
    mark: float = Field(default=1.0, gt=0, le=1000)
    """Marks per slot."""
    shuffle: bool = False
    """Shuffle the questions within this section."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.items) == (self.draw is not None):
            raise ValueError("a section lists fixed items or draws at random, one or the other")
        return self


class BehaviourName(enum.StrEnum):
    DEFERRED = "deferredfeedback"
    IMMEDIATE = "immediatefeedback"
    INTERACTIVE = "interactive"


class QuizSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    behaviour: BehaviourName = BehaviourName.DEFERRED
    tries: int = Field(default=3, ge=1, le=20)
    """Interactive behaviour: tries per question."""
    penalty: float = Field(default=1 / 3, ge=0, le=1)
    """Interactive behaviour: the fraction lost per extra try."""
    shuffle_questions: bool = False
    """Shuffle all of the quiz's questions per attempt (sections can shuffle within themselves)."""
    shuffle_options: bool = True
    """Shuffle options where an item allows it; False shows them as authored."""
    time_limit_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 7)
    attempts_allowed: int | None = Field(default=1, ge=1, le=1000)
    """None for unlimited."""
    grading_method: GradingMethod = GradingMethod.HIGHEST
    open_at: datetime | None = None
    close_at: datetime | None = None
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)

    @model_validator(mode="after")
    def _times(self) -> Self:
        for name in ("open_at", "close_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-12-01T09:00:00Z)")
        if self.open_at and self.close_at and self.close_at <= self.open_at:
            raise ValueError("close_at must be after open_at")
        return self


class QuizCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    settings: QuizSettings = Field(default_factory=QuizSettings)
    sections: list[Section] = Field(min_length=1, max_length=100)


class QuizOut(BaseModel):
    id: int
    course: str
    title: str
    description: str
    settings: QuizSettings
    sections: list[Section]
    slots: int
    max_marks: float


class QuizWarning(BaseModel):
    """Something about a new quiz its instructor should know; the quiz is made all the same."""

    code: str
    path: list[str | int]
    """The setting it is about, as an error's details name a field."""
    message: str


class QuizCreated(QuizOut):
    """The quiz as made, with what its instructor is warned of (never shown to students)."""

    warnings: list[QuizWarning] = Field(default_factory=list)


class QuizSummary(BaseModel):
    id: int
    course: str
    title: str
    open_at: datetime | None
    close_at: datetime | None
    time_limit_minutes: int | None
    attempts_allowed: int | None
    state: Literal["not_open", "open", "closed"]


class PinOut(BaseModel):
    """An item a quiz may give, at the version it gives."""

    section: int
    """The section's number (1 for the first)."""
    key: str
    bank: str
    version: int
    latest_version: int
    """The item's current version: newer than ``version`` when the quiz could move to it."""
    usable: bool
    """Whether the item's bank is still one the course may use (if not, the pin stays as it is)."""


class QuizPins(BaseModel):
    quiz_id: int
    attempts: int
    items: list[PinOut]


class PinUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[str] | None = Field(default=None, max_length=1000)
    """The items to move to their current versions; all of them when left out."""
    redraw: bool = False
    """Also resolve each draw's pool again: items that match now join it, those that no longer
    match leave it."""


class PinChange(BaseModel):
    section: int
    key: str
    from_version: int | None
    """None: the item joins a draw's pool."""
    to_version: int | None
    """None: the item leaves a draw's pool."""


class PinChanges(BaseModel):
    quiz_id: int
    dry_run: bool
    changes: list[PinChange]
    attempts: int
    note: str
