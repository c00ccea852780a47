"""Start cost: the engine's CPU per student for the load benchmark's 16-question quiz, by phase.

Run from the repository root:

    python bench/start_cost.py                   # 200 students, 5 rounds, medians
    python bench/start_cost.py --profile         # and where the time goes (cProfile)

What the service does for one student, without the database and the web (``assessments/attempts``):
a new attempt **generates** a variant per slot (cache-cold: every student has fresh 56-bit seeds,
as ``slot_seed`` makes them), **renders** it (``QuestionType.render``) and **starts** the question
attempt (its first step as JSON). Each later request rebuilds the question attempt from its stored
steps (``QuestionAttempt.from_json``; the variant itself is cached by then): a **save** with a
plausible response per question, then at submit a **finish**, which grades. Every phase is timed
over the 16 questions; a round is N students; the figures are the medians over rounds in
milliseconds per student.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and bench/engine.py would shadow the
# engine package: look packages up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402

from assessments.attempts.service import slot_seed  # noqa: E402
from bench.loadkit import pick_items, plausible  # noqa: E402
from engine.attempts import Action, QuestionAttempt  # noqa: E402
from engine.behaviours import behaviour_for  # noqa: E402
from engine.qtypes import qtype_for  # noqa: E402
from engine.variants import generate  # noqa: E402

PHASES = ("generate", "render", "start", "save", "finish")
AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def behaviour_name(item: Any) -> str:
    """Deferred feedback, as the load benchmark's quiz; an essay is graded by a person."""
    return "manualgraded" if item.type_name == "essay" else "deferredfeedback"


def stored(data: dict[str, Any]) -> dict[str, Any]:
    """JSON as the database gives it back."""
    return json.loads(json.dumps(data))


def student(items: list[Any], rng: random.Random, times: dict[str, float]) -> list[Any]:
    """One student's attempt, each phase's seconds added to ``times``; returns the rows the
    service would write (variants and steps as JSON)."""
    attempt_seed = rng.getrandbits(62)
    clock = time.perf_counter
    written: list[Any] = []

    began = clock()
    variants = [generate(item, slot_seed(attempt_seed, slot)) for slot, item in enumerate(items, 1)]
    times["generate"] += clock() - began

    began = clock()
    shown = [qtype_for(v.item).render(v.item, v) for v in variants]
    times["render"] += clock() - began

    began = clock()
    attempts = []
    for variant in variants:
        qa = QuestionAttempt.start(variant, behaviour_for(behaviour_name(variant.item)), actor="1", at=AT)
        written.append(variant.to_json())
        written.extend(step.to_json() for step in qa.steps)
        attempts.append(qa)
    times["start"] += clock() - began

    # A save per question, then a finish per question, each from the attempt as stored.
    actions = [(Action.SAVE, plausible(question, rng)) for question in shown]
    for phase in ("save", "finish"):
        stored_rows = [stored(qa.to_json()) for qa in attempts]
        began = clock()
        attempts = []
        for variant, row, (action, response) in zip(variants, stored_rows, actions, strict=True):
            qa = QuestionAttempt.from_json(row, variant)
            qa.process(action, response, actor="1", at=AT)
            written.extend(step.to_json() for step in qa.steps[len(row["steps"]):])
            attempts.append(qa)
        times[phase] += clock() - began
        actions = [(Action.FINISH, None)] * len(variants)
    return written


def round_of(items: list[Any], students: int, rng: random.Random) -> dict[str, float]:
    """Milliseconds per student, per phase, over ``students`` students."""
    times = dict.fromkeys(PHASES, 0.0)
    for _ in range(students):
        student(items, rng, times)
    return {phase: seconds * 1000 / students for phase, seconds in times.items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
            f"{platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200, help="students per round (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; figures are medians (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="seed the students' seeds (default: random)")
    parser.add_argument("--profile", action="store_true", help="also profile one round with cProfile")
    parser.add_argument("--top", type=int, default=35, help="profile lines to print (default 35)")
    args = parser.parse_args()

    entries = pick_items()
    items = [entry.item for entry in entries]
    rng = random.Random(args.seed)
    print(f"machine: {machine()}")
    print(f"items: {len(items)} ({', '.join(sorted({i.type_name for i in items}))}); "
          f"{args.students} students x {args.rounds} rounds")
    round_of(items, 10, rng)  # warm up: imports, compiled expressions and templates

    rounds = [round_of(items, args.students, rng) for _ in range(args.rounds)]
    print(f"{'phase':<10}{'median ms/student':>19}{'min':>9}{'max':>9}")
    for phase in PHASES:
        values = [r[phase] for r in rounds]
        print(f"{phase:<10}{statistics.median(values):>19.2f}{min(values):>9.2f}{max(values):>9.2f}")
    totals = [sum(r.values()) for r in rounds]
    print(f"{'total':<10}{statistics.median(totals):>19.2f}{min(totals):>9.2f}{max(totals):>9.2f}")
    start = [r["generate"] + r["render"] + r["start"] for r in rounds]
    print(f"starting an attempt (generate + render + start): {statistics.median(start):.2f} ms per student, "
          f"{statistics.median(start) / len(items):.3f} ms per question")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        round_of(items, args.students, rng)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
