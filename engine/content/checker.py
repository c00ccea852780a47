"""The content checker: every file valid, and every variant of every item sound.

For each item it generates :data:`VARIANTS` variants (one for an item whose numbers are fixed)
and checks each: keys and computed values are finite; a single-choice item has exactly one
correct option; a multiple-response item has at least one correct and one incorrect option; no
two options read the same; no numeric distractor falls within the key's tolerance; every
misconception leads to an answer other than the key; an ordering has no tied ranks; the
self-test (a right, a wrong and an invalid response) grades as it should. Across the bank it
checks that tags use declared facets and values, and that concepts and related items exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.content.bank import Bank, load_bank
from engine.content.loader import LoadedItem, item_files, load_items
from engine.content.source import Problem
from engine.expressions import MAX_CHECK_WORK, ExpressionError, work_budget
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.variants import VariantBatch, VariantError, generate_batch, text_problems

__all__ = ["VARIANTS", "CheckReport", "check", "check_item", "variant_problems"]

VARIANTS = 200
"""Variants generated and checked per computed item."""
RENDERED = 200
"""Variants whose option texts are rendered and compared (rendering is the slow part)."""
SELF_TESTED = 20
"""Variants whose self-test is run."""

Path_ = tuple[str | int, ...]


@dataclass
class CheckReport:
    items: list[LoadedItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    variants: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def computed(self) -> int:
        return sum(1 for loaded in self.items if loaded.item.is_computed)

    def summary(self) -> str:
        by_type: dict[str, int] = {}
        for loaded in self.items:
            by_type[loaded.item.type_name] = by_type.get(loaded.item.type_name, 0) + 1
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
        verdict = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"{len(self.items)} items ({self.computed} computed; {kinds}); "
            f"{self.variants} variants checked; {verdict}"
        )


class _Findings:
    """Problems for one item as (path, message), each reported once."""

    def __init__(self) -> None:
        self.problems: list[tuple[Path_, str]] = []

    def add(self, path: Path_, message: str) -> None:
        if (path, message) not in self.problems:
            self.problems.append((path, message))


def _seed_note(batch: VariantBatch, bad: np.ndarray) -> str:
    rows = np.flatnonzero(bad)
    return f" (seed {int(batch.seeds[rows[0]])}, {len(rows)} of {len(batch)} variants)"


def _check_finite(batch: VariantBatch, found: _Findings) -> None:
    item = batch.item
    for name in item.compute:
        value = batch.values[name]
        bad = ~np.isfinite(value).reshape(len(batch), -1).all(axis=1)
        if bad.any():
            found.add(("compute", name), f"{name!r} is not finite{_seed_note(batch, bad)}")
    for name, value in batch.key.items():
        if value.dtype.kind == "f":
            bad = ~np.isfinite(value).reshape(len(batch), -1).all(axis=1)
            if bad.any():
                found.add(_key_path(item, name), f"the key ({name}) is not finite{_seed_note(batch, bad)}")


def _key_path(item: ItemBase, name: str) -> Path_:
    if name.startswith("misconception"):
        return ("misconceptions",)
    if item.type_name in {"numeric", "true_false"}:
        return ("answer",)
    return ("options",)


def _check_choice(batch: VariantBatch, found: _Findings) -> None:
    correct = batch.key["correct"]
    count = correct.sum(axis=1)
    if batch.item.type_name == "single_choice":
        bad = count != 1
        if bad.any():
            found.add(("options",), f"exactly one option must be correct, but {int(count[bad][0])} "
                      f"are{_seed_note(batch, bad)}")
    else:
        bad = (count == 0) | (count == correct.shape[1])
        if bad.any():
            found.add(("options",), "at least one option must be correct and one incorrect"
                      f"{_seed_note(batch, bad)}")
    table = batch.key["misconceptions"]  # (B, M, K)
    for m, name in enumerate(batch.item.misconceptions):
        selects = table[:, m, :]
        if batch.item.type_name == "single_choice":
            bad = ~(selects & ~correct).any(axis=1)
            reason = "selects no incorrect option"
        else:
            bad = (selects == correct).all(axis=1)
            reason = "selects exactly the correct options"
        if bad.any():
            found.add(("misconceptions", name), f"misconception {name!r} {reason}, so it is not a "
                      f"wrong answer{_seed_note(batch, bad)}")


def _check_numeric(batch: VariantBatch, found: _Findings) -> None:
    key = batch.key
    near = np.abs(key["misconception_values"] - key["answer"][:, None]) <= key["width"][:, None]
    for m, name in enumerate(batch.item.misconceptions):
        if near[:, m].any():
            found.add(("misconceptions", name), f"misconception {name!r} falls within the key's "
                      f"tolerance{_seed_note(batch, near[:, m])}")


def _check_true_false(batch: VariantBatch, found: _Findings) -> None:
    same = batch.key["misconception_answers"] == batch.key["answer"][:, None]
    for m, name in enumerate(batch.item.misconceptions):
        if same[:, m].any():
            found.add(("misconceptions", name), f"misconception {name!r} gives the right answer"
                      f"{_seed_note(batch, same[:, m])}")


def _check_ordering(batch: VariantBatch, found: _Findings) -> None:
    ranks = np.sort(batch.key["ranks"], axis=1)
    tied = (np.diff(ranks, axis=1) == 0).any(axis=1)
    if tied.any():
        message = "two options share a rank, so the order is ambiguous"
        found.add(("options",), f"{message}{_seed_note(batch, tied)}")
    same = (batch.key["misconception_sequences"] == batch.key["sequence"][:, None, :]).all(axis=-1)
    for m, name in enumerate(batch.item.misconceptions):
        if same[:, m].any():
            found.add(("misconceptions", name), f"misconception {name!r} gives the right order"
                      f"{_seed_note(batch, same[:, m])}")


def _check_expect(batch: VariantBatch, found: _Findings) -> None:
    """The author's typed key must agree with the computed one in every variant."""
    item, key = batch.item, batch.key
    expect = item.expect
    if expect is None:
        return
    if item.type_name == "numeric":
        assert isinstance(expect, float | int)
        bad = np.abs(key["answer"] - float(expect)) > key["width"]
        computed = f"{float(key['answer'][bad][0]):.6g}" if bad.any() else ""
    elif item.type_name == "true_false":
        bad = key["answer"] != bool(expect)
        computed = str(bool(key["answer"][bad][0])).lower() if bad.any() else ""
    elif item.type_name == "ordering":
        bad = ~(key["sequence"] == np.asarray(expect)).all(axis=1)
        computed = str(key["sequence"][bad][0].tolist()) if bad.any() else ""
    else:
        wanted = np.zeros(key["correct"].shape[1], dtype=bool)
        wanted[list(expect)] = True  # type: ignore[arg-type]
        bad = ~(key["correct"] == wanted).all(axis=1)
        computed = str(np.flatnonzero(key["correct"][bad][0]).tolist()) if bad.any() else ""
    if bad.any():
        found.add(("expect",), f"the declared key {expect!r} disagrees with the computed key "
                  f"{computed}{_seed_note(batch, bad)}")


