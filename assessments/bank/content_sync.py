"""``assay content load``: bring ``content/`` into the database, idempotently and atomically.

The whole bank is checked first (as ``assay content check`` does); one problem anywhere and
nothing is written. Unchanged files make no new versions; a changed file makes one; a file
reverted to an earlier text makes that earlier version current again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from assessments.bank import repository
from assessments.bank.exchange import import_result
from assessments.bank.schemas import ImportResult
from assessments.bank.service import save_definition
from assessments.errors import Invalid
from engine.content.bank import load_bank
from engine.content.checker import check


def load_content(session: Session, path: Path, *, actor_id: int | None, now: datetime,
                 progress: Callable[[str], None] | None = None) -> ImportResult:
    report = check(path)
    if not report.ok:
        raise Invalid(
            "the content does not check; nothing was loaded",
            details=[{"file": p.file, "line": p.line, "message": p.message} for p in report.problems],
            code="invalid_content",
        )
    bank, _ = load_bank(path)
    if bank is not None:
        for key, title in bank.concepts.items():
            repository.upsert_concept(session, key, title)
    results = []
    for loaded in report.items:
        results.append(save_definition(session, loaded.source.data, source=loaded.source.file,
                                       actor_id=actor_id, now=now, item=loaded.item))
        if progress:
            progress(loaded.item.id)
    return import_result(results)
