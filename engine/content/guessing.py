"""Keys a student can guess: the same answer in most variants, or too few different answers.

A computed item earns its variants only if the answer moves with the numbers. The checker counts
each distinct key over every variant checked and warns when one key holds in at least
:data:`SAME_KEY_SHARE` of them (a true/false item that is True in 975 of 1,000 seeds: answer
True without reading) or when an item whose answer space allows three keys has fewer than
:data:`MIN_DISTINCT_KEYS` (an ordering that only ever comes out one way or its reverse).

A key is what a student could learn to answer without the numbers: true or false; a numeric
value; the options marked right and an ordering's sequence, when each option is recognisable
from one variant to the next: listed options whose words tell them apart are statements
(whatever numbers they quote), and a template's option is recognisable when it reads the same in
every variant (``β = 0.1``). Options told apart only by their numbers (``Â = 0.412`` beside
``Â = 0.530``, four score pairs drawn per student) are positions, not statements, so which of
them is right is no key to learn.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from engine.content.findings import WARNING, Findings, Path_
from engine.items import ItemBase
from engine.texts import parse_template

__all__ = ["MIN_DISTINCT_KEYS", "MIN_VARIANTS", "SAME_KEY_SHARE", "KeyCounts"]

SAME_KEY_SHARE = 0.9
"""A key that holds in this share of the variants or more is guessable."""
MIN_DISTINCT_KEYS = 3
"""A computed item whose answer space allows it must have at least this many distinct keys."""
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
MIN_VARIANTS = 100
"""Fewer variants than this say too little about how keys are spread: no warning is given."""


def _told_apart_by_words(item: ItemBase) -> bool:
    """Whether listed options differ in their words, not only in the numbers they show."""
    options = getattr(item, "options", None)
    if options is None or options.listed is None:
        return True
    skeletons = [_NUMBER.sub("#", "".join(p if isinstance(p, str) else "#" for p in parse_template(o.text).parts))
                 for o in options.listed]
    return len(set(skeletons)) == len(skeletons)


class KeyCounts:
    """The distinct keys of one item over the variants checked, counted chunk by chunk."""

    def __init__(self, item: ItemBase) -> None:
        self.item = item
        self.counts: Counter[bytes] = Counter()
        self.labels: dict[bytes, str] = {}
        self.total = 0
        self.option_texts: dict[int, object] = {}
        self.options_vary = not _told_apart_by_words(item)

    @property
    def kind(self) -> str:
        return self.item.type_name

    def possible(self) -> float:
        """How many keys the item's type and options allow at most."""
        options = getattr(self.item, "options", None)
        count = len(options.expand()) if options is not None else 0
        return {
            "true_false": 2.0,
            "single_choice": float(count),
            "multiple_response": float(2**count - 2),
            "ordering": float(np.prod(np.arange(1, count + 1))) if count else 0.0,
        }.get(self.kind, np.inf)

    def see_options(self, member: int, texts: np.ndarray) -> None:
        """A template option's rendered texts in a chunk: does it read the same everywhere?"""
        options = getattr(self.item, "options", None)
        if options is None or options.template is None:
            return
        distinct = set(texts.tolist())
        known = self.option_texts.setdefault(member, next(iter(distinct)))
        if len(distinct) > 1 or known not in distinct:
            self.options_vary = True

    def add(self, key: dict[str, np.ndarray]) -> None:
        codes = self._codes(key)
        if codes is None:
            return
        unique, first, counts = np.unique(codes, axis=0, return_index=True, return_counts=True)
        for code, at, n in zip(unique, first, counts, strict=True):
            signature = np.asarray(code).tobytes()
            self.counts[signature] += int(n)
            if signature not in self.labels:
                self.labels[signature] = self._label(key, int(at))
        self.total += len(codes)

    def _codes(self, key: dict[str, np.ndarray]) -> np.ndarray | None:
        """One code per variant, equal for equal keys (a number where one will do: np.unique is
        far faster on a vector than on the rows of a matrix)."""
        if self.kind == "true_false":
            return key["answer"].astype(np.int64)
        if self.kind == "numeric":
            return key["answer"].astype(np.float64)  # a computed key is exact: equal inputs, equal bits
        if self.kind in {"single_choice", "multiple_response"}:
            correct = key["correct"].astype(np.int64)
            return correct @ (np.int64(1) << np.arange(correct.shape[1], dtype=np.int64))
        if self.kind == "ordering":
            sequence = key["sequence"].astype(np.int64)
            width = sequence.shape[1]
            if width ** width < 2**62:
                return sequence @ (np.int64(width) ** np.arange(width, dtype=np.int64))
            return sequence
        return None

    def _label(self, key: dict[str, np.ndarray], row: int) -> str:
        if self.kind == "true_false":
            return "True" if key["answer"][row] else "False"
        if self.kind == "numeric":
            return f"{float(key['answer'][row]):.6g}"
        if self.kind == "ordering":
            return "order " + ", ".join(str(int(k) + 1) for k in key["sequence"][row])
        right = np.flatnonzero(key["correct"][row]) + 1
        return ("option " if len(right) == 1 else "options ") + ", ".join(str(int(k)) for k in right)

    def report(self, found: Findings) -> None:
        if not self.item.is_computed or self.total < MIN_VARIANTS or not self.counts:
            return
        if self.kind in {"single_choice", "multiple_response", "ordering"} and self.options_vary:
            return
        path: Path_ = ("answer",) if self.kind in {"true_false", "numeric"} else ("options",)
        ranked = self.counts.most_common()
        top, top_count = ranked[0]
        share = top_count / self.total
        if share >= SAME_KEY_SHARE:
            found.add(path, f"the key is {self.labels[top]} in {top_count} of {self.total} variants "
                      f"({share:.1%}): a student who always answers that is right "
                      f"{'every time' if share == 1 else 'that often'}; rebalance the parameters so "
                      f"that no key holds in {SAME_KEY_SHARE:.0%} of them", severity=WARNING)
        if len(ranked) < MIN_DISTINCT_KEYS <= self.possible():
            spread = ", ".join(f"{self.labels[s]}: {n}" for s, n in ranked)
            found.add(path, f"only {len(ranked)} distinct key{'s' * (len(ranked) != 1)} in "
                      f"{self.total} variants ({spread}): a computed item needs at least "
                      f"{MIN_DISTINCT_KEYS}", severity=WARNING)
