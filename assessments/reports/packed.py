"""Attempt summaries: an attempt's answer summaries packed into one row, read in bulk by statistics.

Statistics of a quiz of 100,000 attempts × 16 questions read 1.6 million answer summaries
(:mod:`assessments.reports.summaries`); fetching that many rows into Python costs seconds on its
own, however narrow they are. So the summaries of an attempt's current question attempts are
also kept as one row of ``attempt_summaries`` (:class:`assessments.models.AttemptSummary`),
written by the same writer right after them:

* ``numbers``: per question attempt, in slot order, 40 little-endian bytes (:data:`NUMBERS`):
  slot, item version, options shown, how many chosen indices and drawn numbers are its own,
  which texts it has, variant seed, then max mark and fraction as floats (NaN: not graded, that
  is awaiting a grader or no fraction);
* ``texts``: per question attempt those of its misconception and names of its drawn parameters
  that are not empty, each followed by :data:`SEPARATOR` (most are empty: a right answer names
  no misconception, only computed items draw);
* ``chosen``: the authored indices of the options chosen, question attempt after question
  attempt, as little-endian 4-byte integers;
* ``drawn``: the numbers of the drawn parameters (:func:`assessments.reports.breakdown.drawn_text`:
  a value per name, then the mask of those drawn as several), question attempt after question
  attempt, as little-endian floats.

A whole quiz's rows decode at once: the blobs joined and read as numpy arrays, the texts joined
and split once. An attempt without a packed row (finished before this table, restored
from an older backup, copied in by SQL, or whose summaries are not all written) is read from its
answer summaries instead; a text holding the separator or a number out of its field's range is
never packed (its attempt is read from the summaries too), so what is packed always decodes to
the summaries' values.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from assessments.reports.breakdown import Chosen, Drawn

SEPARATOR = "\x1f"
"""Ends each text (the ASCII unit separator; an attempt with a text holding it is not packed)."""
NUMBERS = np.dtype([("slot", "<i4"), ("item_version_id", "<i4"), ("options", "<i2"), ("chosen", "<i2"),
                    ("drawn", "<i2"), ("texts", "<u2"), ("seed", "<i8"), ("max_mark", "<f8"), ("fraction", "<f8")])
"""One question attempt's numbers in ``attempt_summaries.numbers``: ``chosen``, how many of the
attempt's ``chosen`` indices are its own; ``drawn``, how many of its ``drawn`` numbers (-1:
nothing drawn); ``texts``, which of its :data:`TEXTS` are in the attempt's ``texts`` (a bit
each, in that order; the others are empty)."""
_NUMBERS = struct.Struct("<iihhhHqdd")
"""The same, for one question attempt at a time."""
TEXTS = ("misconception", "names")
"""A question attempt's texts: its misconception and the names of its drawn parameters."""


def pack(rows: Sequence[Any]) -> tuple[bytes, str, bytes, bytes] | None:
    """An attempt's packed row (numbers, texts, drawn, chosen) from its current question attempts'
    summaries (rows of :func:`assessments.reports.repository.packing_rows`: ``fraction`` None where
    not graded, ``chosen`` and ``drawn`` as the answer summary writes them), or None if one of
    them cannot be packed."""
    numbers: list[bytes] = []
    texts: list[str] = []
    drawn: list[float] = []
    chosen: list[str] = []
    record = _NUMBERS.pack
    try:
        for row in sorted(rows, key=_slot):
            flags, count = 0, -1
            if row.misconception:
                texts.append(row.misconception)
                flags = 1
            if row.drawn is not None:
                names, values = _drawn(row.drawn)
                if values is None:
                    return None
                if names:
                    texts.append(names)
                    flags |= 2
                drawn.extend(values)
                count = len(values)
            picked = row.chosen.split() if row.chosen else ()
            chosen.extend(picked)
            numbers.append(record(row.slot, row.item_version_id, row.options, len(picked), count, flags, row.seed,
                                  row.max_mark, math.nan if row.fraction is None else row.fraction))
        indices = struct.pack(f"<{len(chosen)}i", *map(int, chosen))
    except (struct.error, ValueError):  # a number out of its field's range, or not a number
        return None
    if any(SEPARATOR in text for text in texts):
        return None
    return (b"".join(numbers), SEPARATOR.join(texts) + SEPARATOR if texts else "",
            struct.pack(f"<{len(drawn)}d", *drawn), indices)


def _slot(row: Any) -> int:
    return int(row.slot)


def _drawn(text: str | None) -> tuple[str, list[float] | None]:
    """A :func:`assessments.reports.breakdown.drawn_text` text as its names and numbers (None: not
    as that function writes them)."""
    if text is None:
        return "", []
    names, _, numbers = text.partition("|")
    try:
        values = [float(number) for number in numbers.split()]
    except ValueError:
        return names, None
    return names, values if len(values) == (names.count(" ") + 1 if names else 0) + 1 else None


