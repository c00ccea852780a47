"""Adaptive practice: the next question chosen for each student, mastery and spaced review.

Pure: plain data in, plain data out, so a practice can be simulated without a database
(:mod:`engine.adaptive.simulation`). The service (``assessments/practice``) builds an
:class:`ItemPool` from the bank, replays a student's answers into a :class:`StudentState` and asks
:func:`choose_next`.
"""

from engine.adaptive.choice import SETTLED_SE, SUCCESS_TARGET, Choice, Rule, choose_next, information
from engine.adaptive.pool import BLOOM_DIFFICULTY, ItemPool, PracticeItem, concept_order, prior_difficulty
from engine.adaptive.state import (
    MASTERY_CONFIDENCE,
    MASTERY_LEVEL,
    REVIEW_DAYS,
    Answer,
    ConceptState,
    StudentState,
    replay,
)

__all__ = [
    "BLOOM_DIFFICULTY",
    "MASTERY_CONFIDENCE",
    "MASTERY_LEVEL",
    "REVIEW_DAYS",
    "SETTLED_SE",
    "SUCCESS_TARGET",
    "Answer",
    "Choice",
    "ConceptState",
    "ItemPool",
    "PracticeItem",
    "Rule",
    "StudentState",
    "choose_next",
    "concept_order",
    "information",
    "prior_difficulty",
    "replay",
]
