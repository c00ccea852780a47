"""The content checker's cost: the whole bank at the default and at 20,000 variants, one item at
100,000, printed as figures (never asserted in tests).

Run from the repository root:  python bench/content_check.py  [--item ID] [--skip-20000]

Each figure is the wall-clock time of ``assay content check`` as a fresh process would spend it
(the checker's own work, in this process, after the imports), with the CPU time beside it: on a
shared machine the two differ by the load. The probability that the default finds a coincidence
of one variant in 300 is printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# engine package: look the package up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.content.checker import VARIANTS, check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
SEED_ITEM = "foundations-of-llms/ch4-alignment/reward-models/ranking-loss-which-pair-is-penalised.yaml"


def timed(label: str, path: Path, variants: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    report = check(path, variants, strict=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU  "
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
    timed(f"the bank at {VARIANTS:,} variants (--strict)", CONTENT, VARIANTS)
    if not options.skip_20000:
        timed("the bank at 20,000 variants (--strict)", CONTENT, 20_000)
    timed(f"{Path(options.item).stem} at 100,000 variants", CONTENT / options.item, 100_000)


if __name__ == "__main__":
    main()
