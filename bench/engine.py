"""Engine benchmarks: variant generation and vectorised grading, printed as figures.

Run from the repository root:  python bench/engine.py  [--responses N] [--loop N]

Figures (issue "Engine"): variants generated per second for the seed item (target >= 20,000);
responses graded per second by the vectorised grader on 1,000,000 responses (target >= 2,000,000)
and its ratio to grading the same responses one by one (target >= 20x). The one-by-one loop runs
on the first --loop responses (default: all of them) and its rate is what is compared.
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

import numpy as np

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# engine package: look the package up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.content.loader import item_files, load_items  # noqa: E402
from engine.grading import grade_arrays  # noqa: E402
from engine.qtypes import Responses, qtype_for  # noqa: E402
from engine.variants import generate, generate_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED_ITEM = "ranking-loss-which-pair-is-penalised"


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``run`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def seed_item() -> Any:
    loaded, problems = load_items(item_files(ROOT / "content"), base=ROOT / "content")
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    return next(entry.item for entry in loaded if entry.item.id == SEED_ITEM)


def bench_variants(item: Any) -> None:
    chunk = 10_000
    seeds = np.arange(chunk)
    seconds = best_of(3, lambda: generate_batch(item, seeds))
    print(f"variants/s, seed item, batches of {chunk:,}: {chunk / seconds:,.0f}")
    single = 2_000
    seconds = best_of(3, lambda: [generate(item, s) for s in range(single)])
    print(f"variants/s, seed item, one generate() call each: {single / seconds:,.0f}")


def random_selections(batch: Any, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    count = batch.order.shape[1]
    selected = rng.random((len(rows), count)) < 0.5
    empty = ~selected.any(axis=1)
    selected[empty, rng.integers(count, size=int(empty.sum()))] = True
    return selected


def bench_grading(item: Any, responses: int, loop: int) -> None:
    rng = np.random.default_rng(7)
    batch = generate_batch(item, np.arange(10_000))
    rows = rng.integers(0, len(batch), size=responses)
    selected = random_selections(batch, rows, rng)
    arrays = Responses({"selected": selected}, rows)

    seconds = best_of(3, lambda: grade_arrays(batch, arrays))
    vector_rate = responses / seconds
    print(f"responses graded/s, vectorised, {responses:,} responses over {len(batch):,} variants: "
          f"{vector_rate:,.0f}  ({seconds:.3f} s)")

    qtype = qtype_for(item)
    variants = [batch[r] for r in range(len(batch))]  # a service holds these already
    parsed = [tuple(int(p) for p in np.flatnonzero(row)) for row in selected[:loop]]
    result = grade_arrays(batch, arrays)

    def one_by_one() -> None:
        for n in range(loop):
            grade = qtype.grade(item, variants[rows[n]], parsed[n])
            assert grade.fraction == result.fraction[n]

    seconds = best_of(1, one_by_one)
    loop_rate = loop / seconds
    print(f"responses graded/s, one by one (QuestionType.grade), {loop:,} of the same responses: "
          f"{loop_rate:,.0f}  ({seconds:.1f} s)")
    print(f"vectorised / one by one: {vector_rate / loop_rate:,.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--loop", type=int, default=None,
                        help="responses graded one by one (default: all)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    item = seed_item()
    bench_variants(item)
    bench_grading(item, args.responses, min(args.loop or args.responses, args.responses))


if __name__ == "__main__":
    main()
