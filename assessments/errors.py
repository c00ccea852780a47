"""Domain errors carry their HTTP status; every error body has one shape.

``{"error": {"code": "...", "message": "...", "details": ...}}``. A 422 is only for a payload
that does not match its schema; everything the domain refuses has its own status and code.
Messages never include a key, a fraction or feedback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("assay")


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    """Well-formed but unacceptable: an item that does not check, a quiz that cannot be built."""

    status_code = 400
    code = "invalid"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def _is_page(request: Request) -> bool:
    """Web pages get an HTML error page (never a stack trace); the API gets JSON."""
    return getattr(request.app.state, "error_page", None) is not None and not request.url.path.startswith("/api/")


def _page(request: Request, status: int, code: str, message: str) -> Response | None:
    if not _is_page(request):
        return None
    response: Response = request.app.state.error_page(request, status, code, message)
    return response


def error_response(request: Request, status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The error as a web page or, for the API, as JSON in the one shape."""
    page = _page(request, status, code, message)
    response = page if page is not None else JSONResponse(error_body(code, message, details), status)
    response.headers.update(headers or {})
    return response


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal_error",
                          "something went wrong on our side; nothing you sent was lost")


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 and not _is_page(request) else {}
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details,
                              headers | (exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
        ]
        return JSONResponse(error_body("malformed", "the request does not match its schema", details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        page = _page(request, exc.status_code, code, str(exc.detail))
        if page is not None:
            return page
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    app.add_exception_handler(Exception, unexpected_error)
