"""Exam start: variants prepared in batches before the quiz opens, and starts refused honestly when
the server is behind (503 with Retry-After; the start page tries again).

A start that finds its variants prepared generates nothing, and gives the student exactly the
numbers generating would have given for their seed; a start that finds none generates as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assessments import limits
from assessments.attempts import prepared, service
from assessments.bank import service as bank_service
from assessments.bank.service import variant_model
from assessments.models import Attempt, CourseRole, ItemVersion, Job, PreparedStart, PreparedVariant, QuestionAttempt
from assessments.quizzes.service import pinned
from engine.qtypes import qtype_for
from engine.variants import Variant, generate
from tests.assessments.conftest import T0, World

ITEMS = ["numeric", "single", "seed", "ordering", "matching", "tf"]


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """As in another server process: no variant cached. Returns the seeds generated from now on."""
    monkeypatch.setattr(bank_service, "_VARIANTS", bank_service._LRU(50_000))
    generated: list[int] = []
    real = bank_service.generate

    def counting(model: Any, seed: int) -> Variant:
        generated.append(seed)
        return real(model, seed)

    monkeypatch.setattr(bank_service, "generate", counting)
    return generated


def _same(a: Variant, b: Variant) -> None:
    """Two variants hold the same numbers, key and option order (NaN equal to NaN)."""
    assert a.seed == b.seed and a.order == b.order
    assert list(a.values) == list(b.values) and list(a.key) == list(b.key)
    for name in a.values:
        assert a.values[name].dtype == b.values[name].dtype
        assert np.array_equal(a.values[name], b.values[name], equal_nan=True), name
    for name in a.key:
        assert np.array_equal(a.key[name], b.key[name], equal_nan=True), name


def _generated(world: World, row: QuestionAttempt) -> Variant:
    """What generating gives for the question attempt's stored seed, as a start without
    preparation makes it."""
    version = world.db.get(ItemVersion, row.item_version_id)
    assert version is not None
    return generate(variant_model(version.content_hash, row.variant["shuffle"], lambda: version), row.seed)


def _rows(world: World, attempt_id: int) -> list[QuestionAttempt]:
    return list(world.db.scalars(select(QuestionAttempt).where(QuestionAttempt.attempt_id == attempt_id)
                                 .order_by(QuestionAttempt.slot)))


def _start(world: World, quiz_id: int, user: Any) -> dict[str, Any]:
    assert world.client is not None
    reply = world.client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=world.headers(user))
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_a_start_reads_the_variants_prepared_for_its_seed(world: World, fresh_process: list[int]) -> None:
    ada, bo = world.user("ada"), world.user("bo")
    course = world.course("llms", (ada, CourseRole.STUDENT), (bo, CourseRole.STUDENT))
    quiz = world.quiz(course, ITEMS)
    done = prepared.prepare(world.db, quiz.id, T0)
    assert (done.students, done.variants, done.left) == (2, 2 * len(ITEMS), 0)
    seeds = dict(world.db.execute(
        select(PreparedStart.user_id, PreparedStart.seed).where(PreparedStart.quiz_id == quiz.id)).all())
    assert set(seeds) == {ada.id, bo.id} and seeds[ada.id] != seeds[bo.id]
    fresh_process.clear()

    started = _start(world, quiz.id, ada)
    assert fresh_process == [], "a prepared start generates nothing"
    rows = _rows(world, started["id"])
    assert [r.seed for r in rows] == [service.slot_seed(seeds[ada.id], slot) for slot in range(1, len(ITEMS) + 1)]
    for row, question in zip(rows, started["questions"], strict=True):
        made = _generated(world, row)  # generated now, one at a time, as before the change
        assert row.variant == {**made.to_json(), "shuffle": row.variant["shuffle"]}
        assert question["question"] == qtype_for(made.item).render(made.item, made)
        stored = world.db.scalars(select(PreparedVariant.data).where(
            PreparedVariant.item_version_id == row.item_version_id, PreparedVariant.seed == row.seed)).one()
        _same(prepared.decode(stored, made.item, row.seed), made)

    # A save in another process reads the prepared variant too, and is graded against its key.
    bank_service._VARIANTS.__init__(50_000)  # type: ignore[misc]
    fresh_process.clear()
    numeric = next(q for q in started["questions"] if q["question"]["type"] == "numeric")
    assert world.client is not None
    saved = world.client.put(f"/api/v1/attempts/{started['id']}/responses/{numeric['slot']}",
                             headers=world.headers(ada), json={"response": {"answer": "0.5"}, "seq": numeric["seq"]})
    assert saved.status_code == 200, saved.text
    assert saved.json()["state"] == "answered" and fresh_process == []


def test_a_start_without_preparation_generates_as_before(world: World, fresh_process: list[int]) -> None:
    ada = world.user("ada")
    course = world.course("llms", (ada, CourseRole.STUDENT))
    quiz = world.quiz(course, ITEMS)
    started = _start(world, quiz.id, ada)
    rows = _rows(world, started["id"])
    assert sorted(fresh_process) == sorted(r.seed for r in rows)  # each generated, one at a time
    for row in rows:
        assert row.variant == {**_generated(world, row).to_json(), "shuffle": row.variant["shuffle"]}
    assert world.db.scalar(select(func.count()).select_from(PreparedStart)) == 0


def test_only_a_first_attempt_takes_the_prepared_seed(world: World) -> None:
    ada = world.user("ada")
    course = world.course("llms", (ada, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric", "tf"], attempts_allowed=2)
    prepared.prepare(world.db, quiz.id, T0)
    seed = world.db.scalars(select(PreparedStart.seed)).one()
    first = _start(world, quiz.id, ada)
    assert world.client is not None
    world.client.post(f"/api/v1/attempts/{first['id']}/submit", headers=world.headers(ada))
    second = _start(world, quiz.id, ada)
    assert _rows(world, first["id"])[0].seed == service.slot_seed(seed, 1)
    assert _rows(world, second["id"])[0].seed != service.slot_seed(seed, 1)
    assert prepared.prepare(world.db, quiz.id, T0).students == 0  # who has an attempt needs none


def test_publishing_queues_the_preparation_which_goes_in_batches(world: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    students = [world.user(name) for name in ("ada", "bo", "cy")]
    course = world.course("llms", *[(s, CourseRole.STUDENT) for s in students])
    quiz = world.quiz(course, ["numeric", "tf"])  # created published
    queued = world.db.scalars(select(Job).where(Job.kind == prepared.PREPARE_JOB)).all()
    assert [(j.payload, j.key) for j in queued] == [({"quiz_id": quiz.id}, f"{prepared.PREPARE_JOB}:{quiz.id}")]
    monkeypatch.setattr(prepared, "STUDENTS_PER_JOB", 2)
    monkeypatch.setattr(prepared.prepare, "__defaults__", (2,))
    assert prepared.prepare_job(world.db, {"quiz_id": quiz.id}, lambda _: None) == {
        "students": 2, "variants": 4, "left": 1}
    assert len(world.db.scalars(select(Job).where(Job.kind == prepared.PREPARE_JOB)).all()) == 2  # the next batch
    assert prepared.prepare_job(world.db, {"quiz_id": quiz.id}, lambda _: None) == {
        "students": 1, "variants": 2, "left": 0}
    assert world.db.scalar(select(func.count()).select_from(PreparedStart)) == 3
    assert {pin.item_version_id for pin, _, _ in pinned(world.db, quiz.id)} == set(
        world.db.scalars(select(PreparedVariant.item_version_id)))


# --- shedding load ---------------------------------------------------------------------------------


def _admission(client: TestClient) -> limits.Admission:
    """The app's admission middleware (the stack is built by the first request)."""
    client.get("/healthz")
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, limits.Admission):
        layer = layer.app
    return layer


