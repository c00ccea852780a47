"""Every content item's variants stay what they were, to the bit (see variant_fingerprints.py)."""

from __future__ import annotations

import json

import pytest

from tests.engine.variant_fingerprints import FIXTURE, content_items, item_fingerprint

_FROZEN: dict[str, str] = json.loads(FIXTURE.read_text())
_ITEMS = content_items()


def test_the_fixture_covers_every_loadable_item() -> None:
    assert sorted(_ITEMS) == sorted(_FROZEN)


@pytest.mark.parametrize("name", sorted(_FROZEN), ids=lambda name: name.rsplit("#", 1)[-1])
def test_variants_are_unchanged(name: str) -> None:
    assert name in _ITEMS, f"{name} no longer loads"
    changed = "a variant changed: compare item_fingerprints() seed by seed"
    assert item_fingerprint(_ITEMS[name]) == _FROZEN[name], changed
