"""The responses report: every question's response per attempt, as its student saw it.

A response is shown as text, never as its stored JSON: the chosen options' own texts (in the
student's variant, with its numbers), the essay as written, a number with the unit shown beside
its box. Beside it, the parameters the student's variant drew. The text comes from each question
type's ``summarise`` over the student's own variant, which the variant cache keeps by the item
version's content hash and the seed (the version's definition is read only on a miss).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from assessments.bank.service import cached_variant, warm_variants
from assessments.deps import Principal
from assessments.grading.service import instructor_quiz
from assessments.models import ItemVersion, QuestionAttempt, Quiz, Step
from assessments.reports.results import (
    Filters,
    attempt_result,
    attempt_rows,
    chunks,
    count_attempts,
    question_rows,
)
from assessments.reports.results_schemas import AttemptResponses, QuestionResponse
from engine.qtypes import qtype_for
from engine.variants import Variant

_q = cast("Table", QuestionAttempt.__table__).c
_s = cast("Table", Step.__table__).c
_v = cast("Table", ItemVersion.__table__).c
_EXTRA = (_q.id.label("qa_id"), _q.item_version_id, _q.seed, _q.variant, _v.content_hash)


def _last_responses(session: Session, qa_ids: list[int]) -> dict[int, dict[str, Any]]:
    """question attempt id -> its latest response (what the student last saved or submitted)."""
    if not qa_ids:
        return {}
    steps = session.execute(select(_s.question_attempt_id, _s.response).where(_s.question_attempt_id.in_(qa_ids))
                            .order_by(_s.question_attempt_id, _s.seq))
    return {qa_id: response for qa_id, response in steps if response is not None}  # the last one wins


def _variant(session: Session, row: Any) -> Variant:
    """The student's own variant of the question (from the cache, keyed by content hash and seed)."""
    return cached_variant(row.content_hash, row.seed, bool(row.variant.get("shuffle", True)),
                          lambda: _version(session, row.item_version_id), _shown(row.variant))


def response_text(variant: Variant, response: dict[str, Any] | None) -> str:
    """The response as its student saw it ("" when there is none)."""
    if not response:
        return ""
    item = variant.item
    if item.type_name == "essay":  # the whole essay (the type's summary is cut short for a table)
        text = response.get("text")
        return " ".join(text.split()) if isinstance(text, str) else ""
    summary = qtype_for(item).summarise(item, variant, response)
    unit = getattr(item, "unit", None)
    if item.type_name == "numeric" and unit and getattr(item, "units", None) is None and summary:
        return f"{summary} {unit}"  # the unit stood beside the box: the student answered in it
    return summary


def _params(variant: Variant, stored: dict[str, Any]) -> dict[str, Any]:
    """The stored parameters (what the student got) in the order the item declares them (a
    database's JSON may hand the keys back in another order)."""
    params = dict(stored.get("params") or {})
    return {name: params[name] for name in [*variant.item.params, *params] if name in params}


def _shown(stored: dict[str, Any]) -> tuple[int, ...] | None:
    """The option order stored with the question attempt: the one its student saw."""
    order = stored.get("order")
    return tuple(order) if order is not None else None


def _version(session: Session, version_id: int) -> ItemVersion:
    found = session.get(ItemVersion, version_id)
    assert found is not None
    return found


def _number(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value + 0.0:.6g}"
    return str(value)


def variant_text(params: dict[str, Any]) -> str:
    """A variant's parameters on one line: ``r_w = 1.5; r_l = [0.2, -1]``."""
    return "; ".join(f"{name} = {_number(value)}" for name, value in params.items())


def responses(session: Session, rows: list[Any], now: datetime) -> list[AttemptResponses]:
    questions = question_rows(session, [row.id for row in rows], *_EXTRA)
    said = _last_responses(session, [q.qa_id for qs in questions.values() for q in qs])
    warm_variants((q.content_hash, q.seed, bool(q.variant.get("shuffle", True)),
                   functools.partial(_version, session, q.item_version_id))
                  for qs in questions.values() for q in qs)
    out = []
    for row in rows:
        result = attempt_result(row, questions.get(row.id, []), now)
        shown = []
        for q, marked in zip(questions.get(row.id, []), result.questions, strict=True):
            variant = _variant(session, q)
            params = _params(variant, q.variant)
            shown.append(QuestionResponse(**marked.model_dump(), response=response_text(variant, said.get(q.qa_id)),
                                          variant=params, variant_text=variant_text(params)))
        out.append(AttemptResponses(**result.model_dump(exclude={"questions"}), questions=shown))
    return out


def responses_page(session: Session, principal: Principal, quiz_id: int, filters: Filters, now: datetime, *,
                   limit: int, offset: int) -> tuple[Quiz, list[AttemptResponses], int]:
    """The quiz, a page of its attempts' responses and how many attempts the filter lists (instructors)."""
    quiz, _ = instructor_quiz(session, principal, quiz_id)
    total = count_attempts(session, quiz.id, filters, now)
    rows = attempt_rows(session, quiz.id, filters, now, limit=limit, offset=offset)
    return quiz, responses(session, rows, now), total


def every_response(session: Session, quiz_id: int, filters: Filters, now: datetime) -> Iterator[AttemptResponses]:
    """Every listed attempt's responses, read a chunk at a time (no access check: callers make it)."""
    for rows in chunks(session, quiz_id, filters, now):
        yield from responses(session, rows, now)

