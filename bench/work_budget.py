"""The work budget: how long the worst allowed item takes to check, and how far the bank is from it.

Run from the repository root:  python bench/work_budget.py  [--bank-only | --bombs-only]

Each "bomb" is an item that spends its whole budget in one way (many small operations redrawn
1,000 times, library calls, big vectors, sorts, a long GAE, a stem of 1,600 fields, ...). The
content checker's ``variant_problems`` checks it as a save does (200 variants, every text filled
in), in a process of its own; the figures are its wall-clock time and the process's peak memory.
Then every shipped item is checked the same way and its work units counted: the heaviest shows
the budget's headroom. Not part of the tests (times depend on the machine and its load).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path; look the engine package up from
# the repository root instead (bench/engine.py would shadow it).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.content.checker import variant_problems  # noqa: E402
from engine.content.loader import item_files, load_items  # noqa: E402
from engine.expressions import MAX_CHECK_WORK, MAX_WORK, work_budget  # noqa: E402
from engine.items import parse_item  # noqa: E402
from engine.variants import generate, generate_batch  # noqa: E402


def _item(compute: dict[str, str] | None = None, stem: str = "x is {{ x }}", *,
          redrawn: bool = False) -> dict[str, Any]:
    return {"id": "bomb", "type": "numeric", "title": "bomb", "stem": stem, "params": {"x": {"uniform": [0, 1]}},
            "compute": compute or {}, "constraints": ["x > 2"] if redrawn else [], "answer": "x"}


def _each(term: str, times: int, *, wrap: str = "{}", values: int = 32) -> dict[str, str]:
    """``values`` computed values (32 at most), each ``times`` terms summed."""
    return {f"c{n}": wrap.format(" + ".join([term] * times)) for n in range(values)}


NEAR_BUDGET = _item(_each("exp(arange(100000) / 1e5)", 20, wrap="sum({})", values=10))
"""Accepted, with values that cost the same for one variant as for 200 (no parameter in them):
what an attempt start can cost at most."""


BOMBS: dict[str, dict[str, Any]] = {
    "small operations, redrawn 1,000 times": _item(_each("x * 2", 50), redrawn=True),
    "library calls on one number, redrawn": _item(_each("ranking_loss(x, 1)", 40), redrawn=True),
    "additions of vectors of 100,000": _item(_each("arange(100000)", 40, wrap="sum({})")),
    "exp of vectors of 100,000": _item(_each("exp(arange(100000) / 1e5)", 30, wrap="sum({})")),
    "medians of vectors of 100,000": _item(_each("median(arange(100000))", 40)),
    "library calls on vectors of 100,000": _item(_each("sum(value_clip_loss(arange(100000), 1, 2))", 20)),
    "kwise_ranking_loss of 64, redrawn": _item(_each("kwise_ranking_loss(arange(64))", 40), redrawn=True),
    "gae over 1,000 steps": _item(_each("sum(gae(arange(1000), arange(1000)))", 20)),
    "softmax with a temperature per row": _item(_each("sum(softmax(arange(300), arange(1, 301)))", 20)),
    "a stem of 1,600 fields": _item(stem=" ".join(["{{x}}"] * 1600)),
}


def _check(definition: dict[str, Any]) -> dict[str, Any]:
    item = parse_item(definition)
    start = time.perf_counter()
    problems, _ = variant_problems(item)
    checked = time.perf_counter()
    one = None
    if not problems:
        generate(item, 12345)
        one = time.perf_counter() - checked
    return {"seconds": checked - start, "problem": problems[0][1] if problems else "", "one_variant": one,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def bombs() -> None:
    baseline = json.loads(subprocess.run([sys.executable, __file__, "--baseline"],  # noqa: S603 - this file
                                         capture_output=True, text=True, check=True).stdout)["peak_mb"]
    print(f"worst allowed items (values: {MAX_WORK:,} units; a check: {MAX_CHECK_WORK:,}), checked as a save "
          f"checks them; a process that only imports the engine peaks at {baseline:.0f} MB:")
    for name, definition in [*BOMBS.items(), ("accepted, just within the budget", NEAR_BUDGET)]:
        run = subprocess.run([sys.executable, __file__, "--one", json.dumps(definition)],  # noqa: S603 - this file
                             capture_output=True, text=True, check=True)
        result = json.loads(run.stdout)
        verdict = "refused" if "too much computation" in result["problem"] else result["problem"][:60]
        if result["one_variant"] is not None:
            verdict = f"accepted; one student's variant {result['one_variant']:.2f} s"
        print(f"  {name:40s} {result['seconds']:6.2f} s  peak {result['peak_mb']:4.0f} MB  {verdict}")


def bank() -> None:
    loaded, problems = load_items(item_files(_HERE.parent / "content"), base=_HERE.parent / "content")
    assert not problems, problems
    checks, batches, singles = [], [], []
    for entry in loaded:
        item = entry.item
        with work_budget(limit=10**15) as budget:
            variant_problems(item)
        checks.append((budget.used, item.id))
        with work_budget(limit=10**15) as budget:
            generate_batch(item, range(200 if item.is_computed else 1))
        batches.append((budget.used, item.id))
        for seed in range(0, 4000, 97):
            with work_budget(limit=10**15) as budget:
                generate(item, seed)
            singles.append((budget.used, item.id))
    print(f"shipped bank, {len(loaded)} items (units: the heaviest item, and the median):")
    for what, used, limit in (("a check", checks, MAX_CHECK_WORK), ("200 variants", batches, MAX_WORK),
                              ("one variant (42 seeds each)", singles, MAX_WORK)):
        used.sort(reverse=True)
        print(f"  {what:28s} {used[0][0]:13,} ({used[0][1]}), {limit / used[0][0]:5.1f}x below its budget; "
              f"median {used[len(used) // 2][0]:,}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--baseline"]:
        print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    elif sys.argv[1:2] == ["--one"]:
        print(json.dumps(_check(json.loads(sys.argv[2]))))
    else:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        if "--bank-only" not in sys.argv:
            bombs()
        if "--bombs-only" not in sys.argv:
            bank()
