"""``/api/v1/quizzes/{id}/statistics`` and ``/api/v1/items/{key}/statistics``: for instructors."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from assessments.deps import CurrentPrincipal, SessionDep
from assessments.reports import service
from assessments.reports.schemas import ItemStatisticsOut, QuizStatistics

router = APIRouter(prefix="/api/v1", tags=["statistics"])

CSV_COLUMNS = ("slot", "items", "attempts", "facility", "sd", "discrimination_index",
               "discriminative_efficiency", "intended_weight", "effective_weight", "flags")


@router.get("/quizzes/{quiz_id}/statistics", response_model=QuizStatistics,
            responses={200: {"content": {"text/csv": {}}}})
def quiz_statistics(quiz_id: int, principal: CurrentPrincipal, session: SessionDep,
                    format: Annotated[Literal["json", "csv"], Query()] = "json") -> QuizStatistics | Response:  # noqa: A002
    """Moodle's item and test statistics for the quiz's finished attempts, with flags."""
    stats = service.quiz_statistics(session, principal, quiz_id)
    if format == "json":
        return stats
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for slot in stats.slots:
        row = slot.model_dump()
        row["items"] = " ".join(slot.items)
        row["flags"] = "; ".join(f.code for f in slot.flags)
        writer.writerow([("" if row[c] is None else row[c]) for c in CSV_COLUMNS])
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="quiz-{quiz_id}-statistics.csv"'})


@router.get("/items/{key}/statistics", response_model=ItemStatisticsOut)
def item_statistics(key: str, principal: CurrentPrincipal, session: SessionDep) -> ItemStatisticsOut:
    return service.item_statistics_for(session, principal, key)
