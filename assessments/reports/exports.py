"""A quiz's attempts exported whole, with every question's mark and response: CSV or JSON, streamed.

One row per attempt: who, which attempt, its state and times, its total, and for each slot the
item, the question's state, its mark and maximum, the response as the student saw it and the
variant's numbers. The rows are read a chunk of attempts at a time
(:func:`assessments.reports.results.chunks`) and written as they come, so a quiz of thousands of
attempts is never held in memory. Text cells a spreadsheet would run as a formula are prefixed with
an apostrophe (OWASP's advice on CSV injection), as the grades export does.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from assessments.grading.endpoints import _cell, _number
from assessments.reports.results_schemas import AttemptResponses

ATTEMPT_COLUMNS = ("username", "display_name", "attempt", "state", "preview", "started_at", "finished_at",
                   "time_taken_seconds", "marks", "max_marks")
QUESTION_COLUMNS = ("item", "state", "mark", "max_mark", "response", "variant")


def csv_header(slots: list[int]) -> list[str]:
    return [*ATTEMPT_COLUMNS, *(f"q{slot}_{column}" for slot in slots for column in QUESTION_COLUMNS)]


def _time(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def csv_row(row: AttemptResponses, slots: list[int]) -> list[str]:
    cells = [_cell(row.username), _cell(row.display_name), str(row.number), row.state,
             "yes" if row.preview else "no", _time(row.started_at), _time(row.finished_at),
             _number(row.time_taken_seconds), _number(row.marks), _number(row.max_marks)]
    by_slot = {q.slot: q for q in row.questions}
    for slot in slots:
        q = by_slot.get(slot)
        if q is None:
            cells.extend([""] * len(QUESTION_COLUMNS))
        else:
            cells.extend([_cell(q.item_key), q.state, _number(q.mark), _number(q.max_mark), _cell(q.response),
                          _cell(q.variant_text)])
    return cells


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def stream_csv(rows: Iterable[AttemptResponses], slots: list[int]) -> Iterator[str]:
    """The export as CSV lines, the header first."""
    yield _line(csv_header(slots))
    for row in rows:
        yield _line(csv_row(row, slots))


def stream_json(rows: Iterable[AttemptResponses]) -> Iterator[str]:
    """The export as one JSON array, an attempt at a time."""
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
        first = False
    yield "\n]\n"
