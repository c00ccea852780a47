"""What the checker finds in one item: each problem once, with how often and where it first shows.

A problem found in variants is counted over every variant checked, in every chunk: the message
says in how many of them it holds and gives the first seeds, so that one bad constraint reads as
one line (``in 18 of 20000 variants; first seeds 1384, 2210, 5012``), never as a line per seed,
and ``assay content preview ITEM --seed 1384`` shows it. An example (the numbers of the first
seed) may follow. A problem's ``needle`` is text inside its field that finds the exact line (the
name inside the stem, the ``rank:`` folded into an option's text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ERROR", "FIRST_SEEDS", "WARNING", "Finding", "Findings", "Path_"]

Path_ = tuple[str | int, ...]
ERROR = "error"
WARNING = "warning"
FIRST_SEEDS = 3
"""Seeds a message names (the first ones in seed order)."""


@dataclass
class Finding:
    """One problem with one item: where, what, and in which variants."""

    path: Path_
    message: str
    severity: str = ERROR
    needle: str | None = None
    count: int = 0
    """Variants in which it holds (0 for a problem that is not about variants)."""
    seeds: list[int] = field(default_factory=list)
    example: str | None = None
    """What the first seed shows (its numbers, say)."""
    bad_seeds: set[int] = field(default_factory=set, repr=False)
    """Every seed it holds in (a variant found by two checks counts once)."""

    def text(self, total: int) -> str:
        """The message as reported, with its count, its first seeds and its example."""
        if not self.count:
            return self.message
        seeds = ", ".join(str(s) for s in self.seeds)
        label = "seed" if len(self.seeds) == 1 else "first seeds"
        where = f"in {self.count} of {total} variants; {label} {seeds}"
        if total == 1:
            where = f"seed {seeds}"
        example = f"; at seed {self.seeds[0]}: {self.example}" if self.example else ""
        return f"{self.message} ({where}{example})"


class Findings:
    """The problems of one item, each once, keyed by place, message and severity."""

    def __init__(self) -> None:
        self._found: dict[tuple[Path_, str, str, str | None], Finding] = {}

    def __len__(self) -> int:
        return len(self._found)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._found.values())

    def errors(self) -> list[Finding]:
        return [f for f in self._found.values() if f.severity == ERROR]

    def add(self, path: Path_, message: str, *, severity: str = ERROR, needle: str | None = None) -> Finding:
        """A problem that is not about variants (the structure, a declaration)."""
        key = (path, message, severity, needle)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = Finding(path, message, severity, needle)
        return found

    def in_variants(self, path: Path_, message: str, bad: np.ndarray, seeds: np.ndarray,
                    example: Callable[[int], str] | None = None, *, severity: str = ERROR,
                    needle: str | None = None) -> None:
        """A problem in the variants where ``bad`` holds (a mask over ``seeds``).

        ``example(row)`` describes the first bad row; it is asked only of the first call that
        finds the problem (the chunks arrive in seed order)."""
        rows = np.flatnonzero(bad)
        if not len(rows):
            return
        found = self.add(path, message, severity=severity, needle=needle)
        new = [int(s) for s in seeds[rows]]
        first = min(new)
        if example is not None and (not found.seeds or first < found.seeds[0]):
            found.example = example(int(rows[new.index(first)]))
        found.bad_seeds.update(new)
        found.count = len(found.bad_seeds)
        found.seeds = sorted({*found.seeds, *new[:FIRST_SEEDS]})[:FIRST_SEEDS]

    def has_error_at(self, head: str) -> bool:
        return any(f.severity == ERROR and f.path[:1] == (head,) for f in self._found.values())
