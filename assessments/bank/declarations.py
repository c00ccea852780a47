"""The bank's declarations: the facet values and concepts items may name, and how a new one is
declared on purpose (never by a typo).

Declarations come from two places. The installed content's ``bank.yaml`` (``ASSAY_CONTENT_DIR``)
is where every bank starts; what instructors declare in the editor or through the API is kept in
the database, one row per bank (``declarations``), as the JSON of ``bank.yaml``'s sections, so
that a section another part of Assay adds to ``bank.yaml`` merges without a migration. A bank's
declarations in use are the installed file, the open banks' rows (the shared library's, which
``assay content load`` fills from the files it reads) and the bank's own row, merged: mappings
key by key, lists as the union of their values in order, and a value declared first stays.
``assay content export`` writes the merge back into the exported ``bank.yaml``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.bank import banks, repository
from assessments.bank.access import BankRights
from assessments.config import get_settings
from assessments.deps import Principal
from assessments.errors import Invalid
from assessments.models import Bank, Declarations
from engine.content.bank import BANK_FILE, BankDeclarations
from engine.content.bank import Bank as DeclaredBank
from engine.content.loader import did_you_mean
from engine.content.source import Problem, SourceDocument
from engine.items import ItemBase
from engine.items.limits import MAX_FACET_LENGTH
from engine.items.metadata import Slug, TagPath

MAX_NEW_VALUES = 200
"""The most facet values and concepts one request may declare."""
MAX_DECLARED = 5_000
"""The most facet values and concepts a bank's own declarations may hold."""
MAX_TITLE = 300

Facet = Annotated[str, StringConstraints(max_length=MAX_FACET_LENGTH, pattern=r"^[a-z][a-z0-9_]*$")]
ConceptTitle = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE, strip_whitespace=True)]


class DeclarationsIn(BaseModel):
    """What to add to a bank's declarations: facet values (a new facet too) and concepts, as
    ``{"bank": "course:llms", "facets": {"chapter": ["Ch.5 Evaluation"]}, "concepts":
    {"reward-calibration": "Calibration of reward models"}}``."""

    model_config = ConfigDict(extra="forbid")

    bank: str | None = Field(default=None, max_length=120,
                             description="the bank's slug; by default the bank your new items go to")
    facets: dict[Facet, list[TagPath]] = Field(default_factory=dict, max_length=MAX_NEW_VALUES)
    concepts: dict[Slug, ConceptTitle] = Field(default_factory=dict, max_length=MAX_NEW_VALUES)

    def sections(self) -> dict[str, Any]:
        return {"facets": {f: list(v) for f, v in self.facets.items()}, "concepts": dict(self.concepts)}


class DeclarationsOut(BaseModel):
    """A bank's declarations in use (the installed ``bank.yaml``, the open banks' and its own),
    and what the bank itself declared."""

    bank: str
    facets: dict[str, list[str]]
    required: list[str]
    concepts: dict[str, str]
    own: dict[str, Any] = Field(description="the sections this bank declared itself, beyond the files")
    can_declare: bool


