"""QTI export: every item of the shipped bank, in both versions, valid against 1EdTech's schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from assessments.interop.base import ExportItem
from assessments.interop.qti import QTI2, QTI3, QtiFormat
from engine.content.loader import load_item_text
from engine.variants import generate
from tests.assessments.interop.test_qti_support import XSD_V2, XSD_V3, bank, package_files, schema

QTI22 = "{http://www.imsglobal.org/xsd/imsqti_v2p2}"
QTI30 = "{http://www.imsglobal.org/xsd/imsqtiasi_v3p0}"
FORMATS = [pytest.param(QTI2, XSD_V2, id="qti22"), pytest.param(QTI3, XSD_V3, id="qti30")]


def _export(yaml_text: str, fmt: QtiFormat = QTI2, seed: int = 0) -> tuple[bytes, list[str]]:
    item = load_item_text(yaml_text)
    out = fmt.export_items([ExportItem(item.id, item, generate(item, seed))], title="one")
    return package_files(out.content)[f"items/{item.id}.xml"], out.notes


@pytest.mark.parametrize(("fmt", "xsd"), FORMATS)
def test_every_bank_item_validates_against_the_schema(corpora: Path, fmt: QtiFormat, xsd: str) -> None:
    items = bank()
    out = fmt.export_items(list(items), title="Foundations of LLMs")
    files = package_files(out.content)
    validator = schema(corpora / xsd)
    invalid = {}
    for export in items:
        document = etree.fromstring(files[f"items/{export.key}.xml"])
        if not validator.validate(document):
            invalid[export.key] = [str(e) for e in validator.error_log][:3]
    assert invalid == {}
    assert {e.item.type_name for e in items} == {"single_choice", "multiple_response", "true_false", "numeric",
                                                  "ordering", "matching", "short_text", "essay"}


@pytest.mark.parametrize(("fmt", "xsd"), FORMATS)
def test_the_schemas_reject_a_broken_item(corpora: Path, fmt: QtiFormat, xsd: str) -> None:
    """The validation above means something: a bad cardinality fails it."""
    export = next(e for e in bank() if e.item.type_name == "single_choice")
    xml = package_files(fmt.export_items([export], title="x").content)[f"items/{export.key}.xml"]
    broken = xml.replace(b'cardinality="single"', b'cardinality="several"', 1)
    assert schema(corpora / xsd).validate(etree.fromstring(xml))
    assert not schema(corpora / xsd).validate(etree.fromstring(broken))


@pytest.mark.parametrize("fmt", [QTI2, QTI3], ids=["qti22", "qti30"])
def test_the_package_has_a_manifest_naming_every_item_with_its_tags(fmt: QtiFormat) -> None:
    items = list(bank()[:5])
    out = fmt.export_items(items, title="Reward models, week 3")
    files = package_files(out.content)
    assert out.media_type == "application/zip"
    assert out.filename == f"reward-models-week-3.{'qti30' if fmt is QTI3 else 'qti22'}.zip"
    assert sorted(files) == sorted(["imsmanifest.xml", *(f"items/{e.key}.xml" for e in items)])
    manifest = etree.fromstring(files["imsmanifest.xml"])
    space = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" if fmt is QTI3 else \
        "http://www.imsglobal.org/xsd/imscp_v1p1"
    resources = manifest.findall(f".//{{{space}}}resource")
    assert [r.get("href") for r in resources] == [f"items/{e.key}.xml" for e in items]
    assert {r.get("type") for r in resources} == {"imsqti_item_xmlv3p0" if fmt is QTI3 else "imsqti_item_xmlv2p2"}
    keywords = [k.text for k in resources[0].iter("{http://ltsc.ieee.org/xsd/LOM}string")]
    assert items[0].item.title in keywords
    assert "course: Foundations of Large Language Models" in keywords
    if fmt is QTI2:
        kinds = [k.text for k in manifest.iter("{http://www.imsglobal.org/xsd/imsqti_metadata_v2p2}interactionType")]
        assert len(kinds) == len(items) and set(kinds) <= {"choiceInteraction", "textEntryInteraction",
                                                           "extendedTextInteraction", "orderInteraction",
                                                           "matchInteraction"}
    assert fmt.export_items(items, title="Reward models, week 3").content == out.content  # reproducible bytes


def test_the_report_names_each_computed_item_and_what_qti_cannot_carry() -> None:
    items = list(bank())
    notes = QTI3.export_items(items, title="bank").notes
    for export in items:
        computed = f"item {export.key} is computed: exported as the variant of seed 0"
        assert (computed in notes) == export.item.is_computed
    assert any("significant figures exported as an absolute tolerance" in n for n in notes)
    assert any("'teacher*forc*' is exported as a patternMatch" in n for n in notes)
    assert any("an essay: scored by a person against its rubric" in n for n in notes)


NUMERIC = """
id: loss-value
type: numeric
title: A loss
stem: "What is the ranking loss $L$ of a pair {{ d }} apart?"
params:
  d: {uniform: [0.5, 1.5], step: 0.5}
