"""The content checker: every file valid, and every variant of every item sound.

``assay content check`` runs :func:`check`. For each item it runs, first, the checks that need
no variant (:mod:`engine.content.structure`: ranks, texts that swallowed a field, LaTeX, units,
the precision a numeric answer is typed to, misconception feedback); then it generates
:data:`VARIANTS` variants of every computed item (one of an item whose numbers are fixed), in
chunks that keep every value within the expression language's bounds, and runs every variant
check on every one of them (:mod:`engine.content.variant_checks`). Across the bank it checks
that tags use declared facets and values (every required facet present), concepts and related
items exist, file names are ids, and ids and titles are unique.

A problem is reported once, at the line of the field at fault, with the number of variants it
holds in and its first seeds. Warnings (a guessable key, a Bloom level the item does not ask
for) fail the check only with ``strict``; the shipped bank passes ``--strict``.

With :data:`VARIANTS` = 2,000, a coincidence that happens in one variant in 300 is found with
probability 1 − (299/300)^2000 ≈ 99.87%.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from engine.content.bank import BANK_FILE, Bank, load_bank
from engine.content.findings import ERROR, Findings, Path_
from engine.content.loader import LoadedItem, added_order, did_you_mean, item_files, load_items
from engine.content.source import Problem
from engine.content.structure import static_checks
from engine.content.variant_checks import VariantChecker
from engine.expressions import MAX_ARRAY_SIZE, MAX_CHECK_WORK, ExpressionError, work_budget
from engine.items import ItemBase
from engine.variants import VariantBatch, VariantError, generate_batch

__all__ = ["CHUNK", "VARIANTS", "CheckReport", "check", "check_item", "item_findings", "variant_problems"]

VARIANTS = 2000
"""Variants generated and checked per computed item (``--variants``). A coincidence of one
variant in 300 is missed with probability (299/300)^2000 ≈ 0.13%."""
CHUNK = 2000
"""Most variants generated and checked at once; more are checked chunk by chunk."""
CHECK_WORK_PER_VARIANT = 1_000_000
"""The work units a check may spend per variant: about five times what the shipped bank's
heaviest item spends (2.1e5, measured over 2,000 variants), so that a save's check of a hostile
item (2,000 variants: :data:`~engine.expressions.MAX_CHECK_WORK`) stops within a second or two."""
_TOO_LARGE = "a value would hold"
"""What the expression language says when a value passes its bound (engine.expressions)."""
_VALUE_HEADROOM = 8
"""Per-variant sizes times this must stay within the expression language's bound on one value
(intermediate values inside an expression may be larger than the values kept)."""


@dataclass
class CheckReport:
    items: list[LoadedItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Errors (and, with ``strict``, warnings too)."""
    warnings: list[Problem] = field(default_factory=list)
    variants: int = 0
    strict: bool = False

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
        errors = sum(1 for p in self.problems if not p.is_warning)
        warnings = len(self.warnings)
        verdict = "ok" if self.ok else f"{errors + (warnings if self.strict else 0)} problem(s)"
        if warnings:
            verdict += f"; {warnings} warning(s){' (errors under --strict)' if self.strict else ''}"
        return (
            f"{len(self.items)} items ({self.computed} computed; {kinds}); "
            f"{self.variants} variants checked; {verdict}"
        )


# --------------------------------------------------------------------------------------------
# One item


