"""The instructor's authoring pages: write a new item (from a template or a copy), edit one into a
new version, compare versions and choose which one a quiz gives, and import files with a report
before anything is committed.

Every page works as plain HTML forms; with JavaScript (``static/authoring.js``) the editor is
CodeMirror and the checker's problems and the preview follow the text as it is typed, from the
same server-rendered fragment the "Check and preview" button shows.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from assessments.bank import authoring, banks, declarations, exchange
from assessments.bank.access import BankRights
from assessments.bank.banks import readable_current
from assessments.bank.yaml_folder import is_yaml_folder
from assessments.config import get_settings
from assessments.db import done_reading, reading
from assessments.deps import NowDep, Principal, RowId, SessionDep
from assessments.errors import Invalid, NotFound
from assessments.models import Bank, ImportDraft, ItemVersion
from assessments.quizzes import service as quizzes
from assessments.security import content_security_policy, frame_origins
from assessments.web.instructor import FORMAT_NAMES, preview_extras
from assessments.web.pages import WebPrincipal
from assessments.web.security import CheckedForm
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)

DRAFT_LIFETIME = timedelta(hours=1)
SEED_LIMIT = 2**62


# --- the editor -------------------------------------------------------------------------------------


def _editable_banks(session: Session, principal: Principal) -> list[Bank]:
    banks.list_banks(session, principal)  # makes the own bank of every course the caller teaches
    return list(session.scalars(select(Bank).where(BankRights.of(session, principal).editable()).order_by(Bank.slug)))


def _seed(form: Any) -> int:
    raw = str(form.get("seed", "0")).strip()
    seed = int(raw) if raw.isdigit() and len(raw) < 20 else 0
    if form.get("action") == "next":
        seed += 1
    return min(seed, SEED_LIMIT)


def _results(session: Session, principal: Principal, previewed: authoring.Previewed | None,
             declared: str | None = None) -> dict[str, Any]:
    """The editor's results panel: the checker's problems (an undeclared facet value or concept
    with its "Declare" button, where the caller may edit the bank), and the preview with its key."""
    if previewed is None:
        return {"checked": None, "preview": None, "declared": declared}
    extras = {}
    if previewed.preview is not None and previewed.variant is not None and previewed.checked.item is not None:
        extras = preview_extras(previewed.checked.item, previewed.variant, previewed.preview)
    bank = previewed.checked.bank
    can_declare = bank is not None and BankRights.of(session, principal).can_edit(session, bank)
    return {"checked": previewed.checked, "preview": previewed.preview, "model": previewed.checked.item,
            "can_declare": can_declare, "declared": declared, **extras}


def _declare(session: Session, principal: Principal, form: Any, now: Any, editing: str | None,
             bank: str | None) -> str | None:
    """The "Declare" button of an undeclared value: add it to the bank's declarations. Which
    value is the button's (``facet`` and value, or ``concept``), a concept's title its field's."""
    raw = str(form.get("declare") or "")
    if not raw:
        return None
    if editing is not None:
        item = banks.editable_item(session, principal, editing)
        owner = session.get(Bank, item.bank_id)
        bank = owner.slug if owner is not None else bank
    kind, _, rest = raw.partition(":")
    facet, _, value = rest.partition("=")
    try:
        if kind == "concept":
            title = str(form.get(f"concept-title-{rest}") or "").strip()[:declarations.MAX_TITLE] or rest
            wanted = declarations.DeclarationsIn(bank=bank, concepts={rest: title})
            said = f"the concept {rest}"
        elif kind == "facet" and value:
            wanted = declarations.DeclarationsIn(bank=bank, facets={facet: [value]})
            said = f"{facet}: {value}"
        else:
            raise Invalid("choose a facet value or a concept to declare", code="nothing_to_declare")
    except ValidationError as exc:
        raise Invalid(f"{rest!r} cannot be declared: {exc.errors(include_url=False)[0]['msg']}",
                      code="bad_declaration") from exc
    out, _ = declarations.declare(session, principal, wanted, now=now)
    return f"Declared {said} in the bank {out.bank}."


def _editor(request: Request, session: Session, principal: Principal, *, text: str, editing: str | None,
            seed: int = 0, previewed: authoring.Previewed | None = None, bank: str | None = None,
            status_code: int = 200, declared: str | None = None) -> Response:
    current = readable_current(session, principal, editing)[1] if editing else None
    nonce = secrets.token_urlsafe(18)
    target = previewed.checked.bank if previewed is not None else None
    if target is None:
        target = session.get(Bank, readable_current(session, principal, editing)[0].bank_id) if editing else None
    known = declarations.effective(session, target)
    response = page(request, "editor.html", status_code=status_code, text=text, editing=editing, seed=seed,
                    bank=bank, current=current, banks=[] if editing else _editable_banks(session, principal),
                    templates=authoring.templates(get_settings().content_dir), style_nonce=nonce,
                    known_facets={str(f): [str(v) for v in vs] for f, vs in (known.get("facets") or {}).items()},
                    known_concepts={str(k): str(v) for k, v in (known.get("concepts") or {}).items()},
                    **_results(session, principal, previewed, declared))
    # CodeMirror writes its styles into <style> elements, and sizes its gutters with style
    # attributes: this page lets in the elements that carry its nonce, and style attributes
    # (which hold no selectors, and so cannot read the page). Framing stays as the session allows.
    response.headers["content-security-policy"] = content_security_policy(
        frames=frame_origins(request.session), style_nonce=nonce, style_attributes=True)
    return response


