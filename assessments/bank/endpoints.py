"""``/api/v1/items``: the bank, for instructors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse, Response

from assessments.bank import service
from assessments.bank.schemas import ImportResult, ItemOut, ItemSummary, Preview, SaveResult
from assessments.deps import CurrentPrincipal, NowDep, SessionDep
from assessments.errors import Invalid
from assessments.interop.formats import FORMATS, KNOWN
from assessments.pagination import PageDep

router = APIRouter(prefix="/api/v1/items", tags=["items"])


@router.get("", response_model=list[ItemSummary])
def list_items(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    tag: Annotated[list[str] | None, Query(description="facet:value; a path matches below it")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query()] = None,  # noqa: A002 - the REST contract's name
) -> list[ItemSummary]:
    principal.require_staff()
    return page.rows(service.list_items(session, tag or [], q, type, page.fetch, page.offset))


@router.post("", response_model=SaveResult, status_code=status.HTTP_201_CREATED)
def create_item(definition: Annotated[dict[str, Any], Body()], principal: CurrentPrincipal,
                session: SessionDep, now: NowDep) -> SaveResult:
    """Add an item (or a new version of one) from its definition; problems say where."""
    principal.require_staff()
    return service.save_definition(session, definition, source="api", actor_id=principal.user.id, now=now)


@router.get("/export", response_class=PlainTextResponse, responses={200: {
    "description": "YAML; QTI packages as zip; Moodle XML; GIFT as text",
    "content": {"application/yaml": {}, "application/zip": {}, "application/xml": {}, "text/plain": {}}}})
def export_items(
    principal: CurrentPrincipal,
    session: SessionDep,
    format: Annotated[str, Query()] = "yaml",  # noqa: A002 - the REST contract's name
    tag: Annotated[list[str] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    seed: Annotated[int, Query(ge=0, le=2**62, description="the variant computed items leave as")] = 0,
) -> Response:
    """The bank (or the items matching ``tag`` and ``q``) as YAML, QTI 3.0 or 2.2 packages, GIFT
    or Moodle XML. Computed items leave the exchange formats as the variant of ``seed``; the
    ``x-assay-export-notes`` header counts what the format could not carry as it is."""
    principal.require_staff()
    if format == "yaml":
        return PlainTextResponse(service.export_yaml(session, tag or [], q), media_type="application/yaml")
    exporter = FORMATS.get(format)
    if exporter is None:
        raise Invalid(f"unknown export format {format!r} (known: {KNOWN})")
    exported = exporter.export_items(service.export_entries(session, tag or [], q, seed), title="Assay export")
    return Response(exported.content, media_type=exported.media_type, headers={
        "content-disposition": f'attachment; filename="{exported.filename}"',
        "x-assay-export-notes": str(len(exported.notes)),
    })


async def request_body(request: Request) -> bytes:
    """The raw body, read before the (synchronous) handler runs; ``ASSAY_MAX_IMPORT_BYTES`` bounds
    it (413, :mod:`assessments.limits`)."""
    return await request.body()


@router.post("/import", response_model=ImportResult)
def import_items(
    raw: Annotated[bytes, Depends(request_body)],
    principal: CurrentPrincipal,
    session: SessionDep,
    now: NowDep,
    format: Annotated[str, Query()] = "yaml",  # noqa: A002 - the REST contract's name
) -> ImportResult:
    """Import items as YAML (``---`` between them), QTI 3.0 or 2.2 (an item file or a package),
    GIFT or Moodle XML: all of them, or none; problems say where."""
    principal.require_staff()
    return service.import_file(session, raw, format=format, name=f"import.{format}",
                               actor_id=principal.user.id, now=now)


@router.get("/{key}", response_model=ItemOut)
def get_item(key: str, principal: CurrentPrincipal, session: SessionDep) -> ItemOut:
    principal.require_staff()
    return service.get_item(session, key)


@router.put("/{key}", response_model=SaveResult)
def update_item(key: str, definition: Annotated[dict[str, Any], Body()], principal: CurrentPrincipal,
                session: SessionDep, now: NowDep) -> SaveResult:
    """A new version of the item (attempts keep the version they were given)."""
    principal.require_staff()
    service.current(session, key)
    if definition.get("id") != key:
        raise Invalid(f"the definition's id must be {key!r}", code="id_mismatch")
    return service.save_definition(session, definition, source="api", actor_id=principal.user.id, now=now)


@router.get("/{key}/preview", response_model=Preview)
def preview_item(key: str, principal: CurrentPrincipal, session: SessionDep,
                 seed: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Preview:
    principal.require_staff()
    return service.preview(session, key, seed)
