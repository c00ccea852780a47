"""The pages' side of request security: a posted form, read once its CSRF token has been checked.

CSRF, the session and the security headers themselves live in :mod:`assessments.security`, where
the API takes them from too; the names are here as well for the pages that import them from here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from assessments.security import (
    CONTENT_SECURITY_POLICY,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SecurityHeaders,
    check_csrf,
    csrf_token,
)

__all__ = ["CONTENT_SECURITY_POLICY", "CSRF_FIELD", "CSRF_HEADER", "SAFE_METHODS", "CheckedForm", "SecurityHeaders",
           "check_csrf", "checked_form", "csrf_token"]


async def checked_form(request: Request) -> FormData:
    """A page's posted form, once its CSRF token has been checked."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
"""Read in an async dependency, so that the page handler itself can be a plain function: FastAPI
runs those in a thread pool, and their database work never blocks the event loop."""