@router.get("/bank/new")
def new_item(request: Request, principal: WebPrincipal, session: SessionDep,
             template: Annotated[str | None, Query(max_length=40)] = None,
             copy: Annotated[str | None, Query(max_length=120)] = None,
             bank: Annotated[str | None, Query(max_length=120)] = None) -> Response:
    """A new item's editor: empty, a question type's template, or a copy of an item."""
    principal.require_staff()
    text = ""
    if copy:
        text = authoring.copy_text(session, principal, copy)
    elif template:
        found = {t.type: t for t in authoring.templates(get_settings().content_dir)}
        if template not in found:
            raise NotFound(f"no template for the question type {template!r}")
        text = found[template].text
    return _editor(request, session, principal, text=text, editing=None, bank=bank)


@router.post("/bank/new")
def new_item_post(request: Request, principal: WebPrincipal, session: SessionDep, form: CheckedForm,
                  now: NowDep) -> Response:
    return _submit(request, session, principal, form, now, editing=None)


@router.get("/bank/{key}/edit")
def edit_item(key: str, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    """The item's current version in the editor; saving makes the next version."""
    banks.editable_item(session, principal, key)
    _, version, _ = readable_current(session, principal, key)
    return _editor(request, session, principal, text=authoring.text_of(version), editing=key)


@router.post("/bank/{key}/edit")
def edit_item_post(key: str, request: Request, principal: WebPrincipal, session: SessionDep, form: CheckedForm,
                   now: NowDep) -> Response:
    banks.editable_item(session, principal, key)
    return _submit(request, session, principal, form, now, editing=key)


def _submit(request: Request, session: Session, principal: Principal, form: Any, now: Any, *,
            editing: str | None) -> Response:
    text = str(form.get("text", ""))
    seed = _seed(form)
    bank = str(form.get("bank") or "") or None
    declared = _declare(session, principal, form, now, editing, bank)
    if form.get("action") == "save" and declared is None:
        checked, saved = authoring.save_text(session, principal, text, bank_slug=bank, now=now, editing=editing,
                                             new=editing is None)
        if saved is not None:
            return RedirectResponse(f"/bank/{saved.key}?saved={saved.version}", status_code=303)
        return _editor(request, session, principal, text=text, editing=editing, seed=seed,
                       previewed=authoring.Previewed(checked), bank=bank, status_code=400)
    previewed = authoring.preview_text(session, principal, text, seed, editing=editing, new=editing is None,
                                       bank_slug=bank)
    return _editor(request, session, principal, text=text, editing=editing, seed=seed, previewed=previewed, bank=bank,
                   declared=declared)


@router.post("/bank/check")
def check_fragment(request: Request, principal: WebPrincipal, session: SessionDep, form: CheckedForm,
                   now: NowDep) -> Response:
    """The checker's problems and the preview of a text, as the editor's results panel (what the
    editor's script asks for as the author types)."""
    editing = str(form.get("editing") or "") or None
    if editing is not None:
        banks.editable_item(session, principal, editing)
    bank = str(form.get("bank") or "") or None
    declared = _declare(session, principal, form, now, editing, bank)
    previewed = authoring.preview_text(session, principal, str(form.get("text", "")), _seed(form),
                                       editing=editing, new=editing is None, bank_slug=bank)
    return page(request, "authoring_results.html", seed=_seed(form),
                **_results(session, principal, previewed, declared))


# --- versions ---------------------------------------------------------------------------------------


@router.get("/bank/{key}/versions")
def versions_page(key: str, request: Request, principal: WebPrincipal, session: SessionDep,
                  older: Annotated[int | None, Query(ge=1, le=10**9)] = None,
                  newer: Annotated[int | None, Query(ge=1, le=10**9)] = None) -> Response:
    """Every version with who made it and from where, which quizzes give which, and two of them
    compared."""
    history = authoring.history(session, principal, key)
    numbers = [v.number for v in history.versions]
    newer = newer or numbers[-1]
    older = older or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    lines = authoring.diff(session, principal, key, older, newer)
    return page(request, "versions.html", history=history, older=older, newer=newer, lines=lines,
                changed=any(line.kind != "same" for line in lines))


@router.post("/bank/{key}/versions/{number}/use")
def use_version(key: str, number: RowId, principal: WebPrincipal, session: SessionDep,
                form: CheckedForm) -> Response:
    """Make a quiz give this version; with attempts already taken, on to the regrade's dry run."""
    raw = str(form.get("quiz_id", ""))
    if not raw.isdigit() or len(raw) > 9:
        raise Invalid("choose a quiz", code="no_quiz")
    item, _, _ = readable_current(session, principal, key)
    version = session.scalars(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                        ItemVersion.number == number)).first()
    if version is None:
        raise NotFound(f"item {key!r} has no version {number}")
    changes = quizzes.pin_version(session, principal, int(raw), item, version)
    if changes.attempts:
        return RedirectResponse(f"/quizzes/{changes.quiz_id}/regrade", status_code=303)
    return RedirectResponse(f"/bank/{key}/versions?used={number}&quiz={changes.quiz_id}", status_code=303)


