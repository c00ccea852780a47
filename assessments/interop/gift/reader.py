"""Reading GIFT: Moodle's readquestion, one question block at a time, with lines.

Escaped control characters are replaced by private-use stand-ins before anything is split (as
Moodle replaces them by placeholders), one character for one, so every piece of a question keeps
the line each of its characters came from and a problem can say where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from assessments.interop.moodle.model import TRIM, Answer, Question, parse_number
from assessments.interop.moodle.text import to_markdown

__all__ = ["GiftError", "QuestionReader", "blocks", "idnumber_of", "unescape"]

_CONTROL = ":#={}~\\"
_LITERAL = {c: chr(0xE000 + ord(c)) for c in _CONTROL}
_DECODE = str.maketrans({v: k for k, v in _LITERAL.items()})
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d*)?)%")
_FORMAT = re.compile(r"^\[(moodle|html|plain|markdown)\]")
_ID_COMMENT = re.compile(r"^//\s*question:\s*(\S+)")
_WITH_UNIT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*[^\d\s.:+-]")
"""A number, then what looks like a unit (``0.125 nats``)."""
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}


class GiftError(Exception):
    """A malformed question: the message and the 1-based line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class _Text:
    """Part of a question with escaped characters made literal (private-use stand-ins) and the
    line of every character, so any piece can say where it came from."""

    chars: str
    lines: list[int]

    def line(self, at: int = 0) -> int:
        return self.lines[min(max(at, 0), len(self.lines) - 1)] if self.lines else 0

    def __getitem__(self, part: slice) -> _Text:
        return _Text(self.chars[part], self.lines[part])

    def strip(self, chars: str = TRIM) -> _Text:
        start = len(self.chars) - len(self.chars.lstrip(chars))
        end = len(self.chars.rstrip(chars))
        return self[start:end] if end > start else _Text("", self.lines[start:start + 1])

    def find(self, sub: str, start: int = 0) -> int:
        return self.chars.find(sub, start)

    def split(self, separators: str) -> list[tuple[str, _Text]]:
        """Pieces after each (unescaped) separator character, with the separator; text before the
        first one comes with separator ''."""
        pieces: list[tuple[str, _Text]] = []
        start, marker = 0, ""
        for at, char in enumerate(self.chars):
            if char in separators:
                pieces.append((marker, self[start:at]))
                start, marker = at + 1, char
        pieces.append((marker, self[start:]))
        return pieces

    def decoded(self) -> str:
        return self.chars.translate(_DECODE)


def unescape(lines: list[tuple[int, str]]) -> _Text:
    chars: list[str] = []
    numbers: list[int] = []
    for n, (number, line) in enumerate(lines):
        if n:
            chars.append("\n")
            numbers.append(number)
        at = 0
        while at < len(line):
            pair = line[at:at + 2]
            if pair in {f"\\{c}" for c in _CONTROL}:
                chars.append(_LITERAL[pair[1]])
            elif pair == "\\n":
                chars.append("\n")
            else:
                chars.append(line[at])
                at -= 1
            numbers.append(number)
            at += 2
    return _Text("".join(chars), numbers)


