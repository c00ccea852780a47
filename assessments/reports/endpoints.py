"""``/api/v1/quizzes/{id}/statistics`` and ``/api/v1/items/{key}/statistics``: for instructors."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from assessments.deps import CurrentPrincipal, NowDep, RowId, SessionDep, SettingsDep
from assessments.errors import NotFound
from assessments.models import Job
from assessments.reports import service
from assessments.reports.schemas import ItemStatisticsOut, JobOut, QuizStatistics

router = APIRouter(prefix="/api/v1", tags=["statistics"])

CSV_COLUMNS = ("slot", "items", "attempts", "facility", "sd", "discrimination_index",
               "discriminative_efficiency", "intended_weight", "effective_weight", "flags")


@router.get("/quizzes/{quiz_id}/statistics", response_model=QuizStatistics,
            responses={200: {"content": {"text/csv": {}}}, 202: {"model": JobOut}})
def quiz_statistics(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep,
                    now: NowDep, format: Annotated[Literal["json", "csv"], Query()] = "json",  # noqa: A002
                    ) -> QuizStatistics | Response:
    """Moodle's item and test statistics for the quiz's finished attempts, with flags.

    A large quiz is computed by a background job: the reply is then 202 with the job; ask again
    (or follow ``GET /api/v1/jobs/{id}``) until the statistics come back.
    """
    stats = service.statistics_or_job(session, principal, quiz_id,
                                      inline_limit=settings.statistics_inline_attempts, now=now)
    if isinstance(stats, Job):
        body = JobOut(id=stats.id, kind=stats.kind, state=stats.state.value, progress=stats.progress)
        return JSONResponse(body.model_dump(), status_code=202)
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


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> JobOut:
    """How far a background job has come (instructors)."""
    principal.require_staff()
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return JobOut(id=job.id, kind=job.kind, state=job.state.value, progress=job.progress, error=job.error)


@router.get("/items/{key}/statistics", response_model=ItemStatisticsOut)
def item_statistics(key: str, principal: CurrentPrincipal, session: SessionDep) -> ItemStatisticsOut:
    return service.item_statistics_for(session, principal, key)
