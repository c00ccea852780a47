"""The course gradebook page: a row per student, a column per quiz, a page of students at a time,
and the whole of it as a streamed CSV (``/api/v1/courses/{course}/gradebook?format=csv``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assessments.deps import SessionDep
from assessments.grading.gradebook import gradebook_rows
from assessments.web.pages import WebPrincipal
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)

STUDENTS_PER_PAGE = 100


@router.get("/courses/{course}/gradebook")
def gradebook_page(course: str, request: Request, principal: WebPrincipal, session: SessionDep,
                   page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1) -> Response:
    book = gradebook_rows(session, principal, course)
    pages = max(1, -(-len(book.students) // STUDENTS_PER_PAGE))
    number = min(page_number, pages)
    shown = book.students[(number - 1) * STUDENTS_PER_PAGE: number * STUDENTS_PER_PAGE]
    return page(request, "gradebook.html", book=book, students=shown, page_number=number, pages=pages)
