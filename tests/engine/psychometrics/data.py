"""Test data for engine.psychometrics: the shared corpora read in place, and simulated responses."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MOODLE = Path("moodle") / "quiz_statistics"
LSAT6 = Path("irt") / "lsat6"


@dataclass(frozen=True)
class MoodleQuiz:
    """Moodle's item-statistics fixture as a marks matrix (attempts × slots 1..20)."""

    marks: np.ndarray
    max_marks: np.ndarray
    sumgrades: np.ndarray
    expected: dict[str, Any]


def moodle_quiz(corpora: Path) -> MoodleQuiz:
    """Read ``mdl_question_states.csv`` as its README says: a new attempt at every ``slot == 1`` row."""
    folder = corpora / MOODLE
    attempts: list[dict[int, tuple[float, float]]] = []
    totals: list[float] = []
    with (folder / "mdl_question_states.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["slot"] == "1":
                attempts.append({})
                totals.append(float(row["sumgrades"]))
            attempts[-1][int(row["slot"])] = (float(row["mark"]), float(row["maxmark"]))
    slots = sorted(attempts[0])
    marks = np.array([[attempt[s][0] for s in slots] for attempt in attempts])
    max_marks = np.array([attempts[0][s][1] for s in slots])
    expected = json.loads((folder / "expected_item_stats.json").read_text())
    return MoodleQuiz(marks, max_marks, np.array(totals), expected)


@dataclass(frozen=True)
class Lsat6:
    responses: np.ndarray
    published: dict[str, Any]


def lsat6(corpora: Path) -> Lsat6:
    folder = corpora / LSAT6
    responses = np.loadtxt(folder / "responses.csv", delimiter=",", skiprows=1)
    return Lsat6(responses, json.loads((folder / "published_estimates.json").read_text()))


def patterns(strings: list[str]) -> np.ndarray:
    """Response patterns such as "01011" as rows of 0/1."""
    return np.array([[float(c) for c in s] for s in strings])


def simulate_2pl(rng: np.random.Generator, persons: int, discrimination: np.ndarray,
                 difficulty: np.ndarray, missing: float = 0.0) -> np.ndarray:
    """0/1 responses from the 2PL with θ ~ N(0, 1); a share ``missing`` of them NaN at random."""
    theta = rng.normal(size=(persons, 1))
    p = 1 / (1 + np.exp(-discrimination * (theta - difficulty)))
    responses = (rng.random(p.shape) < p).astype(np.float64)
    if missing:
        responses[rng.random(p.shape) < missing] = np.nan
    return responses