# --- import ---------------------------------------------------------------------------------------------


@router.get("/bank/import")
def import_page(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    principal.require_staff()
    return page(request, "import.html", formats=FORMAT_NAMES, banks=_editable_banks(session, principal),
                problem=None, form={})


def _format_of(name: str, chosen: str, data: bytes) -> str:
    if chosen in FORMAT_NAMES:
        return chosen
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix == "zip" and is_yaml_folder(data):
        return "yaml"  # a folder of YAML item files; a zip with XML is a QTI package
    return {"yaml": "yaml", "yml": "yaml", "gift": "gift", "txt": "gift", "xml": "moodlexml", "zip": "qti3"}.get(
        suffix, "yaml")


@router.post("/bank/import")
async def import_upload(request: Request, principal: WebPrincipal, session: SessionDep, form: CheckedForm,
                        now: NowDep) -> Response:
    """Keep the uploaded file as a draft and show what importing it would do."""
    upload = form.get("file")
    chosen = str(form.get("format", "auto"))
    fields = {"format": chosen, "bank": str(form.get("bank", ""))}
    problem = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = "Choose a file to import"
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read()
        await upload.close()  # before anything can refuse: the file's spool is closed whatever happens
    principal.require_staff()
    if problem is None and not data:
        problem = "The file is empty: choose the file again"
    if problem is not None:
        return page(request, "import.html", status_code=400, formats=FORMAT_NAMES,
                    banks=_editable_banks(session, principal), problem=problem, form=fields)
    assert isinstance(upload, UploadFile)
    name = (upload.filename or "upload")[-200:]
    bank = banks.target_bank(session, principal, fields["bank"] or None)
    session.execute(delete(ImportDraft).where(ImportDraft.created_at < now - DRAFT_LIFETIME))
    token = secrets.token_urlsafe(24)
    session.add(ImportDraft(token=token, user_id=principal.user.id, bank_id=bank.id,
                            format=_format_of(name, chosen, data), name=name, data=data, created_at=now))
    session.flush()
    return RedirectResponse(f"/bank/import/{token}", status_code=303)


def _draft(session: Session, principal: Principal, token: str, now: Any) -> ImportDraft:
    principal.require_staff()
    draft = session.scalars(select(ImportDraft).where(ImportDraft.token == token)).first()
    if draft is None or draft.user_id != principal.user.id or draft.created_at < now - DRAFT_LIFETIME:
        raise NotFound("this import has expired or was not yours: upload the file again")
    return draft


@router.get("/bank/import/{token}")
def import_report(token: str, request: Request, principal: WebPrincipal, session: SessionDep,
                  now: NowDep) -> Response:
    """What importing the draft would do, item by item; nothing is committed."""
    draft = _draft(session, principal, token, now)
    bank = session.get(Bank, draft.bank_id)
    assert bank is not None
    report = exchange.dry_run(session, draft.data, format=draft.format, name=draft.name,
                              actor_id=principal.user.id, now=now, bank=bank)
    return page(request, "import_report.html", status_code=200 if report.ok else 400, draft=draft, bank=bank,
                report=report, format_name=FORMAT_NAMES.get(draft.format, draft.format))


@router.post("/bank/import/{token}")
def import_commit(token: str, request: Request, principal: WebPrincipal, session: SessionDep,
                  _form: CheckedForm, now: NowDep) -> Response:
    """Import the draft: all of it, or (on any problem) none. The draft is read and checked as a
    reader; SQLite's write lock is taken only to write it."""
    done_reading(session)
    reading(session)
    draft = _draft(session, principal, token, now)
    bank = session.get(Bank, draft.bank_id)
    assert bank is not None
    banks.editable_bank(session, principal, bank.slug)
    prepared = exchange.prepare_import(draft.data, format=draft.format, name=draft.name)
    done_reading(session)
    # The draft is used up as the items are written, in the same transaction: a second "Import"
    # that read the draft meanwhile finds it gone and imports nothing twice.
    if session.execute(delete(ImportDraft).where(ImportDraft.id == draft.id)).rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("this import was done already: see the bank")
    session.expunge(draft)
    result = exchange.write_import(session, prepared, actor_id=principal.user.id, now=now, bank=bank)
    return page(request, "import_done.html", result=result, bank=bank, filename=draft.name)
