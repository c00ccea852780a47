"""Analytics benchmarks: item and test statistics, and a 2PL calibration beside girth's, printed as figures.

Run from the repository root:  python bench/analytics.py  [--attempts N] [--persons N] [--repeats N]
                                                          [--blas-threads N]

Figures (issue 7): Moodle's item and test statistics for 100,000 attempts by 50 items (target
under 1 s); a 2PL fit by marginal maximum likelihood of 20,000 persons by 50 items, timed beside
girth's ``twopl_mml`` on the same data in the same run when girth is installed (target: Assay at
least as fast, estimates within 0.01 of girth's). Times are the best of ``--repeats`` runs; both
fits see the same responses, simulated from known parameters, and the distance of each from the
true parameters is printed too. Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _blas_threads_from_argv() -> None:
    # BLAS reads its thread count when numpy is first imported, so this must come before it.
    if "--blas-threads" in sys.argv:
        threads = sys.argv[sys.argv.index("--blas-threads") + 1]
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = threads


_blas_threads_from_argv()

import numpy as np  # noqa: E402

# Run as a script, this file's folder comes first on sys.path; look the engine package up from
# the repository root instead (see bench/engine.py, whose name would shadow it).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.psychometrics import fit_2pl, item_statistics, test_statistics  # noqa: E402


def best_of(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeats`` wall-clock timings of ``run`` (seconds), and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def simulate_marks(rng: np.random.Generator, attempts: int, items: int) -> tuple[np.ndarray, np.ndarray]:
    """A quiz's marks: items of 1 to 4 marks, partial credit in quarters, driven by one ability."""
    max_marks = rng.integers(1, 5, size=items).astype(np.float64)
    theta = rng.normal(size=(attempts, 1))
    b, a = rng.normal(size=items), rng.uniform(0.5, 2.0, size=items)
    p = 1 / (1 + np.exp(-a * (theta - b)))
    quarters = rng.binomial(4, p) / 4
    return quarters * max_marks, max_marks


def bench_statistics(rng: np.random.Generator, attempts: int, items: int, repeats: int) -> None:
    marks, max_marks = simulate_marks(rng, attempts, items)

    def both() -> None:
        item_statistics(marks, max_marks)
        test_statistics(marks, max_marks)

    seconds, _ = best_of(repeats, both)
    items_only, _ = best_of(repeats, lambda: item_statistics(marks, max_marks))
    verdict = "meets" if seconds < 1.0 else "MISSES"
    print(f"item + test statistics, {attempts:,} attempts x {items} items: {seconds:.3f} s "
          f"(item statistics alone {items_only:.3f} s; target < 1 s: {verdict})")


def bench_2pl(rng: np.random.Generator, persons: int, items: int, repeats: int) -> None:
    a = rng.uniform(0.5, 2.0, size=items)
    b = rng.normal(0.0, 1.0, size=items)
    theta = rng.normal(size=(persons, 1))
    responses = (rng.random((persons, items)) < 1 / (1 + np.exp(-a * (theta - b)))).astype(np.float64)

    seconds, fit = best_of(repeats, lambda: fit_2pl(responses))
    print(f"2PL by MML, {persons:,} persons x {items} items, Assay fit_2pl: {seconds:.3f} s "
          f"({fit.iterations} iterations, converged {fit.converged}, "
          f"max |gradient| {fit.max_gradient:.1e}, standard errors included)")
    print(f"  Assay vs true parameters: max |db| {np.abs(fit.difficulty - b).max():.4f}, "
          f"max |da| {np.abs(fit.discrimination - a).max():.4f}")
    try:
        from girth import twopl_mml
    except ImportError:
        print("  girth is not installed (pip install girth): no comparison")
        return
    data = responses.T.astype(int)  # girth takes items x persons
    girth_seconds, girth = best_of(repeats, lambda: twopl_mml(data))
    girth_a, girth_b = np.asarray(girth["Discrimination"]), np.asarray(girth["Difficulty"])
    print(f"  girth twopl_mml, same data: {girth_seconds:.3f} s  "
          f"(Assay {girth_seconds / seconds:.1f}x as fast; target >= 1x: "
          f"{'meets' if seconds <= girth_seconds else 'MISSES'})")
    print(f"  girth vs true parameters: max |db| {np.abs(girth_b - b).max():.4f}, "
          f"max |da| {np.abs(girth_a - a).max():.4f}")
    db, da = np.abs(fit.difficulty - girth_b).max(), np.abs(fit.discrimination - girth_a).max()
    verdict = "meets" if max(db, da) <= 0.01 else "MISSES"
    print(f"  Assay vs girth: max |db| {db:.4f}, max |da| {da:.4f} (target <= 0.01: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--irt-items", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads for numpy (and girth); default: the BLAS library's own")
    args = parser.parse_args()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
          f"Python {platform.python_version()}, numpy {np.__version__}, BLAS threads {threads}")
    rng = np.random.default_rng(args.seed)
    bench_statistics(rng, args.attempts, args.items, args.repeats)
    bench_2pl(rng, args.persons, args.irt_items, args.repeats)


if __name__ == "__main__":
    main()