@dataclass
class Columns:
    """Current question attempts as columns, one entry each: the numbers as numpy arrays, the
    misconceptions as an object array ("" or None: none), the chosen options as :class:`Chosen`
    and the drawn parameters as :class:`Drawn`."""

    attempt: np.ndarray
    slot: np.ndarray
    item_version_id: np.ndarray
    seed: np.ndarray
    options: np.ndarray
    max_mark: np.ndarray
    fraction: np.ndarray
    misconception: np.ndarray
    chosen: Chosen
    drawn: Drawn

    def __len__(self) -> int:
        return len(self.attempt)

    def taken(self, at: np.ndarray) -> Columns:
        """The entries at these positions."""
        arrays: dict[str, Any] = {name: getattr(self, name)[at] for name in _ARRAYS}
        return Columns(**arrays, chosen=self.chosen.taken(at), drawn=self.drawn.taken(at))

    @classmethod
    def joined(cls, parts: Sequence[Columns]) -> Columns:
        if len(parts) == 1:
            return parts[0]
        arrays: dict[str, Any] = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _ARRAYS}
        return cls(**arrays, chosen=Chosen.joined([p.chosen for p in parts]),
                   drawn=Drawn.joined([p.drawn for p in parts]))

    @classmethod
    def of_lists(cls, attempt: list[Any], slot: list[Any], item_version_id: list[Any], seed: list[Any],
                 options: list[Any], max_mark: list[Any], fraction: list[Any], misconception: list[Any],
                 chosen: list[Any], drawn: list[Any]) -> Columns:
        """Columns from lists (``fraction`` None: not graded; ``drawn`` texts)."""
        def ints(column: list[Any]) -> np.ndarray:
            return np.asarray(column, dtype=np.int64)
        return cls(ints(attempt), ints(slot), ints(item_version_id), ints(seed), ints(options),
                   np.asarray(max_mark, dtype=float), np.asarray(fraction, dtype=float),
                   _objects(misconception), Chosen.of_texts(chosen), Drawn.of_texts(drawn))


_ARRAYS = [f.name for f in fields(Columns) if f.name not in ("chosen", "drawn")]


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def unpack(attempt_ids: Sequence[int], numbers: Sequence[bytes], texts: Sequence[str],
           drawn: Sequence[bytes], chosen: Sequence[bytes]) -> Columns:
    """Packed rows (attempt by attempt) as columns, decoded all at once."""
    table = np.frombuffer(b"".join(numbers), dtype=NUMBERS)
    counts = np.fromiter(map(len, numbers), dtype=np.int64, count=len(numbers)) // NUMBERS.itemsize
    split = "".join(texts).split(SEPARATOR)
    split.pop()  # after the last separator
    present = (table["texts"].astype(np.int64)[:, None] >> np.arange(len(TEXTS))) & 1 == 1
    if len(split) != int(present.sum()):
        raise ValueError(f"attempt summaries: {len(split)} texts where {int(present.sum())} are said")
    pool = _objects(split)
    where = (np.cumsum(present.ravel()) - 1).reshape(present.shape)
    said = present[:, 0]
    misconception = np.full(len(table), "", dtype=object)
    misconception[said] = pool[where[said, 0]]
    width = table["drawn"].astype(np.int64)
    used = np.maximum(width, 0)
    start = np.where(width >= 0, np.cumsum(used) - used, -1)
    header, headers = _coded(pool[where[present[:, 1], 1]].tolist(), present[:, 1], width >= 0)
    picked = table["chosen"].astype(np.int64)
    return Columns(attempt=np.repeat(np.asarray(attempt_ids, dtype=np.int64), counts),
                   slot=table["slot"].astype(np.int64), item_version_id=table["item_version_id"].astype(np.int64),
                   seed=table["seed"].astype(np.int64), options=table["options"].astype(np.int64),
                   max_mark=table["max_mark"].astype(float), fraction=table["fraction"].astype(float),
                   misconception=misconception,
                   chosen=Chosen(np.cumsum(picked) - picked, picked,
                                 np.frombuffer(b"".join(chosen), dtype="<i4").astype(np.int64)),
                   drawn=Drawn(header, start, headers, np.frombuffer(b"".join(drawn), dtype="<f8").astype(float)))


def _coded(names: list[str], named: np.ndarray, drew: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The drawn parameters' names of each question attempt as an index into a list of the distinct
    ones (-1: nothing drawn): ``names`` are those of the question attempts ``named``; the others
    that ``drew`` drew none (an empty set of names)."""
    code = dict.fromkeys(names, 0)
    for n, distinct in enumerate(code):
        code[distinct] = n
    header = np.full(len(named), -1, dtype=np.int64)
    header[named] = np.fromiter(map(code.__getitem__, names), dtype=np.int64, count=len(names))
    unnamed = drew & ~named
    if unnamed.any():
        header[unnamed] = code.setdefault("", len(code))
    return header, list(code)
