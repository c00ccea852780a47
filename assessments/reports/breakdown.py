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
    """Every answer to one item, column by column."""

    key: str
    item: ItemBase
    fraction: list[float | None] = field(default_factory=list)
    """None: not graded (awaiting a grader)."""
    misconception: list[str | None] = field(default_factory=list)
    chosen: list[list[int]] = field(default_factory=list)
    """Authored option indices chosen (choice items)."""
    options: list[int] = field(default_factory=list)
    """How many options the answer's variant showed."""
    seeds: list[int] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)

    def add(self, fraction: float | None, misconception: str | None, chosen: list[int], options: int,
            seed: int, params: dict[str, Any]) -> None:
        self.fraction.append(fraction)
        self.misconception.append(misconception)
        self.chosen.append(chosen)
        self.options.append(options)
        self.seeds.append(seed)
        self.params.append(params)

    def __len__(self) -> int:
        return len(self.fraction)


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
    count = max(max(answers.options, default=0), len(expanded))
    chosen = np.zeros(count, dtype=int)
    for indices in answers.chosen:
        for index in indices:
            chosen[index] += 1
    keys = _option_keys(answers, count)
    total = len(answers)
    return [OptionCount(index=n, text=expanded[n][0].text if n < len(expanded) else f"option {n + 1}",
                        chosen=int(chosen[n]), share=chosen[n] / total if total else None, key=keys[n])
            for n in range(count)]


def _parameters(answers: Answers, fractions: np.ndarray) -> list[ParameterFacility]:
    """Quartile bins of each drawn parameter (the mean, for one drawn as several numbers)."""
    out = []
    for name, spec in answers.item.params.items():
        if not spec.is_random:
            continue
        values = np.array([_scalar(p.get(name)) for p in answers.params], dtype=float)
        finite = values[np.isfinite(values) & np.isfinite(fractions)]
        if finite.size < 2:
            continue
        edges = np.unique(np.quantile(finite, QUARTILES))
        if edges.size < 2:
            continue
        by = facility_by_range(fractions, values, bins=edges)
        several = any(isinstance(p.get(name), list) for p in answers.params)
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
    fractions = np.array([np.nan if f is None else f for f in answers.fraction], dtype=float)
    graded = np.isfinite(fractions)
    wrong = graded & (fractions < 1)
    declared = _declared_misconceptions(answers.item)
    names = declared + sorted({m for m in answers.misconception if m} - set(declared))
    codes = np.array([names.index(m) if m else -1 for m in answers.misconception], dtype=np.int64)
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
