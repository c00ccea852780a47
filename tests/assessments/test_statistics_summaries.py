"""Answer summaries change no figure: a quiz of every question type, taken by a class with right,
wrong and blank answers, graded by hand, a grade cleared, an item fixed and the quiz regraded,
gives at every stage exactly the statistics computed the way they were before summaries (from
the steps: :mod:`tests.assessments.statistics_before`), with every summary written when it was
graded, and the same again when the packed summaries of some or all attempts are gone (read from
their answer summaries) and when the answer summaries are gone too (summarised from the steps
while read). Migrations 0029 and 0030 fill the tables with the rows the application writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, select, text

from assessments.models import AnswerSummary, Attempt, AttemptState, AttemptSummary, QuestionAttempt, Step
from assessments.reports import packed, service
from assessments.reports.breakdown import drawn_matrix, drawn_text
from tests.assessments.conftest import World
from tests.assessments.statistics_before import compute_before
from tests.assessments.test_grading_regrade import _regrade, _swap_the_numeric_key
from tests.assessments.test_grading_support import Classroom, classroom
from tests.engine import samples

VERSIONS = Path(__file__).resolve().parents[2] / "alembic" / "versions"
MIGRATION = VERSIONS / "0029_answer_summaries.py"
PACKING_MIGRATION = VERSIONS / "0030_attempt_summaries.py"
ITEMS = ["seed", "numeric", "single", "tf", "ordering", "matching", "short", "essay"]
ESSAY = {"text": "The policy exploits a flaw in the reward model instead of improving."}


def _wrong(key: dict[str, Any], n: int) -> dict[str, Any] | None:
    """A wrong response made from the key, where one is easy to make (else None: left blank)."""
    if "answer" in key and isinstance(key["answer"], bool):
        return {"answer": not key["answer"]}
    if "answer" in key:
        try:
            return {"answer": str(float(key["answer"]) + 1 + n)}
        except ValueError:
            return {"answer": f"not {key['answer']}"}
    if "choices" in key:
        return {"choices": [p for p in range(4) if p not in key["choices"]][: 1 + n % 3]}
    if "choice" in key:
        return {"choice": (key["choice"] + 1 + n % 2) % 3}
    lists = {name: value[::-1] for name, value in key.items() if isinstance(value, list) and len(value) > 1}
    return {**key, **lists} if lists else None


def _answers(room: Classroom, n: int) -> dict[int, Any]:
    def answer(attempt_id: int, slot: int) -> dict[str, Any]:
        if slot == len(ITEMS):  # the essay: written by most, a grader's work
            return ESSAY
        key = room.key(attempt_id, slot)
        pick = (n + slot) % 3
        if pick == 0:
            return key
        wrong = _wrong(key, n) if pick == 1 else None
        return wrong if wrong is not None else key
    slots = range(1, len(ITEMS) + 1)
    return {slot: answer for slot in slots if (n + slot) % 5 != 4}  # a few left blank


def _same(room: Classroom, quiz_id: int) -> dict[str, Any]:
    db = room.world.db
    db.expire_all()
    now = service.compute_quiz_statistics(db, quiz_id).model_dump(mode="json")
    before = compute_before(db, quiz_id).model_dump(mode="json")
    assert now == before
    return now


def _summaries_current(room: Classroom, quiz_id: int) -> None:
    """Every current question attempt of every counted attempt has a summary of its last step."""
    db = room.world.db
    last = (select(func.max(Step.seq)).where(Step.question_attempt_id == QuestionAttempt.id)
            .correlate(QuestionAttempt).scalar_subquery())
    rows = db.execute(select(QuestionAttempt.id, last, AnswerSummary.seq)
                      .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
                      .outerjoin(AnswerSummary, AnswerSummary.question_attempt_id == QuestionAttempt.id)
                      .where(Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED,
                             Attempt.preview.is_(False), QuestionAttempt.replaced_at.is_(None))).all()
    assert rows and [row for row in rows if row[1] != row[2]] == []


def _migration(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def _packed_backfill(room: Classroom) -> dict[int, dict[str, Any]]:
    """The rows migration 0030 makes of what the database holds."""
    migration = _migration(PACKING_MIGRATION)
    connection = room.world.db.connection()
    ids = connection.execute(text(migration._ATTEMPTS), {"after": 0, "batch": 1_000_000}).scalars().all()
    by_attempt: dict[int, list[Any]] = {}
    for row in connection.execute(text(migration._ANSWERS), {"first": ids[0], "last": ids[-1]}):
        by_attempt.setdefault(row.attempt_id, []).append(row)
    out = {}
    for attempt_id in ids:
        made = migration._pack(by_attempt[attempt_id])
        assert made is not None
        out[attempt_id] = {"attempt_id": attempt_id, "numbers": made[0], "texts": made[1], "drawn": made[2],
                           "chosen": made[3]}
    return out


def _backfilled(room: Classroom) -> dict[int, dict[str, Any]]:
    """The rows migration 0029 makes of what the database holds."""
    migration = _migration(MIGRATION)
    connection = room.world.db.connection()
    query = text(migration.SQLITE if connection.dialect.name == "sqlite" else migration.POSTGRESQL)
    rows = connection.execute(query, {"after": 0, "batch": 1_000_000}).all()
    return {row.id: migration._summary(row) for row in rows}


def _preview_questions(room: Classroom) -> set[int]:
    return set(room.world.db.scalars(select(QuestionAttempt.id).join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
                                     .where(Attempt.preview.is_(True), Attempt.state == AttemptState.FINISHED,
                                            QuestionAttempt.replaced_at.is_(None))))


def test_summaries_give_the_statistics_computed_from_the_steps(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    room = classroom(world)
    students = [room.alice, room.bob, *(room.student(f"s{n:02d}") for n in range(10))]
    quiz = room.quiz(ITEMS)
    attempts = [room.take(student, quiz.id, _answers(room, n)) for n, student in enumerate(students)]
    room.take(room.teacher, quiz.id, _answers(room, 1))  # a preview: counted nowhere
    late = room.student("late")
    room.take(late, quiz.id, _answers(room, 2), submit=False)  # in progress: not counted

    first = _same(room, quiz.id)
    _summaries_current(room, quiz.id)
    assert first["attempts"] == 12 and first["test"]["attempts"] < 12  # essays await a grader
    slots = {s["slot"]: s for s in first["slots"]}
    assert slots[1]["breakdown"][0]["parameters"] and slots[3]["breakdown"][0]["options"]

    teacher = room.as_(room.teacher)
    for n, attempt_id in enumerate(attempts):  # the essays graded, most of them
        if n % 4 != 3:
            graded = room.api.post(f"/api/v1/attempts/{attempt_id}/slots/{len(ITEMS)}/grade", headers=teacher,
                                   json={"fraction": (n % 5) / 4})
            assert graded.status_code == 200, graded.text
    overridden = room.api.post(f"/api/v1/attempts/{attempts[0]}/slots/2/grade", headers=teacher,
                               json={"fraction": 0.25})
    assert overridden.status_code == 200, overridden.text
    room.api.post(f"/api/v1/attempts/{attempts[1]}/slots/3/grade", headers=teacher, json={"fraction": 1.0})
    cleared = room.api.request("DELETE", f"/api/v1/attempts/{attempts[1]}/slots/3/grade", headers=teacher,
                               json={"reason": "the key was right"})
    assert cleared.status_code == 200, cleared.text

    graded = _same(room, quiz.id)
    _summaries_current(room, quiz.id)
    assert graded["test"]["attempts"] > first["test"]["attempts"]

    _swap_the_numeric_key(room)
    result = _regrade(room, quiz.id, dry_run=False)
    assert result["students"]
    regraded = _same(room, quiz.id)
    _summaries_current(room, quiz.id)
    assert regraded != graded

    # the migration fills the table as the application writes it
    written = {row.question_attempt_id: row._asdict() for row in world.db.execute(select(AnswerSummary.__table__))}
    backfilled = _backfilled(room)
    assert {k: v for k, v in backfilled.items() if k in written} == written
    assert set(backfilled) - set(written) == _preview_questions(room)

    # every finished attempt's summaries are packed, as migration 0030 packs them
    kept = {row.attempt_id: row._asdict() for row in world.db.execute(select(AttemptSummary.__table__))}
    assert set(kept) >= set(attempts)
    assert _packed_backfill(room) == kept

    # the API answers the same
    reply = room.api.get(f"/api/v1/quizzes/{quiz.id}/statistics", headers=teacher)
    assert reply.status_code == 200 and reply.json() == regraded

    # some attempts without packed summaries (finished before them, restored, copied in): read
    # from their answer summaries; then none packed; then no summary at all: from the steps
    world.db.execute(delete(AttemptSummary).where(AttemptSummary.attempt_id.in_(attempts[::3])))
    assert _same(room, quiz.id) == regraded
    monkeypatch.setattr(service, "UNPACKED_BY_ID", 1)  # many without: all read, those kept
    assert _same(room, quiz.id) == regraded
    monkeypatch.undo()
    world.db.execute(delete(AttemptSummary))
    assert _same(room, quiz.id) == regraded
    world.db.execute(delete(AnswerSummary))
    assert _same(room, quiz.id) == regraded


def test_drawn_parameters_are_read_back_as_the_item_names_them() -> None:
    """One set of names is parsed at once; mixed sets (answers to versions drawing different
    parameters) each by their names; a parameter drawn as several numbers reads as their mean."""
    item = samples.item(samples.NUMERIC)  # draws r_w and r_l
    texts = [drawn_text({"r_w": 1.5, "r_l": -0.5}), None, drawn_text({"r_w": 0.1, "r_l": 2})]
    assert drawn_matrix(item, texts).tolist()[0] == [1.5, -0.5, 0] and drawn_matrix(item, texts)[2, 1] == 2.0
    assert np.isnan(drawn_matrix(item, texts)[1, :2]).all()
    mixed = [*texts, drawn_text({"xr_w": 9, "r_w": [1, 2], "r_l": "text"}), drawn_text({})]
    got = drawn_matrix(item, mixed)
    assert got[3, 0] == 1.5 and np.isnan(got[3, 1]) and got[3, 2] == 1  # r_w drawn as several
    assert np.isnan(got[4, :2]).all() and got[4, 2] == 0
    assert got[:3].tolist()[0] == [1.5, -0.5, 0] and got[2, 1] == 2.0


def test_a_packed_attempt_reads_back_as_its_answer_summaries() -> None:
    """Packed and unpacked, an attempt's summaries give the columns its answer summaries give:
    misconceptions, chosen options (several, none), drawn parameters (several names, none drawn,
    an empty set of names), a fraction awaiting a grader. What cannot be packed exactly is not."""
    def row(slot: int, **given: Any) -> SimpleNamespace:
        values = {"attempt_id": 7, "slot": slot, "item_version_id": 40 + slot, "max_mark": 2.0, "seed": 2**61 + slot,
                  "fraction": 0.5, "misconception": None, "chosen": None, "options": 0, "drawn": None}
        return SimpleNamespace(**(values | given))

    rows = [row(3, chosen="2 0", options=4, misconception="absolute-scores"), row(1, fraction=None),
            row(2, drawn=drawn_text({"r_w": 1.5, "r_l": [1, 2]}), fraction=1.0), row(4, drawn=drawn_text({})),
            row(5, chosen="1", options=3, drawn=drawn_text({"x": 0.1}), misconception="swapped")]
    made = packed.pack(rows)
    assert made is not None
    got = packed.unpack([7], [made[0]], [made[1]], [made[2]], [made[3]])
    ordered = sorted(rows, key=lambda r: r.slot)
    want = packed.Columns.of_lists(*([getattr(r, name) for r in ordered] for name in (
        "attempt_id", "slot", "item_version_id", "seed", "options", "max_mark", "fraction", "misconception",
        "chosen", "drawn")))
    for name in ("attempt", "slot", "item_version_id", "seed", "options", "max_mark"):
        assert getattr(got, name).tolist() == getattr(want, name).tolist()
    assert np.array_equal(got.fraction, want.fraction, equal_nan=True)
    assert [m or None for m in got.misconception] == [m or None for m in want.misconception]
    assert got.chosen.indices().tolist() == want.chosen.indices().tolist() == [2, 0, 1]
    assert got.chosen.count.tolist() == [0, 0, 2, 0, 1]
    for read in (got, want):
        item = samples.item(samples.NUMERIC)  # draws r_w and r_l
        assert np.array_equal(drawn_matrix(item, read.drawn), drawn_matrix(item, [r.drawn for r in ordered]),
                              equal_nan=True)
    assert [got.drawn.headers[h] if h >= 0 else None for h in got.drawn.header] == [None, "r_l r_w", None, "", "x"]

    assert packed.pack([*rows, row(6, misconception="a\x1fb")]) is None  # the separator in a text
    assert packed.pack([*rows, row(6, options=40_000)]) is None  # beyond its field
    assert packed.pack([*rows, row(6, chosen="one")]) is None  # not an index
