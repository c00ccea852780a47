"""Moodle's cloze (embedded answers, ``multianswer``) questions: read far enough to say what is wrong.

Assay has no cloze type, so a cloze question is never imported; but a malformed one deserves the
same diagnosis Moodle's own validation gives (qtype_multianswer_validate_question), so that an
author fixing the file fixes the real fault. A subquestion reads ``{mark:TYPE:alternatives}``,
the alternatives separated by ``~``, each ``=`` (right) or ``%n%`` (weighted), then the answer and
``#feedback``; ``\\}``, ``\\~``, ``\\#`` are literal.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from assessments.interop.moodle.model import parse_number

__all__ = ["cloze_faults"]

_TYPES = {
    "NUMERICAL": "numerical", "NM": "numerical",
    "SHORTANSWER": "shortanswer", "SA": "shortanswer", "MW": "shortanswer",
    "SHORTANSWER_C": "shortanswer", "SAC": "shortanswer", "MWC": "shortanswer",
    **dict.fromkeys(["MULTICHOICE", "MC", "MULTICHOICE_V", "MCV", "MULTICHOICE_H", "MCH", "MULTICHOICE_S",
                     "MCS", "MULTICHOICE_VS", "MCVS", "MULTICHOICE_HS", "MCHS"], "multichoice"),
    **dict.fromkeys(["MULTIRESPONSE", "MR", "MULTIRESPONSE_H", "MRH", "MULTIRESPONSE_S", "MRS",
                     "MULTIRESPONSE_HS", "MRHS"], "multiresponse"),
}
_START = re.compile(r"\{(\d*):(" + "|".join(sorted(_TYPES, key=len, reverse=True)) + r")(?=[:}])")
_WEIGHT = re.compile(r"^%(-?\d+(?:[.,]\d*)?)%")


@dataclass
class _Alternative:
    fraction: float
    answer: str


def _unescaped(text: str, chars: str, start: int = 0) -> list[int]:
    """Positions of ``chars`` not preceded by a backslash."""
    return [n for n in range(start, len(text)) if text[n] in chars and (n == 0 or text[n - 1] != "\\")]


def _alternatives(body: str) -> list[_Alternative]:
    cuts = [-1, *_unescaped(body, "~"), len(body)]
    found = []
    for start, end in itertools.pairwise(cuts):
        piece = body[start + 1:end]
        if piece.startswith("="):
            fraction, piece = 1.0, piece[1:]
        elif match := _WEIGHT.match(piece):
            fraction, piece = float(match.group(1).replace(",", ".")) / 100, piece[match.end():]
        else:
            fraction = 0.0
        hashes = _unescaped(piece, "#")
        answer = piece[: hashes[0]] if hashes else piece
        found.append(_Alternative(fraction, answer.strip()))
    return found


def _subquestions(text: str) -> list[tuple[str, list[_Alternative]]]:
    found = []
    for match in _START.finditer(text):
        after = match.end()
        closing = next(iter(_unescaped(text, "}", after)), len(text))
        body = text[after + 1:closing] if text[after:after + 1] == ":" else ""
        found.append((match.group(2), _alternatives(body) if body.strip() else []))
    return found


def _fault(number: int, code: str, alternatives: list[_Alternative]) -> str | None:
    kind = _TYPES[code]
    given = [a for a in alternatives if a.answer]
    where = f"subquestion {number} ({code})"
    if kind in {"multichoice", "multiresponse"} and len(given) < 2:
        return f"{where} has no choices" if not given else f"{where} has only one choice (it needs two)"
    if not given:
        return f"{where} has no answers"
    for a in given:
        if kind == "numerical" and a.answer != "*" and parse_number(a.answer) is None:
            return f"{where}: the answer {a.answer!r} is not a number"
    best = max(a.fraction for a in given)
    if kind == "multiresponse" and best <= 0:
        return f"{where} has no answer that earns credit"
    if kind != "multiresponse" and best < 1:
        return f"{where} has no fully correct answer"
    return None


def cloze_faults(text: str) -> list[str]:
    """What Moodle's validation would refuse in a cloze question's text (empty when it is sound)."""
    subquestions = _subquestions(text)
    if not subquestions:
        return ["it has no subquestions ({1:MULTICHOICE:=right~wrong} and the like)"]
    faults = [_fault(n, code, alternatives) for n, (code, alternatives) in enumerate(subquestions, 1)]
    return [fault for fault in faults if fault]