# --- merging ----------------------------------------------------------------------------------------


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` added to ``base``: mappings key by key, lists as the union in order, and for
    anything else the value ``base`` has."""
    out = dict(base)
    for key, value in extra.items():
        if key not in out or out[key] is None:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = merge(out[key], value)
        elif isinstance(out[key], list) and isinstance(value, list):
            out[key] = [*out[key], *(v for v in value if v not in out[key])]
    return out


def _count(data: dict[str, Any]) -> int:
    facets = data.get("facets") or {}
    return sum(len(v) for v in facets.values() if isinstance(v, list)) + len(data.get("concepts") or {})


_FILES: dict[Path, tuple[int, dict[str, Any]]] = {}
"""``bank.yaml`` as last read, by path, with the file's modification time: read again only when
the file changes (the editor's checks and every practice question ask for it)."""


def files_declarations(content_dir: Path | None = None) -> dict[str, Any]:
    """The installed content's ``bank.yaml`` as data (nothing when there is none)."""
    path = (content_dir or get_settings().content_dir) / BANK_FILE
    try:
        changed = path.stat().st_mtime_ns
        cached = _FILES.get(path)
        if cached is not None and cached[0] == changed:
            return copy.deepcopy(cached[1])
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    found = _normalised(data) if isinstance(data, dict) else {}
    _FILES[path] = (changed, found)
    return copy.deepcopy(found)


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """Lists where ``bank.yaml`` lets one value stand for a list (so that merges add to lists)."""
    out = dict(data)
    if isinstance(out.get("facets"), dict):
        out["facets"] = {f: [v] if isinstance(v, str) else list(v or []) for f, v in out["facets"].items()}
    return out


def stored(session: Session, bank: Bank) -> dict[str, Any]:
    row = session.scalars(select(Declarations).where(Declarations.bank_id == bank.id)).first()
    return dict(row.data) if row is not None else {}


def effective(session: Session, bank: Bank | None, content_dir: Path | None = None) -> dict[str, Any]:
    """The declarations in use for ``bank`` (None: the installed file and the open banks')."""
    data = files_declarations(content_dir)
    open_ids = select(Bank.id).where(Bank.open_to_all.is_(True))
    for row in session.scalars(select(Declarations).where(Declarations.bank_id.in_(open_ids))
                               .order_by(Declarations.bank_id)):
        data = merge(data, row.data)
    if bank is not None and not bank.open_to_all:
        data = merge(data, stored(session, bank))
    return data


def add(session: Session, bank: Bank, sections: dict[str, Any], *, actor_id: int | None, now: datetime) -> bool:
    """Merge ``sections`` into the bank's own declarations; whether anything was new."""
    row = session.scalars(select(Declarations).where(Declarations.bank_id == bank.id)).first()
    before = dict(row.data) if row is not None else {}
    after = merge(before, _normalised(sections))
    if after == before:
        return False
    if _count(after) > MAX_DECLARED:
        raise Invalid(f"the bank {bank.slug!r} would declare more than {MAX_DECLARED:,} facet values and concepts",
                      code="too_many_declarations")
    if row is None:
        session.add(Declarations(bank_id=bank.id, data=after, updated_at=now, updated_by_id=actor_id))
    else:
        row.data, row.updated_at, row.updated_by_id = after, now, actor_id
    session.flush()
    return True


def merge_files(session: Session, data: dict[str, Any], *, now: datetime) -> None:
    """``assay content load``: the folder's ``bank.yaml`` joins the shared library's declarations."""
    add(session, repository.library(session), data, actor_id=None, now=now)


# --- the API ----------------------------------------------------------------------------------------


def _out(session: Session, principal: Principal, bank: Bank) -> DeclarationsOut:
    data = effective(session, bank)
    facets = {f: [str(v) for v in values] for f, values in (data.get("facets") or {}).items()}
    return DeclarationsOut(bank=bank.slug, facets=facets, required=[str(r) for r in data.get("required") or []],
                           concepts={str(k): str(v) for k, v in (data.get("concepts") or {}).items()},
                           own=stored(session, bank),
                           can_declare=BankRights.of(session, principal).can_edit(session, bank))


def get(session: Session, principal: Principal, bank_slug: str | None) -> DeclarationsOut:
    bank = banks.readable_bank(session, principal, bank_slug)[0] if bank_slug else repository.library(session)
    principal.require_staff()
    return _out(session, principal, bank)


def declare(session: Session, principal: Principal, data: DeclarationsIn, *, now: datetime) -> tuple[
        DeclarationsOut, bool]:
    """Add facet values and concepts to a bank the caller may edit; whether anything was new."""
    bank = banks.target_bank(session, principal, data.bank)
    if not data.facets and not data.concepts:
        raise Invalid("name a facet value or a concept to declare", code="nothing_to_declare")
    added = add(session, bank, data.sections(), actor_id=principal.user.id, now=now)
    return _out(session, principal, bank), added


# --- what an item names that its bank does not declare -------------------------------------------------


@dataclass(frozen=True)
class Undeclared:
    """A facet value or concept an item names that its bank does not declare, and the problem
    the checker reports for it (at its line)."""

    kind: str
    """``facet`` or ``concept``."""
    facet: str | None
    value: str
    problem: Problem

    @property
    def suggested_title(self) -> str:
        """A concept's title to start from: its slug in words."""
        words = re.sub(r"[-_.]+", " ", self.value).strip()
        return words[:1].upper() + words[1:]


def declared_bank(data: dict[str, Any]) -> DeclaredBank | None:
    """The engine's view of the declarations (None when they do not validate: nothing is held)."""
    fields = {k: v for k, v in data.items() if k in BankDeclarations.model_fields}
    fields.setdefault("facets", {})
    fields.setdefault("concepts", {})
    fields["required"] = ()  # a draft is held to what it names; the files' check asks for every required facet
    try:
        return DeclaredBank(BankDeclarations.model_validate(fields))
    except ValidationError:
        return None


def undeclared(item: ItemBase, document: SourceDocument, declared: DeclaredBank) -> list[Undeclared]:
    # The engine names bank.yaml; here the declarations are the bank's (its files' and the database's).
    found = [Undeclared("facet", facet, value, document.problem(
        ("tags", facet, n), message.replace(f" in {BANK_FILE}", " in the bank's declarations")))
             for facet, values in item.tags
             for n, value in enumerate(values)
             if (message := declared.tag_problem(facet, value))]
    found += [Undeclared("concept", None, concept, document.problem(
        ("concepts", n), f"unknown concept {concept!r}{did_you_mean(concept, declared.concepts)}: the bank does "
                         "not declare it"))
        for n, concept in enumerate(item.concepts) if concept not in declared.concepts]
    return found


__all__ = ["DeclarationsIn", "DeclarationsOut", "Undeclared", "add", "declare", "declared_bank", "effective",
           "files_declarations", "get", "merge", "merge_files", "undeclared"]