answer: ranking_loss(d, 0)
tolerance: {relative: 0.02}
unit: nats
misconceptions:
  forgot-the-log: sigmoid(-d)
"""


def test_numeric_tolerance_is_qti_equal_with_relative_tolerance_in_percent() -> None:
    xml, notes = _export(NUMERIC)
    root = etree.fromstring(xml)
    equal = root.findall(f".//{QTI22}equal")
    assert equal[0].get("toleranceMode") == "relative"
    assert float(equal[0].get("tolerance")) == pytest.approx(2.0)  # 2 %, as QTI counts it
    assert root.find(f".//{QTI22}responseDeclaration").get("baseType") == "float"
    assert root.find(f".//{QTI22}span[@class='unit']").text == "nats"
    feedback = root.findall(f"{QTI22}modalFeedback")
    assert [f.get("identifier") for f in feedback] == ["misconception-forgot-the-log"]
    assert any("is computed" in n for n in notes)
    assert root.find(".//{http://www.w3.org/1998/Math/MathML}math") is not None


def test_sigfigs_leave_as_the_absolute_half_unit_of_the_key() -> None:
    xml, notes = _export(NUMERIC.replace("{relative: 0.02}", "{sigfigs: 3}"))
    equal = etree.fromstring(xml).findall(f".//{QTI22}equal")[0]
    assert (equal.get("toleranceMode"), equal.get("tolerance")) == ("absolute", "0.0005")  # key 0.474..
    assert any("3 significant figures exported as an absolute tolerance of ±0.0005" in n for n in notes)


CHOICE = """
id: pick-one
type: single_choice
title: Pick one
stem: Which is **right**?
scoring: {negative: 0.25}
max_mark: 2
options:
  - {text: wrong a, feedback: not a}
  - {text: right, correct: true}
  - {text: "none of these", fixed: true}
"""


def test_single_choice_keeps_authored_order_shuffle_fixed_and_negative_marks() -> None:
    root = etree.fromstring(_export(CHOICE, QTI3)[0])
    interaction = root.find(f".//{QTI30}qti-choice-interaction")
    choices = interaction.findall(f"{QTI30}qti-simple-choice")
    assert [c.text for c in choices] == ["wrong a", "right", "none of these"]
    assert (interaction.get("shuffle"), interaction.get("max-choices")) == ("true", "1")
    assert [c.get("fixed") for c in choices] == [None, None, "true"]
    correct = root.find(f".//{QTI30}qti-correct-response/{QTI30}qti-value").text
    assert correct == choices[1].get("identifier")
    scores = [v.text for v in root.iter(f"{QTI30}qti-base-value") if v.get("base-type") == "float"]
    assert scores == ["0", "2", "-0.5"]  # blank, right (max_mark 2), wrong (a quarter of 2 taken)
    assert root.find(f".//{QTI30}qti-strong") is None and root.find(f".//{QTI30}strong") is not None


ESSAY = """
id: explain-it
type: essay
title: Explain
stem: Explain reward hacking.
rubric:
  criteria:
    - id: mechanism
      title: Mechanism
      levels: [{points: 0, label: Missing}, {points: 4, label: Complete, description: the proxy gap}]
response: {min_words: 50, max_words: 600}
solution: The reward model is a proxy.
"""


def test_an_essay_carries_its_rubric_to_the_scorer_and_has_no_processing() -> None:
    root = etree.fromstring(_export(ESSAY, QTI3)[0])
    assert root.find(f"{QTI30}qti-response-processing") is None
    assert root.find(f".//{QTI30}qti-extended-text-interaction") is not None
    rubric = root.find(f".//{QTI30}qti-rubric-block[@view='scorer']")
    assert rubric.get("use") == "scoring"
    cells = [td.text for td in rubric.iter(f"{QTI30}td")]
    assert cells[:6] == ["Missing", "0", None, "Complete", "4", "the proxy gap"]
    assert "Write between 50 and 600 words." in etree.tostring(root, encoding="unicode")
    score = root.find(f"{QTI30}qti-outcome-declaration[@identifier='SCORE']")
    assert score.get("external-scored") == "human"
