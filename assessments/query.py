"""The REST API refuses query parameters it does not know, naming them (422).

FastAPI ignores a query parameter an operation does not declare, so a mistyped one would be
ignored in silence: ``POST /api/v1/quizzes/1/regrade?dryrun=false`` would take the dry run it
defaults to while its caller believes the regrade committed. Pages (outside ``/api/``) keep
ignoring what they do not read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from assessments.security import LAUNCH_TOKEN_PARAM

API_PREFIX = "/api/"
EVERYWHERE = frozenset({LAUNCH_TOKEN_PARAM})
"""Parameters every request may carry: an LTI session's token, which a framed page's links carry."""
_DECLARED: dict[int, frozenset[str]] = {}


def _names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def _declared(route: Any) -> frozenset[str]:
    found = _DECLARED.get(id(route))
    if found is None:
        found = _DECLARED[id(route)] = frozenset(_names(route.dependant))
    return found


async def known_query_parameters(request: Request) -> None:
    """A dependency of every route: 422 for an API request with a query parameter its operation
    does not take."""
    route = request.scope.get("route")
    if not request.url.path.startswith(API_PREFIX) or getattr(route, "dependant", None) is None:
        return
    declared = _declared(route)
    unknown = sorted(set(request.query_params) - declared - EVERYWHERE)
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        raise RequestValidationError([
            {"loc": ("query", name), "msg": f"unknown query parameter (this operation takes: {takes})",
             "type": "extra_forbidden"} for name in unknown[:20]])
