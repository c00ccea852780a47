"""Moodle's question model, the meeting point of GIFT, Moodle XML and Assay items.

Both Moodle formats describe the same questions (Moodle's ``multichoice``, ``truefalse``,
``shortanswer``, ``numerical``, ``match``, ``essay``, ``description``), so each reader fills a
:class:`Question` and one converter (:mod:`assessments.interop.moodle.to_assay`) makes Assay
definitions of them; on the way out one builder (:mod:`assessments.interop.moodle.from_assay`) makes
:class:`Question` records of Assay items and each writer prints them. Here also: Moodle's list of
allowed grades, question categories as Assay's ``category`` tag, Moodle tags as Assay facets, and
item ids made from names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from engine.items.metadata import SLUG, split_path

__all__ = [
    "GRADE_TOLERANCE",
    "TRIM",
    "UNIT_INPUT",
    "UNIT_NONE",
    "UNIT_OPTIONAL",
    "UNIT_PENALTY_OF_QUESTION",
    "UNIT_PENALTY_OF_RESPONSE",
    "UNIT_RADIO",
    "UNIT_SELECT",
    "Answer",
    "Ids",
    "NumericalUnits",
    "Question",
    "category_path",
    "category_value",
    "moodle_grade",
    "nearest_grade",
    "number_text",
    "parse_number",
    "percent",
]

# Moodle's question_bank::fraction_options_full(): 0, ±1 and ± each of these, to 7 decimals
# (p/q for q <= 6, p/10, 1/q for q <= 10, and 1/20).
_POSITIVE = (0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25, 0.2,
             0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05)
GRADES = (1.0, 0.0, -1.0, *_POSITIVE, *(-g for g in _POSITIVE))
GRADE_TOLERANCE = 0.00001
"""Moodle's match_grade_options(): a fraction within this of an allowed grade is that grade."""

TRIM = " \t\n\r\0\x0b"
"""What PHP's trim() removes, and so what Moodle's importers trim from a text (not every Unicode space)."""
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_CONTEXTS = ("$course$", "$module$", "$system$", "$cat$", "$coursecategory$")


def moodle_grade(fraction: float) -> float | None:
    """The allowed grade ``fraction`` stands for, or None when Moodle would refuse it."""
    for grade in GRADES:
        if abs(fraction - grade) < GRADE_TOLERANCE:
            return grade
    return None


def nearest_grade(fraction: float) -> float:
    return min(GRADES, key=lambda grade: abs(fraction - grade))


def percent(fraction: float) -> str:
    """A fraction as Moodle writes it in a file: percent with at most five decimals."""
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def parse_number(text: str) -> Decimal | None:
    """A plain decimal or scientific number (as Moodle's importers accept it), else None."""
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None


def number_text(value: Decimal | float) -> str:
    """A number as an Assay expression: shortest exact text, no trailing zeros."""
    if isinstance(value, float):
        return repr(value) if not value.is_integer() or abs(value) >= 1e15 else str(int(value))
    normal = value.normalize()
    if normal == normal.to_integral_value() and abs(normal) < Decimal("1e15"):
        return str(int(normal))
    return repr(float(normal))


@dataclass
class Answer:
    """One of a question's answers: an option, an accepted text or a number (with its tolerance)."""

    text: str
    fraction: float
    feedback: str = ""
    tolerance: float = 0.0
    line: int = 0


UNIT_INPUT, UNIT_RADIO, UNIT_SELECT, UNIT_NONE = 0, 1, 2, 3
"""Moodle's ``showunits``: the unit typed with the number, chosen by radio buttons or from a
menu, or no units at all (qtype_numerical::UNITINPUT ... UNITNONE)."""
UNIT_OPTIONAL, UNIT_PENALTY_OF_RESPONSE, UNIT_PENALTY_OF_QUESTION = 0, 1, 2
"""Moodle's ``unitgradingtype``: units not graded; the unit penalty a fraction of the response's
grade (UNITGRADEDOUTOFMARK); of the question's grade (UNITGRADEDOUTOFMAX)."""


@dataclass
class NumericalUnits:
    """A numerical question's units as Moodle stores them (question_numerical_units and
    question_numerical_options): each unit's multiplier (the answer in that unit is the answer ×
    multiplier; the answer's own unit has 1), how a unit is given and graded, and the penalty."""

    units: list[tuple[str, float]] = field(default_factory=list)
    grading: int = UNIT_OPTIONAL
    penalty: float = 0.1
    """Moodle's default unit penalty (format/xml reads 0.1 when none is given)."""
    show: int = UNIT_NONE
    left: bool = False
    """Units written before the number (``unitsleft``)."""

    @property
    def base(self) -> str | None:
        """The unit of the answers: the first whose multiplier is 1."""
        return next((name for name, multiplier in self.units if multiplier == 1), None)


@dataclass
class Question:
    """A Moodle question, its texts already Assay Markdown. ``line`` is where it starts (1-based)."""

    qtype: str
    line: int
    name: str = ""
    text: str = ""
    general_feedback: str = ""
    idnumber: str = ""
    category: str = ""
    """As an Assay tag value: ``Physics > Waves``."""
    tags: list[str] = field(default_factory=list)
    default_mark: float = 1.0
    single: bool = True
    shuffle: bool = True
    answers: list[Answer] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    """Matching: (prompt, answer); an empty prompt makes the answer a distractor."""
    correct: bool = True
    feedback_true: str = ""
    feedback_false: str = ""
    case_sensitive: bool = False
    units: NumericalUnits = field(default_factory=NumericalUnits)
    grader_info: str = ""
    min_words: int | None = None
    max_words: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"question{name} (line {self.line})"


def slugify(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


class Ids:
    """Item ids for one import: slugs of Moodle idnumbers or names, each used once."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, *candidates: str) -> str:
        base = next((s for s in (slugify(c) for c in candidates) if s and SLUG.match(s)), "question")
        slug, n = base, 2
        while slug in self.taken:
            slug, n = f"{base}-{n}", n + 1
        self.taken.add(slug)
        return slug


def _segments(path: str) -> list[str]:
    """Moodle writes a ``/`` inside a category name as ``//``."""
    parts = [part.replace("\0", "/").strip() for part in path.replace("//", "\0").split("/")]
    return [part for part in parts if part]


def category_value(path: str) -> str:
    """``$course$/top/Physics/Waves`` -> ``Physics > Waves`` (the context and 'top' dropped)."""
    parts = _segments(path)
    if parts and parts[0] in _CONTEXTS:
        parts = parts[1:]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return " > ".join(part.replace(">", "›") for part in parts)


def category_path(value: str) -> str:
    """``Physics > Waves`` -> ``$course$/top/Physics/Waves``."""
    return "/".join(["$course$", "top", *(part.replace("/", "//") for part in split_path(value))])
