"""What an item's definition says before any variant exists: checks of its structure and texts.

YAML accepts much that an author did not mean. A ``rank:`` indented one level too deep becomes
part of its option's text, and an ordering item without ranks takes its listed order as the key
for every student; a numeric item whose tolerance does not say what a student types to; a
misconception that leaves a student without their own numbers; LaTeX the pages cannot show; a
declared unit that is not the unit of the key. Each is reported at the line of the field at
fault.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from engine.content.domains import unit_problem
from engine.content.findings import WARNING, Findings, Path_
from engine.content.latex import latex_problems
from engine.content.renders import renderings
from engine.items import ItemBase, NumericItem, OrderingItem
from engine.items.types import OptionSpec
from engine.texts import parse_template

__all__ = ["Asked", "asked_precision", "static_checks", "stem_precision", "tolerance_path"]

_OPTION_FIELDS = (*OptionSpec.model_fields, "for_each")
_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "options": _OPTION_FIELDS,
    "pairs": ("prompt", "answer"),
    "distractors": ("text", "misconception"),
    "answers": ("match", "fraction", "feedback", "misconception"),
    "misconceptions": ("says", "feedback", "selects", "value", "answer", "order_by"),
}
_NUMBER_WORDS = {w: n for n, w in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"))}
_ASKS = re.compile(
    r"\b(?P<count>\d+|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
    r"(?P<kind>significant\s+(?:figures?|digits?)|s\.\s?f\.|decimal\s+places?|d\.\s?p\.)",
    re.IGNORECASE,
)


def _field_colon(names: tuple[str, ...], *, anywhere: bool) -> re.Pattern[str]:
    alternatives = "|".join(sorted(names, key=len, reverse=True))
    if anywhere:
        return re.compile(rf"(?:^|(?<=\s))(?P<name>{alternatives}):(?=\s|$)", re.MULTILINE)
    return re.compile(rf"^[ \t]*(?P<name>{alternatives}):(?=\s|$)", re.MULTILINE)


def _texts_with_siblings(item: ItemBase) -> list[tuple[Path_, str, tuple[str, ...], bool]]:
    """Every text with the field names beside it, and whether a name counts anywhere in it (a
    short text, where YAML folding puts an indented key) or only at the start of a line."""
    top = tuple(type(item).model_fields)
    found: list[tuple[Path_, str, tuple[str, ...], bool]] = []
    for rendering in renderings(item):
        head = rendering.path[0]
        names = _FIELD_NAMES.get(str(head), top)
        nested = head in _FIELD_NAMES
        found.append((rendering.path, rendering.text, names, nested))
    for name, m in item.misconceptions.items():
        found.append((("misconceptions", name, "says"), m.says, _FIELD_NAMES["misconceptions"], True))
    return found


def _structure(item: ItemBase, found: Findings) -> None:
    if isinstance(item, OrderingItem) and all(o.rank is None for o, _, _ in item.options.expand()):
        found.add(("options",), "an ordering item needs a rank on every option: without ranks the "
                  "order they are listed in is the key for every student (write rank: 1, 2, ... "
                  "or a computed rank)")
    seen: set[tuple[Path_, str]] = set()
    for path, text, names, anywhere in _texts_with_siblings(item):
        if (path, text) in seen:
            continue
        seen.add((path, text))
        for match in _field_colon(names, anywhere=anywhere).finditer(text):
            name = match.group("name")
            found.add(path, f"the text contains {name + ':'!r}, a field name and a colon: is "
                      f"{name!r} indented into the text instead of beside it?", needle=f"{name}:")


def _latex(item: ItemBase, found: Findings) -> None:
    texts = [(r.path, r.text) for r in renderings(item)]
    texts += [(("misconceptions", n, "says"), m.says) for n, m in item.misconceptions.items()]
    seen: set[tuple[Path_, str]] = set()
    for path, text in texts:
        if (path, text) in seen:
            continue
        seen.add((path, text))
        for message, needle in latex_problems(text):
            found.add(path, message, needle=needle)


def _misconception_feedback(item: ItemBase, found: Findings) -> None:
    """In a computed numeric item, a misconception is matched by the number a student typed:
    its feedback must show where that number comes from, with the student's own numbers."""
    if not (isinstance(item, NumericItem) and item.is_computed):
        return
    for name, m in item.misconceptions.items():
        if m.feedback is None:
            found.add(("misconceptions", name), f"misconception {name!r} has no feedback: a student "
                      "whose answer matches it should see how that number arises, from their own "
                      "numbers (a feedback with {{ }} fields)", severity=WARNING)
        elif not parse_template(m.feedback).expressions:
            found.add(("misconceptions", name, "feedback"), f"misconception {name!r}'s feedback shows "
                      "none of the student's own numbers (no {{ }} field)", severity=WARNING)


