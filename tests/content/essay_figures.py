"""What the essay-arithmetic tests share: an essay's texts as a student and a grader read them, the
scenario's tables as numbers, and the check that a figure a text prints is the one recomputed.

An essay's rubric and model answer are prose, so their numbers are not templates: a test
recomputes each one from the scenario's data and finds it, as printed, in the item's texts. A
figure agrees when the recomputed value lies within half a unit of its last printed digit (or a
tolerance the test names, for a figure the text calls "about").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.content.loader import load_items
from engine.items.types import EssayItem
from engine.texts import render
from engine.variants import Variant, generate


@dataclass(frozen=True)
class Essay:
    """An essay item with its variant (seed 0; essays' data are fixed) and its rendered texts."""

    item: EssayItem
    variant: Variant
    stem: str
    solution: str
    rubric: str

    @property
    def text(self) -> str:
        """Everything a figure may be stated in: stem, model answer and rubric, with every run of
        white space (a line break in the YAML) one space."""
        return " ".join(f"{self.stem}\n{self.solution}\n{self.rubric}".split())

    def value(self, name: str) -> Any:
        """A parameter of the scenario as the author wrote it."""
        return self.variant.value(name)


def load_essay(path: Path) -> Essay:
    (loaded,), problems = load_items([path])
    assert not problems, problems
    item = loaded.item
    assert isinstance(item, EssayItem), f"{path.name} is not an essay"
    variant = generate(item, 0)
    rubric = " ".join(
        part for criterion in item.rubric.criteria
        for part in [criterion.description or "", *(level.description or "" for level in criterion.levels)])
    return Essay(item, variant, render(item.stem, variant.values), render(item.solution or "", variant.values), rubric)


def table(text: str, header: str) -> dict[str, list[str]]:
    """The markdown table whose header row starts with ``| header |``: its rows by first cell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"| {header} |"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.strip().startswith("|"):
            break
        cells = [cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def numbers(cell: str) -> list[float]:
    """A cell's numbers in order: ``9.5 → 18.0`` is [9.5, 18.0], ``+65%`` is [65], ``−1.2`` is [-1.2]."""
    found = re.findall(r"[-−+]?\d[\d,]*(?:\.\d+)?", cell)
    assert found, f"no number in {cell!r}"
    return [float(text.replace(",", "").replace("−", "-")) for text in found]


def number(cell: str) -> float:
    """A table cell's first number: ``2,100`` is 2100."""
    return numbers(cell)[0]


def half_unit(printed: str) -> float:
    """Half a unit of the last digit of ``printed`` (``0.0805`` → 5e-5, ``4.83e21`` → 5e18)."""
    mantissa, _, exponent = printed.replace(",", "").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def states(text: str, figure: str) -> bool:
    """Whether ``text`` prints ``figure`` as a whole number (``0.69`` is not found in ``10.695``)."""
    return re.search(rf"(?<![\d.]){re.escape(figure)}(?![\d])", text) is not None


@dataclass(frozen=True)
class Figure:
    """A figure as a text prints it, and how it is recomputed from the scenario's data.

    ``phrase`` is found verbatim in the item's texts and contains ``printed``; ``recompute`` takes
    a lookup of the scenario's numbers (the item's parameters, or what a test read from the stem's
    tables) and returns the value; ``tolerance`` replaces half a unit of the
    last digit where the text says "about".
    """

    phrase: str
    printed: str
    recompute: Callable[[Callable[[str], Any]], float]
    tolerance: float | None = None

    def problem(self, essay: Essay, data: Callable[[str], Any] | None = None) -> str | None:
        """What is wrong with the figure in ``essay``, or None; ``data`` looks up the scenario's
        numbers (by default the item's parameters)."""
        if " ".join(self.phrase.split()) not in essay.text:
            return f"the item no longer says {self.phrase!r}"
        if not states(self.phrase, self.printed):
            return f"{self.phrase!r} does not print {self.printed!r}"
        got = float(self.recompute(essay.value if data is None else data))
        allowed = half_unit(self.printed) if self.tolerance is None else self.tolerance
        if abs(got - float(self.printed.replace(",", ""))) > allowed:
            return f"{self.phrase!r} prints {self.printed}; the scenario's data give {got:.6g}"
        return None
