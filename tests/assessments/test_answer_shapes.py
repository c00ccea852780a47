"""The REST API's answers are typed: each question type's response has one key (``choice``,
``choices``, ``answer``, ``order``, ``matches``, ``text``), documented in the OpenAPI document as a
union, and a response with a missing, another type's or an unknown key is a 422 naming it, with
nothing saved."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from assessments.models import CourseRole
from tests.assessments.conftest import World

ITEMS = ["seed", "numeric", "single", "tf", "ordering", "matching", "short", "essay"]


def good(question: dict[str, Any]) -> dict[str, Any]:
    """A response in the shape of the question's type (right or wrong does not matter here)."""
    kind = question["type"]
    return {
        "multiple_response": {"choices": [0, 1]},
        "numeric": {"answer": "0.5"},
        "single_choice": {"choice": 1},
        "true_false": {"answer": True},
        "ordering": {"order": list(range(len(question.get("options", []))))},
        "matching": {"matches": [0] * len(question.get("prompts", []))},
        "short_text": {"answer": "a reward model"},
        "essay": {"text": "The policy exploits the reward model's blind spots."},
    }[kind]


KEY = {"multiple_response": "choices", "numeric": "answer", "single_choice": "choice", "true_false": "answer",
       "ordering": "order", "matching": "matches", "short_text": "answer", "essay": "text"}
ANOTHER = {"choices": {"choice": 1}, "answer": {"choices": [0]}, "choice": {"choices": [1]},
           "order": {"matches": [0]}, "matches": {"order": [0]}, "text": {"answer": "x"}}
"""For each type's key, another type's response."""


@pytest.fixture
def attempt(world: World) -> tuple[TestClient, dict[str, str], int, list[dict[str, Any]]]:
    teacher, student = world.author("teacher"), world.user("sam")
    course = world.course("shapes", (teacher, CourseRole.INSTRUCTOR), (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ITEMS)
    api = world.client
    assert api is not None
    headers = world.headers(student)
    started = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert started.status_code in (200, 201), started.text
    view = started.json()
    assert sorted(q["question"]["type"] for q in view["questions"]) == sorted(KEY)
    return api, headers, view["id"], view["questions"]


def test_each_type_takes_its_shape_and_refuses_another_naming_the_key(
        attempt: tuple[TestClient, dict[str, str], int, list[dict[str, Any]]]) -> None:
    api, headers, attempt_id, questions = attempt
    for question in questions:
        kind, slot, seq = question["question"]["type"], question["slot"], question["seq"]
        path = f"/api/v1/attempts/{attempt_id}/responses/{slot}"
        other = ANOTHER[KEY[kind]]
        wrong = api.put(path, json={"response": other, "seq": seq}, headers=headers)
        assert wrong.status_code == 422, (kind, wrong.text)
        message = wrong.json()["error"]["message"]
        assert f"a {kind} question's response is {{'{KEY[kind]}': ...}}" in message, message
        assert f"'{next(iter(other))}' is not a key of its response" in message, message
        assert {"loc": ["body", "response", KEY[kind]], "message": "missing"} in wrong.json()["error"]["details"]

        extra = api.put(path, json={"response": {**good(question["question"]), "note": "mine"}, "seq": seq},
                        headers=headers)
        assert extra.status_code == 422, (kind, extra.text)
        assert any(d["loc"][-1] == "note" for d in extra.json()["error"]["details"]), extra.text

        saved = api.put(path, json={"response": good(question["question"]), "seq": seq}, headers=headers)
        assert saved.status_code == 200, (kind, saved.text)
        assert saved.json()["saved"] is True and saved.json()["seq"] == seq + 1

    view = api.get(f"/api/v1/attempts/{attempt_id}", headers=headers).json()
    for question in view["questions"]:
        assert question["response"] == good(question["question"]), question["question"]["type"]


def test_a_response_without_a_known_key_is_refused_before_the_question_is_read(
        attempt: tuple[TestClient, dict[str, str], int, list[dict[str, Any]]]) -> None:
    api, headers, attempt_id, questions = attempt
    slot, seq = questions[0]["slot"], questions[0]["seq"]
    path = f"/api/v1/attempts/{attempt_id}/responses/{slot}"
    for body in ({}, {"chioce": 1}, [1], "choice"):
        refused = api.put(path, json={"response": body, "seq": seq}, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
        assert "choice, choices, answer, order, matches or text" in refused.text, refused.text
    check = api.post(f"/api/v1/attempts/{attempt_id}/slots/{slot}/check", json={"response": {}, "seq": seq},
                     headers=headers)
    assert check.status_code == 422
    assert api.get(f"/api/v1/attempts/{attempt_id}", headers=headers).json()["questions"][0]["seq"] == seq


def test_the_openapi_document_types_each_shape(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    union = schemas["AnswerRequest"]["properties"]["response"]
    refs = {s["$ref"].rsplit("/", 1)[-1] for s in union["oneOf"]}
    assert refs == {"ChoiceResponse", "ChoicesResponse", "AnswerResponse", "OrderResponse", "MatchesResponse",
                    "TextResponse"}
    assert schemas["ChoicesResponse"]["required"] == ["choices"]
    assert schemas["ChoicesResponse"]["additionalProperties"] is False
    assert schemas["ChoicesResponse"]["properties"]["choices"]["items"]["anyOf"][0] == {"type": "integer"}
    assert "multiple_response" in schemas["ChoicesResponse"]["description"]


def test_a_value_the_type_cannot_read_is_saved_as_invalid_with_its_reason(
        attempt: tuple[TestClient, dict[str, str], int, list[dict[str, Any]]]) -> None:
    api, headers, attempt_id, questions = attempt
    unreadable = {"multiple_response": {"choices": ["first"]}, "single_choice": {"choice": 99},
                  "numeric": {"answer": "about a half"}, "true_false": {"answer": "maybe"}}
    for question in questions:
        kind = question["question"]["type"]
        if kind not in unreadable:
            continue
        path = f"/api/v1/attempts/{attempt_id}/responses/{question['slot']}"
        saved = api.put(path, json={"response": unreadable[kind], "seq": question["seq"]}, headers=headers)
        assert saved.status_code == 200 and saved.json()["state"] == "invalid", (kind, saved.text)
    view = api.get(f"/api/v1/attempts/{attempt_id}", headers=headers).json()
    shown = {q["question"]["type"]: q for q in view["questions"]}
    assert shown["multiple_response"]["response"] == {"choices": ["first"]} and shown["multiple_response"]["error"]
