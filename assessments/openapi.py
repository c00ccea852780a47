"""The OpenAPI document, completed: how a caller authenticates, and every error an operation answers.

FastAPI documents each operation's success and its own 422 body (``{"detail": [...]}``), which is
not what Assay sends. :func:`install` completes the generated document so that it describes every
reply the API gives (the fuzz tests in ``tests/assessments/test_fuzz_api.py`` hold the app to it):

- the ``Error`` schema (the one error body, ``{"error": {"code", "message", "details"}}``) and
  the ``bearer`` security scheme (an access token or a personal token);
- 422 with ``Error`` wherever FastAPI says a request can be malformed;
- an operation that needs a caller: its security, 401 (no valid credentials) and 403 (a role or a
  token scope that does not allow it);
- an operation with path parameters: 404 (nothing there, or nothing the caller may see);
- an operation with a request body: 400 (a body that is not UTF-8 JSON, or that the domain refuses)
  and 413 (past the body size limit);
- what is particular to one operation, from :data:`PARTICULAR`: 400 where the domain refuses
  well-formed input, 409 where the request conflicts with the current state, 429 where a rate limit applies.

Routes keep their own ``responses=`` documentation; this only adds what they leave out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from assessments.deps import credentials

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "for programs: not_found, forbidden, malformed, ..."},
            "message": {"type": "string", "description": "for people: what was wrong, and where"},
            "details": {"description": "where it was wrong (422: a list of {loc, message})"},
        },
    }},
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

MEANINGS = {
    400: "Refused: a body that cannot be read (not UTF-8 JSON), or well-formed input the domain refuses "
         "(the error's code and message say what and where)",
    401: "No valid credentials: a bearer token (access or personal) is needed",
    403: "The caller's role, or the token's scopes, do not allow this",
    404: "Nothing there, or nothing the caller may see",
    409: "The request conflicts with the current state: the message says with what",
    413: "The request body is too large",
    422: "The request does not match its schema: details lists where",
    429: "Too many requests: wait as long as Retry-After says",
    503: "Not possible just now: the message says why (a question's item needs its author; the database is busy)",
}

PARTICULAR: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/auth/token"): (401, 429),                  # a wrong username or password; too many
    ("POST", "/api/v1/auth/tokens"): (429,),                     # too many tokens made
    ("POST", "/api/v1/users"): (409,),                           # the username is taken
    ("POST", "/api/v1/courses"): (409,),                         # the slug is taken
    ("POST", "/api/v1/lti/registrations"): (409,),               # the platform is registered already
    ("GET", "/api/v1/items"): (400, 404),                        # a tag that is not facet:value; no such bank
    # A definition that does not check, or no bank named where one must be; no such bank; the id is
    # an item's of another bank:
    ("POST", "/api/v1/items"): (400, 404, 409),
    ("GET", "/api/v1/items/export"): (400, 404),                 # an unknown format; no such bank
    ("POST", "/api/v1/items/import"): (400, 404, 409),           # a file with problems: all of them, where; as POST
    ("PUT", "/api/v1/items/{key}"): (400,),                      # as POST, or an id that is not the path's
    ("GET", "/api/v1/declarations"): (404,),                     # no such bank (or not the caller's)
    ("POST", "/api/v1/declarations"): (400, 404),                # nothing named, too many; no such bank
    ("POST", "/api/v1/banks"): (404, 409),                       # not a course the caller teaches; a taken slug
    ("POST", "/api/v1/courses/{course}/quizzes"): (400,),        # items that do not exist, bad settings
    # No attempts left, or the quiz is closed; a question that cannot be made (its item needs a fix):
    ("POST", "/api/v1/quizzes/{quiz_id}/attempts"): (409, 503),
    # A stale seq (the reply says the current one), or an attempt that is finished:
    ("PUT", "/api/v1/attempts/{attempt_id}/responses/{slot}"): (409,),
    ("POST", "/api/v1/attempts/{attempt_id}/slots/{slot}/check"): (409,),
    ("POST", "/api/v1/attempts/{attempt_id}/slots/{slot}/try-again"): (409,),
    ("POST", "/api/v1/attempts/{attempt_id}/slots/{slot}/grade"): (409,),  # the attempt is still in progress
}
"""Errors particular to one operation (method, path), besides those every operation of its kind has."""


def _needs_caller(dependant: Dependant) -> bool:
    return any(d.call is credentials or _needs_caller(d) for d in dependant.dependencies)


def _error_response(status: int) -> dict[str, Any]:
    return {"description": MEANINGS[status], "content": {"application/json": {"schema": ERROR_REF}}}


def complete(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Add the error replies and the security of every API operation to ``document`` (in place)."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer",
        "description": "An access token from POST /api/v1/auth/token, or a personal token (POST /api/v1/auth/tokens)",
    }
    schemas = components["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    documented = set()
    for context in iter_route_contexts(routes):
        route, path = context.original_route, context.path_format or ""
        if not isinstance(route, APIRoute) or not context.include_in_schema or not path.startswith("/api/"):
            continue
        for method in context.methods or ():
            operation = document["paths"][path][method.lower()]
            responses = operation.setdefault("responses", {})
            statuses = set(PARTICULAR.get((method, path), ()))
            documented.add((method, path))
            if "422" in responses:
                statuses.add(422)
                responses.pop("422")
            if _needs_caller(route.dependant):
                operation["security"] = [{"bearer": []}]
                statuses |= {401, 403}
            if route.dependant.path_params:
                statuses.add(404)
            if "requestBody" in operation:
                statuses |= {400, 413}
            for status in sorted(statuses):
                responses.setdefault(str(status), _error_response(status))
    unknown = set(PARTICULAR) - documented
    if unknown:
        raise ValueError(f"openapi.PARTICULAR names operations the app does not have: {sorted(unknown)}")
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document (FastAPI generates it; this completes each fresh one)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        if "Error" not in document.get("components", {}).get("schemas", {}):
            complete(document, app.routes)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
