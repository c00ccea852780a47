"""A quiz's settings, sections and review policy, as the API and the database hold them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal, Self

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


Mark = Annotated[float, Field(gt=0, le=1000)]


class Section(BaseModel):
    """A part of a quiz: fixed items or a random draw, and what each of its slots is worth.

    A slot's mark is, in order: the item's entry in ``marks`` (fixed items only), the section's
    ``mark``, the item's own ``max_mark``. A draw left without a ``mark`` takes the ``max_mark``
    its matching items share (refused when they differ: an attempt's total would depend on the
    draw). A quiz stores its sections with every mark made explicit (:func:`stored_section`), so
    an item edited later does not change what a quiz's slots are worth."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    items: list[str] = Field(default_factory=list)
    """Fixed items, by key, in order."""
    draw: Draw | None = None
    mark: Mark | None = None
    """Marks per slot; left out, each item's own ``max_mark``."""
    marks: dict[str, Mark] = Field(default_factory=dict, max_length=1000)
    """Marks per fixed item, by key, where it differs from ``mark``."""
    shuffle: bool = False
    """Shuffle the questions within this section."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.items) == (self.draw is not None):
            raise ValueError("a section lists fixed items or draws at random, one or the other")
        if stray := sorted(self.marks.keys() - set(self.items)):
            raise ValueError(f"marks names items the section does not list: {', '.join(stray)}")
        return self

    def mark_of(self, key: str) -> float:
        """A stored section's mark for a slot giving ``key`` (a stored section's marks are explicit;
        a mark absent from a stored section is the 1 it always was)."""
        return self.marks.get(key, self.mark if self.mark is not None else DEFAULT_MARK)

    def slot_marks(self) -> list[float]:
        """A stored section's marks, slot by slot (a draw's slots are all worth its mark)."""
        if self.draw is not None:
            return [self.mark_of("")] * self.draw.count
        return [self.mark_of(key) for key in self.items]


DEFAULT_MARK = 1.0
"""What a slot of a stored section without a mark is worth (sections were stored without their
mark when it was the default of 1)."""


def stored_section(section: Section, marks: list[float]) -> dict[str, Any]:
    """A section as a quiz stores it, given every slot's resolved mark: the most common mark as
    ``mark`` (left out when it is 1, as sections have always been stored), the others in
    ``marks``; a draw's one mark as ``mark``."""
    data = section.model_dump(mode="json", exclude_defaults=True, exclude={"mark", "marks"})
    if not marks:
        return data
    counts: dict[float, int] = {}
    for mark in marks:
        counts[mark] = counts.get(mark, 0) + 1
    common = max(counts, key=lambda m: counts[m])  # the first of the most common, as dicts keep order
    if common != DEFAULT_MARK:
        data["mark"] = common
    if section.draw is None:
        others = {key: mark for key, mark in zip(section.items, marks, strict=True) if mark != common}
        if others:
            data["marks"] = others
    return data


class BehaviourName(enum.StrEnum):
    DEFERRED = "deferredfeedback"
    IMMEDIATE = "immediatefeedback"
    INTERACTIVE = "interactive"


def check_window(open_at: datetime | None, close_at: datetime | None) -> None:
    """Dates with their time zone, and a close after the open (the quiz's settings and an override)."""
    for name, value in (("open_at", open_at), ("close_at", close_at)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} needs a time zone (e.g. 2026-12-01T09:00:00Z)")
    if open_at and close_at and close_at <= open_at:
        raise ValueError("close_at must be after open_at")


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
        check_window(self.open_at, self.close_at)
        return self


class QuizStatusName(enum.StrEnum):
    """A quiz's life (:class:`assessments.models.QuizStatus`), as the API names it."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    ARCHIVED = "archived"


class QuizCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    settings: QuizSettings = Field(default_factory=QuizSettings)
    sections: list[Section] = Field(min_length=1, max_length=100)
    status: Literal["draft", "published"] = "published"
    """A new quiz is published (students see it per its dates) unless made as a draft; the
    builder page makes drafts."""


SETTINGS_AFTER_ATTEMPTS = frozenset({
    "open_at", "close_at", "time_limit_minutes", "attempts_allowed", "review", "shuffle_questions",
    "shuffle_options"})
"""Settings that may change once students have attempted the quiz: they change no grade (dates,
time, attempts, what a review shows, the order new attempts get)."""


class QuizPatch(BaseModel):
    """A change to a quiz: the fields given change, the rest stay. ``settings`` names only the
    settings that change; ``sections`` replaces every section."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    settings: dict[str, Any] | None = Field(default=None, max_length=len(QuizSettings.model_fields))
    sections: list[Section] | None = Field(default=None, min_length=1, max_length=100)


