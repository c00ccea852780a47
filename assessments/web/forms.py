"""Form fields to responses: what a question's inputs on a page mean as an API response.

Inputs are named ``s{slot}-{field}``; the response has the shape the question type parses.
A question left untouched on the page gives no response (nothing is saved for it).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData


def _ints(values: list[str]) -> list[int]:
    out = []
    for value in values:
        try:
            out.append(int(value))
        except ValueError:
            out.append(-1)  # the question type rejects it with a clear message
    return out


Form = FormData
Question = dict[str, Any]


def _text(field: str, key: str) -> Any:
    def read(_question: Question, prefix: str, form: Form) -> dict[str, Any]:
        value = form.get(f"{prefix}{field}")
        return {key: value} if isinstance(value, str) and value.strip() else {}

    return read


def _single(_question: Question, prefix: str, form: Form) -> dict[str, Any]:
    value = form.get(f"{prefix}choice")
    return {"choice": int(value)} if isinstance(value, str) and value.isdigit() else {}


def _multiple(_question: Question, prefix: str, form: Form) -> dict[str, Any]:
    return {"choices": _ints([str(v) for v in form.getlist(f"{prefix}choices")])}


def _true_false(_question: Question, prefix: str, form: Form) -> dict[str, Any]:
    value = form.get(f"{prefix}answer")
    return {"answer": value == "true"} if value in ("true", "false") else {}


def _ordering(question: Question, prefix: str, form: Form) -> dict[str, Any]:
    # each option has a position select; the order lists option ids by chosen position
    positions = {}
    for option in question["options"]:
        value = form.get(f"{prefix}pos-{option['id']}")
        if isinstance(value, str) and value.isdigit():
            positions[option["id"]] = int(value)
    if len(positions) != len(question["options"]):
        return {}
    ranked = [o for o, _ in sorted(positions.items(), key=lambda kv: (kv[1], kv[0]))]
    if len(set(positions.values())) != len(positions):
        # Two options share a position: never silently broken by id. The order saved places the
        # first option twice, which the question type refuses, saying so beside the field.
        return {"order": [ranked[0], *ranked[:-1]]}
    return {"order": ranked}


def _matching(question: Question, prefix: str, form: Form) -> dict[str, Any]:
    matches: list[int | None] = []
    for prompt in question["prompts"]:
        value = form.get(f"{prefix}match-{prompt['id']}")
        matches.append(int(value) if isinstance(value, str) and value.isdigit() else None)
    return {"matches": matches} if any(m is not None for m in matches) else {}


READERS = {
    "single_choice": _single,
    "multiple_response": _multiple,
    "true_false": _true_false,
    "numeric": _text("answer", "answer"),
    "short_text": _text("answer", "answer"),
    "essay": _text("text", "text"),
    "ordering": _ordering,
    "matching": _matching,
}


def response_from_form(question: Question, slot: int, form: Form) -> dict[str, Any] | None:
    """The response the page's inputs for one question say, or None if the page had none."""
    prefix = f"s{slot}-"
    reader = READERS.get(question["type"])
    if reader is None or f"{prefix}present" not in form:
        return None
    response: dict[str, Any] = reader(question, prefix, form)
    return response
