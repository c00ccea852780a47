"""Export then import, over the whole shipped bank: GIFT and Moodle XML give back equivalent items.

Every item in content/ leaves as its variant of seed 0 and comes back as a fixed item whose
variant shows the same texts, has the same key and the same tolerance (a relative or
significant-figure tolerance comes back as the absolute width it had around this variant's
key). Ordering items have no form in either format and are skipped with a note. Moodle XML also
brings back the id, tags, concepts, related items, mark, shuffling, worked solution and unit.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from assessments.interop.base import ExportItem, Format
from assessments.interop.gift import GIFT
from assessments.interop.moodlexml import MOODLE_XML
from engine.content.checker import variant_problems
from engine.content.loader import item_files, load_items
from engine.items import ItemBase, NumericItem, parse_item
from engine.qtypes import qtype_for
from engine.qtypes.common import render_text
from engine.qtypes.numeric import half_width
from engine.variants import Variant, generate
from tests.conftest import ROOT

FORMATS = [GIFT, MOODLE_XML]


@cache
def bank() -> tuple[ExportItem, ...]:
    content = ROOT / "content"
    loaded, problems = load_items(item_files(content), base=content)
    assert problems == []
    return tuple(ExportItem(entry.item.id, entry.item, generate(entry.item, 0)) for entry in loaded)


def _authored(texts: list[dict[str, Any]], variant: Variant) -> list[str]:
    """Texts shown in display order, put back in authored order."""
    assert variant.order is not None
    authored = [""] * len(texts)
    for position, shown in enumerate(texts):
        authored[variant.order[position]] = shown["text"].strip()
    return authored


def view(item: ItemBase, variant: Variant) -> dict[str, Any]:
    """What makes two items equivalent: type, displayed texts, key (and tolerance, apart)."""
    shown = qtype_for(item).render(item, variant)
    seen: dict[str, Any] = {"type": item.type_name, "title": item.title, "stem": shown["stem"].strip()}
    key = variant.key
    if item.type_name in {"single_choice", "multiple_response"}:
        seen["options"] = _authored(shown["options"], variant)
        seen["correct"] = [bool(c) for c in key["correct"][0]]
    elif item.type_name == "true_false":
        seen["answer"] = bool(key["answer"][0])
    elif item.type_name == "numeric":
        seen["answer"] = float(key["answer"][0])
    elif item.type_name == "short_text":
        seen["answers"] = [(render_text(a.match, variant).strip(), a.fraction) for a in item.answers]  # type: ignore[attr-defined]
    elif item.type_name == "matching":
        seen["prompts"] = [p["text"].strip() for p in shown["prompts"]]
        seen["pool"] = _authored(shown["answers"], variant)
    return seen


def width(item: NumericItem, variant: Variant) -> float:
    return float(half_width(item.tolerance, variant.key["answer"])[0])


@cache
def round_trip(fmt: Format) -> tuple[dict[str, dict[str, Any]], list[str]]:
    exported = fmt.export_items(list(bank()), title="Foundations of LLMs")
    imported = fmt.import_items(exported.content, exported.filename)
    assert imported.problems == []
    return {d["id"]: d for d in imported.definitions}, exported.notes


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_carried_item_comes_back_equivalent(fmt: Format) -> None:
    definitions, _ = round_trip(fmt)
    carried = [entry for entry in bank() if entry.item.type_name != "ordering"]
    assert sorted(definitions) == sorted(entry.key for entry in carried)
    assert {entry.item.type_name for entry in carried} == {
        "single_choice", "multiple_response", "true_false", "numeric", "matching", "short_text", "essay"}
    for entry in carried:
        back = parse_item(definitions[entry.key])
        assert variant_problems(back) == ([], 1), entry.key
        back_variant = generate(back, 0)
        assert view(back, back_variant) == view(entry.item, entry.variant), entry.key
        if isinstance(entry.item, NumericItem):
            assert isinstance(back, NumericItem)
            # The grader pads every width by 1e-12 of the key (its ULP slack), which is not carried:
            # for a count in the thousands that padding alone exceeds a relative 1e-9.
            slack = 1e-12 * max(1.0, abs(float(entry.variant.key["answer"][0])))
            assert back.tolerance.absolute == pytest.approx(width(entry.item, entry.variant), rel=1e-9,
                                                            abs=1e-11 + slack)
        if entry.item.solution:
            assert back.solution == render_text(entry.item.solution, entry.variant).strip(), entry.key


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_the_report_names_computed_and_skipped_items(fmt: Format) -> None:
    _, notes = round_trip(fmt)
    for entry in bank():
        said = [note for note in notes if note.startswith(f"item {entry.key!r}:")]
        if entry.item.type_name == "ordering":
            assert any("ordering items have no GIFT or Moodle XML form" in n and n.endswith("skipped") for n in said)
        elif entry.item.is_computed:
            assert f"item {entry.key!r}: computed: exported as its variant of seed 0" in said


def test_moodle_xml_brings_back_metadata_and_scoring() -> None:
    definitions, _ = round_trip(MOODLE_XML)
    for entry in bank():
        item = entry.item
        if item.type_name == "ordering":
            continue
        back = parse_item(definitions[entry.key])
        assert back.id == item.id
        assert back.tags == item.tags
        assert (back.concepts, back.related) == (item.concepts, item.related)
        assert (back.max_mark, back.scoring.negative) == (item.max_mark, item.scoring.negative)
        if item.type_name in {"single_choice", "multiple_response", "matching"}:
            assert back.shuffle == item.shuffle
        if item.type_name == "multiple_response" and item.scoring.method != "all_or_nothing":
            assert back.scoring.wrong_selection_penalty == item.scoring.wrong_selection_penalty
        if isinstance(item, NumericItem):
            assert isinstance(back, NumericItem)
            assert back.unit == item.unit


def test_gift_brings_back_titles_and_ids_through_its_comments() -> None:
    definitions, notes = round_trip(GIFT)
    for entry in bank():
        if entry.item.type_name != "ordering":
            assert definitions[entry.key]["title"] == entry.item.title
    assert any("GIFT does not carry its tags, concepts and related items" in note for note in notes)
