"""A quiz's attempts exported whole, with every question's mark and response: CSV, JSON or XLSX.

One row per attempt: who, which attempt, its state and times, its total, and for each slot the
item, the question's state, its mark and maximum, the response as the student saw it and the
variant's numbers. The rows are read a chunk of attempts at a time
(:func:`assessments.reports.results.chunks`) and written as they come, so a quiz of thousands of
attempts is never held in memory. Text cells a spreadsheet would run as a formula are prefixed with
an apostrophe in the CSV (OWASP's advice on CSV injection), as the grades export does; the XLSX
writes text as text cells, which a spreadsheet never runs, and numbers as numbers. An XLSX file is
a zip, complete only at its end: it is written row by row to a temporary file (XlsxWriter's
``constant_memory`` mode keeps one row in memory), then streamed.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

import xlsxwriter  # type: ignore[import-untyped]

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


def line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def stream_csv(rows: Iterable[AttemptResponses], slots: list[int]) -> Iterator[str]:
    """The export as CSV lines, the header first."""
    yield line(csv_header(slots))
    for row in rows:
        yield line(csv_row(row, slots))


def stream_json(rows: Iterable[AttemptResponses]) -> Iterator[str]:
    """The export as one JSON array, an attempt at a time."""
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
        first = False
    yield "\n]\n"


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_READ = 64 * 1024


def _xlsx_cells(row: AttemptResponses, slots: list[int]) -> list[str | float | None]:
    cells: list[str | float | None] = [
        row.username, row.display_name, row.number, row.state, "yes" if row.preview else "no",
        _time(row.started_at), _time(row.finished_at), row.time_taken_seconds, row.marks, row.max_marks]
    by_slot = {q.slot: q for q in row.questions}
    for slot in slots:
        q = by_slot.get(slot)
        cells.extend([None] * len(QUESTION_COLUMNS) if q is None else
                     [q.item_key, q.state, q.mark, q.max_mark, q.response, q.variant_text])
    return cells


def stream_xlsx(rows: Iterable[AttemptResponses], slots: list[int]) -> Iterator[bytes]:
    """The export as one XLSX workbook (a sheet "Attempts", the header frozen), in pieces."""
    with tempfile.TemporaryFile() as file:
        book = xlsxwriter.Workbook(file, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
        sheet = book.add_worksheet("Attempts")
        bold = book.add_format({"bold": True})
        for column, name in enumerate(csv_header(slots)):
            sheet.write_string(0, column, name, bold)
        sheet.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            for column, cell in enumerate(_xlsx_cells(row, slots)):
                if isinstance(cell, str):
                    sheet.write_string(r, column, cell)  # text, never a formula
                elif cell is not None:
                    sheet.write_number(r, column, cell + 0.0)  # + 0.0: never -0
        book.close()
        file.seek(0)
        while piece := file.read(_READ):
            yield piece