_TYPE_CHECKS = {
    "single_choice": _check_choice,
    "multiple_response": _check_choice,
    "numeric": _check_numeric,
    "true_false": _check_true_false,
    "ordering": _check_ordering,
}


def _check_rendering(batch: VariantBatch, found: _Findings) -> None:
    item = batch.item
    qtype = qtype_for(item)
    texts = text_problems(batch, RENDERED)  # every text, the solution included
    for path, message in texts:
        found.add(path, message)
    if texts:
        return
    for row in range(min(len(batch), RENDERED)):
        variant = batch[row]
        try:
            shown = qtype.render(item, variant)
        except ExpressionError as exc:
            found.add(("stem",), f"cannot render: {exc}")
            return
        for group in ("options", "answers"):
            texts = [o["text"] for o in shown.get(group, [])]
            if len(set(texts)) != len(texts):
                duplicate = next(t for t in texts if texts.count(t) > 1)
                found.add((group if group in type(item).model_fields else "pairs",),
                          f"two {group} read the same ({duplicate!r}, seed {variant.seed})")
        if row < SELF_TESTED:
            for result in qtype.self_test(item, variant):
                if not result.passed:
                    found.add((), f"self-test: the {result.case.label} response graded "
                              f"{result.outcome}, not {result.case.expect} (seed {variant.seed}: "
                              f"{result.detail})")


