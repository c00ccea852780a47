"""Fingerprints of every content item's variants: what a stored attempt must regenerate.

A stored question attempt keeps (item version, seed) and rebuilds its variant from them, so any
change to the engine must leave, for every item and seed, the same values, option order, key,
rendered text, grades and feedback. :func:`fingerprints` hashes all of these (SHA-256 over a
canonical JSON of each seed's variant, its renders and a walk of responses through an attempt,
floats to :data:`DIGITS` significant digits, everything else exactly) for
every item file in ``content/`` that loads; ``test_variant_stability.py`` compares them with the
frozen ``variant_stability.json``. Regenerate the fixture only for an intended change of variants:

    PYTHONPATH=. python -m tests.engine.variant_fingerprints
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.attempts import Action, QuestionAttempt
from engine.behaviours import behaviour_for
from engine.content.loader import item_files, load_items
from engine.items import ItemBase
from engine.qtypes import ResponseError, qtype_for
from engine.qtypes.essay import ManualGradingRequired
from engine.variants import Variant, VariantError, generate, generate_batch

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"
FIXTURE = Path(__file__).with_name("variant_stability.json")


def _sha_seed(label: str) -> int:
    """A 56-bit seed as the attempts service makes them (the first 7 bytes of a SHA-256)."""
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:7], "big")


SEEDS: tuple[int, ...] = (0, 1, 2, 12345, 2**31 - 1, 2**56 - 1, *(_sha_seed(f"stability:{n}") for n in range(4)))
"""Small, 32-bit and 56-bit seeds; the first two are also hashed without shuffling."""
AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


DIGITS = 10
"""Significant digits a float is fingerprinted to. numpy computes exp, log and their kin with the
widest SIMD the CPU has, and its AVX-512 kernels may differ from its AVX2 and baseline ones in the
last bit (a relative 1e-16): a fingerprint of the exact bits would change with the machine. Ten
digits keep every change of the engine's arithmetic that matters (a formula, an order of
operations that moves a value by 1e-10) and ignore the CPU. Integers, orders, texts and every
other value are fingerprinted exactly."""


def _number(x: float) -> str:
    return format(x, f".{DIGITS}g")


def _canonical(value: Any) -> Any:
    """``value`` with each float (and numpy float) written to :data:`DIGITS` significant digits."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float | np.floating):
        return _number(float(value))
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        return _array(value)
    return repr(value)


def _array(value: np.ndarray) -> dict[str, Any]:
    value = np.ascontiguousarray(value)
    if value.dtype.kind in "fc":
        data = json.dumps([_number(float(x)) for x in value.real.ravel()]
                          + [_number(float(x)) for x in value.imag.ravel()] * (value.dtype.kind == "c"))
        digest = hashlib.sha256(data.encode()).hexdigest()
    else:
        digest = hashlib.sha256(value.tobytes()).hexdigest()
    return {"dtype": value.dtype.str, "shape": list(value.shape), "sha256": digest}


def _variant_data(variant: Variant) -> dict[str, Any]:
    return {
        "json": variant.to_json(),
        "values": {k: _array(v) for k, v in variant.values.items()},
        "key": {k: _array(v) for k, v in variant.key.items()},
        "order": variant.order,
    }


def _responses(item: ItemBase, variant: Variant, shown: dict[str, Any]) -> list[dict[str, Any]]:
    """Right, wrong and invalid responses (the type's self-test) and every single choice, so that
    option and misconception feedback are exercised too."""
    qtype = qtype_for(item)
    found = [dict(case.response) for case in qtype.self_test_cases(item, variant)]
    ids = [o["id"] for o in shown.get("options", [])]
    kind = item.type_name
    if kind == "single_choice":
        found += [{"choice": i} for i in ids]
    elif kind == "multiple_response":
        found += [{"choices": [i]} for i in ids] + [{"choices": ids}]
    elif kind == "true_false":
        found += [{"answer": True}, {"answer": False}]
    elif kind == "numeric":
        found += [{"answer": _number(float(x))} for x in variant.key["misconception_values"][0]]
    elif kind == "ordering":
        found += [{"order": ids}, {"order": ids[::-1]}]
    elif kind == "matching":
        answers = [a["id"] for a in shown["answers"]]
        found += [{"matches": [answers[0]] * len(shown["prompts"])},
                  {"matches": answers[: len(shown["prompts"])]}]
    return found


