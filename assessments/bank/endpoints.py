"""``/api/v1/items``: the bank, for instructors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse

from assessments.bank import service
from assessments.bank.schemas import ImportResult, ItemOut, ItemSummary, Preview, SaveResult
from assessments.deps import CurrentPrincipal, NowDep, SessionDep
from assessments.errors import Invalid

router = APIRouter(prefix="/api/v1/items", tags=["items"])

MAX_IMPORT_BYTES = 5_000_000
EXPORT_FORMATS = ("yaml",)


@router.get("", response_model=list[ItemSummary])
def list_items(
    principal: CurrentPrincipal,
    session: SessionDep,
    tag: Annotated[list[str] | None, Query(description="facet:value; a path matches below it")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query()] = None,  # noqa: A002 - the REST contract's name
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ItemSummary]:
    principal.require_staff()
    return service.list_items(session, tag or [], q, type, limit, offset)


@router.post("", response_model=SaveResult, status_code=status.HTTP_201_CREATED)
def create_item(definition: Annotated[dict[str, Any], Body()], principal: CurrentPrincipal,
                session: SessionDep, now: NowDep) -> SaveResult:
    """Add an item (or a new version of one) from its definition; problems say where."""
    principal.require_staff()
    return service.save_definition(session, definition, source="api", actor_id=principal.user.id, now=now)


@router.get("/export", response_class=PlainTextResponse)
def export_items(
    principal: CurrentPrincipal,
    session: SessionDep,
    format: Annotated[str, Query()] = "yaml",  # noqa: A002 - the REST contract's name
    tag: Annotated[list[str] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> PlainTextResponse:
    principal.require_staff()
    if format not in EXPORT_FORMATS:
        raise Invalid(f"unknown export format {format!r} (known: {', '.join(EXPORT_FORMATS)})")
    return PlainTextResponse(service.export_yaml(session, tag or [], q), media_type="application/yaml")


async def request_body(request: Request) -> bytes:
    """The raw body, read before the (synchronous) handler runs; refused past the import limit."""
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise Invalid(f"the import is larger than {MAX_IMPORT_BYTES} bytes")
    return raw


@router.post("/import", response_model=ImportResult)
def import_items(
    raw: Annotated[bytes, Depends(request_body)],
    principal: CurrentPrincipal,
    session: SessionDep,
    now: NowDep,
    format: Annotated[str, Query()] = "yaml",  # noqa: A002 - the REST contract's name
) -> ImportResult:
    """Import a YAML stream of items (``---`` between them): all of them, or none."""
    principal.require_staff()
    if format != "yaml":
        raise Invalid(f"unknown import format {format!r} (known: yaml)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("the import is not UTF-8 text") from exc
    return service.import_yaml(session, text, name="import.yaml", actor_id=principal.user.id, now=now)


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
