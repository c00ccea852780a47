"""QTI import: 1EdTech's examples, hostile XML, and the messages a teacher gets when an item cannot come in."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path
from typing import Any

from assessments.interop.base import Imported
from assessments.interop.qti import QTI2, QTI3
from engine.content.checker import variant_problems
from engine.items import parse_item
from tests.assessments.interop.test_qti_support import EXAMPLES, corpus_rows

TYPES_FOR = {
    "choice(single)": {"single_choice", "true_false"},
    "choice(multiple)": {"multiple_response", "single_choice"},  # single when maxChoices is 1 (mc_calc5)
    "inline-choice(single)": {"single_choice"},
    "text-entry(single)": {"numeric", "short_text"},
    "extended-text(single)": {"essay"},
    "order(ordered)": {"ordering"},
    "match(multiple)": {"matching"},
}
"""The Assay types each interaction (as MANIFEST.tsv writes it) may become."""

NOT_ASSAY_ITEMS = {
    "choice_multiple_chocolade.xml": "2 different selections earn full marks",
    "likert.xml": "no response earns any marks",
    "Likert-match-questionSet.xml": "has no right answer",
    "match.xml": "is right for 2 prompts",
    "QTI3-match.xml": "is right for 2 prompts",
    "match_qti3.xml": "is right for 2 prompts",
    "Matchmultiple_1038910213.xml": "is right for 2 prompts",
    "F_1564647515.xml": "every option is right",
    "exemplar04.xml": "the correct response orders 1 of the 5 choices",
}
"""Examples whose single interaction Assay supports but whose meaning an Assay item cannot hold:
two different right selections (Assay has one key); surveys with no right answer (a Likert scale);
two characters of the same play (an Assay matching item gives each prompt its own answer); every
option right (a multiple-response item needs a wrong one); and a correct order naming one choice
of five (a defect in the example)."""


def _expected_problem(path: Path, row: dict[str, str]) -> str | None:
    """Why an example cannot import, or None when it must."""
    if ";" in row["interactions"] or _interaction_count(path) > 1:
        return "an Assay item takes one response"
    return NOT_ASSAY_ITEMS.get(path.name)


def _interaction_count(path: Path) -> int:
    return len(re.findall(rb"<(?:qti-[a-z-]+-interaction|[a-zA-Z]+Interaction)[\s/>]", path.read_bytes()))


def _import(text: str, filename: str = "item.xml") -> Imported:
    return QTI2.import_items(text.encode(), filename)


def test_every_supported_example_imports_and_checks_clean(corpora: Path) -> None:
    rows = corpus_rows(corpora)
    assert len(rows) == 274
    imported, refused, wrong = 0, 0, {}
    for row in rows:
        path = corpora / EXAMPLES / row["file"]
        result = QTI3.import_items(path.read_bytes(), row["file"])
        expected = _expected_problem(path, row)
        if expected is not None:
            refused += 1
            messages = [p.message for p in result.problems]
            if result.definitions or not any(expected in m for m in messages) or result.problems[0].line < 1:
                wrong[row["file"]] = ("expected a problem", expected, messages)
            continue
        if result.problems:
            wrong[row["file"]] = [str(p) for p in result.problems]
            continue
        (definition,) = result.definitions
        item = parse_item(definition)
        problems, _ = variant_problems(item)
        if problems or item.type_name not in TYPES_FOR[row["interactions"]] or item.is_computed:
            wrong[row["file"]] = (item.type_name, problems)
        imported += 1
    assert wrong == {}
    assert (imported, refused) == (226, 48)


def _shape(definition: dict[str, Any]) -> dict[str, Any]:
    """What the key and scoring of a definition are, leaving its wording aside (the twins' texts differ)."""
    return {
        "type": definition["type"], "max_mark": definition["max_mark"], "scoring": definition.get("scoring"),
        "answer": definition.get("answer"), "tolerance": definition.get("tolerance"),
        "options": [(o.get("correct"), o.get("rank")) for o in definition.get("options", [])],
        "answers": [a["fraction"] for a in definition.get("answers", [])],
        "pairs": len(definition.get("pairs", [])), "distractors": len(definition.get("distractors", [])),
    }


def test_the_22_and_30_twins_import_alike(corpora: Path) -> None:
    twins = 0
    for older in sorted((corpora / EXAMPLES / "v2p2/qtiv2p2-examples/items").glob("*.xml")):
        newer = corpora / EXAMPLES / "v3p0/qtiv3-examples/packaging/items" / older.name
        first = QTI2.import_items(older.read_bytes(), older.name)
        if first.definitions and newer.exists():
            twins += 1
            (second,) = QTI3.import_items(newer.read_bytes(), newer.name).definitions
            assert _shape(first.definitions[0]) == _shape(second), older.name
    assert twins >= 20


def test_response_processing_templates_resolve_in_every_spelling(corpora: Path) -> None:
    spellings = {row["response_processing"] for row in corpus_rows(corpora)}
    assert {"template:match_correct", "template:map_response", "template:CC2_match",
            "template:CC2_map_response"} <= spellings
    for row in corpus_rows(corpora):
        if row["response_processing"].startswith("template:") and not _expected_problem(
                corpora / EXAMPLES / row["file"], row):
            result = QTI2.import_items((corpora / EXAMPLES / row["file"]).read_bytes(), row["file"])
            assert not any("template" in p.message for p in result.problems), row["file"]


ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p2" identifier="Q_{name}" title="{title}"
    adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>B</value></correctResponse>
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody>
    {body}
  </itemBody>
  <responseProcessing template="http://www.imsglobal.org/question/qti_v2p2/rptemplates/match_correct"/>
</assessmentItem>
"""
CHOICES = """<choiceInteraction responseIdentifier="RESPONSE" shuffle="false" maxChoices="1">
      <prompt>Which letter?</prompt>
      <simpleChoice identifier="A">Alpha</simpleChoice><simpleChoice identifier="B">Beta</simpleChoice>
    </choiceInteraction>"""


def _item(body: str = CHOICES, name: str = "one", title: str = "One") -> str:
    return ITEM.format(body=body, name=name, title=title)


def test_a_template_item_imports_as_one_fixed_variant(corpora: Path) -> None:
    """QTI's randomised items leave like Assay's computed ones: one seeded draw, said in the notes."""
    path = corpora / EXAMPLES / "v2p2/qtiv2p2-examples/items/template.xml"
    first, again = (QTI2.import_items(path.read_bytes(), "template.xml") for _ in range(2))
    assert first.definitions == again.definitions  # the same file always gives the same numbers
    (definition,) = first.definitions
    assert definition["type"] == "numeric"
    assert definition["stem"].startswith("If it takes 3 women 40 minutes to dig a hole, how long would it take 6 women")
    assert (definition["answer"], definition["tolerance"]) == ("20", {"absolute": 0.0})
    assert any("imported as one fixed variant (drawn with seed 0: PEOPLE = women, A = 3, B = 6" in n
               for n in first.notes)


def test_a_plain_choice_becomes_a_fixed_single_choice_definition() -> None:
    result = _import(_item())
    assert result.problems == []
    (definition,) = result.definitions
    assert definition["id"] == "q-one"
    assert definition["type"] == "single_choice"
    assert definition["stem"] == "Which letter?"
    assert [(o["text"], o["correct"]) for o in definition["options"]] == [("Alpha", False), ("Beta", True)]
    assert parse_item(definition).type_name == "single_choice"


SECRET = "the-contents-of-a-private-file"


def test_an_external_entity_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    payload = (f'<?xml version="1.0"?>\n<!DOCTYPE assessmentItem [\n  <!ENTITY xxe SYSTEM "file://{secret}">\n]>\n'
               + _item(body="<p>&xxe;</p>" + CHOICES).split("\n", 1)[1])
    result = _import(payload)
    assert result.definitions == []
    (problem,) = result.problems
    assert problem.line == 3
    assert "entity 'xxe'" in problem.message and "refused" in problem.message
    assert SECRET not in repr(result)


def test_an_external_dtd_is_not_fetched(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY secret "{SECRET}">')
    payload = f'<?xml version="1.0"?>\n<!DOCTYPE assessmentItem SYSTEM "file://{dtd}">\n' + _item(
        body="<p>&secret;</p>" + CHOICES).split("\n", 1)[1]
    result = _import(payload)
    assert result.definitions == []
    assert "undefined entity" in result.problems[0].message
    assert SECRET not in repr(result)


def test_a_billion_laughs_bomb_is_refused_before_it_expands() -> None:
    levels = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
                                         for n in range(1, 10)]
    payload = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(levels) + "\n]>\n<lolz>&lol9;</lolz>"
    started = time.perf_counter()
    result = _import(payload)
    assert time.perf_counter() - started < 1
    assert result.definitions == []
    assert "entity 'lol'" in result.problems[0].message
    assert result.problems[0].line == 3


def test_a_bomb_inside_a_package_is_refused_too() -> None:
    bomb = '<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><a>&b;</a>'
    result = QTI2.import_items(_zip({"imsmanifest.xml": _manifest(["items/a.xml"]), "items/a.xml": bomb}), "p.zip")
    assert result.definitions == []
    assert result.problems[0].file == "p.zip/items/a.xml"
    assert "entity 'a'" in result.problems[0].message


def test_malformed_xml_is_reported_with_its_line() -> None:
    broken = _item().replace("<prompt>Which letter?</prompt>", "<prompt>Which letter?</prmpt>")
    (problem,) = _import(broken, "quiz.xml").problems
    assert problem.file == "quiz.xml"
    assert problem.line == 10
    assert problem.message.startswith("not well-formed XML: mismatched tag")


def test_an_unsupported_interaction_is_named_with_its_line() -> None:
    hotspot = """<hotspotInteraction responseIdentifier="RESPONSE" maxChoices="1">
      <object type="image/png" data="map.png" width="100" height="100"/>
      <hotspotChoice identifier="B" shape="circle" coords="50,50,10"/>
    </hotspotInteraction>"""
    (problem,) = _import(_item(body=hotspot)).problems
    assert "the hotspotInteraction at line 9 is not supported" in problem.message
    assert problem.line == 9


def test_one_inline_choice_is_a_single_choice_with_a_blank() -> None:
    inline = """<p>The capital of France is <inlineChoiceInteraction responseIdentifier="RESPONSE" shuffle="false">
      <inlineChoice identifier="A">Lyon</inlineChoice><inlineChoice identifier="B">Paris</inlineChoice>
    </inlineChoiceInteraction>.</p>"""
    result = _import(_item(body=inline))
    (definition,) = result.definitions
    assert definition["type"] == "single_choice"
    assert definition["stem"] == "The capital of France is \\_\\_\\_\\_\\_."
    assert [o["correct"] for o in definition["options"]] == [False, True]
    assert any("inline choice becomes a single choice" in n for n in result.notes)


def test_two_inline_choices_are_refused_as_unsupported() -> None:
    two = """<p><inlineChoiceInteraction responseIdentifier="RESPONSE" shuffle="false">
      <inlineChoice identifier="A">a</inlineChoice><inlineChoice identifier="B">b</inlineChoice>
    </inlineChoiceInteraction> and <inlineChoiceInteraction responseIdentifier="R2" shuffle="false">
      <inlineChoice identifier="A">a</inlineChoice><inlineChoice identifier="B">b</inlineChoice>
    </inlineChoiceInteraction></p>"""
    (problem,) = _import(_item(body=two)).problems
    assert "2 interactions (inlineChoiceInteraction (line 9), inlineChoiceInteraction (line 11))" in problem.message
    assert "an Assay item takes one response" in problem.message


def test_a_survey_without_a_key_is_refused_clearly() -> None:
    survey = _item().replace("<correctResponse><value>B</value></correctResponse>", "")
    survey = survey.replace('<responseProcessing template="http://www.imsglobal.org/question/qti_v2p2/'
                            'rptemplates/match_correct"/>', "")
    (problem,) = _import(survey).problems
    assert "no response earns any marks" in problem.message


def _zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _manifest(hrefs: list[str], keywords: list[str] = ()) -> str:  # type: ignore[assignment]
    words = "".join(f"<keyword><string>{k}</string></keyword>" for k in keywords)
    resources = "".join(
        f'<resource identifier="r{n}" type="imsqti_item_xmlv2p2" href="{href}"><metadata>'
        f'<lom xmlns="http://ltsc.ieee.org/xsd/LOM"><general>{words}</general></lom></metadata>'
        f'<file href="{href}"/></resource>' for n, href in enumerate(hrefs))
    return (f'<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="m"><organizations/>'
            f"<resources>{resources}</resources></manifest>")


def test_a_package_brings_tags_from_its_manifest_keywords() -> None:
    package = _zip({
        "imsmanifest.xml": _manifest(["items/one.xml"], ["chapter: Ch.4 Alignment", "concept: reward-model-nll",
                                                         "statistics"]),
        "items/one.xml": _item(),
    })
    result = QTI2.import_items(package, "bank.zip")
    (definition,) = result.definitions
    assert definition["tags"] == {"chapter": ["Ch.4 Alignment"], "keyword": ["statistics"]}
    assert definition["concepts"] == ["reward-model-nll"]


def test_a_package_is_all_or_nothing() -> None:
    package = _zip({
        "imsmanifest.xml": _manifest(["items/good.xml", "items/bad.xml"]),
        "items/good.xml": _item(),
        "items/bad.xml": _item(name="two").replace("</assessmentItem>", ""),
    })
    result = QTI2.import_items(package, "bank.zip")
    assert result.definitions == []
    assert [(p.file, p.message.split(":")[0]) for p in result.problems] == [
        ("bank.zip/items/bad.xml", "not well-formed XML")]


def test_a_package_without_manifest_reads_its_items_and_dedupes_ids() -> None:
    result = QTI2.import_items(_zip({"a.xml": _item(), "b.xml": _item(title="Again")}), "loose.zip")
    assert [d["id"] for d in result.definitions] == ["q-one", "q-one-2"]
    assert any("id 'q-one' is taken" in n for n in result.notes)


def test_a_zip_without_manifest_skips_xml_that_is_not_an_item() -> None:
    result = QTI2.import_items(_zip({"a.xml": _item(), "rptemplates/match.xml": "<responseProcessing/>"}), "z.zip")
    assert [d["id"] for d in result.definitions] == ["q-one"]
    assert result.notes == ["z.zip/rptemplates/match.xml: skipped (a <responseProcessing>, not an item)"]


def test_a_manifest_naming_a_missing_file_is_a_problem() -> None:
    result = QTI2.import_items(_zip({"imsmanifest.xml": _manifest(["items/gone.xml"])}), "p.zip")
    assert "names 'items/gone.xml', which is not in the package" in result.problems[0].message


def test_a_zip_bomb_member_is_refused_unread() -> None:
    huge = b"<a>" + b" " * 6_000_000 + b"</a>"
    result = QTI2.import_items(_zip({"imsmanifest.xml": _manifest(["x.xml"]), "x.xml": huge}), "p.zip")
    assert "over 5 MB uncompressed and was not read" in result.problems[0].message


def test_scoring_and_feedback_are_read_by_running_the_processing() -> None:
    """Negative marks, feedback per option and a solution shown to everyone, from inline processing."""
    body = CHOICES.replace("Beta</simpleChoice>", 'Beta<feedbackInline outcomeIdentifier="FEEDBACK" '
                           'identifier="B" showHide="show">Yes: B.</feedbackInline></simpleChoice>')
    processing = """<responseProcessing><responseCondition>
      <responseIf><match><variable identifier="RESPONSE"/><correct identifier="RESPONSE"/></match>
        <setOutcomeValue identifier="SCORE"><baseValue baseType="float">4</baseValue></setOutcomeValue></responseIf>
      <responseElse><setOutcomeValue identifier="SCORE"><baseValue baseType="float">-1</baseValue></setOutcomeValue>
      </responseElse></responseCondition>
      <setOutcomeValue identifier="FEEDBACK"><variable identifier="RESPONSE"/></setOutcomeValue>
    </responseProcessing>
    <modalFeedback outcomeIdentifier="FEEDBACK" identifier="none" showHide="hide">Letters come in order.
    </modalFeedback>"""
    text = _item(body=body).replace(
        '<responseProcessing template="http://www.imsglobal.org/question/qti_v2p2/rptemplates/match_correct"/>',
        processing).replace('<outcomeDeclaration identifier="SCORE"',
                            '<outcomeDeclaration identifier="FEEDBACK" cardinality="single" baseType="identifier"/>'
                            '<outcomeDeclaration identifier="SCORE"')
    (definition,) = _import(text).definitions
    expected: dict[str, Any] = {"max_mark": 4.0, "scoring": {"negative": 0.25}, "solution": "Letters come in order."}
    assert {k: definition.get(k) for k in expected} == expected
    assert definition["options"][1] == {"text": "Beta", "correct": True, "feedback": "Yes: B."}


def test_nesting_past_any_item_is_refused_with_its_line() -> None:
    deep = "<div>" * 300 + "</div>" * 300
    (problem,) = _import(_item(body=deep + CHOICES)).problems
    assert problem.line == 9
    assert "nest more than 200 deep" in problem.message


def test_more_options_than_an_assay_item_holds_is_refused() -> None:
    many = "".join(f'<simpleChoice identifier="C{n}">option {n}</simpleChoice>' for n in range(30))
    body = CHOICES.replace('<simpleChoice identifier="A">Alpha</simpleChoice>', many)
    (problem,) = _import(_item(body=body)).problems
    assert "offers 31 choices; an Assay item has 2 to 26" in problem.message


def test_a_value_that_cannot_be_read_is_a_problem_not_a_crash() -> None:
    broken = _item().replace('<outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>',
                             '<outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float">'
                             "<defaultValue><value>lots</value></defaultValue></outcomeDeclaration>")
    (problem,) = _import(broken).problems
    assert problem.message.startswith("the item could not be read: could not convert string to float: 'lots'")