def test_a_start_past_the_queue_limit_is_refused_at_once_and_changes_nothing(world: World) -> None:
    ada, bo = world.user("ada"), world.user("bo")
    course = world.course("llms", (ada, CourseRole.STUDENT), (bo, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric", "tf"])
    assert world.client is not None
    admitted = _start(world, quiz.id, bo)
    admission = _admission(world.client)
    admission.in_hand = admission.limit  # the server has as many requests in hand as it takes

    refused = world.client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=world.headers(ada))
    assert refused.status_code == 503
    assert refused.headers["retry-after"] in {"1", "2"}  # the first turn: a second away, and one turn at the first rate
    error = refused.json()["error"]
    assert error["code"] == "busy" and error["details"] == {"retry_after": int(refused.headers["retry-after"])}
    assert world.db.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == ada.id)) == 0
    # who is already in keeps working: a save is never refused for this
    question = admitted["questions"][0]
    saved = world.client.put(f"/api/v1/attempts/{admitted['id']}/responses/{question['slot']}",
                             headers=world.headers(bo), json={"response": {"answer": "1"}, "seq": question["seq"]})
    assert saved.status_code == 200, saved.text

    admission.in_hand = 0  # the queue has drained: the retry is let in
    assert _start(world, quiz.id, ada)["state"] == "in_progress"
    assert admission.refused == 1


