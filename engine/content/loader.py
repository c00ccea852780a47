"""Load content files into item models, with every problem reported as ``file:line: message``.

Loading is all or nothing: :func:`load_items` returns items only when every file is right;
otherwise it returns the problems and no items, so nothing is ever half-loaded.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.content.source import Problem, SourceDocument, parse_yaml, read_yaml
from engine.expressions import known_functions
from engine.items import (
    EssayItem,
    ItemBase,
    ItemProblems,
    MatchingItem,
    Misconception,
    MultipleResponseItem,
    NumericItem,
    OrderingItem,
    ParamSpec,
    Scoring,
    ShortTextItem,
    SingleChoiceItem,
    Tolerance,
    TrueFalseItem,
    parse_item,
)
from engine.items.types import (
    Distractor,
    MatchPair,
    OptionTemplate,
    Precision,
    ResponseLimits,
    Rubric,
    RubricCriterion,
    RubricLevel,
    ShortTextAnswer,
)

__all__ = ["ContentError", "LoadedItem", "added_order", "definition_findings", "definition_problems",
           "did_you_mean", "item_from_document", "load_item_text", "load_items"]

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


Located = tuple[tuple[str | int, ...], str, str | None]
"""A problem as (path, message, text near it inside the field, or None)."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "single_choice": SingleChoiceItem, "multiple_response": MultipleResponseItem,
    "true_false": TrueFalseItem, "numeric": NumericItem, "ordering": OrderingItem,
    "matching": MatchingItem, "short_text": ShortTextItem, "essay": EssayItem,
}
# Where a mapping sits in an item, and the model that says which fields it may hold.
_MODELS_AT: tuple[tuple[tuple[str, ...], type[BaseModel]], ...] = (
    (("options", "#"), OptionTemplate),
    (("options",), OptionTemplate),
    (("misconceptions", "*"), Misconception),
    (("params", "*"), ParamSpec),
    (("tolerance",), Tolerance),
    (("precision",), Precision),
    (("scoring",), Scoring),
    (("pairs", "#"), MatchPair),
    (("distractors", "#"), Distractor),
    (("answers", "#"), ShortTextAnswer),
    (("rubric",), Rubric),
    (("rubric", "criteria", "#"), RubricCriterion),
    (("rubric", "criteria", "#", "levels", "#"), RubricLevel),
    (("response",), ResponseLimits),
)


def _known_fields(data: Any, where: tuple[str | int, ...]) -> list[str]:
    """The fields allowed in the mapping at ``where`` (empty when unknown)."""
    if not where:
        kind = data.get("type") if isinstance(data, dict) else None
        model = _ITEM_MODELS.get(str(kind))
        return list(model.model_fields) if model else []
    for pattern, model in _MODELS_AT:
        if len(pattern) == len(where) and all(
            p == "*" or (p == "#" and isinstance(w, int)) or p == w for p, w in zip(pattern, where, strict=True)
        ):
            return list(model.model_fields)
    return []


def _describe(error: dict[str, Any], data: Any = None) -> str:
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    path = _path(error)
    loc = [str(p) for p in path]
    field = ".".join(loc)
    if error.get("type") == "extra_forbidden":
        if not loc:
            return message
        return f"unknown field {loc[-1]!r}{did_you_mean(loc[-1], _known_fields(data, path[:-1]))}"
    if error.get("type") == "missing":
        return f"missing field {loc[-1]!r}" if loc else message
    if error.get("type") == "assertion_error" and loc[:1] == ["options"]:
        return "options: write a list of options, or one option with for_each (a template)"
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


_UNKNOWN_NAME = re.compile(r"^unknown name '(?P<name>[^']+)' in '(?P<source>.*)'(?P<hint>.*)$", re.DOTALL)
_UNKNOWN_FUNCTION = re.compile(r"unknown function '(?P<name>[^']+)'")
_TEXT_FIELDS = {"stem", "solution", "text", "feedback", "feedback_true", "feedback_false", "prompt",
                "answer", "match"}


def _where(path: tuple[str | int, ...]) -> str:
    """A text's place in words: "the stem", "option 2's text", "misconception 'x''s feedback"."""
    if len(path) == 1:
        return f"the {str(path[0]).replace('_', ' ')}"
    head, last = str(path[0]), str(path[-1])
    if head == "misconceptions":
        return f"misconception {path[1]!r}'s {last}"
    if len(path) == 3 and isinstance(path[1], int):
        noun = {"options": "option", "pairs": "pair", "distractors": "distractor", "answers": "answer"}
        return f"{noun.get(head, head)} {path[1] + 1}'s {last}"
    return f"the {head}' {last}"