class StatusChange(BaseModel):
    """Publish, unpublish, close or archive; ``publish_at`` with ``draft`` schedules publication."""

    model_config = ConfigDict(extra="forbid")

    status: QuizStatusName
    publish_at: datetime | None = None

    @model_validator(mode="after")
    def _schedule(self) -> Self:
        if self.publish_at is not None:
            if self.status != QuizStatusName.DRAFT:
                raise ValueError("publish_at schedules a draft's publication: give it with status draft")
            if self.publish_at.tzinfo is None:
                raise ValueError("publish_at needs a time zone (e.g. 2026-12-01T09:00:00Z)")
        return self


class QuizDuplicate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course: str | None = Field(default=None, max_length=100)
    """The course to copy it to (one its caller teaches); the quiz's own when left out."""
    title: str | None = Field(default=None, min_length=1, max_length=300)


class QuizRemoved(BaseModel):
    id: int
    outcome: Literal["deleted", "archived"]
    attempts: int
    """Students' attempts at the quiz: with any, the quiz is archived instead, its attempts kept."""


class QuizOut(BaseModel):
    id: int
    course: str
    title: str
    description: str
    status: QuizStatusName
    publish_at: datetime | None = None
    settings: QuizSettings
    """For a student: with their own dates, time limit and attempts (their overrides applied)."""
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
    """Whether the caller could start an attempt now (a draft is not open; for a student, their
    overrides applied)."""
    status: QuizStatusName


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


# --- accommodations ------------------------------------------------------------------------------


class GroupIn(BaseModel):
    """A named set of the course's students."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    members: list[str] = Field(default_factory=list, max_length=5000)
    """Usernames of the course's students."""


class GroupOut(BaseModel):
    id: int
    course: str
    name: str
    members: list[str]


class OverrideIn(BaseModel):
    """What differs for one student (``user``) or one group (``group``, its name) at a quiz. A
    field left out keeps the quiz's setting; ``time_multiplier`` (1.5 for half as long again)
    scales the quiz's time limit and excludes ``time_limit_minutes``."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, min_length=1, max_length=150)
    group: str | None = Field(default=None, min_length=1, max_length=100)
    open_at: datetime | None = None
    close_at: datetime | None = None
    time_limit_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 7)
    time_multiplier: float | None = Field(default=None, gt=1, le=10)
    attempts_allowed: int | None = Field(default=None, ge=1, le=1000)
    unlimited_attempts: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.user is None) == (self.group is None):
            raise ValueError("an override is for one student (user) or one group (group): give one of them")
        check_window(self.open_at, self.close_at)
        if self.time_limit_minutes is not None and self.time_multiplier is not None:
            raise ValueError("give a time limit in minutes or a multiplier of the quiz's, not both")
        if self.unlimited_attempts and self.attempts_allowed is not None:
            raise ValueError("give attempts_allowed or unlimited_attempts, not both")
        if not (self.open_at or self.close_at or self.time_limit_minutes or self.time_multiplier
                or self.attempts_allowed or self.unlimited_attempts):
            raise ValueError("an override changes at least one of open_at, close_at, time_limit_minutes, "
                             "time_multiplier, attempts_allowed, unlimited_attempts")
        return self


class OverrideOut(BaseModel):
    id: int
    quiz_id: int
    user: str | None
    group: str | None
    open_at: datetime | None
    close_at: datetime | None
    time_limit_minutes: int | None
    time_multiplier: float | None
    attempts_allowed: int | None
    unlimited_attempts: bool
    extended_attempts: int = 0
    """Attempts under way that this change extended (their deadline moved later)."""
