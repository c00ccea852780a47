"""Requests and responses of the item bank."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """Where an item is wrong: a path into the definition (and a line, for files)."""

    path: list[str | int]
    message: str
    file: str | None = None
    line: int | None = None


class ItemSummary(BaseModel):
    key: str
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
    versions: list[VersionOut]


class SaveResult(BaseModel):
    key: str
    version: int
    created: bool
    """False when the definition equals an existing version (then that version became current)."""


class Preview(BaseModel):
    key: str
    version: int
    seed: int
    params: dict[str, Any]
    question: dict[str, Any]
    key_response: dict[str, Any]
    key_feedback: list[str]
    solution: str | None


class ImportResult(BaseModel):
    items: list[SaveResult]
    created: int
    new_versions: int
    unchanged: int
    notes: list[str] = []
    """What the source format said that Assay carries differently (or not at all)."""
