"""A plain, item-by-item port of Moodle's question statistics walkers, to hold the vectorised code to.

It follows ``question/classes/statistics/questions/calculator.php`` step by step: for each item,
the attempts that saw it, their marks and "other marks" (the rest score), sums of squared and
cross deviations (sorted copies for the maximum covariance), then the divisions by s - 1. Python
floats and explicit loops; slow, and meant to be obviously right.
"""

from __future__ import annotations

import math

import numpy as np


def item_statistics_loop(marks: np.ndarray, max_marks: np.ndarray) -> dict[str, list[float]]:
    attempts, items = marks.shape
    totals = [sum(v for v in row if not math.isnan(v)) for row in marks.tolist()]
    out: dict[str, list[float]] = {k: [] for k in ("facility", "sd", "discrimination_index",
                                                   "discriminative_efficiency", "cov_total")}
    for p in range(items):
        rows = [i for i in range(attempts) if not math.isnan(marks[i, p])]
        s = len(rows)
        x = [float(marks[i, p]) for i in rows]
        other = [totals[i] - float(marks[i, p]) for i in rows]
        nan = float("nan")
        mean_x = sum(x) / s if s else 0.0
        mean_o = sum(other) / s if s else 0.0
        mean_t = sum(totals[i] for i in rows) / s if s else 0.0
        # Moodle sets the averages of an item with no attempts to 0; a slot always has attempts
        # there, but an item of a pool may be drawn by none, and Assay says NaN (no facility).
        out["facility"].append(mean_x / max_marks[p] if max_marks[p] and s else nan)
        if s < 2:
            for k in ("sd", "discrimination_index", "discriminative_efficiency", "cov_total"):
                out[k].append(nan)
            continue
        var_x = sum((v - mean_x) ** 2 for v in x) / (s - 1)
        var_o = sum((v - mean_o) ** 2 for v in other) / (s - 1)
        cov = sum((a - mean_x) * (b - mean_o) for a, b in zip(x, other, strict=True)) / (s - 1)
        cov_max = sum((a - mean_x) * (b - mean_o)
                      for a, b in zip(sorted(x), sorted(other), strict=True)) / (s - 1)
        cov_t = sum((a - mean_x) * (totals[i] - mean_t) for a, i in zip(x, rows, strict=True)) / (s - 1)
        out["sd"].append(math.sqrt(var_x) / max_marks[p] if max_marks[p] else nan)
        out["discrimination_index"].append(cov / math.sqrt(var_x * var_o) if var_x * var_o > 1e-24 else nan)
        out["discriminative_efficiency"].append(cov / cov_max if abs(cov_max) > 1e-12 else nan)
        out["cov_total"].append(cov_t)
    return out
