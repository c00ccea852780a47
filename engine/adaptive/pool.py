"""The items a practice draws from, as arrays: 2PL parameters, concepts covered, misconceptions carried.

A practice chooses among every item of its concepts at each question, so the pool is built once
as numpy arrays (items × concepts membership, one boolean row per misconception name) and each
choice is a few vector operations over it, whatever the number of items.

Items not yet calibrated take a prior difficulty from their Bloom level (remembering is easier
than evaluating) and discrimination 1, so a new item takes its place before anyone answered it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BLOOM_DIFFICULTY", "ItemPool", "PracticeItem", "concept_order", "prior_difficulty"]

BLOOM_DIFFICULTY: dict[str, float] = {
    "remember": -1.5, "understand": -0.75, "apply": 0.0, "analysis": 0.75, "analyse": 0.75, "analyze": 0.75,
    "evaluate": 1.25, "evaluation": 1.25, "create": 1.5, "synthesis": 1.5,
}
"""Prior difficulty (on the ability scale, N(0, 1) students) of an uncalibrated item by its Bloom level."""
UNKNOWN_LEVEL_DIFFICULTY = 0.0
PRIOR_DISCRIMINATION = 1.0


def prior_difficulty(bloom: str | None) -> float:
    """An uncalibrated item's difficulty from its Bloom level (0 when it has none or an unknown one)."""
    if not bloom:
        return UNKNOWN_LEVEL_DIFFICULTY
    return BLOOM_DIFFICULTY.get(bloom.strip().casefold(), UNKNOWN_LEVEL_DIFFICULTY)


@dataclass(frozen=True, slots=True)
class PracticeItem:
    """One item as a practice sees it (its key is the bank's item id)."""

    key: str
    concepts: tuple[str, ...]
    misconceptions: frozenset[str] = frozenset()
    difficulty: float | None = None
    """The 2PL difficulty from the item's statistics; None until it is calibrated."""
    discrimination: float | None = None
    bloom: str | None = None


def concept_order(concepts: Sequence[str], prerequisites: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The concepts with every prerequisite before the concepts that need it (Kahn's algorithm; ties
    keep the declared order). A prerequisite outside ``concepts`` is ignored; a cycle is an error."""
    known = dict.fromkeys(concepts)
    needs = {c: [p for p in prerequisites.get(c, ()) if p in known and p != c] for c in known}
    placed: dict[str, None] = {}
    while len(placed) < len(known):
        ready = [c for c in known if c not in placed and all(p in placed for p in needs[c])]
        if not ready:
            stuck = [c for c in known if c not in placed]
            raise ValueError(f"the prerequisites of {', '.join(stuck)} form a cycle")
        placed[ready[0]] = None
    return tuple(placed)


@dataclass(frozen=True)
class ItemPool:
    """Items × concepts, in arrays. Build with :meth:`build`."""

    keys: tuple[str, ...]
    concepts: tuple[str, ...]
    """In the concept graph's order: prerequisites first."""
    discrimination: np.ndarray
    difficulty: np.ndarray
    calibrated: np.ndarray
    covers: np.ndarray
    """bool (items, concepts): the item exercises the concept."""
    needs: np.ndarray
    """bool (concepts, concepts): row c is True at c's prerequisites."""
    misconceptions: dict[str, np.ndarray]
    """Name → bool (items,): the item has a distractor or misconception of that name."""

    @classmethod
    def build(cls, items: Iterable[PracticeItem], concepts: Sequence[str] | None = None,
              prerequisites: Mapping[str, Sequence[str]] | None = None) -> ItemPool:
        """The pool of ``items`` over ``concepts`` (default: every concept the items name, in the
        order first named), ordered by ``prerequisites`` (concept → the concepts it needs)."""
        listed = list(items)
        if concepts is None:
            concepts = list(dict.fromkeys(c for item in listed for c in item.concepts))
        prerequisites = prerequisites or {}
        order = concept_order(concepts, prerequisites)
        column = {c: n for n, c in enumerate(order)}
        covers = np.zeros((len(listed), len(order)), dtype=bool)
        names: dict[str, np.ndarray] = {}
        a = np.empty(len(listed))
        b = np.empty(len(listed))
        calibrated = np.zeros(len(listed), dtype=bool)
        for row, item in enumerate(listed):
            for concept in item.concepts:
                if concept in column:
                    covers[row, column[concept]] = True
            for name in item.misconceptions:
                names.setdefault(name, np.zeros(len(listed), dtype=bool))[row] = True
            fitted = (item.difficulty is not None and item.discrimination is not None
                      and np.isfinite(item.difficulty) and np.isfinite(item.discrimination)
                      and item.discrimination > 0)
            calibrated[row] = fitted
            a[row] = item.discrimination if fitted else PRIOR_DISCRIMINATION
            b[row] = item.difficulty if fitted else prior_difficulty(item.bloom)
        needs = np.zeros((len(order), len(order)), dtype=bool)
        for concept, required in prerequisites.items():
            for other in required:
                if concept in column and other in column and other != concept:
                    needs[column[concept], column[other]] = True
        return cls(keys=tuple(item.key for item in listed), concepts=order, discrimination=a, difficulty=b,
                   calibrated=calibrated, covers=covers, needs=needs, misconceptions=names)

    def __len__(self) -> int:
        return len(self.keys)

    def index(self, key: str) -> int:
        """The row of the item ``key`` (a ValueError when the pool does not hold it)."""
        try:
            return self.keys.index(key)
        except ValueError:
            raise ValueError(f"item {key!r} is not in this practice") from None

    def concepts_of(self, row: int) -> tuple[str, ...]:
        return tuple(c for c, on in zip(self.concepts, self.covers[row], strict=True) if on)

    def carrying(self, name: str) -> np.ndarray:
        """bool (items,): the items with a distractor or misconception named ``name``."""
        found = self.misconceptions.get(name)
        return found if found is not None else np.zeros(len(self.keys), dtype=bool)
