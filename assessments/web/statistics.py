"""The instructor's statistics page of a quiz: Moodle's figures per question, and per item the
options chosen, the misconceptions the wrong answers show, and facility by drawn parameter.
Every chart has its table beside it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assessments.auth.access import require_instructor
from assessments.deps import NowDep, RowId, SessionDep, SettingsDep
from assessments.models import Job
from assessments.quizzes.service import quiz_for
from assessments.reports.service import statistics_or_job
from assessments.web.charts import facility_discrimination_chart, histogram_chart, option_chart, parameter_chart
from assessments.web.pages import WebPrincipal
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/quizzes/{quiz_id}/statistics")
def statistics_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                    settings: SettingsDep, now: NowDep) -> Response:
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    stats = statistics_or_job(session, principal, quiz_id, inline_limit=settings.statistics_inline_attempts,
                              now=now)
    if isinstance(stats, Job):  # a large quiz: the page refreshes itself until the job is done
        return page(request, "statistics.html", quiz=quiz, job=stats, stats=None)
    return page(request, "statistics.html", quiz=quiz, stats=stats, job=None,
                scatter=facility_discrimination_chart(stats.slots),
                histogram=histogram_chart(stats.histogram, stats.histogram_edges),
                option_chart=option_chart, parameter_chart=parameter_chart)