def variant_problems(item: ItemBase, variants: int = VARIANTS) -> tuple[list[tuple[Path_, str]], int]:
    """Problems with an item's variants as (path, message), and how many variants were checked.

    The whole check (every variant generated, every text filled in, the self-tests) is one work
    budget, so checking an item is bounded whatever the item asks for."""
    try:
        with work_budget(MAX_CHECK_WORK, "checking the item"):
            return _variant_problems(item, variants)
    except ExpressionError as exc:  # the budget ran out outside an expression that names a field
        return [((), f"cannot check the item: {exc}")], 0


def _variant_problems(item: ItemBase, variants: int) -> tuple[list[tuple[Path_, str]], int]:
    found = _Findings()
    count = variants if item.is_computed else 1
    try:
        batch = generate_batch(item, range(count))
    except VariantError as exc:
        found.add(exc.path, str(exc))
        return found.problems, 0
    except ExpressionError as exc:
        found.add((), f"cannot compute: {exc}")
        return found.problems, 0
    _check_finite(batch, found)
    type_check = _TYPE_CHECKS.get(item.type_name)
    if type_check:
        type_check(batch, found)
    _check_expect(batch, found)
    if not found.problems:
        _check_rendering(batch, found)
    return found.problems, count


def check_item(loaded: LoadedItem, variants: int = VARIANTS) -> tuple[list[Problem], int]:
    """Problems with one loaded item's variants, with file and line, and the variants checked."""
    found, count = variant_problems(loaded.item, variants)
    return [loaded.source.problem(path, message) for path, message in found], count


_ID_LINE = re.compile(r"^id:\s*['\"]?([a-z0-9][a-z0-9._-]*)['\"]?\s*$", re.MULTILINE)


def _bank_ids(bank: Bank) -> set[str]:
    """The ids of every item file in the whole bank (checking one folder may link to another)."""
    if bank.source is None:
        return set()
    root = Path(bank.source.file).parent
    ids = set()
    for path in item_files(root):
        match = _ID_LINE.search(path.read_text(encoding="utf-8", errors="replace"))
        if match:
            ids.add(match.group(1))
    return ids


def _check_references(items: list[LoadedItem], bank: Bank) -> list[Problem]:
    problems: list[Problem] = []
    ids = {loaded.item.id for loaded in items} | _bank_ids(bank)
    for loaded in items:
        item, source = loaded.item, loaded.source
        for facet, values in item.tags:
            for n, value in enumerate(values):
                message = bank.tag_problem(facet, value)
                if message:
                    problems.append(source.problem(("tags", facet, n), message))
        for n, concept in enumerate(item.concepts):
            if concept not in bank.concepts:
                problems.append(source.problem(("concepts", n), f"unknown concept {concept!r}"))
        for n, other in enumerate(item.related):
            if other not in ids:
                problems.append(source.problem(("related", n), f"related item {other!r} is not in the bank"))
            elif other == item.id:
                problems.append(source.problem(("related", n), "an item cannot be related to itself"))
    return problems


def check(path: str | Path, variants: int = VARIANTS) -> CheckReport:
    """Check every item file under ``path`` against the bank's declarations."""
    root = Path(path)
    report = CheckReport()
    if not root.exists():
        report.problems.append(Problem(str(root), 1, "no such file or folder"))
        return report
    bank, problems = load_bank(root)
    report.problems.extend(problems)
    base = root if root.is_dir() else root.parent
    loaded, problems = load_items(item_files(root), base=base.parent if root.is_file() else base)
    report.problems.extend(problems)
    if problems:
        return report
    report.items = loaded
    if bank is not None:
        report.problems.extend(_check_references(loaded, bank))
    for item in loaded:
        found, count = check_item(item, variants)
        report.problems.extend(found)
        report.variants += count
    report.problems.sort()
    if report.problems:
        report.items = [] if problems else report.items
    return report


def checked_items(path: str | Path) -> Iterable[ItemBase]:
    """The items under ``path`` if the whole bank checks; :class:`ContentError` otherwise."""
    from engine.content.loader import ContentError

    report = check(path)
    if not report.ok:
        raise ContentError(report.problems)
    return [loaded.item for loaded in report.items]