def _sign_in(client: TestClient, username: str) -> None:
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    reply = client.post("/login", data={"csrf_token": token, "username": username,
                                        "password": "correct horse battery"}, follow_redirects=False)
    assert reply.status_code == 303


def test_the_start_page_refused_offers_to_try_again_and_tries_by_itself(world: World) -> None:
    ada = world.user("ada")
    course = world.course("llms", (ada, CourseRole.STUDENT))
    quiz = world.quiz(course, ["tf"])
    world.db.commit()
    client = world.client
    assert client is not None
    _sign_in(client, "ada")
    token = client.get(f"/quizzes/{quiz.id}").text.split('name="csrf_token" value="')[1].split('"')[0]
    admission = _admission(client)
    admission.in_hand = admission.limit

    refused = client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 503
    seconds = refused.headers["retry-after"]
    page = refused.text
    assert "<h1>Busy: try again</h1>" in page and "many students are starting at once" in page
    assert f'<form method="post" action="/quizzes/{quiz.id}/start" data-retry-after="{seconds}">' in page
    assert '<script src="/static/retry.js" defer></script>' in page
    assert '<button class="button" type="submit">Try again</button>' in page
    retry_token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.get("/static/retry.js").status_code == 200

    admission.in_hand = 0
    again = client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": retry_token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/attempts/")


