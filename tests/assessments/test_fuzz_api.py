"""Fuzzing the REST API: schemathesis generates requests from Assay's own OpenAPI document.

Every API operation is called as each kind of caller (nobody, a student, an instructor, an
administrator, and an instructor's personal token limited to ``read`` and ``write``) with requests
built from the operation's parameters and body schemas (valid ones and invalid ones), against a
populated scene: the people, a course with an interactive quiz and an essay quiz, the student's
attempt in progress and another finished and waiting for a grader, an LTI registration. Path
parameters are the scene's real ids and slugs as often as they are made up, and a save names the
scene's current step half the time, so the fuzzer reaches past "not found" and "stale".

Every reply must be no server error (no 5xx) and must conform to the document: its status code
documented for the operation, its content type one the operation declares, its headers and its
body valid against the documented schema, and a request the schema calls invalid refused with a
4xx. Each example runs in a savepoint that is rolled back, so every example meets the same scene.

Checks left out, and why: ``positive_data_acceptance`` (a request that fits the schema may still
be refused by the domain: an item definition that does not check is 400, an attempt that is not
yours 404); ``ignored_auth`` (who may call what, with exact statuses for every route and caller,
is the authorization matrix's job: ``test_authorization.py``); ``use_after_free`` and
``ensure_resource_availability`` (they need stateful links: ``bench/fuzz.sh`` runs that phase).

The run is CI-sized and deterministic (derandomised, ``ASSAY_FUZZ_EXAMPLES`` examples per
operation and caller, 6 by default). ``ASSAY_FUZZ_SEED=N`` makes it random from seed N, and
``ASSAY_FUZZ_COVERAGE=1`` adds schemathesis's coverage phase for every caller: each parameter's
and field's boundaries (the largest integers, empty and over-long strings, missing and wrong-typed
fields), a few thousand requests more. ``bench/fuzz.sh`` uses all three for a long run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from sqlalchemy.orm import Session

from assessments.app import create_app
from assessments.auth.tokens import Scope
from assessments.bank.repository import course_bank
from assessments.bank.service import save_definition
from assessments.config import Settings
from assessments.db import Database
from assessments.lti.schemas import RegistrationCreate
from assessments.lti.service import register
from assessments.models import Bank, BankGrant, CourseRole, Role
from tests.assessments.conftest import Clock, World, serve_from
from tests.assessments.test_authorization import (
    LTI_PLATFORM,
    _definition,
    access_token,
    bearer,
    personal_token,
    undone,
)

CALLERS = ("anonymous", "student", "instructor", "admin", "scoped_token")
"""Who calls: nobody; a student of the course; its instructor; an administrator; the instructor's
personal token with the ``read`` and ``write`` scopes only (no ``grade``, no ``admin``)."""

EXAMPLES = int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "6"))
SEED = int(os.environ["ASSAY_FUZZ_SEED"]) if os.environ.get("ASSAY_FUZZ_SEED") else None
COVERAGE = os.environ.get("ASSAY_FUZZ_COVERAGE") == "1"
FUZZ = settings(max_examples=EXAMPLES, derandomize=SEED is None, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@dataclass
class FuzzStage:
    """The app over one transaction of the scene, and the ids a path parameter may name."""

    app: Any
    db: Session
    headers: dict[str, dict[str, str]]
    ids: dict[str, list[Any]]


def build_scene(world: World, settings_: Settings, clock: Clock) -> tuple[dict[str, dict[str, str]],
                                                                          dict[str, list[Any]]]:
    admin = world.user("admin", Role.ADMIN)
    teacher = world.user("teacher", Role.INSTRUCTOR)
    student = world.user("student")
    classmate = world.user("classmate")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (student, CourseRole.STUDENT),
                          (classmate, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric", "bradley-terry-preference-probability", "seed"], behaviour="interactive")
    essay = world.quiz(course, ["essay"])
    headers = {"anonymous": {}} | {role: bearer(access_token(user, settings_, clock)) for role, user in
                                   (("student", student), ("instructor", teacher), ("admin", admin))}
    token_id, secret = personal_token(world.db, teacher, clock, Scope.READ, Scope.WRITE)
    headers["scoped_token"] = bearer(secret)
    register(world.db, RegistrationCreate.model_validate(LTI_PLATFORM), clock.now)
    # The bank's ownership: the course's own bank with an item, and a bank it shares with another course.
    other = world.course("rl", (world.user("other-teacher", Role.INSTRUCTOR), CourseRole.INSTRUCTOR))
    save_definition(world.db, _definition("short", id="llms-private"), source="fuzz", actor_id=None, now=clock.now,
                    bank=course_bank(world.db, course))
    shared = Bank(slug="llms-shared", title="Shared", course_id=course.id, created_at=clock.now)
    world.db.add(shared)
    world.db.flush()
    world.db.add(BankGrant(bank_id=shared.id, course_id=other.id, can_edit=True, created_at=clock.now))

    api = world.client
    assert api is not None
    attempt = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers["student"])
    assert attempt.status_code == 201, attempt.text
    finished = api.post(f"/api/v1/quizzes/{essay.id}/attempts", headers=headers["student"]).json()["id"]
    saved = api.put(f"/api/v1/attempts/{finished}/responses/1", headers=headers["student"],
                    json={"response": {"text": "The policy games the reward model."}, "seq": 0})
    assert saved.status_code == 200, saved.text
    assert api.post(f"/api/v1/attempts/{finished}/submit", headers=headers["student"]).status_code == 200
    # Accommodations: a group with the student, and overrides for it and for the classmate.
    group = api.post("/api/v1/courses/llms/groups", headers=headers["instructor"],
                     json={"name": "extra-time", "members": ["student"]})
    assert group.status_code == 201, group.text
    overrides = [api.post(f"/api/v1/quizzes/{quiz.id}/overrides", headers=headers["instructor"], json=body)
                 for body in ({"group": "extra-time", "time_multiplier": 1.5},
                              {"user": "classmate", "attempts_allowed": 2})]
    assert [o.status_code for o in overrides] == [201, 201], [o.text for o in overrides]
    practice = api.post("/api/v1/courses/llms/practices", headers=headers["instructor"],
                        json={"title": "Practice", "quiz_id": quiz.id}).json()["id"]
    question = api.post(f"/api/v1/practices/{practice}/next", headers=headers["student"]).json()["question"]["id"]
    ids: dict[str, list[Any]] = {
        "course": ["llms"], "quiz_id": [quiz.id, essay.id], "attempt_id": [attempt.json()["id"], finished],
        "slot": [1, 2, 3], "key": ["numeric", "essay", "seed", "dpo-loss-value", "llms-private"],
        "token_id": [token_id], "bank": ["course:llms", "library", "llms-shared"],
        "group_id": [group.json()["id"]], "override_id": [o.json()["id"] for o in overrides],
        "practice_id": [practice], "question_id": [question],
    }
    return headers, ids


@pytest.fixture(scope="module")
def fuzz_stage(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzStage]:
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), secret_key="fuzz-" + "k" * 40)
    clock = Clock()
    connection = database.engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    app = serve_from(create_app(settings_, database), db, clock)
    try:
        with TestClient(app) as client:
            headers, ids = build_scene(World(db, client), settings_, clock)
            db.commit()
            db.expunge_all()
            yield FuzzStage(app, db, headers, ids)
    finally:
        db.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _document_app(tmp: str) -> Any:
    """An app to read the OpenAPI document from (it touches no database)."""
    return create_app(Settings(data_dir=tmp, secret_key="document-" + "k" * 40), Database("sqlite://"))


def _load(*, fuzzing: bool, coverage: bool) -> Any:
    phases = {"examples": {"enabled": fuzzing}, "fuzzing": {"enabled": fuzzing}, "coverage": {"enabled": coverage}}
    config = SchemathesisConfig.from_dict({"seed": SEED, "phases": phases} if SEED is not None else {"phases": phases})
    with tempfile.TemporaryDirectory() as tmp:
        loaded = schemathesis.openapi.from_asgi("/openapi.json", _document_app(tmp), config=config)
    return loaded.include(path_regex="^/api/")


schema = _load(fuzzing=True, coverage=False)
boundaries = _load(fuzzing=False, coverage=True)


def call(case: Any, stage: FuzzStage, caller: str, data: st.DataObject | None = None) -> None:
    """One request as ``caller``, checked, and undone.

    Given ``data``, half the time the path names the scene's own ids and slugs instead of made-up
    ones, and a save names the scene's current step (0), so the request gets past "not found" and
    "stale". These edits and the credentials are made to the case in place, and reading
    ``case.meta`` then checks the case against the schema again: a request they made valid is no
    longer judged as one the API should have refused.
    """
    if data is not None and case.path_parameters and data.draw(st.booleans(), label="the scene's ids"):
        for name in sorted(case.path_parameters.keys() & stage.ids.keys()):
            case.path_parameters[name] = data.draw(st.sampled_from(stage.ids[name]), label=name)
    if data is not None and isinstance(case.body, dict) and "seq" in case.body and data.draw(st.booleans()):
        case.body["seq"] = 0
    if stage.headers[caller]:
        if case.headers is None:
            case.headers = {}
        case.headers.update(stage.headers[caller])
    _ = case.meta  # reading it re-checks the edited parts against the schema
    with undone(stage.db):
        case.call_and_validate(checks=CHECKS, app=stage.app)


@schema.parametrize()
@schema.given(data=st.data())
@FUZZ
def test_every_reply_keeps_the_documented_contract(case: Any, data: st.DataObject, caller: str,
                                                   fuzz_stage: FuzzStage) -> None:
    call(case, fuzz_stage, caller, data)


if COVERAGE:
    # The long run's: every caller, every operation, each parameter's and field's boundaries.
    @boundaries.parametrize()
    @FUZZ
    def test_boundary_values_keep_the_documented_contract(case: Any, caller: str, fuzz_stage: FuzzStage) -> None:
        """The coverage phase's cases are fixed examples: they keep their made-up ids (no ``data`` to draw)."""
        call(case, fuzz_stage, caller)
