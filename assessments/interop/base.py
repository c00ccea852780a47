"""The interface every content format implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.items import ItemBase
from engine.variants import Variant


@dataclass(frozen=True)
class Problem:
    """Something wrong with an input file, where it is (a 1-based line, or 0 when unknown)."""

    file: str
    line: int
    message: str


@dataclass
class Imported:
    """What an import read: item definitions (mappings the bank validates), or the problems."""

    definitions: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was approximated or skipped (e.g. 'question 3: HTML formatting dropped')."""


@dataclass
class Exported:
    """An export: the bytes to send, their media type and file name, and a report."""

    content: bytes
    media_type: str
    filename: str
    notes: list[str] = field(default_factory=list)
    """What could not be carried, e.g. 'item x is computed: exported as the variant of seed 0'."""


@dataclass(frozen=True)
class ExportItem:
    """One item to export, with the variant whose numbers it leaves with."""

    key: str
    item: ItemBase
    variant: Variant


class Format(Protocol):
    name: str
    """As in ``?format=``: qti3, qti2, gift, moodlexml."""

    def import_items(self, data: bytes, filename: str) -> Imported: ...

    def export_items(self, items: list[ExportItem], *, title: str) -> Exported: ...
