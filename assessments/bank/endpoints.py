"""``/api/v1/items`` and ``/api/v1/banks``: the bank, for instructors (rights per bank: see
:mod:`assessments.bank.access`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from assessments.bank import authoring, banks, declarations, exchange, service
from assessments.bank.schemas import (
    BankCreate,
    BankOut,
    CheckOut,
    GrantIn,
    ImportResult,
    ItemMove,
    ItemOut,
    ItemSaved,
    ItemSummary,
    Preview,
    PreviewCheck,
)
from assessments.deps import CurrentPrincipal, NowDep, Principal, SessionDep
from assessments.errors import Invalid
from assessments.interop.formats import FORMATS, KNOWN
from assessments.models import VersionOrigin
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
    concept: Annotated[list[str] | None, Query(description="a concept's key; items with every one given",
                                               max_length=20)] = None,
) -> list[ItemSummary]:
    """The current items of the banks you may read (or of ``bank``)."""
    return page.rows(service.list_items(session, principal, tag or [], q, type, page.fetch, page.offset,
                                        bank_slug=bank, concepts=concept or ()))


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
ITEM_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "additionalProperties": True,
                                    "description": "the item's definition (content/README.md's format as JSON)"}},
    "application/yaml": {"schema": {"type": "string", "description": "the item as YAML, as an author writes it"}},
}}}
"""An item is posted as its JSON definition or as the YAML text of ``content/README.md``."""


@dataclass(frozen=True)
class ItemBody:
    """A posted item: its YAML text (problems then name their lines), or its JSON definition."""

    text: str | None
    definition: dict[str, Any] | None

    def as_text(self) -> str:
        if self.text is not None:
            return self.text
        return yaml.safe_dump(self.definition, sort_keys=False, allow_unicode=True, width=100)


async def item_body(request: Request) -> ItemBody:
    raw = await request.body()
    media = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the body is not UTF-8 text", code="bad_body") from None
    if media in YAML_TYPES:
        _refuse_yaml_that_is_no_item(decoded)
        return ItemBody(decoded, None)
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); send YAML with "
                      "content-type application/yaml", code="bad_body") from None
    if not isinstance(data, dict):
        raise Invalid("the body must be an item's definition: a JSON object", code="bad_body")
    return ItemBody(None, data)


def _refuse_yaml_that_is_no_item(text: str) -> None:
    """A YAML body that reads as something other than one mapping (``false``, a number, a list,
    nothing) is no item at all: refused like a JSON body that is no object. A body that does not
    read as YAML is left to the checker, which names the line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise Invalid(f"the body must be an item: one YAML mapping of key: value lines (it reads as {found})",
                      code="bad_body")


ItemBodyDep = Annotated[ItemBody, Depends(item_body)]


@router.post("", response_model=ItemSaved, status_code=status.HTTP_201_CREATED, openapi_extra=ITEM_BODY,
             responses={200: {"model": ItemSaved, "description": "the item is identical to an existing version"}})
def create_item(body: ItemBodyDep, principal: CurrentPrincipal, session: SessionDep, now: NowDep,
                response: Response, bank: BankQuery = None) -> ItemSaved:
    """Add an item (or a new version of one) from its JSON definition or its YAML text; problems
    say where (YAML: at their lines). A new item goes into ``bank``, or, when you teach one
    course, into that course's own bank. An item identical to a version the bank holds makes no
    new version: 200 with that version (201 when something was made)."""
    if body.text is not None:
        saved = _save_text(session, principal, body.text, bank=bank, now=now, editing=None)
    else:
        assert body.definition is not None
        saved = service.save_for(session, principal, body.definition, bank_slug=bank, now=now)
    if not saved.created:
        response.status_code = status.HTTP_200_OK
    return saved


def _save_text(session: Session, principal: Principal, text: str, *, bank: str | None, now: datetime,
               editing: str | None) -> ItemSaved:
    """Save a YAML text, or refuse it (400) with every problem at its line."""
    checked, saved = authoring.save_text(session, principal, text, bank_slug=bank, now=now, editing=editing,
                                         origin=VersionOrigin.API)
    if saved is None:
        raise Invalid("the item does not check", code="invalid_item", details=[
            {"path": [], "line": p.line, "message": p.message} for p in checked.out().problems])
    return saved