@dataclass(frozen=True)
class Asked:
    """The precision a student types a numeric answer to, and where the checker took it from."""

    sigfigs: int | None = None
    decimals: int | None = None
    origin: str = "declared"

    def __str__(self) -> str:
        if self.sigfigs is not None:
            return f"{self.sigfigs} significant figure{'s' * (self.sigfigs != 1)}"
        return f"{self.decimals} decimal place{'s' * (self.decimals != 1)}"


def stem_precision(item: NumericItem) -> tuple[Asked, str] | None:
    """The precision the stem's words ask for ("three significant figures"), and those words."""
    match = _ASKS.search(item.stem)
    if not match:
        return None
    count_text = match.group("count").lower()
    count = int(count_text) if count_text.isdigit() else _NUMBER_WORDS[count_text]
    kind = match.group("kind").lower()
    asked = Asked(sigfigs=count) if kind.startswith(("s", "significant")) else Asked(decimals=count)
    return asked, " ".join(match.group(0).split())


def asked_precision(item: NumericItem) -> tuple[Asked | None, str | None]:
    """The precision a student types to: declared, or what the tolerance implies; else why not."""
    if item.precision is not None:
        return Asked(item.precision.sigfigs, item.precision.decimals, "declared"), None
    tolerance = item.tolerance
    if tolerance.sigfigs is not None:
        return Asked(sigfigs=tolerance.sigfigs, origin="the tolerance"), None
    if tolerance.absolute:
        decimals = max(0, math.ceil(-math.log10(2 * tolerance.absolute) - 1e-9))
        return Asked(decimals=decimals, origin="the tolerance"), None
    if tolerance.absolute == 0:
        why = "a tolerance of 0 accepts only the key's every digit, which no student types"
    else:
        why = "a relative tolerance does not say how many digits a student types"
    return None, (f"{why}: declare the precision the stem asks for "
                  "(precision: {sigfigs: 3} or {decimals: 2}) or use a sigfigs tolerance")


def _numeric(item: ItemBase, found: Findings) -> None:
    if not isinstance(item, NumericItem):
        return
    problem = unit_problem(item)
    if problem:
        found.add(("unit",), problem)
    if not item.is_computed:
        return
    asked, why = asked_precision(item)
    where = tolerance_path(item)
    if asked is None:
        found.add(where, str(why))
        return
    said = stem_precision(item)
    if said is not None and (said[0].sigfigs, said[0].decimals) != (asked.sigfigs, asked.decimals):
        found.add(where, f"the stem asks for {said[1]!r}, but the precision checked is {asked} "
                  f"(from {asked.origin}): declare the one the stem asks for")


def tolerance_path(item: NumericItem) -> Path_:
    """Where a problem with the precision is reported: the precision or the tolerance, if the
    item writes them, else its answer (whose default tolerance is at fault)."""
    if item.precision is not None:
        return ("precision",)
    return ("tolerance",) if "tolerance" in item.model_fields_set else ("answer",)


def _bloom_compute_then_sort(item: ItemBase, found: Findings) -> None:
    """Computing each option's value and sorting is Apply in Bloom's taxonomy, not Analysis."""
    if not isinstance(item, OrderingItem) or "Analysis" not in item.tags.values("bloom"):
        return
    expanded = item.options.expand()
    ranked = all(isinstance(o.rank, str) and any(ch.isalpha() for ch in o.rank) for o, _, _ in expanded)
    shown = all(parse_template(o.text).expressions for o, _, _ in expanded) or bool(
        parse_template(item.stem).expressions)
    if item.is_computed and ranked and shown:
        found.add(("tags", "bloom"), "tagged bloom: Analysis, but a student computes each option's "
                  "value from the numbers shown and sorts them, which is Apply: retag it, or ask "
                  "for the analysis (why the order is what it is)", severity=WARNING)


def static_checks(item: ItemBase, found: Findings) -> None:
    """Everything about ``item`` that needs no variant."""
    _structure(item, found)
    _latex(item, found)
    _misconception_feedback(item, found)
    _numeric(item, found)
    _bloom_compute_then_sort(item, found)
