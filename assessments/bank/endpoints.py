"""``/api/v1/items`` and ``/api/v1/banks``: the bank, for instructors (rights per bank: see
:mod:`assessments.bank.access`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse, Response

from assessments.bank import banks, exchange, service
from assessments.bank.schemas import (
    BankCreate,
    BankOut,
    GrantIn,
    ImportResult,
    ItemMove,
    ItemOut,
    ItemSummary,
    Preview,
    SaveResult,
)
from assessments.deps import CurrentPrincipal, NowDep, SessionDep
from assessments.errors import Invalid
from assessments.interop.formats import FORMATS, KNOWN
from assessments.pagination import PageDep

router = APIRouter(prefix="/api/v1/items", tags=["items"])
banks_router = APIRouter(prefix="/api/v1/banks", tags=["banks"])

BankQuery = Annotated[str | None, Query(max_length=120,
                                        description="a bank's slug (course:<course> for a course's own)")]


@router.get("", response_model=list[ItemSummary])
def list_items(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    tag: Annotated[list[str] | None, Query(description="facet:value; a path matches below it")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query()] = None,  # noqa: A002 - the REST contract's name
    bank: BankQuery = None,
) -> list[ItemSummary]:
    """The current items of the banks you may read (or of ``bank``)."""
    return page.rows(service.list_items(session, principal, tag or [], q, type, page.fetch, page.offset,
                                        bank_slug=bank))


@router.post("", response_model=SaveResult, status_code=status.HTTP_201_CREATED)
def create_item(definition: Annotated[dict[str, Any], Body()], principal: CurrentPrincipal,
                session: SessionDep, now: NowDep, bank: BankQuery = None) -> SaveResult:
    """Add an item (or a new version of one) from its definition; problems say where. A new item
    goes into ``bank``, or, when you teach one course, into that course's own bank."""
    return service.save_for(session, principal, definition, bank_slug=bank, now=now)


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
    bank: BankQuery = None,
) -> Response:
    """The bank (or the items matching ``tag`` and ``q``) as YAML, QTI 3.0 or 2.2 packages, GIFT
    or Moodle XML. Computed items leave the exchange formats as the variant of ``seed``; the
    ``x-assay-export-notes`` header counts what the format could not carry as it is."""
    if format == "yaml":
        return PlainTextResponse(exchange.export_yaml(session, tag or [], q, principal=principal, bank_slug=bank),
                                 media_type="application/yaml")
    exporter = FORMATS.get(format)
    if exporter is None:
        raise Invalid(f"unknown export format {format!r} (known: {KNOWN})")
    entries = exchange.export_entries(session, tag or [], q, seed, principal=principal, bank_slug=bank)
    exported = exporter.export_items(entries, title="Assay export")
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
    bank: BankQuery = None,
) -> ImportResult:
    """Import items as YAML (``---`` between them), QTI 3.0 or 2.2 (an item file or a package),
    GIFT or Moodle XML: all of them, or none; problems say where. New items go into ``bank`` (as
    for ``POST /api/v1/items``); items that exist already must be in it."""
    return exchange.import_for(session, principal, raw, format=format, bank_slug=bank, now=now)


@router.get("/{key}", response_model=ItemOut)
def get_item(key: str, principal: CurrentPrincipal, session: SessionDep) -> ItemOut:
    """The item's definition and versions; refused (403) while an attempt of yours in progress
    was given it."""
    return service.get_item(session, principal, key)


@router.put("/{key}", response_model=SaveResult)
def update_item(key: str, definition: Annotated[dict[str, Any], Body()], principal: CurrentPrincipal,
                session: SessionDep, now: NowDep) -> SaveResult:
    """A new version of the item, if its bank is one you may edit. Attempts keep the version they
    were given, and quizzes the version they pinned until their instructors choose the new one."""
    return service.save_for(session, principal, definition, bank_slug=None, now=now, key=key)


@router.post("/{key}/move", response_model=ItemOut)
def move_item(key: str, body: ItemMove, principal: CurrentPrincipal, session: SessionDep) -> ItemOut:
    """Move the item to another bank (you manage the one it leaves and may edit the other)."""
    return service.move_item(session, principal, key, body.bank)


@router.get("/{key}/preview", response_model=Preview)
def preview_item(key: str, principal: CurrentPrincipal, session: SessionDep,
                 seed: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Preview:
    return service.preview(session, principal, key, seed)


# --- /api/v1/banks ---------------------------------------------------------------------------------


@banks_router.get("", response_model=list[BankOut])
def list_banks(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[BankOut]:
    """The banks you may read, and what you may do in each."""
    found = banks.list_banks(session, principal)
    return page.rows(found[page.offset: page.offset + page.fetch])


@banks_router.post("", response_model=BankOut, status_code=status.HTTP_201_CREATED)
def create_bank(body: BankCreate, principal: CurrentPrincipal, session: SessionDep, now: NowDep) -> BankOut:
    """A bank owned by a course you teach, to share with other courses."""
    return banks.create_bank(session, principal, body, now)


@banks_router.get("/{bank}", response_model=BankOut)
def get_bank(bank: str, principal: CurrentPrincipal, session: SessionDep) -> BankOut:
    return banks.get_bank(session, principal, bank)


@banks_router.put("/{bank}/grants/{course}", response_model=BankOut)
def grant(bank: str, course: str, body: GrantIn, principal: CurrentPrincipal, session: SessionDep,
          now: NowDep) -> BankOut:
    """Share the bank with a course: its instructors read and use the items, and with
    ``can_edit`` publish new versions of them."""
    return banks.set_grant(session, principal, bank, course, can_edit=body.can_edit, now=now)


@banks_router.delete("/{bank}/grants/{course}", response_model=BankOut)
def revoke(bank: str, course: str, principal: CurrentPrincipal, session: SessionDep) -> BankOut:
    """Stop sharing the bank with a course; its quizzes keep the versions they pinned."""
    return banks.revoke_grant(session, principal, bank, course)
