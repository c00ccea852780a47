"""The engine's share of a regrade at a million question attempts: variants remade, final responses graded.

Run from the repository root:

    python bench/regrade_engine.py                          # 1,000,000 question attempts
    python bench/regrade_engine.py --questions 200000       # fewer
    python bench/regrade_engine.py --profile                # where the time goes (cProfile)

A regrade (:mod:`assessments.grading.regrade`) remakes each stale question attempt's variant of
the version its quiz now pins with :func:`engine.variants.generate_batch`, one call per version
and all its students' seeds, and grades each deferred-feedback question's final response with
the vectorised grader (:func:`engine.grading.grade_responses`), blank ones set aside (they give
up). This does the same, without a database, for N question attempts spread evenly over the 15
automatically graded items of the load benchmark's quiz (content/: numeric, single and multiple
choice, matching, ordering, true/false, short text; the essay is graded by a person): each
student's seed made as a start makes it (``slot_seed``), and a final response that is the key
of the student's own variant (60%), the key of another student's variant (a plausible wrong
answer, 38%) or blank (2%). It prints variants/s, grades/s and the total against the target of
1,000,000 question attempts in under 10 s of engine time, with the machine and load average.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from assessments.attempts.service import slot_seed  # noqa: E402
from bench.loadkit import pick_items  # noqa: E402
from bench.start_cost import machine  # noqa: E402
from engine.grading import grade_responses  # noqa: E402
from engine.items import ItemBase  # noqa: E402
from engine.qtypes import qtype_for  # noqa: E402
from engine.variants import generate_batch  # noqa: E402

TARGET_SECONDS = 10.0
RIGHT, BLANK = 0.60, 0.02
"""Shares of final responses that are the student's own key, and blank (the rest: another's key)."""
POOL = 2_000
"""Students whose keys serve as the other students' wrong answers."""


@dataclass
class Work:
    """One item's question attempts: its students' seeds and final responses."""

    item: ItemBase
    seeds: list[int]
    responses: list[dict[str, Any]]


@dataclass
class Timing:
    """Seconds of wall clock and of this process's CPU (on a shared machine, the CPU time says
    what the engine costs, whatever else the cores were doing)."""

    variants: float = 0.0
    grades: float = 0.0
    variants_cpu: float = 0.0
    grades_cpu: float = 0.0
    graded: int = 0
    right: int = 0

    @property
    def total(self) -> float:
        return self.variants + self.grades

    @property
    def cpu(self) -> float:
        return self.variants_cpu + self.grades_cpu


def auto_graded_items() -> list[ItemBase]:
    return [entry.item for entry in pick_items() if entry.item.type_name != "essay"]


def build(items: list[ItemBase], questions: int) -> list[Work]:
    """Each item's share of the question attempts, with seeds and final responses (not timed)."""
    rng = random.Random(7)
    work = []
    for slot, item in enumerate(items, start=1):
        count = questions // len(items) + (1 if slot <= questions % len(items) else 0)
        seeds = [slot_seed(1_000_003 * student + 17, slot) for student in range(count)]
        qtype = qtype_for(item)
        batch = generate_batch(item, seeds)
        pool = [dict(qtype.correct_response(item, batch[n])) for n in range(min(POOL, count))]
        responses: list[dict[str, Any]] = []
        for n in range(count):
            draw = rng.random()
            if draw < BLANK:
                responses.append({})
            elif draw < BLANK + RIGHT:
                responses.append(pool[n] if n < len(pool) else dict(qtype.correct_response(item, batch[n])))
            else:
                responses.append(pool[rng.randrange(len(pool))])
        work.append(Work(item, seeds, responses))
    return work


def regrade_engine(work: list[Work]) -> Timing:
    """What a regrade asks of the engine, item by item: the variants, then the final responses graded."""
    timing = Timing()
    for one in work:
        began, began_cpu = time.perf_counter(), time.process_time()
        batch = generate_batch(one.item, one.seeds)
        made, made_cpu = time.perf_counter(), time.process_time()
        qtype = qtype_for(one.item)
        rows = [n for n, response in enumerate(one.responses) if not qtype.is_blank(response)]
        graded = grade_responses(batch, [one.responses[n] for n in rows], np.array(rows))
        timing.variants += made - began
        timing.grades += time.perf_counter() - made
        timing.variants_cpu += made_cpu - began_cpu
        timing.grades_cpu += time.process_time() - made_cpu
        timing.graded += len(rows)
        timing.right += int(np.sum(graded.fraction == 1.0))
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds (the best is printed)")
    parser.add_argument("--profile", action="store_true", help="where the time goes (cProfile, one round)")
    args = parser.parse_args()
    items = auto_graded_items()
    began = time.perf_counter()
    work = build(items, args.questions)
    built = time.perf_counter() - began
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(regrade_engine, work)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    timings = [regrade_engine(work) for _ in range(args.rounds)]
    best = min(timings, key=lambda t: t.cpu)
    scale = 1_000_000 / args.questions
    load = os.getloadavg()
    print(f"the engine's share of a regrade: {args.questions:,} question attempts over {len(items)} items "
          f"({', '.join(sorted({i.type_name for i in items}))}); built in {built:.1f} s")
    print(f"  variants: {args.questions / best.variants_cpu:,.0f}/s of CPU ({best.variants_cpu:.2f} s CPU, "
          f"{best.variants:.2f} s wall)")
    print(f"  grades:   {best.graded / best.grades_cpu:,.0f}/s of CPU ({best.grades_cpu:.2f} s CPU, "
          f"{best.grades:.2f} s wall; {best.graded:,} non-blank responses, "
          f"{best.right / max(best.graded, 1):.0%} right)")
    print(f"  total:    {best.cpu:.2f} s of CPU, {best.total:.2f} s wall (rounds: "
          f"{', '.join(f'{t.cpu:.2f}' for t in timings)} s CPU); per 1,000,000: {best.cpu * scale:.2f} s, "
          f"target < {TARGET_SECONDS:.0f} s: {'met' if best.cpu * scale < TARGET_SECONDS else 'NOT met'}")
    print(f"  machine: {machine()}")
    print(f"  load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
