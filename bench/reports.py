"""Reports benchmark: the results and responses reports and the streamed export of a quiz of 2,000 attempts.

Run from the repository root:  python bench/reports.py  [--attempts N] [--database URL]

A fresh database (a temporary SQLite file unless ``--database`` names an empty PostgreSQL one) gets
the course's shipped items, a quiz of five of them and N finished attempts by N students, stored
as attempts store them (question attempts with their variants; a start, a save and a graded finish
step each), inserted in bulk. Printed: the time of one page of the results report (100 attempts,
with the total), one page of the responses report (50), and the whole CSV export streamed, with the
export's size. Not part of the tests.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where bench/engine.py would shadow
# the engine package: look it up from the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import insert, select  # noqa: E402

from assessments.bank.content_sync import load_content  # noqa: E402
from assessments.bank.service import item_model, variant_of  # noqa: E402
from assessments.db import Database, session_scope  # noqa: E402
from assessments.migrations import upgrade  # noqa: E402
from assessments.models import (  # noqa: E402
    Attempt,
    AttemptState,
    Course,
    Item,
    ItemVersion,
    QuestionAttempt,
    Role,
    Step,
    User,
    utcnow,
)
from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section  # noqa: E402
from assessments.quizzes.service import add_quiz  # noqa: E402
from assessments.reports import exports, results  # noqa: E402
from assessments.reports.responses import every_response, responses  # noqa: E402
from engine.qtypes import qtype_for  # noqa: E402

ROOT = _HERE.parent
ITEMS = ["ranking-loss-which-pair-is-penalised", "evaluating-reward-model-score-outputs",
         "bradley-terry-preference-probability", "dpo-loss-value", "rlhf-reward-hacking-spike-root-cause"]


def populate(database: Database, attempts: int) -> int:
    """The quiz's id, with ``attempts`` finished attempts."""
    now = utcnow()
    rng = random.Random(7)
    with session_scope(database) as session:
        load_content(session, ROOT / "content", actor_id=None, now=now)
        course = Course(slug="bench", title="Bench")
        session.add(course)
        session.flush()
        quiz = add_quiz(session, course.id, QuizCreate(title="Bench", settings=QuizSettings(attempts_allowed=None),
                                                       sections=[Section(items=ITEMS)]), created_by_id=None, now=now)
        versions = [session.scalars(select(ItemVersion).join(Item, Item.id == ItemVersion.item_id)
                                    .where(Item.key == key).order_by(ItemVersion.number.desc())).first()
                    for key in ITEMS]
        users = [{"username": f"s{n:05d}", "display_name": f"Student {n}", "password_hash": "x", "role": Role.STUDENT}
                 for n in range(attempts)]
        session.execute(insert(User), users)
        ids = list(session.scalars(select(User.id).where(User.username.like("s%")).order_by(User.id)))
        session.execute(insert(Attempt), [
            {"quiz_id": quiz.id, "user_id": uid, "number": 1, "state": AttemptState.FINISHED, "started_at": now,
             "finished_at": now, "marks": 0.0, "max_marks": float(len(ITEMS)), "preview": False} for uid in ids])
        attempt_ids = list(session.scalars(select(Attempt.id).where(Attempt.quiz_id == quiz.id).order_by(Attempt.id)))
        rows, answers = [], []
        for attempt_id in attempt_ids:
            for slot, version in enumerate(versions, start=1):
                assert version is not None
                seed = rng.getrandbits(56)
                variant = variant_of(version, seed)
                rows.append({"attempt_id": attempt_id, "slot": slot, "item_version_id": version.id, "seed": seed,
                             "variant": {**variant.to_json(), "shuffle": True}, "behaviour": "deferredfeedback",
                             "behaviour_options": {}, "max_mark": 1.0})
                model = item_model(version)
                answers.append(dict(qtype_for(model).correct_response(model, variant))
                               if model.type_name != "essay" else {"text": "A long enough essay " * 20})
        session.execute(insert(QuestionAttempt), rows)
        qa_ids = list(session.scalars(select(QuestionAttempt.id).order_by(QuestionAttempt.id)))
        steps = []
        for qa_id, response in zip(qa_ids, answers, strict=True):
            steps += [{"question_attempt_id": qa_id, "seq": 0, "action": "start", "state": "todo", "fraction": None,
                       "response": None, "data": {}, "created_at": now},
                      {"question_attempt_id": qa_id, "seq": 1, "action": "save", "state": "complete",
                       "fraction": None, "response": response, "data": {}, "created_at": now},
                      {"question_attempt_id": qa_id, "seq": 2, "action": "finish", "state": "gradedright",
                       "fraction": 1.0, "response": None, "data": {}, "created_at": now}]
        session.execute(insert(Step), steps)
        return quiz.id


def timed(label: str, run: object) -> object:
    start = time.perf_counter()
    result = run()  # type: ignore[operator]
    print(f"{label:<48} {1000 * (time.perf_counter() - start):8.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--database", help="an empty database's URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        database = Database(url)
        start = time.perf_counter()
        quiz_id = populate(database, args.attempts)
        print(f"{args.attempts} attempts of {len(ITEMS)} questions stored in {time.perf_counter() - start:.1f} s")
        filters, now = results.Filters(), utcnow()
        with session_scope(database) as session:
            def results_page() -> int:
                total = results.count_attempts(session, quiz_id, filters, now)
                rows = results.attempt_rows(session, quiz_id, filters, now, limit=100, offset=0)
                return len(results.results(session, rows, now)) + total

            timed("results: a page of 100 attempts, with the total", results_page)
            timed("results: a page of 100 attempts (again, warm)", results_page)
            timed("responses: a page of 50 attempts", lambda: responses(
                session, results.attempt_rows(session, quiz_id, filters, now, limit=50, offset=0), now))

            def export() -> int:
                slots = results.quiz_slots(session, quiz_id, filters, now)
                return sum(len(line) for line in exports.stream_csv(every_response(session, quiz_id, filters, now),
                                                                    slots))

            size = timed(f"export: CSV of all {args.attempts} attempts, streamed", export)
            print(f"{'export size':<48} {int(size) / 1e6:8.2f} MB")  # type: ignore[call-overload]
        database.dispose()


if __name__ == "__main__":
    main()
