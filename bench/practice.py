"""Adaptive practice by simulation: questions to mastery, ability RMSE, remediation, choice time.

Simulated students of known ability (N(0, 1)) answer by the 2PL model over a calibrated bank of
six concepts (a prerequisite tree) and 180 items (engine.adaptive.simulation). Every ordering
meets the same students; each run stops when the practice's mastery rule says every concept is
mastered, or at --limit questions. Then the time to choose the next item from 10,000 calibrated
items. Run: python bench/practice.py [--students 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

# Run as a script, this file's folder comes first on sys.path, where bench/engine.py would shadow
# the engine package: look it up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.adaptive import ItemPool, PracticeItem, StudentState, choose_next, replay  # noqa: E402
from engine.adaptive.simulation import Ordering, Population, simulate, simulated_pool  # noqa: E402


def _spread(values: np.ndarray) -> str:
    q1, q3 = np.percentile(values, [25, 75])
    return f"mean {values.mean():6.1f}  sd {values.std(ddof=1):5.1f}  IQR {q1:.0f}-{q3:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    pool = simulated_pool(np.random.default_rng(7))
    print(f"bank: {len(pool)} items, {len(pool.concepts)} concepts, {len(pool.misconceptions)} misconception names")

    print(f"\nquestions until every concept is mastered ({args.students} students, at most {args.limit}):")
    population = Population(students=args.students)
    runs = {}
    for ordering in (Ordering.ADAPTIVE, Ordering.RANDOM_UNMASTERED, Ordering.RANDOM, Ordering.FIXED):
        started = time.perf_counter()
        runs[ordering] = run = simulate(pool, ordering, population, seed=11, limit=args.limit)
        print(f"  {ordering:<26} {_spread(run.questions)}  reached {run.mastered_all.mean():6.1%}  "
              f"({time.perf_counter() - started:.0f} s)")
    print("\nability RMSE (EAP against the true ability):")
    for ordering in (Ordering.ADAPTIVE, Ordering.RANDOM):
        run = runs[ordering]
        print(f"  {ordering:<26} after 10: {run.rmse(10):.3f}   after 20: {run.rmse(20):.3f}")

    print("\nquestions from a misconception's first showing until it is cleared (every student holds one):")
    holding = Population(students=args.students, misconception_rate=1.0)
    for ordering in (Ordering.ADAPTIVE, Ordering.WITHOUT_REMEDIATION):
        run = simulate(pool, ordering, holding, seed=5, limit=150)
        met = run.cleared_after[~np.isnan(run.cleared_after)]
        print(f"  {ordering:<30} {_spread(met)}  median {np.median(met):.0f}  (met it: {met.size})")

    rng = np.random.default_rng(3)
    items = [PracticeItem(f"item-{n}", (f"concept-{n % 30}", f"concept-{(n * 7) % 30}"),
                          frozenset({f"mistake-{n % 50}"}), float(rng.normal()), float(rng.lognormal(0, 0.3)))
             for n in range(10_000)]
    started = time.perf_counter()
    big = ItemPool.build(items, prerequisites={f"concept-{k}": [f"concept-{k // 2}"] for k in range(1, 30)})
    build = time.perf_counter() - started
    state = replay(big, [])
    for n in range(20):
        choice = choose_next(big, state)
        assert choice is not None
        state.record(big, choice.row, float(n % 3 != 0), "mistake-1" if n == 19 else None)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        choose_next(big, state)
        times.append(time.perf_counter() - started)
    fresh = StudentState.new(big)
    started = time.perf_counter()
    choose_next(big, fresh)
    first = time.perf_counter() - started
    ms = np.array(times) * 1000
    print(f"\nnext-item choice among 10,000 calibrated items (30 concepts): median {np.median(ms):.2f} ms, "
          f"p95 {np.percentile(ms, 95):.2f} ms, max {ms.max():.2f} ms (a new student: {first * 1000:.2f} ms; "
          f"building the pool once: {build * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
