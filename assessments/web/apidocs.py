"""The API's documentation pages, served from Assay itself: ``/docs`` (Swagger UI, to try calls)
and ``/redoc`` (Redoc, to read), both over ``/openapi.json``.

FastAPI's own pages load their scripts from a CDN, which Assay's Content-Security-Policy refuses
(and a closed network cannot reach). These pages load the copies ``scripts/vendor-frontend.sh``
vendors into ``static/vendor/``, with no inline script. Both viewers write style attributes and
``<style>`` elements, so these two pages, which show nothing but the document, allow inline styles.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from assessments.security import content_security_policy

router = APIRouter(include_in_schema=False)

_DOCS_POLICY = content_security_policy(inline_styles=True, blob_workers=True)  # Redoc searches in a blob worker

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Assay API · Swagger UI</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
<body><main id="swagger-ui" data-spec="/openapi.json" data-oauth2-redirect="/docs/oauth2-redirect"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script></body></html>
"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Assay API · Redoc</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
<body><main><redoc spec-url="/openapi.json"></redoc></main>
<script src="/static/vendor/redoc/redoc.standalone.js"></script></body></html>
"""


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"content-security-policy": _DOCS_POLICY})


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return _page(_SWAGGER)


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return _page(_REDOC)
