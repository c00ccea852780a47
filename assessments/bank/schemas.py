"""Requests and responses of the item bank."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from assessments.bank.rendered import RenderedPreview


class Problem(BaseModel):
    """Where an item is wrong: a path into the definition (and a line, for files)."""

    path: list[str | int]
    message: str
    file: str | None = None
    line: int | None = None


class GrantOut(BaseModel):
    course: str
    can_edit: bool


class BankOut(BaseModel):
    """A bank the caller may read, and what they may do in it."""

    slug: str
    title: str
    course: str | None
    """The course that owns the bank (None: administrators manage it)."""
    open_to_all: bool
    """Every instructor may read it and every course may use it."""
    items: int
    can_edit: bool
    can_manage: bool
    """May share it with other courses (and move items out of it)."""
    grants: list[GrantOut] | None
    """The courses it is shared with (shown to those who manage it)."""


class BankCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$",
                      description="lower-case letters, digits, '.', '_' and '-' (a course's own bank is course:<slug>)")
    title: str = Field(min_length=1, max_length=300)
    course: str | None = None
    """The course that owns it: one you teach (administrators may leave it out)."""
    open_to_all: bool = False
    """Administrators only: every course may read and use it."""


class GrantIn(BaseModel):
    can_edit: bool = False
    """Also publish new versions of the bank's items (otherwise: read and use them)."""


class ItemMove(BaseModel):
    bank: str


class ItemSummary(BaseModel):
    key: str
    bank: str
    version: int
    type: str
    title: str
    computed: bool
    tags: dict[str, list[str]]
    concepts: list[str]


class VersionOut(BaseModel):
    number: int
    content_hash: str
    created_at: datetime
    source: str | None


class ItemOut(ItemSummary):
    definition: dict[str, Any]
    rendered: dict[str, Any] = {}
    """The definition's texts (stem, options, feedback, solution, ...) as HTML with MathML, in its
    shape, as written (placeholders of a computed item stay: the preview fills them in)."""
    versions: list[VersionOut]


class ItemSaved(BaseModel):
    key: str
    version: int
    created: bool
    """False when the definition equals an existing version (then that version became current)."""


class CheckProblem(BaseModel):
    line: int
    """The 1-based line of the item's YAML where the problem is."""
    message: str
    severity: Literal["error", "warning"] = "error"
    """An error refuses the save; a warning (a key that is nearly always the same, say) does not."""


class CheckOut(BaseModel):
    """What the checker says of an item text, before anything is saved."""

    ok: bool
    key: str | None
    type: str | None
    title: str | None
    problems: list[CheckProblem]


class Preview(BaseModel):
    key: str
    version: int | None
    """None for an item being written (not saved yet)."""
    seed: int
    params: dict[str, Any]
    question: dict[str, Any]
    key_response: dict[str, Any]
    key_feedback: list[str]
    solution: str | None
    rendered: RenderedPreview | None = None
    """The question's texts, the key's feedback and the solution as HTML with MathML."""


class ImportResult(BaseModel):
    items: list[ItemSaved]
    created: int
    new_versions: int
    unchanged: int
    notes: list[str] = []
    """What the source format said that Assay carries differently (or not at all)."""


class PreviewCheck(BaseModel):
    """A posted item checked, and its preview when it loads."""

    check: CheckOut
    preview: Preview | None
