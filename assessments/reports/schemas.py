"""Statistics as the API returns them: fractions (not percent), None where undefined."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Flag(BaseModel):
    code: str
    """negative_discrimination, too_hard, too_easy, unused_option or shared_misconception."""
    message: str
    item: str | None = None


class OptionCount(BaseModel):
    """How often one option (authored index, 0-based) was chosen."""

    index: int
    text: str
    """As authored (a computed item's text keeps its ``{ }`` fields: each student saw their own numbers)."""
    chosen: int
    share: float | None
    """``chosen`` over the answers that saw the option."""
    key: float | None
    """The share of the answered variants in which the option is right: 1 or 0 for a fixed key; in
    between where its correctness is computed per variant (None if it could not be computed)."""


class MisconceptionRate(BaseModel):
    name: str
    says: str | None
    count: int
    rate: float | None
    """``count`` over the wrong answers (None when nothing was answered wrong)."""


class ParameterBin(BaseModel):
    low: float
    high: float
    count: int
    facility: float | None
    se: float | None


class ParameterFacility(BaseModel):
    """Facility of a computed item within ranges (quartiles) of one of its drawn parameters."""

    name: str
    summary: str
    """``value``, or ``mean`` for a parameter drawn as several numbers (binned by their mean)."""
    bins: list[ParameterBin]


class ItemBreakdown(BaseModel):
    """One item answered in a slot: its options, misconceptions and facility by parameter."""

    key: str
    title: str
    type: str
    answers: int
    graded: int
    facility: float | None
    options: list[OptionCount]
    wrong: int
    misconceptions: list[MisconceptionRate]
    unexplained: int
    """Wrong answers matching no named misconception."""
    parameters: list[ParameterFacility]


class SlotStatistics(BaseModel):
    slot: int
    items: list[str]
    attempts: int
    facility: float | None
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    intended_weight: float | None
    effective_weight: float | None
    flags: list[Flag]
    too_few_attempts: bool = False
    """Fewer graded answers than ``QuizStatistics.min_attempts_for_flags``: the figures are shown,
    but no flag is raised from them."""
    breakdown: list[ItemBreakdown] = Field(default_factory=list)


class TestStatisticsOut(BaseModel):
    attempts: int
    mean: float
    median: float
    sd: float
    skewness: float | None
    kurtosis: float | None
    cronbach_alpha: float | None
    error_ratio: float | None
    standard_error: float | None
    max_mark: float


class QuizStatistics(BaseModel):
    quiz_id: int
    attempts: int
    test: TestStatisticsOut | None
    slots: list[SlotStatistics]
    histogram: list[int]
    histogram_edges: list[float] = Field(default_factory=list)
    min_attempts_for_flags: int = 10
    """A slot is flagged only from at least this many graded answers."""


class ItemStatisticsOut(BaseModel):
    key: str
    answers: int
    graded: int
    facility: float | None
    misconception_rates: dict[str, float]
    flags: list[Flag]
    breakdown: ItemBreakdown | None = None


class JobOut(BaseModel):
    """Background work under way: poll ``GET /api/v1/jobs/{id}`` (or ask again) until it is done."""

    id: int
    kind: str
    state: str
    progress: float
    error: str | None = None