def _graded(item: ItemBase, variant: Variant, raw: dict[str, Any]) -> Any:
    qtype = qtype_for(item)
    summary = qtype.summarise(item, variant, raw)
    try:
        parsed = qtype.parse(item, variant, raw)
    except ResponseError as exc:
        return {"summary": summary, "invalid": str(exc)}
    try:
        grade = qtype.grade(item, variant, parsed)
    except ManualGradingRequired:
        return {"summary": summary, "manual": True}
    return {"summary": summary, "grade": grade.to_json()}


def _walk(item: ItemBase, variant: Variant, raw: dict[str, Any]) -> dict[str, Any]:
    """Start, save and finish an attempt, then save the same again after a JSON round trip."""
    name = "manualgraded" if item.type_name == "essay" else "deferredfeedback"
    qa = QuestionAttempt.start(variant, behaviour_for(name), actor="s", at=AT)
    qa.process(Action.SAVE, raw, actor="s", at=AT)
    stored = json.loads(json.dumps(qa.to_json()))
    again = QuestionAttempt.from_json(stored, variant)
    again.process(Action.SAVE, raw, actor="s", at=AT)
    again.process(Action.FINISH, actor="s", at=AT)
    return again.to_json()


def seed_fingerprint(item: ItemBase, seed: int) -> str:
    """SHA-256 of everything a stored attempt at ``item`` with ``seed`` depends on."""
    try:
        variant = generate(item, seed)
    except VariantError as exc:
        return hashlib.sha256(f"VariantError: {exc}".encode()).hexdigest()
    qtype = qtype_for(item)
    shown = qtype.render(item, variant)
    responses = _responses(item, variant, shown)
    record = {
        "variant": _variant_data(variant),
        "render": shown,
        "correct": qtype.correct_response(item, variant),
        "grades": [[raw, _graded(item, variant, raw)] for raw in responses],
        "attempts": [_walk(item, variant, raw) for raw in responses[:2]],
    }
    text = json.dumps(_canonical(record), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def batch_fingerprint(item: ItemBase, seeds: tuple[int, ...]) -> str:
    """SHA-256 of :func:`generate_batch` over ``seeds`` (the path the checker and grading use)."""
    try:
        batch = generate_batch(item, seeds)
    except VariantError as exc:
        return hashlib.sha256(f"VariantError: {exc}".encode()).hexdigest()
    record = {
        "values": {k: _array(v) for k, v in batch.values.items()},
        "key": {k: _array(v) for k, v in batch.key.items()},
        "order": None if batch.order is None else _array(batch.order),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def content_items() -> dict[str, ItemBase]:
    """Every item in content/ whose file loads, by its path relative to content/."""
    found = {}
    for path in item_files(CONTENT):
        loaded, problems = load_items([path], base=CONTENT)
        if not problems:
            for entry in loaded:
                found[f"{path.relative_to(CONTENT).as_posix()}#{entry.item.id}"] = entry.item
    return found


def item_fingerprints(item: ItemBase) -> dict[str, str]:
    out = {str(seed): seed_fingerprint(item, seed) for seed in SEEDS}
    if item.shuffle:
        fixed = item.model_copy(update={"shuffle": False})
        out.update({f"{seed}/unshuffled": seed_fingerprint(fixed, seed) for seed in SEEDS[:2]})
    out["batch"] = batch_fingerprint(item, SEEDS)
    return out


def item_fingerprint(item: ItemBase) -> str:
    """One SHA-256 over every seed's fingerprint (call :func:`item_fingerprints` to see which
    seed changed)."""
    return hashlib.sha256(json.dumps(item_fingerprints(item), sort_keys=True).encode()).hexdigest()


def fingerprints() -> dict[str, str]:
    return {name: item_fingerprint(item) for name, item in content_items().items()}


def main() -> None:
    FIXTURE.write_text(json.dumps(fingerprints(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")  # noqa: T201 - a script's one line of output


if __name__ == "__main__":
    main()
