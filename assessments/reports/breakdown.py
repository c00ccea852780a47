"""One item's answers taken apart: which options were chosen, which misconceptions the wrong
answers show, and, for a computed item, how its facility moves with each drawn parameter.

The input is :class:`Answers`: one entry per answer to the item (in one slot of one quiz, or
across the quizzes an instructor teaches), as arrays. Nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assessments.reports.schemas import (
    Flag,
    ItemBreakdown,
    MisconceptionRate,
    OptionCount,
    ParameterBin,
    ParameterFacility,
)
from engine.items import ItemBase
from engine.psychometrics import facility_by_range, misconception_rates
from engine.variants import VariantError, generate_batch

CHOICE_TYPES = ("single_choice", "multiple_response")
SHARED_MISCONCEPTION = 0.5
MIN_ANSWERS_FOR_ITEM_FLAGS = 5
"""An unused option or a shared misconception is flagged only from this many answers (wrong ones)."""
KEY_SAMPLE = 256
"""Variants regenerated to tell how often a computed option is right (the first answered seeds)."""
QUARTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class Answers:
    """Every answer to one item, column by column (lists, or numpy arrays as statistics read them)."""

    key: str
    item: ItemBase
    fraction: Sequence[float | None] | np.ndarray = field(default_factory=list)
    """None or NaN: not graded (awaiting a grader)."""
    misconception: Sequence[str | None] | np.ndarray = field(default_factory=list)
    """The misconception the grade named; None or "": none."""
    chosen: Chosen = field(default_factory=lambda: Chosen.of_texts([]))
    """Authored option indices chosen (choice items)."""
    options: Sequence[int] | np.ndarray = field(default_factory=list)
    """How many options the answer's variant showed."""
    seeds: Sequence[int] | np.ndarray = field(default_factory=list)
    drawn: np.ndarray | None = None
    """Computed items: per answer, the value of each randomly drawn parameter of the item (the
    mean of one drawn as several numbers; NaN: not a number, or not drawn), then a bit mask of
    those drawn as several (:func:`drawn_matrix`)."""

    def __len__(self) -> int:
        return len(self.fraction)

    @classmethod
    def joined(cls, groups: Sequence[Answers]) -> Answers:
        """The answers of several groups of one item as one (the first group's model)."""
        first = groups[0]
        return cls(first.key, first.item,
                   fraction=np.concatenate([np.asarray(g.fraction, dtype=float) for g in groups]),
                   misconception=[m for g in groups for m in g.misconception],
                   chosen=Chosen.joined([g.chosen for g in groups]),
                   options=np.concatenate([np.asarray(g.options, dtype=np.int64) for g in groups]),
                   seeds=np.concatenate([np.asarray(g.seeds, dtype=np.int64) for g in groups]),
                   drawn=None if first.drawn is None else np.concatenate([g.drawn for g in groups
                                                                          if g.drawn is not None]))


def drawn_text(params: dict[str, Any]) -> str:
    """A variant's drawn parameters as an answer summary keeps them: their names (sorted), ``|``,
    the number each stands for in statistics (the mean of one drawn as several numbers, NaN for
    one that is not a number), then a bit mask of those drawn as several."""
    names = sorted(params)
    several = sum(1 << n for n, name in enumerate(names) if isinstance(params[name], list))
    return " ".join(names) + "|" + " ".join([*(repr(_scalar(params[name])) for name in names), str(several)])


@dataclass
class Chosen:
    """The authored options each answer chose, as columns: its indices are ``values[start:start + count]``."""

    start: np.ndarray
    count: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def taken(self, at: np.ndarray | slice) -> Chosen:
        return Chosen(self.start[at], self.count[at], self.values)

    def indices(self) -> np.ndarray:
        """Every answer's chosen indices, one after the other."""
        runs = self.count.sum()
        first = np.cumsum(self.count) - self.count
        return self.values[np.repeat(self.start - first, self.count) + np.arange(runs)]

    @classmethod
    def joined(cls, parts: Sequence[Chosen]) -> Chosen:
        offsets = np.cumsum([0, *(len(p.values) for p in parts[:-1])])
        return cls(np.concatenate([p.start + offset for p, offset in zip(parts, offsets, strict=True)]),
                   np.concatenate([p.count for p in parts]), np.concatenate([p.values for p in parts]))

    @classmethod
    def of_texts(cls, texts: Sequence[str | None]) -> Chosen:
        """From answer summaries' texts (indices space-separated; None or "": none chosen)."""
        count = np.fromiter((text.count(" ") + 1 if text else 0 for text in texts), dtype=np.int64,
                            count=len(texts))
        values = np.asarray(" ".join(filter(None, texts)).split(), dtype=np.int64)
        return cls(np.cumsum(count) - count, count, values)