@router.post("/check", response_model=CheckOut, openapi_extra=ITEM_BODY)
def check_item(body: ItemBodyDep, principal: CurrentPrincipal, session: SessionDep) -> CheckOut:
    """Check an item without saving it, as a save would: every problem at its line of the YAML
    (the text posted, or the JSON definition written out as YAML)."""
    return authoring.check_text(session, principal, body.as_text()).out()


@router.post("/preview", response_model=PreviewCheck, openapi_extra=ITEM_BODY)
def preview_posted(body: ItemBodyDep, principal: CurrentPrincipal, session: SessionDep,
                   seed: Annotated[int, Query(ge=0, le=2**62)] = 0) -> PreviewCheck:
    """Check a posted item and preview the variant of ``seed``, without saving anything: the
    checker's problems, and (when the item loads) the question, its key, feedback and solution."""
    previewed = authoring.preview_text(session, principal, body.as_text(), seed)
    return PreviewCheck(check=previewed.checked.out(), preview=previewed.preview)


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
    """Import items as YAML (``---`` between them, or a zip of a folder of YAML files, as ``assay
    content export DIR`` writes one), QTI 3.0 or 2.2 (an item file or a package),
    GIFT or Moodle XML: all of them, or none; problems say where. New items go into ``bank`` (as
    for ``POST /api/v1/items``); items that exist already must be in it."""
    return exchange.import_for(session, principal, raw, format=format, bank_slug=bank, now=now)


@router.get("/{key}", response_model=ItemOut)
def get_item(key: str, principal: CurrentPrincipal, session: SessionDep) -> ItemOut:
    """The item's definition and versions; refused (403) while an attempt of yours in progress
    was given it."""
    return service.get_item(session, principal, key)


@router.put("/{key}", response_model=ItemSaved, openapi_extra=ITEM_BODY)
def update_item(key: str, body: ItemBodyDep, principal: CurrentPrincipal, session: SessionDep,
                now: NowDep) -> ItemSaved:
    """A new version of the item (its JSON definition or YAML text), if its bank is one you may
    edit. Attempts keep the version they were given, and quizzes the version they pinned until
    their instructors choose the new one."""
    if body.text is not None:
        banks.editable_item(session, principal, key)
        return _save_text(session, principal, body.text, bank=None, now=now, editing=key)
    assert body.definition is not None
    return service.save_for(session, principal, body.definition, bank_slug=None, now=now, key=key)


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


declarations_router = APIRouter(prefix="/api/v1/declarations", tags=["banks"])


@declarations_router.get("", response_model=declarations.DeclarationsOut)
def get_declarations(principal: CurrentPrincipal, session: SessionDep,
                     bank: BankQuery = None) -> declarations.DeclarationsOut:
    """The tag facets with their values, and the concepts, that items of ``bank`` (the shared
    library by default) may name: the installed ``bank.yaml``, the open banks' declarations and
    the bank's own, merged."""
    return declarations.get(session, principal, bank)


@declarations_router.post("", response_model=declarations.DeclarationsOut, status_code=status.HTTP_201_CREATED,
                          responses={200: {"model": declarations.DeclarationsOut,
                                           "description": "everything named was declared already"}})
def post_declarations(data: declarations.DeclarationsIn, principal: CurrentPrincipal, session: SessionDep,
                      now: NowDep, response: Response) -> declarations.DeclarationsOut:
    """Declare facet values (of a new facet too) and concepts in a bank you may edit (``bank``,
    by default the bank your new items go to), so that its items may name them; 200 when
    everything named was declared already. ``assay content export`` writes them into its
    ``bank.yaml``."""
    out, added = declarations.declare(session, principal, data, now=now)
    if not added:
        response.status_code = status.HTTP_200_OK
    return out
