"""CSRF tokens for every form and every cookie-authenticated API call, and the security headers."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from assessments.errors import Forbidden

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("the form has expired or did not come from Assay: reload the page and try again",
                        code="csrf")


async def checked_form(request: Request) -> FormData:
    """A page's posted form, once its CSRF token has been checked."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
"""Read in an async dependency, so that the page handler itself can be a plain function: FastAPI
runs those in a thread pool, and their database work never blocks the event loop."""


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("referrer-policy", "same-origin")
        response.headers.setdefault("x-frame-options", "DENY")
        if request.url.path.startswith(("/attempts", "/api/v1/attempts")):
            response.headers.setdefault("cache-control", "no-store")
        return response
