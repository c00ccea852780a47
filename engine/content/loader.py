"""Load content files into item models, with every problem reported as ``file:line: message``.

Loading is all or nothing: :func:`load_items` returns items only when every file is right;
otherwise it returns the problems and no items, so nothing is ever half-loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.content.source import Problem, SourceDocument, parse_yaml, read_yaml
from engine.items import ItemBase, ItemProblems, parse_item

__all__ = ["ContentError", "LoadedItem", "definition_problems", "item_from_document", "load_item_text",
           "load_items"]

ITEM_SUFFIXES = (".yaml", ".yml")
BANK_FILE = "bank.yaml"  # the bank's declarations, not an item (engine.content.bank)


class ContentError(ValueError):
    """Content that cannot be loaded; ``problems`` says every file and line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class LoadedItem:
    item: ItemBase
    source: SourceDocument


def _describe(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    loc = [str(p) for p in error.get("loc", ()) if not _is_union_tag(p)]
    field = ".".join(loc)
    if error.get("type") == "extra_forbidden":
        return f"unknown field {loc[-1]!r}" if loc else message
    if error.get("type") == "missing":
        return f"missing field {loc[-1]!r}" if loc else message
    return f"{field}: {message}" if field else message


def _is_union_tag(part: Any) -> bool:
    # pydantic puts the discriminator value and model names into loc for tagged unions
    return isinstance(part, str) and (
        part in {"single_choice", "multiple_response", "true_false", "numeric", "ordering",
                 "matching", "short_text", "essay", "listed", "template"}
        or "[" in part or part.endswith("Item")
    )


def _path(error: dict[str, Any]) -> tuple[str | int, ...]:
    return tuple(p for p in error.get("loc", ()) if not _is_union_tag(p))


def definition_problems(data: Any) -> tuple[ItemBase | None, list[tuple[tuple[str | int, ...], str]]]:
    """Validate a definition (a mapping) into an item, or the problems as (path, message)."""
    if not isinstance(data, dict):
        return None, [((), "an item is one mapping (key: value lines)")]
    try:
        return parse_item(data), []
    except ValidationError as exc:
        return None, [(_path(e), _describe(e)) for e in exc.errors(include_url=False)]  # type: ignore[arg-type]
    except ItemProblems as exc:
        return None, list(exc.problems)


def item_from_document(document: SourceDocument) -> tuple[ItemBase | None, list[Problem]]:
    """Validate one document into an item, or the problems with their lines."""
    item, problems = definition_problems(document.data)
    return item, [document.problem(path, message) for path, message in problems]


def load_item_text(text: str, name: str = "<item>") -> ItemBase:
    """One item from YAML text; :class:`ContentError` if anything is wrong."""
    document, problems = parse_yaml(text, name)
    if document is None:
        raise ContentError(problems)
    item, problems = item_from_document(document)
    if item is None:
        raise ContentError(problems)
    return item


def item_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*")
        if p.suffix in ITEM_SUFFIXES and p.is_file() and not p.name.startswith("_")
        and p.name != BANK_FILE
    )


def load_items(paths: Iterable[Path], base: Path | None = None) -> tuple[list[LoadedItem], list[Problem]]:
    """Every item under ``paths``; no items at all if any file has a problem."""
    loaded: list[LoadedItem] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in paths:
        display = str(path.relative_to(base)) if base and path.is_relative_to(base) else str(path)
        document, found = read_yaml(path, display)
        problems.extend(found)
        if document is None:
            continue
        item, found = item_from_document(document)
        problems.extend(found)
        if item is None:
            continue
        if item.id in seen:
            problems.append(document.problem(("id",), f"id {item.id!r} is also used by {seen[item.id]}"))
            continue
        seen[item.id] = display
        loaded.append(LoadedItem(item, document))
    return ([], sorted(problems)) if problems else (loaded, [])