class QuestionReader:
    """One question's lines as a :class:`Question` (Moodle's readquestion, with lines)."""

    def __init__(self, lines: list[tuple[int, str]], category: str, idnumber: str) -> None:
        self.text = unescape(lines).strip(TRIM)
        self.q = Question(qtype="", line=lines[0][0], category=category, idnumber=idnumber)
        self.format = "moodle"

    def markdown(self, piece: _Text, default: str | None = None) -> str:
        text = piece.decoded().strip(TRIM)
        fmt = default or self.format
        match = _FORMAT.match(piece.strip(TRIM).chars)
        if match:
            fmt, text = match.group(1), piece.strip(TRIM).chars[match.end():].translate(_DECODE).strip(TRIM)
        converted = to_markdown(text, fmt)
        self.q.notes.extend(f"{what} dropped" for what in converted.dropped)
        return converted.text

    def read(self) -> Question:
        text = self._name(self.text)
        opening, closing = text.find("{"), text.find("}")
        if opening < 0 and closing < 0:
            self.q.qtype = "description"
            self.q.text = self._question_text(text)
            return self.q
        self._check_braces(text, opening, closing)
        after = text[closing + 1:]
        stem = text[:opening].chars + ("_____" + after.chars if after.chars.strip(TRIM) else "")
        self.q.text = self._question_text(_Text(stem, text.lines[:opening] + [text.line(opening)] * 5
                                                + (after.lines if after.chars.strip(TRIM) else [])))
        answers = text[opening + 1:closing].strip(TRIM)
        general = answers.chars.rfind("####")
        if general >= 0:
            self.q.general_feedback = self.markdown(answers[general + 4:])
            answers = answers[:general].strip(TRIM)
        self._answers(answers, text.line(opening))
        return self.q

    def _name(self, text: _Text) -> _Text:
        if not text.chars.startswith("::"):
            return text
        end = text.find("::", 2)
        if end < 0:
            raise GiftError("the question name opened by '::' is not closed by '::'", text.line())
        self.q.name = " ".join(text[2:end].decoded().split())
        return text[end + 2:].strip(TRIM)

    def _question_text(self, text: _Text) -> str:
        match = _FORMAT.match(text.chars)
        if match:
            self.format = match.group(1)
        return self.markdown(text)

    @staticmethod
    def _check_braces(text: _Text, opening: int, closing: int) -> None:
        if closing < 0:
            raise GiftError("the answer block opened by '{' is not closed by '}'", text.line(opening))
        if opening < 0 or closing < opening:
            raise GiftError("'}' closes an answer block that no '{' opened (escape a literal brace as \\})",
                            text.line(closing))
        for at in range(closing + 1, len(text.chars)):
            if text.chars[at] in "{}":
                raise GiftError("a second answer block, or an unescaped brace after the answers (a question has "
                                "one answer block; escape literal braces as \\{ and \\})", text.line(at))

    def _answers(self, answers: _Text, line: int) -> None:
        chars = answers.chars
        if not chars:
            self.q.qtype = "essay"
        elif chars.startswith("#"):
            self.q.qtype = "numerical"
            self._numerical(answers[1:])
        elif "~" in chars:
            self.q.qtype = "multichoice"
            self.q.single = "=" in chars
            self._choices(answers, line)
        elif "=" in chars and "->" in chars:
            self.q.qtype = "match"
            self._pairs(answers, line)
        elif chars.split("#", 1)[0].strip(TRIM) in _TRUE_FALSE:
            self.q.qtype = "truefalse"
            self._true_false(answers)
        else:
            self.q.qtype = "shortanswer"
            self._short_answers(answers, line)

    def _weighted(self, piece: _Text, marker: str, default: float) -> tuple[float, _Text]:
        """An answer's weight (``%50%`` after the marker) and the rest of it."""
        piece = piece.strip(TRIM)
        match = _WEIGHT.match(piece.chars)
        if match:
            return float(Decimal(match.group(1)) / 100), piece[match.end():]
        if piece.chars.startswith("%"):
            raise GiftError(f"a malformed weight after '{marker}' (write it like %50% or %-25%)", piece.line())
        return (1.0 if marker == "=" else default), piece

    def _answer(self, piece: _Text, fraction: float) -> Answer:
        text, _, feedback = piece.chars.partition("#")
        split = len(text)
        return Answer(self.markdown(piece[:split]), fraction,
                      self.markdown(piece[split + 1:]) if feedback else "", line=piece.line())

    def _choices(self, answers: _Text, line: int) -> None:
        for marker, piece in answers.split("~="):
            if marker or piece.chars.strip(TRIM):
                fraction, rest = self._weighted(piece, marker, 0.0)
                self.q.answers.append(self._answer(rest, fraction))
        if len(self.q.answers) < 2:
            raise GiftError("a multiple-choice question needs at least two answers", line)

    def _short_answers(self, answers: _Text, line: int) -> None:
        for marker, piece in answers.split("="):
            if marker or piece.chars.strip(TRIM):
                fraction, rest = self._weighted(piece, "=", 1.0)
                answer = self._answer(rest, fraction)
                answer.text = rest.chars.partition("#")[0].translate(_DECODE).strip(TRIM)
                self.q.answers.append(answer)
        if not self.q.answers:
            raise GiftError("a short-answer question needs an answer", line)

    def _pairs(self, answers: _Text, line: int) -> None:
        for marker, piece in answers.split("="):
            if not marker and not piece.chars.strip(TRIM):
                continue
            arrow = piece.find("->")
            if arrow < 0:
                raise GiftError("a matching answer needs '->' between the prompt and its answer", piece.line())
            self.q.pairs.append((self.markdown(piece[:arrow]), piece[arrow + 2:].decoded().strip(TRIM)))
        if len(self.q.pairs) < 2:
            raise GiftError("a matching question needs at least two pairs", line)

    def _true_false(self, answers: _Text) -> None:
        parts = answers.chars.split("#", 2)
        self.q.correct = _TRUE_FALSE[parts[0].strip(TRIM)]
        offsets = [0]
        for part in parts[:-1]:
            offsets.append(offsets[-1] + len(part) + 1)
        feedback = [self.markdown(answers[offsets[n]:offsets[n] + len(parts[n])]) if n < len(parts) else ""
                    for n in (1, 2)]
        wrong, right = feedback
        self.q.feedback_true, self.q.feedback_false = (right, wrong) if self.q.correct else (wrong, right)

    def _numerical(self, answers: _Text) -> None:
        tilde = answers.find("~")
        wrong: Answer | None = None
        if tilde >= 0:  # feedback for any other answer: Moodle stores it as the answer '*' at 0%
            feedback = answers[tilde + 1:].strip(TRIM)
            feedback = feedback[1:] if feedback.chars.startswith("#") else feedback
            wrong = Answer("*", 0.0, self.markdown(feedback), line=answers.line(tilde))
            answers = answers[:tilde]
        for marker, piece in answers.split("="):
            if marker or piece.chars.strip(TRIM):
                fraction, rest = self._weighted(piece, "=", 1.0)
                answer = self._answer(rest, fraction)
                answer.text, answer.tolerance = self._number(rest.chars.partition("#")[0].translate(_DECODE),
                                                             rest.line())
                self.q.answers.append(answer)
        if not self.q.answers:
            raise GiftError("a numerical question needs at least one answer", answers.line())
        if wrong is not None:
            self.q.answers.append(wrong)

    @staticmethod
    def _number(text: str, line: int) -> tuple[str, float]:
        """``value``, ``value:error`` or ``low..high`` as (value, absolute tolerance)."""
        text = text.strip(TRIM)
        if text == "*":
            return "*", 0.0
        if ".." in text[1:]:
            low, high = (parse_number(part) for part in text.split("..", 1))
            if low is None or high is None:
                raise GiftError(f"the range {text!r} needs two numbers, low..high", line)
            if high < low:
                raise GiftError(f"the range {text!r} runs from high to low", line)
            middle = (low + high) / 2
            return str(middle), float(high - middle)
        value, _, error = text.partition(":")
        number, tolerance = parse_number(value), parse_number(error) if error else Decimal(0)
        if number is None or tolerance is None:
            unit = " (GIFT has no units: give the number alone, or use Moodle XML)" if _WITH_UNIT.match(text) else ""
            raise GiftError(f"{text!r} is not a number (write 1822, 1822:2 or 3.141..3.142){unit}", line)
        return value.strip(TRIM), abs(float(tolerance))


def blocks(text: str) -> list[tuple[list[tuple[int, str]], list[str]]]:
    """Questions as Moodle splits them: runs of non-blank lines, comment lines set aside."""
    blocks: list[tuple[list[tuple[int, str]], list[str]]] = []
    lines: list[tuple[int, str]] = []
    comments: list[str] = []
    # only \n ends a line (as PHP's file() reads it): str.splitlines would also break at \x85, \u2028...
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip(TRIM)
        if line.startswith("//"):
            if not lines:
                comments.append(line)
        elif line:
            lines.append((number, line))
        else:
            if lines:
                blocks.append((lines, comments))
            lines, comments = [], []
    if lines:
        blocks.append((lines, comments))
    return blocks


def idnumber_of(comments: list[str]) -> str:
    """``// question: <id>  name: ...`` names the item an export came from (Moodle's own numeric ids
    are not item ids)."""
    for comment in reversed(comments):
        match = _ID_COMMENT.match(comment)
        if match and re.search(r"[a-z]", match.group(1)):
            return match.group(1)
    return ""
