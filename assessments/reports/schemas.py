"""Statistics as the API returns them: fractions (not percent), None where undefined."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Flag(BaseModel):
    code: str
    """negative_discrimination, too_hard, too_easy, unused_option or shared_misconception."""
    message: str
    item: str | None = None


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


class ItemStatisticsOut(BaseModel):
    key: str
    answers: int
    graded: int
    facility: float | None
    misconception_rates: dict[str, float]
    flags: list[Flag]


class JobOut(BaseModel):
    """Background work under way: poll ``GET /api/v1/jobs/{id}`` (or ask again) until it is done."""

    id: int
    kind: str
    state: str
    progress: float
    error: str | None = None