def _chunk_size(item: ItemBase) -> int:
    """Variants per batch: as many as keep the item's vectors (its widest parameter, one value
    per option) well within the value bound; a batch that still trips it is halved."""
    options = getattr(item, "options", None)
    widest = max([math.prod(spec.shape) for spec in item.params.values()]
                 + [len(options.expand()) if options is not None else 1, 1])
    return max(1, min(CHUNK, MAX_ARRAY_SIZE // (_VALUE_HEADROOM * widest)))


def _batches(item: ItemBase, count: int, found: Findings) -> Iterator[VariantBatch]:
    """Batches of seeds 0 .. count-1; a batch that trips the value bound is halved and retried."""
    size = _chunk_size(item)
    start = 0
    while start < count:
        stop = min(count, start + size)
        try:
            batch = generate_batch(item, range(start, stop))
        except (VariantError, ExpressionError) as exc:
            if _TOO_LARGE in str(exc) and size > 1:  # the bound is on a whole batch: halve it
                size = max(1, size // 2)
                continue
            if isinstance(exc, VariantError):
                found.add(exc.path, str(exc))
            else:
                found.add((), f"cannot compute: {exc}")
            return
        yield batch
        start = stop


def item_findings(item: ItemBase, variants: int = VARIANTS) -> tuple[Findings, int]:
    """Everything wrong with ``item``, and the number of variants checked.

    The whole check (every variant generated, every text filled in, the self-tests) is one work
    budget of :data:`CHECK_WORK_PER_VARIANT` per variant (at least
    :data:`~engine.expressions.MAX_CHECK_WORK`), so that checking an item is bounded whatever
    the item asks for."""
    found = Findings()
    static_checks(item, found)
    count = variants if item.is_computed else 1
    checker = VariantChecker(item, found)
    try:
        with work_budget(check_budget(count), "checking the item"):
            for batch in _batches(item, count, found):
                checker.check(batch)
            checker.finish()
    except ExpressionError as exc:  # the budget ran out outside an expression that names a field
        found.add((), f"cannot check the item: {exc}")
    return found, checker.total


def check_budget(variants: int) -> int:
    """The work a check of ``variants`` variants may do."""
    return max(MAX_CHECK_WORK, CHECK_WORK_PER_VARIANT * variants)


def variant_problems(item: ItemBase, variants: int = VARIANTS) -> tuple[list[tuple[Path_, str]], int]:
    """Errors with an item as (path, message), and how many variants were checked.

    The service's save and import paths call this: the same checks as ``assay content check``,
    without the bank's declarations and the warnings (a save is refused only for errors)."""
    found, count = item_findings(item, variants)
    return [(f.path, f.text(count)) for f in found if f.severity == ERROR], count


def check_item(loaded: LoadedItem, variants: int = VARIANTS) -> tuple[list[Problem], int]:
    """Problems with one loaded item (warnings marked as such), with file and line."""
    found, count = item_findings(loaded.item, variants)
    problems = [loaded.source.problem(f.path, f.text(count), needle=f.needle, severity=f.severity)
                for f in found]
    return problems, count


# --------------------------------------------------------------------------------------------
# The bank

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


def _tag_problems(loaded: LoadedItem, bank: Bank) -> list[Problem]:
    item, source = loaded.item, loaded.source
    problems = [source.problem(("tags", facet, n), message)
                for facet, values in item.tags
                for n, value in enumerate(values)
                if (message := bank.tag_problem(facet, value))]
    problems += [source.problem(("tags",), bank.missing_facet(facet))
                 for facet in bank.required if not item.tags.values(facet)]
    return problems


def _link_problems(loaded: LoadedItem, bank: Bank, ids: set[str]) -> list[Problem]:
    item, source = loaded.item, loaded.source
    problems = [source.problem(("concepts", n), f"unknown concept {concept!r}{did_you_mean(concept, bank.concepts)}")
                for n, concept in enumerate(item.concepts) if concept not in bank.concepts]
    for n, other in enumerate(item.related):
        if other not in ids:
            problems.append(source.problem(("related", n), f"related item {other!r} is not in the bank"
                                           f"{did_you_mean(other, ids)}"))
        elif other == item.id:
            problems.append(source.problem(("related", n), "an item cannot be related to itself"))
    return problems


def _shared_misconception_problems(items: list[LoadedItem], bank: Bank) -> list[Problem]:
    """A misconception name two items use must be declared in the bank: then it is one mistake
    (a practice follows a student's mistake from one item to the next by its name), not two that
    happen to share a name. A warning: an author may not have meant to share it."""
    users: dict[str, list[LoadedItem]] = {}
    for loaded in items:
        for name in loaded.item.misconceptions:
            users.setdefault(name, []).append(loaded)
    return [loaded.source.problem(
        ("misconceptions", name),
        f"misconception {name!r} is also in {', '.join(o.item.id for o in others if o is not loaded)}: declare it "
        f"under misconceptions in {BANK_FILE} if it is the same mistake, or rename one",
        severity="warning")
        for name, others in users.items() if len(others) > 1 and name not in bank.misconceptions
        for loaded in others]


def _check_references(items: list[LoadedItem], bank: Bank) -> list[Problem]:
    ids = {loaded.item.id for loaded in items} | _bank_ids(bank)
    return [*(p for loaded in items for p in (*_tag_problems(loaded, bank), *_link_problems(loaded, bank, ids))),
            *_shared_misconception_problems(items, bank)]


def _check_files(items: list[LoadedItem], paths: dict[str, Path]) -> list[Problem]:
    """File names are ids (content/README.md), and no two items share a title."""
    problems: list[Problem] = []
    for loaded in items:
        stem = Path(loaded.source.file).stem
        if stem != loaded.item.id:
            problems.append(loaded.source.problem(
                ("id",), f"the file name must be the item's id: rename {Path(loaded.source.file).name} "
                f"to {loaded.item.id}.yaml, or make the id {stem!r}"))
    titles: dict[str, str] = {}
    ordered = sorted(items, key=lambda e: added_order(paths.get(e.source.file, Path(e.source.file)), e.item.id))
    for loaded in ordered:
        title = " ".join(loaded.item.title.split()).casefold()
        if title in titles:
            problems.append(loaded.source.problem(("title",), f"the title {loaded.item.title!r} is also "
                                                  f"the title of {titles[title]}: give each item its own"))
        else:
            titles[title] = loaded.source.file
    return problems


def available_cores() -> int:
    """The cores this process may run on (a container's share, where the platform says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_FORKED: list[LoadedItem] = []
"""The items a checking pool's processes share: each forked process reads them from here, so that
only an item's index goes to it and only its problems come back (no item is pickled)."""


def _check_nth(index: int, variants: int) -> tuple[list[Problem], int]:
    return check_item(_FORKED[index], variants)


def _check_items(items: list[LoadedItem], variants: int, jobs: int) -> list[tuple[list[Problem], int]]:
    """Each item's problems and variant count, in the items' order; on ``jobs`` processes where
    the platform forks (each item is checked apart from the others, so the results are the same)."""
    if jobs <= 1 or len(items) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [check_item(item, variants) for item in items]
    _FORKED[:] = items
    try:
        with ProcessPoolExecutor(min(jobs, len(items)), mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_check_nth, range(len(items)), [variants] * len(items)))
    finally:
        _FORKED.clear()


def check(path: str | Path, variants: int = VARIANTS, *, strict: bool = False,
          bank_file: str | Path | None = None, jobs: int = 1) -> CheckReport:
    """Check every item file under ``path`` against the bank's declarations.

    The declarations are ``bank_file``, or the nearest ``bank.yaml`` in ``path`` or a folder
    above it. With ``strict``, warnings are problems too. ``jobs`` processes check items side by
    side (the report is the same for any number)."""
    root = Path(path)
    report = CheckReport(strict=strict)
    if not root.exists():
        report.problems.append(Problem(str(root), 1, "no such file or folder"))
        return report
    bank, problems = load_bank(Path(bank_file) if bank_file else root, explicit=bank_file is not None)
    report.problems.extend(problems)
    base = root if root.is_dir() else root.parent
    files = item_files(root)
    display_base = base.parent if root.is_file() else base
    loaded, problems = load_items(files, base=display_base)
    report.problems.extend(problems)
    if problems:
        return report
    report.items = loaded
    paths = {str(p.relative_to(display_base)) if p.is_relative_to(display_base) else str(p): p for p in files}
    found: list[Problem] = _check_files(loaded, paths)
    if bank is not None:
        found.extend(_check_references(loaded, bank))
    for item_problems, count in _check_items(loaded, variants, jobs):
        found.extend(item_problems)
        report.variants += count
    report.warnings = sorted(p for p in found if p.is_warning)
    report.problems.extend(p for p in found if not p.is_warning or strict)
    report.problems.sort()
    return report


def checked_items(path: str | Path) -> Iterable[ItemBase]:
    """The items under ``path`` if the whole bank checks; :class:`ContentError` otherwise."""
    from engine.content.loader import ContentError

    report = check(path)
    if not report.ok:
        raise ContentError(report.problems)
    return [loaded.item for loaded in report.items]

