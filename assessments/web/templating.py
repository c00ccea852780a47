"""The Jinja2 environment: autoescaping on, author text through the sanitiser, helpers for pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse, Response

from assessments.config import ROOT
from assessments.marks import unsigned
from assessments.rendering import plain_text, render_inline, render_markdown
from assessments.web.security import CSRF_FIELD, csrf_token

templates = Jinja2Templates(directory=str(ROOT / "templates"))
templates.env.filters["markdown"] = render_markdown
templates.env.filters["inline"] = render_inline
templates.env.filters["plain"] = plain_text
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD


def _when(value: datetime | None) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC") if value else ""


templates.env.filters["when"] = _when


def _marks(value: float | None) -> str:
    """Marks as people write them: 2, 0.67, 3.5 (and 0, never -0)."""
    return "–" if value is None else f"{unsigned(round(value, 2)):g}"


templates.env.filters["marks"] = _marks


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    return templates.TemplateResponse(
        request, name, {"user": user, "csrf": csrf_token(request), **context}, status_code=status_code)


STATIC = str(Path(__file__).parent / "static")


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    if code == "login_required":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    titles = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Not possible now",
              413: "Too large", 429: "Too many requests", 500: "Something went wrong", 503: "Busy: try again"}
    retry = getattr(request.state, "retry_after", None) if request.method == "POST" else None
    return page(request, "error.html", status_code=status, title=titles.get(status, "Problem"),
                code=code, message=message, retry_after=retry, retry_action=request.url.path)
