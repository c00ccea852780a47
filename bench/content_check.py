"""The content checker's cost: the whole bank at the default and at 20,000 variants, one item at
100,000, printed as figures (never asserted in tests).

Run from the repository root:  python bench/content_check.py  [--item ID] [--skip-20000]

Each figure is the wall-clock time of ``assay content check`` as a fresh process would spend it
(the checker's own work, after the imports), with the CPU time beside it (the checking pool's
processes included): on a shared machine the two differ by the load. The bank is timed on one
process and, as ``assay content check`` runs by default, on one process per available core. The
probability that the default finds a coincidence of one variant in 300 is printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# engine package: look the package up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.content.checker import VARIANTS, available_cores, check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
SEED_ITEM = "foundations-of-llms/ch4-alignment/reward-models/ranking-loss-which-pair-is-penalised.yaml"


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (a checking pool's processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, path: Path, variants: int, jobs: int = 1) -> None:
    wall, cpu = time.perf_counter(), _cpu()
    report = check(path, variants, strict=True, jobs=jobs)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"{label}, {jobs} process{'es' if jobs > 1 else ''}: {wall:.2f} s wall, {cpu:.2f} s CPU  "
          f"({len(report.items)} items, {report.variants:,} variants, {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--item", default=SEED_ITEM, help="the item file (under content/) checked at 100,000")
    parser.add_argument("--skip-20000", action="store_true", help="leave out the bank at 20,000 variants")
    options = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    caught = 1 - (299 / 300) ** VARIANTS
    print(f"default: {VARIANTS:,} variants per computed item; a 1-in-300 coincidence is found "
          f"with probability {caught:.2%}")
    check(CONTENT / options.item, 10)  # warm the caches a fresh process also fills (parsers, LaTeX)
    cores = available_cores()
    timed(f"the bank at {VARIANTS:,} variants (--strict)", CONTENT, VARIANTS)
    if cores > 1:  # what `assay content check` does by default: one process per available core
        timed(f"the bank at {VARIANTS:,} variants (--strict)", CONTENT, VARIANTS, jobs=cores)
    if not options.skip_20000:
        timed("the bank at 20,000 variants (--strict)", CONTENT, 20_000, jobs=cores)
    timed(f"{Path(options.item).stem} at 100,000 variants", CONTENT / options.item, 100_000)


if __name__ == "__main__":
    main()
