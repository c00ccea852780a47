"""Requests and responses of attempts. A response model never has a field for a key unless the
review policy filled it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, Tag

from assessments.errors import DomainError
from assessments.marks import Mark


class QuestionView(BaseModel):
    model_config = ConfigDict(validate_assignment=True)  # a mark set after construction is a Mark too

    slot: int
    seq: int
    """The last step's number: send it back with the next save (a stale one gets 409)."""
    state: str
    """not_answered, answered, invalid, try_again, finished, needs_grading, or (where the review
    policy shows correctness) right, partial, wrong."""
    question: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str | None = None
    """Why the saved response cannot be graded as it stands (never about the key)."""
    read_as: str | None = None
    """A numeric response typed in another form than the plain one, as it was read ("0,5" -> "0.5")."""
    max_mark: float
    tries_left: int | None = None
    can_check: bool | None = None
    """Immediate-feedback and interactive quizzes, during the attempt: whether the question may be
    checked now (``POST .../slots/{slot}/check``)."""
    can_try_again: bool | None = None
    """Interactive quizzes: the checked try was not right and tries are left (``.../try-again``)."""
    outcome: str | None = None
    mark: Mark | None = None
    feedback: list[str] | None = None
    solution: str | None = None
    right_answer: dict[str, Any] | None = None
    flagged: bool = False
    """The student's own "come back to this" mark (``PUT .../slots/{slot}/flag``)."""
    set_by_teacher: bool | None = None
    """True where the mark (or correctness) shown is one a person set over the engine's grade (an
    override): it stands whatever the response and the right answer say, and the review says so."""


class AttemptView(BaseModel):
    id: int
    quiz_id: int
    user_id: int
    number: int
    state: str
    started_at: datetime
    deadline_at: datetime | None = None
    """Absent when the quiz has no time limit and no close date."""
    finished_at: datetime | None = None
    """Absent while the attempt is in progress."""
    review: str
    """during, immediately_after, later_while_open or after_close (or staff)."""
    marks: Mark | None = None
    max_marks: float
    needs_grading: bool | None = None
    questions: list[QuestionView]


class SaveRequest(BaseModel):
    response: dict[str, Any] = Field(max_length=50)
    seq: int = Field(ge=0)


# --- a response's shape, per question type (the REST API's answers) ------------------------------
#
# A response is one JSON object with the one key its question type reads. The engine's question
# types parse the value (a format error there is saved as an "invalid" response, with its reason);
# a key the type does not read, or none of its keys, is a malformed request: 422 naming the key.

MAX_POSITIONS = 100
MAX_ANSWER_CHARS = 100_000

Position = int | Annotated[str, Field(max_length=20)]
"""An option's position (a whole number; as text too, as forms send it). A position the question
does not have, or text that is no number, is the question type's to refuse: saved as invalid."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: ClassVar[str]
    types: ClassVar[tuple[str, ...]]


class ChoiceResponse(_Shape):
    """single_choice: the option's position as the question lists it."""

    key: ClassVar[str] = "choice"
    types: ClassVar[tuple[str, ...]] = ("single_choice",)
    choice: Position


class ChoicesResponse(_Shape):
    """multiple_response: the positions of every option selected."""

    key: ClassVar[str] = "choices"
    types: ClassVar[tuple[str, ...]] = ("multiple_response",)
    choices: list[Position] = Field(max_length=MAX_POSITIONS)


class AnswerResponse(_Shape):
    """numeric (a number, or the text typed: ``"0.31"``, ``"3.1e-1"``, with its unit where the item
    has one), short_text (the text typed), true_false (true or false)."""

    key: ClassVar[str] = "answer"
    types: ClassVar[tuple[str, ...]] = ("numeric", "short_text", "true_false")
    answer: StrictBool | float | Annotated[str, Field(max_length=MAX_ANSWER_CHARS)]


class OrderResponse(_Shape):
    """ordering: every option's position as the question lists them, first to last."""

    key: ClassVar[str] = "order"
    types: ClassVar[tuple[str, ...]] = ("ordering",)
    order: list[Position] = Field(max_length=MAX_POSITIONS)


