"""Export then import gives the same item: every item of the shipped bank, both QTI versions.

"The same" is what a student and a teacher can observe: type, texts, key and scoring
(:func:`summary`), and the fraction and feedback of every response tried (:func:`grades`), which
covers option feedback, misconception feedback and partial credit. Essays are scored by a person,
so for them the rubric and word limits must come back instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from assessments.interop.base import ExportItem
from assessments.interop.qti import QTI2, QTI3, QtiFormat
from engine.content.checker import variant_problems
from engine.items import EssayItem, parse_item
from engine.variants import generate
from tests.assessments.interop.test_qti_support import (
    EXAMPLES,
    XSD_V2,
    XSD_V3,
    bank,
    corpus_rows,
    grades,
    package_files,
    schema,
    summary,
)


@pytest.fixture(scope="module", params=[QTI2, QTI3], ids=["qti22", "qti30"])
def reimported(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    fmt: QtiFormat = request.param
    out = fmt.export_items(list(bank()), title="Foundations of LLMs")
    back = fmt.import_items(out.content, out.filename)
    assert back.problems == []
    assert back.notes == []  # nothing Assay wrote needs approximating on the way back
    return {d["id"]: d for d in back.definitions}


def test_every_item_comes_back_with_its_id_tags_and_concepts(reimported: dict[str, dict[str, Any]]) -> None:
    assert sorted(reimported) == sorted(e.key for e in bank())
    for export in bank():
        definition = reimported[export.key]
        assert definition["title"] == export.item.title
        assert {f: tuple(v) for f, v in definition.get("tags", {}).items()} == dict(export.item.tags.root)
        assert tuple(definition.get("concepts", ())) == export.item.concepts


def test_every_item_comes_back_fixed_and_checking_clean(reimported: dict[str, dict[str, Any]]) -> None:
    for definition in reimported.values():
        item = parse_item(definition)
        assert not item.is_computed
        assert variant_problems(item)[0] == []


def test_non_essay_items_keep_type_texts_key_and_scoring(reimported: dict[str, dict[str, Any]]) -> None:
    differ = {}
    for export in bank():
        if export.item.type_name == "essay":
            continue
        item = parse_item(reimported[export.key])
        before, after = summary(export.item, export.variant), summary(item, generate(item, 0))
        if "width" not in before:  # significant figures come back as their absolute half-unit
            after.pop("width", None)
        if before != after:
            differ[export.key] = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    assert differ == {}


def test_non_essay_items_grade_every_response_alike(reimported: dict[str, dict[str, Any]]) -> None:
    """Same fraction and same feedback (option, misconception, partial credit) for each response."""
    differ = {}
    for export in bank():
        if export.item.type_name == "essay":
            continue
        item = parse_item(reimported[export.key])
        before = grades(export.item, export.variant)
        after = grades(item, generate(item, 0), like=(export.item, export.variant))
        mismatched = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
        if mismatched:
            differ[export.key] = mismatched[:2]
    assert differ == {}


def test_essays_keep_their_rubric_limits_and_model_answer(reimported: dict[str, dict[str, Any]]) -> None:
    for export in bank():
        if not isinstance(export.item, EssayItem):
            continue
        item = parse_item(reimported[export.key])
        assert isinstance(item, EssayItem)
        assert item.rubric == export.item.rubric
        assert item.response == export.item.response
        assert item.max_mark == export.item.max_mark
        assert (item.solution is None) == (export.item.solution is None)


@pytest.mark.parametrize(("fmt", "xsd"), [(QTI2, XSD_V2), (QTI3, XSD_V3)], ids=["qti22", "qti30"])
def test_every_imported_example_exports_valid_and_comes_back_the_same(corpora: Path, fmt: QtiFormat,
                                                                      xsd: str) -> None:
    """1EdTech's examples, once imported, leave valid (tables, images, MathML of other tools) and return."""
    validator = schema(corpora / xsd)
    checked, differ = 0, {}
    for row in corpus_rows(corpora):
        imported = fmt.import_items((corpora / EXAMPLES / row["file"]).read_bytes(), row["file"])
        if not imported.definitions:
            continue
        item = parse_item(imported.definitions[0])
        variant = generate(item, 0)
        out = fmt.export_items([ExportItem(item.id, item, variant)], title="example")
        xml = package_files(out.content)[f"items/{item.id}.xml"]
        if not validator.validate(etree.fromstring(xml)):
            differ[row["file"]] = [str(e) for e in validator.error_log][:2]
            continue
        (again,) = fmt.import_items(out.content, out.filename).definitions
        back = parse_item(again)
        same = summary(item, variant) == summary(back, generate(back, 0))
        if item.type_name != "essay":
            same = same and grades(item, variant) == grades(back, generate(back, 0), like=(item, variant))
        if not same:
            differ[row["file"]] = "not equivalent after export and import"
        checked += 1
    assert differ == {}
    assert checked == 226