@dataclass
class Drawn:
    """Answers' drawn parameters (:func:`drawn_text`) as columns: per answer which names (the text
    before ``|``) it drew, as an index into ``headers`` (-1: nothing drawn), and where its numbers
    (a value per name, then the mask) start in ``values``. Taking some answers keeps ``headers``
    and ``values`` whole."""

    header: np.ndarray
    start: np.ndarray
    headers: list[str]
    """The sets of names, each space-separated."""
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.header)

    def taken(self, at: np.ndarray | slice) -> Drawn:
        return Drawn(self.header[at], self.start[at], self.headers, self.values)

    @classmethod
    def joined(cls, parts: Sequence[Drawn]) -> Drawn:
        headers = list(dict.fromkeys(h for p in parts for h in p.headers))
        code = {h: n for n, h in enumerate(headers)}
        offsets = np.cumsum([0, *(len(p.values) for p in parts[:-1])])
        recoded = [np.asarray([*(code[h] for h in p.headers), -1])[p.header] for p in parts]  # -1 stays -1
        return cls(np.concatenate(recoded),
                   np.concatenate([np.where(p.start >= 0, p.start + offset, -1)
                                   for p, offset in zip(parts, offsets, strict=True)]),
                   headers, np.concatenate([p.values for p in parts]))

    @classmethod
    def of_texts(cls, texts: Sequence[str | None]) -> Drawn:
        """From :func:`drawn_text` texts (None or "": nothing drawn), the numbers of each set of
        names parsed at once."""
        column = np.empty(len(texts), dtype=object)
        column[:] = texts
        rows = np.flatnonzero(column.astype(bool))  # a text is never empty
        header = np.full(len(texts), -1, dtype=np.int64)
        start = np.full(len(texts), -1, dtype=np.int64)
        parts = [np.empty(0)]
        by_names: dict[str, list[int]] = {}
        for n in rows.tolist():
            by_names.setdefault(column[n].partition("|")[0], []).append(n)
        used = 0
        for code, (names, group) in enumerate(by_names.items()):
            width = (names.count(" ") + 1 if names else 0) + 1
            skip = len(names) + 1
            values = np.asarray(" ".join([column[n][skip:] for n in group]).split(), dtype=float)
            if len(values) != len(group) * width:
                raise ValueError(f"drawn parameters {names!r}: {len(values)} numbers for {len(group)} answers")
            header[group] = code
            start[group] = used + width * np.arange(len(group))
            parts.append(values)
            used += len(values)
        return cls(header, start, list(by_names), np.concatenate(parts))


def drawn_matrix(item: ItemBase, drawn: Drawn | Sequence[str | None]) -> np.ndarray:
    """Drawn parameters (:class:`Drawn`, or :func:`drawn_text` texts) as :attr:`Answers.drawn` for
    the item: one row per answer, a column per randomly drawn parameter of the item, then the mask
    of those drawn as several."""
    if not isinstance(drawn, Drawn):
        drawn = Drawn.of_texts(drawn)
    wanted = [name for name, spec in item.params.items() if spec.is_random]
    out = np.full((len(drawn), len(wanted) + 1), np.nan)
    out[:, -1] = 0
    given = np.flatnonzero(drawn.header >= 0)
    if not len(given):
        return out
    codes = drawn.header[given]
    same = bool((codes == codes[0]).all())  # as nearly always: one item version, the same parameters drawn
    for code in [int(codes[0])] if same else np.unique(codes).tolist():
        rows = given if same else given[codes == code]
        header = drawn.headers[code]
        names = header.split(" ") if header else []
        values = drawn.values[drawn.start[rows][:, None] + np.arange(len(names) + 1)]
        _pick(out, rows, names, values, wanted)
    return out


def _pick(out: np.ndarray, rows: Sequence[int] | np.ndarray, names: list[str], values: np.ndarray,
          wanted: list[str]) -> None:
    """Put the wanted parameters' columns of ``values`` (rows of one set of names) in ``out``."""
    several = values[:, -1].astype(np.int64)
    mask = np.zeros(len(rows), dtype=np.int64)
    for column, name in enumerate(wanted):
        if name in names:
            at = names.index(name)
            out[rows, column] = values[:, at]
            mask |= (several >> at & 1) << column
    out[rows, -1] = mask


def chosen_options(item_type: str, order: Sequence[int] | None, response: Any) -> list[int]:
    """The authored indices of the options a choice response chose (responses name display positions)."""
    if not order or not isinstance(response, dict):
        return []
    if item_type == "single_choice" and isinstance(response.get("choice"), int):
        positions = [response["choice"]]
    elif item_type == "multiple_response":
        positions = [p for p in response.get("choices") or [] if isinstance(p, int)]
    else:
        return []
    return [order[p] for p in positions if 0 <= p < len(order)]


