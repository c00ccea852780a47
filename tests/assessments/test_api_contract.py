"""The API keeps the contract its OpenAPI document states: focused tests for what the fuzzer found.

``test_fuzz_api.py`` explores every operation; these pin the replies and the document's parts that
it once caught out, each as a plain example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assessments.app import create_app
from assessments.config import Settings
from assessments.db import Database
from assessments.models import CourseRole, Role
from tests.assessments.conftest import World

PAST_32_BITS = 2**31
"""One more than the largest row id: PostgreSQL's INTEGER cannot hold it, so it once failed with 500
there ("integer out of range"), as 2**63 did on SQLite (which cannot bind it)."""


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("doc"), secret_key="d" * 40), Database("sqlite://"))
    return app.openapi()


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method.lower()]
    return found


@pytest.mark.parametrize(("method", "url", "name"), [
    ("GET", f"/api/v1/attempts/{PAST_32_BITS}", "attempt_id"),
    ("POST", f"/api/v1/quizzes/{PAST_32_BITS}/attempts", "quiz_id"),
    ("POST", f"/api/v1/attempts/1/slots/{PAST_32_BITS}/try-again", "slot"),
    ("POST", f"/api/v1/quizzes/{PAST_32_BITS}/regrade", "quiz_id"),
    ("GET", f"/api/v1/quizzes/{PAST_32_BITS}/statistics", "quiz_id"),
    ("GET", f"/api/v1/jobs/{PAST_32_BITS}", "job_id"),
    ("GET", f"/api/v1/attempts/{PAST_32_BITS}/grade-changes", "attempt_id"),
    ("GET", f"/api/v1/quizzes/{PAST_32_BITS}", "quiz_id"),
    ("DELETE", f"/api/v1/auth/tokens/{PAST_32_BITS}", "token_id"),
])
def test_an_id_past_32_bits_is_a_malformed_request_not_a_server_error(world: World, method: str, url: str,
                                                                       name: str) -> None:
    teacher = world.headers(world.user("teacher", Role.INSTRUCTOR))
    assert world.client is not None
    reply = world.client.request(method, url, headers=teacher, json={"seq": 0})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "malformed"
    assert [d["loc"] for d in reply.json()["error"]["details"]] == [["path", name]]


def test_the_largest_id_is_simply_not_found(world: World) -> None:
    teacher = world.headers(world.user("teacher", Role.INSTRUCTOR))
    assert world.client is not None
    reply = world.client.get(f"/api/v1/attempts/{PAST_32_BITS - 1}", headers=teacher)
    assert (reply.status_code, reply.json()["error"]["code"]) == (404, "not_found")


def test_an_attempt_without_deadline_leaves_it_out_and_the_document_allows_that(
        world: World, document: dict[str, Any]) -> None:
    """``AttemptView`` drops empty fields; the document once required ``deadline_at`` and ``finished_at``."""
    student = world.user("student")
    course = world.course("llms", (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["tf"])
    assert world.client is not None
    started = world.client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=world.headers(student)).json()
    assert "deadline_at" not in started and "finished_at" not in started
    view = document["components"]["schemas"]["AttemptView"]
    assert {"deadline_at", "finished_at"} <= set(view["properties"])
    assert {"deadline_at", "finished_at"}.isdisjoint(view["required"])
    assert "finished_at" not in document["components"]["schemas"]["SubmitResult"]["required"]


def test_errors_are_documented_with_the_body_they_have(document: dict[str, Any]) -> None:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    attempt = operation(document, "GET", "/api/v1/attempts/{attempt_id}")["responses"]
    assert sorted(attempt) == ["200", "401", "403", "404", "422"]
    assert all(attempt[status]["content"] == error for status in ("401", "403", "404", "422"))
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]

    save = operation(document, "PUT", "/api/v1/attempts/{attempt_id}/responses/{slot}")
    assert sorted(save["responses"]) == ["200", "400", "401", "403", "404", "409", "413", "422"]
    assert save["security"] == [{"bearer": []}]
    sign_in = operation(document, "POST", "/api/v1/auth/token")
    assert "security" not in sign_in
    assert sorted(sign_in["responses"]) == ["200", "400", "401", "413", "422", "429"]


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/courses", {"slug": "twice", "title": "Twice"}),
    ("/api/v1/users", {"username": "twice", "display_name": "Twice", "password": "long enough"}),
    ("/api/v1/lti/registrations", {"issuer": "https://lms.example.edu", "client_id": "assay", "deployment_ids": ["1"],
                                   "auth_login_url": "https://lms.example.edu/auth",
                                   "auth_token_url": "https://lms.example.edu/token",
                                   "jwks_url": "https://lms.example.edu/jwks"}),
])
def test_creating_the_same_thing_twice_is_a_documented_conflict(world: World, document: dict[str, Any], path: str,
                                                                 body: dict[str, Any]) -> None:
    """Found by the long run against a served demo: the second POST is 409, which was undocumented."""
    admin = world.headers(world.user("admin", Role.ADMIN))
    assert world.client is not None
    assert world.client.post(path, headers=admin, json=body).status_code == 201
    again = world.client.post(path, headers=admin, json=body)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    assert "409" in operation(document, "POST", path)["responses"]


def test_ids_in_paths_are_documented_as_32_bit(document: dict[str, Any]) -> None:
    parameters = operation(document, "GET", "/api/v1/attempts/{attempt_id}")["parameters"]
    assert parameters[0]["schema"] | {"title": None} == {"type": "integer", "minimum": 0,
                                                        "maximum": 2**31 - 1, "title": None}


def test_the_export_documents_every_format_it_sends(document: dict[str, Any]) -> None:
    content = operation(document, "GET", "/api/v1/items/export")["responses"]["200"]["content"]
    assert set(content) == {"application/yaml", "application/zip", "application/xml", "text/plain"}


def test_an_unknown_particular_operation_is_refused(tmp_path: Path) -> None:
    """A row of ``openapi.PARTICULAR`` for a route that no longer exists fails loudly."""
    from assessments import openapi

    app = create_app(Settings(data_dir=tmp_path, secret_key="d" * 40), Database("sqlite://"))
    openapi.PARTICULAR[("GET", "/api/v1/gone")] = (400,)
    try:
        with pytest.raises(ValueError, match="/api/v1/gone"):
            app.openapi()
    finally:
        del openapi.PARTICULAR[("GET", "/api/v1/gone")]


def test_an_unknown_query_parameter_is_refused_naming_it(world: World) -> None:
    """A mistyped ``dryrun`` would otherwise be ignored, and the dry run taken for a commit."""
    api = world.client
    assert api is not None
    staff = world.headers(world.author())
    reply = api.get("/api/v1/items", headers=staff, params={"limit": 1, "qq": "typo"})
    assert reply.status_code == 422
    [detail] = reply.json()["error"]["details"]
    assert detail["loc"] == ["query", "qq"]
    assert "this operation takes: bank, concept, limit, offset, q, tag, type" in detail["message"]
    assert api.get("/api/v1/items", headers=staff, params={"limit": 1, "q": "loss"}).status_code == 200
    assert api.get("/bank", params={"anything": "1"}, follow_redirects=False).status_code in {200, 303}