def _explained(data: Any, path: tuple[str | int, ...], message: str) -> Located:
    """A semantic problem from the item model, with its names explained and its needle."""
    unknown = _UNKNOWN_NAME.match(message)
    if unknown is None:
        function = _UNKNOWN_FUNCTION.search(message)
        if function:
            message += did_you_mean(function.group("name"), known_functions())
        return path, message, None
    name, source, hint = unknown.group("name"), unknown.group("source"), unknown.group("hint")
    names: list[str] = []
    if isinstance(data, dict):
        names = [str(k) for k in (data.get("params") or {})] + [str(k) for k in (data.get("compute") or {})]
    suggestion = "" if hint else did_you_mean(name, names)
    if (str(path[-1]) in _TEXT_FIELDS and path[:1] != ("answer",)) or path[:1] == ("stem",):
        message = (f"{_where(path)} names {name!r} in {{{{ {source} }}}}, which is not a parameter "
                   f"or a computed value{hint}{suggestion}")
        return path, message, source
    return path, f"unknown name {name!r} in {source!r}{hint}{suggestion}", None


def definition_findings(data: Any) -> tuple[ItemBase | None, list[Located]]:
    """Validate a definition (a mapping) into an item, or the problems as (path, message, needle)."""
    if not isinstance(data, dict):
        return None, [((), "an item is one mapping (key: value lines)", None)]
    try:
        return parse_item(data), []
    except ValidationError as exc:
        found: list[Located] = []
        for e in exc.errors(include_url=False):
            message = _describe(e, data)  # type: ignore[arg-type]
            function = _UNKNOWN_FUNCTION.search(message)
            if function:
                message += did_you_mean(function.group("name"), known_functions())
            found.append((_path(e), message, None))  # type: ignore[arg-type]
        return None, found
    except ItemProblems as exc:
        return None, [_explained(data, path, message) for path, message in exc.problems]


def definition_problems(data: Any) -> tuple[ItemBase | None, list[tuple[tuple[str | int, ...], str]]]:
    """Validate a definition (a mapping) into an item, or the problems as (path, message)."""
    item, found = definition_findings(data)
    return item, [(path, message) for path, message, _ in found]


def item_from_document(document: SourceDocument) -> tuple[ItemBase | None, list[Problem]]:
    """Validate one document into an item, or the problems with their lines."""
    item, found = definition_findings(document.data)
    return item, [document.problem(path, message, needle=needle) for path, message, needle in found]


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


def added_order(path: Path, item_id: str) -> tuple[bool, float, str]:
    """How to tell the original from a copy: a file named after its id first, then the older."""
    try:
        modified = path.stat().st_mtime
    except OSError:
        modified = float("inf")
    return (path.stem != item_id, modified, str(path))


def load_items(paths: Iterable[Path], base: Path | None = None) -> tuple[list[LoadedItem], list[Problem]]:
    """Every item under ``paths``; no items at all if any file has a problem.

    Two files with one id: the problem is reported against the one that was added (the file not
    named after the id, or else the newer one), never against the original."""
    read: list[tuple[Path, LoadedItem]] = []
    problems: list[Problem] = []
    for path in paths:
        display = str(path.relative_to(base)) if base and path.is_relative_to(base) else str(path)
        document, found = read_yaml(path, display)
        problems.extend(found)
        if document is None:
            continue
        item, found = item_from_document(document)
        problems.extend(found)
        if item is not None:
            read.append((path, LoadedItem(item, document)))
    seen: dict[str, str] = {}
    loaded: list[LoadedItem] = []
    for _, entry in sorted(read, key=lambda pair: added_order(pair[0], pair[1].item.id)):
        if entry.item.id in seen:
            problems.append(entry.source.problem(("id",), f"id {entry.item.id!r} is also used by "
                                                 f"{seen[entry.item.id]}, the original"))
            continue
        seen[entry.item.id] = entry.source.file
        loaded.append(entry)
    loaded.sort(key=lambda entry: entry.source.file)
    return ([], sorted(problems)) if problems else (loaded, [])