def _num(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _option_keys(answers: Answers, count: int) -> list[float | None]:
    """For each authored option, the share of answered variants in which it is right."""
    options = getattr(answers.item, "options", None)
    listed = getattr(options, "listed", None)
    if listed is not None and all(isinstance(o.correct, bool) for o in listed):
        return [float(o.correct) for o in listed][:count] + [None] * max(0, count - len(listed))
    try:
        batch = generate_batch(answers.item, np.asarray(answers.seeds[:KEY_SAMPLE], dtype=np.int64))
        correct = np.asarray(batch.key["correct"], dtype=float).reshape(len(batch), -1)
    except (VariantError, KeyError, ValueError):
        return [None] * count
    shares = [float(v) for v in correct.mean(axis=0)]
    return shares[:count] + [None] * max(0, count - len(shares))


def _options(answers: Answers) -> list[OptionCount]:
    if answers.item.type_name not in CHOICE_TYPES:
        return []
    expanded = answers.item.options.expand()  # type: ignore[attr-defined]
    count = max(int(np.max(answers.options)) if len(answers.options) else 0, len(expanded))
    chosen = np.zeros(count, dtype=int)
    indices = answers.chosen.indices()
    if len(indices):
        chosen += np.bincount(indices, minlength=count)[:count]
    keys = _option_keys(answers, count)
    total = len(answers)
    return [OptionCount(index=n, text=expanded[n][0].text if n < len(expanded) else f"option {n + 1}",
                        chosen=int(chosen[n]), share=chosen[n] / total if total else None, key=keys[n])
            for n in range(count)]


def _parameters(answers: Answers, fractions: np.ndarray) -> list[ParameterFacility]:
    """Quartile bins of each drawn parameter (the mean, for one drawn as several numbers)."""
    out: list[ParameterFacility] = []
    if answers.drawn is None:
        return out
    names = [name for name, spec in answers.item.params.items() if spec.is_random]
    masks = answers.drawn[:, -1].astype(np.int64)
    for column, name in enumerate(names):
        values = answers.drawn[:, column]
        several = bool((masks >> column & 1).any())
        finite = values[np.isfinite(values) & np.isfinite(fractions)]
        if finite.size < 2:
            continue
        edges = np.unique(np.quantile(finite, QUARTILES))
        if edges.size < 2:
            continue
        by = facility_by_range(fractions, values, bins=edges)
        out.append(ParameterFacility(name=name, summary="mean" if several else "value", bins=[
            ParameterBin(low=float(by.edges[n]), high=float(by.edges[n + 1]), count=int(by.count[n]),
                         facility=_num(by.facility[n]), se=_num(by.se[n])) for n in range(len(by.count))]))
    return out


def _scalar(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        return sum(value) / len(value)
    return float("nan")


def _declared_misconceptions(item: ItemBase) -> list[str]:
    """The item's named misconceptions, then those its options name, once each."""
    names = list(item.misconceptions)
    options = getattr(item, "options", None)
    for option, _, _ in options.expand() if options is not None else []:
        name = getattr(option, "misconception", None)
        if name and name not in names:
            names.append(name)
    return names


def breakdown(answers: Answers, title: str) -> ItemBreakdown:
    fractions = np.asarray(answers.fraction, dtype=float)  # None: NaN
    graded = np.isfinite(fractions)
    wrong = graded & (fractions < 1)
    declared = _declared_misconceptions(answers.item)
    said = answers.misconception
    if not isinstance(said, np.ndarray) or said.dtype != object:
        said = np.empty(len(answers.misconception), dtype=object)
        said[:] = answers.misconception
    named = np.flatnonzero(said.astype(bool))  # most answers name none (None or "")
    given = said[named].tolist()
    names = declared + sorted(set(given) - set(declared))
    code_of = {name: n for n, name in enumerate(names)}
    codes = np.full(len(said), -1, dtype=np.int64)
    codes[named] = np.fromiter(map(code_of.__getitem__, given), dtype=np.int64, count=len(given))
    rates = misconception_rates(codes, names, wrong)
    says = {name: m.says for name, m in answers.item.misconceptions.items()}
    return ItemBreakdown(
        key=answers.key, title=title, type=answers.item.type_name, answers=len(answers), graded=int(graded.sum()),
        facility=float(fractions[graded].mean()) if graded.any() else None,
        options=_options(answers), wrong=rates.wrong, unexplained=rates.unexplained,
        misconceptions=[MisconceptionRate(name=name, says=says.get(name), count=int(rates.count[n]),
                                          rate=_num(rates.rate[n])) for n, name in enumerate(names)],
        parameters=_parameters(answers, fractions) if answers.item.is_computed else [],
    )


def item_flags(item: ItemBreakdown) -> list[Flag]:
    """An option nobody chose, and a misconception most wrong answers share."""
    flags = []
    unused = [o.index for o in item.options if o.chosen == 0]
    if unused and item.answers >= MIN_ANSWERS_FOR_ITEM_FLAGS:
        flags.append(Flag(code="unused_option", item=item.key,
                          message=f"{item.key}: option(s) {', '.join(str(i + 1) for i in unused)} (as authored) "
                                  f"chosen by nobody in {item.answers} answers"))
    if item.wrong >= MIN_ANSWERS_FOR_ITEM_FLAGS:
        flags.extend(Flag(code="shared_misconception", item=item.key,
                          message=f"{item.key}: {rate.rate:.0%} of wrong answers show '{rate.name}'")
                     for rate in item.misconceptions if rate.rate is not None and rate.rate > SHARED_MISCONCEPTION)
    return flags