def test_a_start_reads_its_variants_through_the_index() -> None:
    """SQLite answered a row-value ``(version, seed) IN (...)`` by reading every prepared variant
    (at 32,000 of them, 5 ms of each start): the recall's statement must search the unique index."""
    import sqlite3

    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    from assessments.models import Base

    con = sqlite3.connect(":memory:")
    con.execute(str(CreateTable(Base.metadata.tables["prepared_variants"]).compile(dialect=sqlite.dialect())))
    statement = prepared._RECALL.params(**prepared._of_pairs([(1, 11), (2, 22), (2, 23)]))
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    plan = " ".join(row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SEARCH prepared_variants USING INDEX" in plan and "SCAN prepared_variants" not in plan, plan


def test_a_recall_takes_only_the_pairs_asked_for(world: World, fresh_process: list[int]) -> None:
    """The statement finds every (version, seed) pair of the versions and seeds asked for; a variant
    of another version that happens to share a seed is left where it is."""
    ada = world.user("ada")
    course = world.course("llms", (ada, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric", "tf"])
    prepared.prepare(world.db, quiz.id, T0)
    rows = world.db.execute(select(PreparedVariant.item_version_id, PreparedVariant.seed,
                                   PreparedVariant.shuffle)).all()
    (v1, s1, shuffle), (v2, s2, _) = sorted(rows)
    versions = {v.id: v for v in world.db.scalars(select(ItemVersion).where(ItemVersion.id.in_([v1, v2])))}
    wanted = [prepared.Wanted(v1, versions[v1].content_hash, s1, shuffle),
              prepared.Wanted(v2, versions[v2].content_hash, s1, shuffle)]  # v2 was prepared for s2, not s1
    assert prepared.recall(world.db, wanted) == 1
    assert bank_service.has_variant(versions[v1].content_hash, s1, shuffle)
    assert not bank_service.has_variant(versions[v2].content_hash, s1, shuffle)
    assert s2 != s1


def test_variants_warmed_in_batches_are_those_generated_one_at_a_time(world: World,
                                                                       fresh_process: list[int]) -> None:
    """The reports generate a page's variants a version at a time (``warm_variants``); each is the
    variant generating its seed alone gives, shuffled or not."""
    ada = world.user("ada")
    course = world.course("llms", (ada, CourseRole.STUDENT))
    quiz = world.quiz(course, ITEMS)
    versions = [version for _, _, version in pinned(world.db, quiz.id)]
    seeds = [3, 17, 2**40 + 5, 99]
    for shuffle in (True, False):
        wanted = [(v.content_hash, seed, shuffle, lambda v=v: v) for v in versions for seed in seeds]
        assert bank_service.warm_variants(wanted) == len(wanted)
        assert bank_service.warm_variants(wanted) == 0  # held now
        fresh_process.clear()
        for version in versions:
            model = variant_model(version.content_hash, shuffle, lambda version=version: version)
            for seed in seeds:
                held = bank_service.cached_variant(version.content_hash, seed, shuffle, lambda version=version: version)
                _same(held, generate(model, seed))
        assert fresh_process == [], "the cached variants were the warmed ones"


def test_the_preparation_job_generates_without_the_write_lock(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job of 250 students generates and renders 4,000 variants (most of a second): done as a
    reader, so that SQLite's write lock, which every student's save needs, is held only to write."""
    import textwrap

    import yaml

    from assessments import jobs
    from assessments.bank.service import save_definition
    from assessments.db import Database
    from assessments.migrations import upgrade
    from assessments.models import Course, Enrolment, Role, User
    from assessments.quizzes.schemas import QuizCreate, Section
    from assessments.quizzes.service import add_quiz
    from tests.engine import samples

    url = f"sqlite:///{tmp_path / 'assay.sqlite3'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.sessions() as session, session.begin():
            save_definition(session, yaml.safe_load(textwrap.dedent(samples.NUMERIC)), source="samples",
                            actor_id=None, now=T0, item=samples.item(samples.NUMERIC))
            course = Course(slug="prep", title="Prepared")
            session.add(course)
            session.flush()
            add_quiz(session, course.id, QuizCreate(title="Opens", sections=[Section(items=["numeric"])]),
                     created_by_id=None, now=T0)
            for n in range(3):
                user = User(username=f"s{n}", display_name=f"S{n}", role=Role.STUDENT, password_hash="x")
                session.add(user)
                session.flush()
                session.add(Enrolment(course_id=course.id, user_id=user.id, role=CourseRole.STUDENT))
        held_while_planning: list[bool] = []
        real_plan = prepared.plan

        def watched(session: Any, *args: Any, **kwargs: Any) -> Any:
            held_while_planning.append(bool(session.connection().connection.info.get("assay_write_lock")))
            return real_plan(session, *args, **kwargs)

        monkeypatch.setattr(prepared, "plan", watched)
        done = jobs.run_one(database)
        assert done is not None and done.kind == prepared.PREPARE_JOB and done.result == {
            "students": 3, "variants": 3, "left": 0}
        assert held_while_planning == [False]
        with database.sessions() as session:
            assert session.scalar(select(func.count()).select_from(PreparedStart)) == 3
    finally:
        database.dispose()
