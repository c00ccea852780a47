"""Behaviours: how a question attempt proceeds, one module each, and the registry by name.

``behaviour_for("interactive", tries=3, penalty=1/3)`` builds a behaviour from its stored name and
options (what :meth:`engine.attempts.QuestionAttempt.to_json` records). The four behaviours are
Moodle's archetypes: deferred feedback, immediate feedback, interactive with several tries, and
manual grading.
"""

from __future__ import annotations

from typing import Any

from engine.attempts import Decision
from engine.behaviours.base import Behaviour, min_fraction, rubric_grade
from engine.behaviours.deferredfeedback import DeferredFeedback
from engine.behaviours.immediatefeedback import ImmediateFeedback
from engine.behaviours.interactive import Interactive
from engine.behaviours.manualgraded import ManualGraded

__all__ = [
    "BEHAVIOURS",
    "Behaviour",
    "Decision",
    "DeferredFeedback",
    "ImmediateFeedback",
    "Interactive",
    "ManualGraded",
    "behaviour_for",
    "min_fraction",
    "rubric_grade",
]

BEHAVIOURS: dict[str, type[Behaviour]] = {
    cls.name: cls for cls in (DeferredFeedback, ImmediateFeedback, Interactive, ManualGraded)
}


def behaviour_for(name: str, **options: Any) -> Behaviour:
    """The behaviour called ``name`` with ``options``; a ``ValueError`` names the choices."""
    try:
        cls = BEHAVIOURS[name]
    except KeyError:
        raise ValueError(
            f"unknown behaviour {name!r}; choose one of {', '.join(sorted(BEHAVIOURS))}"
        ) from None
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"behaviour {name!r}: {exc}") from None
