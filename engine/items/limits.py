"""How large an item may be: every text, list and table of an item definition is bounded.

An item is data from an author, a file or an import, and everything Assay does with it (checking
200 variants, rendering Markdown, storing versions) grows with its size. Each bound is a few
times the largest value in the shipped bank (in brackets), so no honest item meets one, and the
work an item can ask for stays small whatever its author wrote. Sizes of values and the work
of evaluating them are bounded in :mod:`engine.expressions` and :mod:`engine.variants`.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from pydantic import BeforeValidator

__all__ = [
    "MAX_ANSWERS",
    "MAX_CHOICES",
    "MAX_COMPUTE",
    "MAX_CONSTRAINTS",
    "MAX_FACETS",
    "MAX_FACET_LENGTH",
    "MAX_LABEL_LENGTH",
    "MAX_LEVELS",
    "MAX_LINKS",
    "MAX_LONG_TEXT_LENGTH",
    "MAX_MISCONCEPTIONS",
    "MAX_NAME_LENGTH",
    "MAX_OPTIONS",
    "MAX_PARAMS",
    "MAX_RUBRIC_CRITERIA",
    "MAX_SLUG_LENGTH",
    "MAX_TAG_LENGTH",
    "MAX_TAG_VALUES",
    "MAX_TEXT_LENGTH",
    "MAX_TITLE_LENGTH",
    "at_most",
]

# --- texts, in characters ------------------------------------------------------------------

MAX_LONG_TEXT_LENGTH = 10_000
"""A stem, a worked solution or a rubric criterion's description [2,399; a Moodle import writes a
whole rubric, 3,557, into one criterion's description]. Markdown with maths takes about 0.4 s to
render at this length in its worst case, so a longer text could hold a page."""
MAX_TEXT_LENGTH = 2_000
"""An option, a feedback, a matching prompt or answer, a misconception's ``says``, a rubric
level's description [459]."""
MAX_TITLE_LENGTH = 300
"""An item's title, a rubric criterion's title or a level's label [99] (the bank's column)."""
MAX_LABEL_LENGTH = MAX_TITLE_LENGTH
MAX_SLUG_LENGTH = 120
"""An item id, a concept, a related item, a misconception's or a criterion's name [49] (the
bank's key column)."""
MAX_NAME_LENGTH = 64
"""A parameter's or computed value's name [12]."""
MAX_FACET_LENGTH = 60
"""A tag facet [10] (the bank's column)."""
MAX_TAG_LENGTH = 300
"""A tag value, a hierarchy path included [80] (the bank's column)."""

# --- counts --------------------------------------------------------------------------------

MAX_OPTIONS = 26
"""Options of a choice or ordering item, pairs and distractors of a matching item [6]."""
MAX_PARAMS = 32
"""Parameters of an item [7]."""
MAX_COMPUTE = 32
"""Computed values of an item [8]."""
MAX_CONSTRAINTS = 32
"""Constraints of an item [7]."""
MAX_MISCONCEPTIONS = MAX_OPTIONS
"""Named misconceptions of an item [5]."""
MAX_CHOICES = 100
"""Numbers a ``choice`` parameter lists [5]."""
MAX_ANSWERS = 50
"""Accepted and anticipated answers of a short-text item [5]."""
MAX_RUBRIC_CRITERIA = 20
"""Criteria of an essay's rubric [5]."""
MAX_LEVELS = 10
"""Levels of one rubric criterion [4]."""
MAX_FACETS = 20
"""Tag facets of an item [5]."""
MAX_TAG_VALUES = 20
"""Values of one tag facet [3]."""
MAX_LINKS = 50
"""Concepts, and related items, of an item [8 and 3]."""


def at_most(most: int, what: str) -> BeforeValidator:
    """A validator that refuses more than ``most`` entries before any of them is validated
    (pydantic checks a list's ``max_length`` only after validating every entry)."""

    def check(value: Any) -> Any:
        if isinstance(value, Sized) and not isinstance(value, str) and len(value) > most:
            raise ValueError(f"at most {most} {what}, not {len(value)}")
        return value

    return BeforeValidator(check)