class MatchesResponse(_Shape):
    """matching: for each prompt in the question's order, the position of the answer matched to it
    (null: none yet)."""

    key: ClassVar[str] = "matches"
    types: ClassVar[tuple[str, ...]] = ("matching",)
    matches: list[Position | None] = Field(max_length=MAX_POSITIONS)


class TextResponse(_Shape):
    """essay: the text written."""

    key: ClassVar[str] = "text"
    types: ClassVar[tuple[str, ...]] = ("essay",)
    text: str = Field(max_length=MAX_ANSWER_CHARS)


SHAPES: tuple[type[_Shape], ...] = (ChoiceResponse, ChoicesResponse, AnswerResponse, OrderResponse, MatchesResponse,
                                    TextResponse)
SHAPE_OF_TYPE: dict[str, type[_Shape]] = {t: shape for shape in SHAPES for t in shape.types}
"""Each question type's response shape."""


def _shape_key(value: Any) -> str | None:
    """Which shape a response is: its known key (None: no known key, or an object that is none)."""
    if isinstance(value, _Shape):
        return value.key
    if not isinstance(value, dict):
        return None
    return next((shape.key for shape in SHAPES if shape.key in value), None)


QuestionResponse = Annotated[
    Annotated[ChoiceResponse, Tag("choice")] | Annotated[ChoicesResponse, Tag("choices")]
    | Annotated[AnswerResponse, Tag("answer")] | Annotated[OrderResponse, Tag("order")]
    | Annotated[MatchesResponse, Tag("matches")] | Annotated[TextResponse, Tag("text")],
    Discriminator(_shape_key, custom_error_type="response_shape",
                  custom_error_message="a response is an object with its question type's one key: "
                                       "choice, choices, answer, order, matches or text"),
]


class AnswerRequest(BaseModel):
    """An answer to one question: its response in the shape of the question's type, and the step
    the client last saw."""

    model_config = ConfigDict(extra="forbid")
    response: QuestionResponse = Field(description=(
        'single_choice {"choice": int}; multiple_response {"choices": [int]}; numeric, short_text and '
        'true_false {"answer": number | string | boolean}; ordering {"order": [int]}; matching '
        '{"matches": [int | null]}; essay {"text": string}. Positions count from 0 in the order the '
        "question lists its options."))
    seq: int = Field(ge=0)

    def to_save(self) -> SaveRequest:
        return SaveRequest(response=self.response.model_dump(), seq=self.seq)


class WrongResponseShape(DomainError):
    """A response whose key is not its question type's (422, as any malformed request)."""

    status_code = 422
    code = "malformed"


def require_shape(type_name: str, response: dict[str, Any]) -> None:
    """Refuse a response that is not in the shape of its question's type, naming the key."""
    shape = SHAPE_OF_TYPE.get(type_name)
    if shape is None:
        return
    keys = list(response)
    if keys == [shape.key]:
        return
    wrong = [k for k in keys if k != shape.key]
    said = f"{wrong[0]!r} is not a key of its response" if wrong else f"{shape.key!r} is missing"
    raise WrongResponseShape(
        f"a {type_name} question's response is {{{shape.key!r}: ...}}: {said}",
        details=[{"loc": ["body", "response", k], "message": f"not a key of a {type_name} response"} for k in wrong]
        + ([] if shape.key in keys else [{"loc": ["body", "response", shape.key], "message": "missing"}]))


class SaveResult(BaseModel):
    seq: int
    saved: bool
    """False when the response equals the one already saved (no new step)."""
    state: str
    error: str | None = None
    """Why the response as saved cannot be graded (a number that does not read as one, an essay
    below its word minimum), in the student's words: shown beside the field as they type."""
    read_as: str | None = None
    """How a number written in another form was read (``0,5`` or ``1/2``: ``0.5``)."""


class FlagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flagged: bool


class FlagResult(BaseModel):
    slot: int
    flagged: bool


class SubmitResult(BaseModel):
    id: int
    state: str
    finished_at: datetime | None = None
    marks: Mark | None = None
    max_marks: float
