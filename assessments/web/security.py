"""CSRF tokens for every form and every cookie-authenticated API call, and the security headers."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
_NO_STORE = (b"cache-control", b"no-store")
_NO_STORE_PATHS = ("/attempts", "/api/v1/attempts")


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not set them itself, and
    ``cache-control: no-store`` to attempts (a pure ASGI middleware: it only edits the start of
    each response, never buffers a body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _HEADERS + ((_NO_STORE,) if scope["path"].startswith(_NO_STORE_PATHS) else ())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
