"""A definition's content hash names its content, not how its numbers were written.

``0`` and ``0.0`` (or ``1`` and ``1.0``) are one number to every item field, but JSON writes
them differently: QTI reads rubric points back as floats, YAML keeps what the author typed. The
hash therefore normalises numbers, so that re-importing an unchanged item makes no new version;
a version stored before that (under the hash of its numbers as written) is still found.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from assessments.bank.content_sync import load_content
from assessments.bank.service import content_hash, save_definition
from assessments.models import ItemVersion
from tests.assessments.conftest import T0, World
from tests.conftest import ROOT

ESSAY: dict[str, Any] = {
    "id": "explain-rlhf", "type": "essay", "title": "Explain RLHF", "stem": "Explain RLHF in a paragraph.",
    "max_mark": 2,
    "rubric": {"criteria": [{"id": "response", "title": "Response", "levels": [
        {"points": 0, "label": "Not met"}, {"points": 1, "label": "Partly met"}, {"points": 2, "label": "Met"}]}]},
}


def _versions(db: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(ItemVersion)))


def test_integral_floats_hash_as_their_integers() -> None:
    as_floats = json.loads(json.dumps(ESSAY).replace('"points": 0', '"points": 0.0')
                           .replace('"points": 1', '"points": 1.0').replace('"points": 2', '"points": 2.0'))
    assert as_floats != json.loads(json.dumps(ESSAY)) or json.dumps(as_floats) != json.dumps(ESSAY)
    assert content_hash(as_floats) == content_hash(ESSAY)
    assert content_hash({"x": [-0.0, 1e3]}) == content_hash({"x": [0, 1000]})
    # Different numbers, and a boolean beside a number, still hash apart.
    assert content_hash({"x": 0.5}) != content_hash({"x": 0})
    assert content_hash({"x": True}) != content_hash({"x": 1})
    assert content_hash({"x": 2.0**60}) == content_hash({"x": 2**60})


def test_reimporting_an_essay_exported_as_qti_makes_no_new_version(world: World) -> None:
    """QTI gives the rubric points and the mark back as floats (``0.0``, ``2.0``)."""
    api = world.client
    assert api is not None
    staff = world.headers(world.author())
    made = api.post("/api/v1/items", headers=staff, json=ESSAY)
    assert made.json() == {"key": "explain-rlhf", "version": 1, "created": True}
    exported = api.get("/api/v1/items/export", headers=staff, params={"format": "qti3", "q": "Explain RLHF"})
    assert exported.status_code == 200, exported.text
    again = api.post("/api/v1/items/import", headers=staff, params={"format": "qti3"}, content=exported.content)
    assert again.status_code == 200, again.text
    assert again.json()["items"] == [{"key": "explain-rlhf", "version": 1, "created": False}]


def test_a_version_stored_under_its_written_numbers_is_found_again(world: World) -> None:
    """Versions saved before numbers were normalised keep the hash they were stored with; saving
    the same definition again finds them (no spurious version), and so does any spelling of it."""
    db = world.db
    as_floats = {**ESSAY, "rubric": {"criteria": [{**ESSAY["rubric"]["criteria"][0], "levels": [
        {"points": 0.0, "label": "Not met"}, {"points": 1.0, "label": "Partly met"},
        {"points": 2.0, "label": "Met"}]}]}}
    first = save_definition(db, as_floats, source="old", actor_id=None, now=T0)
    row = db.scalar(select(ItemVersion).where(ItemVersion.number == first.version))
    assert row is not None
    legacy = json.dumps(as_floats, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row.content_hash = hashlib.sha256(legacy.encode()).hexdigest()  # as it was stored before
    db.flush()
    before = _versions(db)
    for spelling in (as_floats, ESSAY):
        again = save_definition(db, spelling, source="new", actor_id=None, now=T0)
        assert (again.version, again.created) == (first.version, False)
    assert _versions(db) == before


def test_loading_the_shipped_content_twice_makes_no_new_versions(world: World, tmp_path: Path) -> None:
    """Seven shipped items write a number such as ``2.0``: they too load once."""
    db = world.db
    bank = tmp_path / "content"
    shutil.copytree(ROOT / "content", bank)
    first = load_content(db, bank, actor_id=None, now=T0)
    before = _versions(db)
    second = load_content(db, bank, actor_id=None, now=T0)
    assert second.unchanged == len(second.items) == len(first.items) and _versions(db) == before
    floats = [p for p in bank.rglob("*.yaml") if any(isinstance(v, float) and v.is_integer()
                                                      for v in _numbers(yaml.safe_load(p.read_text())))]
    assert len(floats) >= 1, "the shipped content no longer writes an integral float: this test tests less"


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value]
