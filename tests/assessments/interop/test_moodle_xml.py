"""Moodle XML import and export: Moodle's fixtures (the negative ones too), hostile XML refused.

Every fixture in the shared corpora's moodle/xml/fixtures is read (never copied here) and its
exact outcome stated: the items and their types, or the problems and their lines.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from assessments.interop.base import ExportItem, Imported
from assessments.interop.moodlexml import MOODLE_XML, parse_xml
from engine.content.checker import variant_problems
from engine.items import parse_item
from engine.variants import generate
from tests.engine import samples

# file -> (item types in order, category tags in order, problem lines)
FIXTURES: dict[str, tuple[list[str], list[str], list[int]]] = {
    "categories_reverse_order.xml": (["essay", "short_text"], ["Sigma > Tau", "Sigma"], []),
    "category_with_description.xml": (["true_false"], ["Alpha"], []),
    "deprecated_category.xml": (["true_false"], ["Alpha"], []),
    "export_category.xml": (["true_false"], ["Alpha"], []),
    "html_chars_in_idnumbers.xml": (["true_false"], ["Alpha"], []),
    "nested_categories.xml": (["true_false"], ["Delta > Epsilon > Zeta"], []),
    "nested_categories_with_questions.xml": (
        ["true_false", "essay", "true_false", "true_false", "true_false"],
        ["Iota", "Iota > Kappa", "Iota > Kappa", "Iota > Kappa > Lambda", "Iota > Mu"], []),
    "old_format_file.xml": (["true_false", "true_false"], ["Pi", "Pi > Rho"], []),
    # negative fixtures: nothing is imported
    "broken_cloze_questions.xml": ([], [], [4, 20, 36, 52, 68]),
    "error_invalid_grades.xml": ([], [], [38]),
    "multianswer.xml": ([], [], [12]),
    "sample_questions_with_old_image_tag.xml": ([], [], [16]),
}


def read(corpora: Path, name: str) -> Imported:
    path = corpora / "moodle" / "xml" / "fixtures" / name
    return MOODLE_XML.import_items(path.read_bytes(), path.name)


def xml(body: str) -> Imported:
    text = '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + textwrap.dedent(body).strip("\n") + "\n</quiz>\n"
    return MOODLE_XML.import_items(text.encode(), "test.xml")


def question(qtype: str, inner: str, name: str = "Q", text: str = "Question text?") -> str:
    """One ``<question>`` (5 + inner's lines long: the answers start on its 6th line)."""
    return (f'<question type="{qtype}">\n<name><text>{name}</text></name>\n'
            f'<questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>\n'
            f"<generalfeedback><text></text></generalfeedback>\n<defaultgrade>1</defaultgrade>\n"
            f"{textwrap.dedent(inner).strip()}\n</question>")


def answer(fraction: str, text: str, feedback: str = "", extra: str = "") -> str:
    return (f'<answer fraction="{fraction}" format="html"><text>{text}</text>{extra}'
            f"<feedback><text>{feedback}</text></feedback></answer>")


# --- Moodle's fixtures -----------------------------------------------------------------------------

def test_every_fixture_is_covered(corpora: Path) -> None:
    present = {p.name for p in (corpora / "moodle" / "xml" / "fixtures").glob("*.xml")}
    assert present == set(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_outcome(corpora: Path, name: str) -> None:
    types, categories, problem_lines = FIXTURES[name]
    result = read(corpora, name)
    assert [d["type"] for d in result.definitions] == types
    assert [d["tags"]["category"][0] for d in result.definitions] == categories
    assert [p.line for p in result.problems] == problem_lines
    assert all(p.file == name for p in result.problems)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_imported_definition_is_a_sound_item(corpora: Path, name: str) -> None:
    for definition in read(corpora, name).definitions:
        assert json.loads(json.dumps(definition)) == definition  # plain data, as the bank stores it
        assert variant_problems(parse_item(definition)) == ([], 1), definition["id"]


def test_each_malformed_cloze_question_is_reported(corpora: Path) -> None:
    messages = [p.message for p in read(corpora, "broken_cloze_questions.xml").problems]
    expected = [
        ("Multianswer question without subquestions", "it has no subquestions"),
        ("Multichoice subquestion without choices", "subquestion 1 (MULTICHOICE) has no choices"),
        ("Multichoice subquestion with only one choice", "subquestion 1 (MULTICHOICE) has only one choice"),
        ("Multichoice subquestion with no completely correct answer",
         "subquestion 1 (MULTICHOICE) has no fully correct answer"),
        ("Numerical subquestion with buggy answer", "subquestion 1 (NUMERICAL): the answer 'zero' is not a number"),
    ]
    assert len(messages) == len(expected)
    for message, (name, fault) in zip(messages, expected, strict=True):
        assert f"question {name!r} is a cloze question and is malformed" in message
        assert fault in message
        assert "Assay has no cloze type" in message


def test_a_sound_cloze_question_is_named_unsupported(corpora: Path) -> None:
    [problem] = read(corpora, "multianswer.xml").problems
    assert problem.message == ("question 'cloze with images' is a cloze (embedded answers) question, "
                               "which Assay does not support")
    result = read(corpora, "sample_questions_with_old_image_tag.xml")
    assert [p.message for p in result.problems] == [
        "question 'cloze question with image' is a cloze (embedded answers) question, which Assay does not support"]
    assert result.notes == [  # the multichoice beside it was read, then rejected with the file
        "question 'mcq with image' (line 36): the image 'moodle.png' (Moodle 1.9's <image> field) dropped"]


def test_invalid_grade_33_is_refused_and_33_33333_is_allowed(corpora: Path) -> None:
    [problem] = read(corpora, "error_invalid_grades.xml").problems
    assert problem.line == 38
    assert "the grade 33% of answer '2' is not one of Moodle's grades" in problem.message
    assert "33.33333%" in problem.message  # listed among the allowed ones, and not reported for answers 3 and 5
    fixed = (corpora / "moodle" / "xml" / "fixtures" / "error_invalid_grades.xml").read_bytes().replace(
        b'fraction="33" ', b'fraction="33.33333" ')
    result = MOODLE_XML.import_items(fixed, "fixed.xml")
    assert result.problems == []
    [definition] = result.definitions
    assert definition["type"] == "multiple_response"
    assert [(o["text"], o["correct"]) for o in definition["options"]] == [
        ("1", False), ("2", True), ("3", True), ("4", False), ("5", True)]
    assert definition["scoring"] == {"method": "partial", "wrong_selection_penalty": True}
    assert definition["title"] == "Question with <strong>invalid grades</strong> : x > 1 & x < 2"


def test_html_entities_in_idnumbers_are_decoded(corpora: Path) -> None:
    result = read(corpora, "html_chars_in_idnumbers.xml")
    [definition] = result.definitions
    assert definition["id"] == "t-f"
    assert result.notes == [
        "category 'Alpha' (line 4): its idnumber 'The inequalities < & >' is not carried (an Assay category is a tag)",
        "question 'Alpha Question' (line 15): the idnumber 'T & F' is not an Assay id; the item's id is 't-f'",
    ]
    assert "&amp;" not in repr(result) and "&lt;" not in repr(result)


def test_category_and_question_texts(corpora: Path) -> None:
    [tau, sigma] = read(corpora, "categories_reverse_order.xml").definitions
    assert (tau["id"], tau["title"], tau["stem"]) == ("tau-question", "Tau Question", "Testing Tau Question")
    assert [a["match"] for a in sigma["answers"]] == ["yes", "no", "may be"]
    assert [a.get("fraction", 1.0) for a in sigma["answers"]] == [1.0, 0.0, 0.0]
    zeta = read(corpora, "nested_categories.xml").definitions[0]
    assert (zeta["stem"], zeta["answer"]) == ("Testing Zeta Question", True)  # <p> from html dropped


# --- hostile and broken XML --------------------------------------------------------------------------

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE quiz [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<quiz><question type="truefalse"><name><text>&xxe;</text></name></question></quiz>
"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<quiz><question type="category"><category><text>&lol3;</text></category></question></quiz>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
  <!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd">
  %remote;
]>
<quiz/>
"""


def test_an_xxe_payload_is_refused() -> None:
    result = MOODLE_XML.import_items(XXE, "xxe.xml")
    assert result.definitions == []
    [problem] = result.problems
    assert problem.line == 3
    assert problem.message == (
        "the XML declares the entity 'xxe' (an external entity: file:///etc/passwd); entity declarations are "
        "refused (no entity expansion, no external entities), and Moodle XML never needs them")
    assert "root:" not in repr(result)


def test_an_entity_bomb_is_refused() -> None:
    result = MOODLE_XML.import_items(BOMB, "bomb.xml")
    assert result.definitions == []
    [problem] = result.problems
    assert problem.line == 3
    assert "declares the entity 'lol'" in problem.message


def test_a_parameter_entity_is_refused() -> None:
    [problem] = MOODLE_XML.import_items(PARAMETER_ENTITY, "pe.xml").problems
    assert "declares the entity 'remote' (an external entity: http://127.0.0.1:9/evil.dtd)" in problem.message


@pytest.mark.parametrize(("data", "line", "message"), [
    (b"<quiz>\n<question type='truefalse'>\n</quiz>\n", 3, "the XML is not well formed: mismatched tag"),
    (b"<quiz>\n<question>&nbsp;</question></quiz>", 2, "the XML is not well formed: undefined entity"),
    (b"", 1, "the XML is not well formed: no element found"),
    (b"<?xml version='1.0'?>\n<questions/>", 2, "not Moodle XML: the root element is <questions>, not <quiz>"),
    (b"<quiz>\n<question type='category'><category><text>$course$/A</text></category></question>\n</quiz>", 1,
     "no questions in the file"),
])
def test_broken_xml_is_reported_with_its_line(data: bytes, line: int, message: str) -> None:
    result = MOODLE_XML.import_items(data, "broken.xml")
    assert result.definitions == []
    [problem] = result.problems
    assert (problem.line, problem.message[: len(message)]) == (line, message)


# --- question types ------------------------------------------------------------------------------

def test_unsupported_types_are_problems_naming_them() -> None:
    result = xml(question("calculated", answer("100", "{a} + {b}"), name="Sum")
                 + "\n" + question("ddwtos", "", name="Drag")
                 + "\n" + question("truefalse", answer("100", "true") + answer("0", "false"), name="Fine"))
    assert result.definitions == []
    assert [(p.line, p.message) for p in result.problems] == [
        (3, ("question 'Sum' is a calculated question, which Assay does not import: write it as an Assay "
             "computed item (params and compute)")),
        (10, "question 'Drag' has the question type 'ddwtos', which Assay does not support"),
    ]


def test_multichoice_single_with_partial_credit_and_negative_marks() -> None:
    result = xml(question("multichoice", f"""
        <single>true</single><shuffleanswers>0</shuffleanswers>
        {answer("100", "<![CDATA[<p>Right</p>]]>", "&lt;b&gt;Yes&lt;/b&gt;")}
        {answer("50", "Half")}
        {answer("-25", "Wrong")}
    """))
    assert result.problems == []
    [definition] = result.definitions
    assert definition["options"] == [
        {"text": "Right", "correct": True, "feedback": "**Yes**"},
        {"text": "Half", "correct": False}, {"text": "Wrong", "correct": False}]
    assert definition["shuffle"] is False
    assert "scoring" not in definition
    assert result.notes == [
        ("question 'Q' (line 3): partial credit on 'Half' (50%) is not carried: in Assay only the right option "
         "earns marks"),
        ("question 'Q' (line 3): the negative marks are not carried: the other options earn -25%, 50%, and Assay "
         "takes one mark away for any of them"),
    ]
    penalties = answer("100", "A") + answer("-33.33333", "B") + answer("-33.33333", "C")
    same_penalty = xml(question("multichoice", penalties))
    assert same_penalty.definitions[0]["scoring"] == {"negative": pytest.approx(1 / 3, abs=1e-6)}


def test_two_fully_right_options_in_a_single_choice_are_a_problem() -> None:
    result = xml(question("multichoice", answer("100", "A") + "\n" + answer("100", "B") + "\n" + answer("0", "C")))
    [problem] = result.problems
    assert problem.line == 3
    assert "2 options are fully right; Assay's single choice needs exactly one" in problem.message


def test_numerical_with_tolerance_unit_and_wrong_answers() -> None:
    result = xml(question("numerical", f"""
        {answer("100", "9.81", "Right", "<tolerance>0.05</tolerance>")}
        {answer("0", "9.81e3", "Units: m/s², not mm/s².", "<tolerance>0.05</tolerance>")}
        {answer("50", "10", "Close", "<tolerance>0.5</tolerance>")}
        {answer("0", "*", "Think of a falling apple.")}
        <units><unit><multiplier>1</multiplier><unit_name>m/s²</unit_name></unit>
        <unit><multiplier>100</multiplier><unit_name>cm/s²</unit_name></unit></units>
    """, text="What is g?"))
    assert result.problems == []
    [definition] = result.definitions
    assert definition["answer"] == "9.81"
    assert definition["tolerance"] == {"absolute": 0.05}
    assert definition["unit"] == "m/s²"
    assert definition["units"] == {"multipliers": {"cm/s²": 100.0}}  # units listed, none graded: optional
    assert definition["misconceptions"] == {"units-m-s2-not-mm-s2": {
        "says": "Units: m/s², not mm/s².", "value": "9810", "feedback": "Units: m/s², not mm/s²."}}
    assert definition["partial_credit"] == [{"value": "10", "tolerance": {"absolute": 0.5}, "fraction": 0.5,
                                             "feedback": "Close"}]
    assert result.notes == ["question 'Q' (line 3): the right answer's feedback 'Right' is not carried",
                            ("question 'Q' (line 3): the feedback for any other answer ('Think of a falling apple.') "
                            "is not carried")]


def test_shortanswer_matching_and_essay() -> None:
    result = xml("\n".join([
        question("shortanswer", "<usecase>1</usecase>" + answer("100", "DPO*") + answer("-50", "PPO", "No"),
                 name="Name"),
        question("matching", """
            <shuffleanswers>false</shuffleanswers>
            <subquestion format="html"><text><![CDATA[<i>k1</i>]]></text>
              <answer><text>-log r</text></answer></subquestion>
            <subquestion format="html"><text>k3</text><answer><text>(r-1) - log r</text></answer></subquestion>
            <subquestion format="html"><text></text><answer><text>log r</text></answer></subquestion>
        """, name="Match"),
        question("essay", """
            <responseformat>editor</responseformat><minwordlimit>50</minwordlimit><maxwordlimit>400</maxwordlimit>
            <attachments>1</attachments>
            <graderinfo format="html"><text><![CDATA[<p>Look for the <b>proxy gap</b>.</p>]]></text></graderinfo>
        """, name="Explain"),
        question("description", "", name="About"),
    ]))
    assert result.problems == []
    short, matching, essay = result.definitions
    assert short["case_sensitive"] is True
    assert short["answers"] == [{"match": "DPO*"}, {"match": "PPO", "fraction": 0.0, "feedback": "No"}]
    assert matching["pairs"] == [{"prompt": "*k1*", "answer": "-log r"}, {"prompt": "k3", "answer": "(r-1) - log r"}]
    assert (matching["distractors"], matching["shuffle"]) == (["log r"], False)
    [criterion] = essay["rubric"]["criteria"]
    assert criterion["description"] == "Look for the **proxy gap**."
    assert [level["points"] for level in criterion["levels"]] == [0, 1, 2]
    assert essay["response"] == {"min_words": 50, "max_words": 400}
    notes = " | ".join(result.notes)
    assert "the answer 'PPO' had -50%; Assay gives it 0" in notes
    assert "attachments dropped" in notes
    assert "a description (no answer) is not an item: skipped" in notes


def test_html_must_be_escaped_inside_text() -> None:
    result = xml(question("truefalse", answer("100", "true") + answer("0", "false"), text="]]><p>Raw</p><![CDATA["))
    assert [(p.line, p.message) for p in result.problems] == [
        (5, "question 'Q' (line 3): <p> inside <text>: write HTML escaped or inside <![CDATA[ ]]>")]


def test_a_true_false_question_needs_a_right_answer() -> None:
    result = xml(question("truefalse", answer("0", "true") + answer("0", "false")))
    assert [(p.line, p.message) for p in result.problems] == [
        (3, "question 'Q' (line 3): neither true nor false is the right answer")]


def test_tags_become_facets_concepts_and_related_items() -> None:
    result = xml(question("truefalse", answer("100", "true") + answer("0", "false") + """
        <tags><tag><text>chapter:Ch.4 Alignment</text></tag><tag><text>concept:reward-model-nll</text></tag>
        <tag><text>related:dpo-loss-value</text></tag><tag><text>Hard Questions</text></tag>
        <tag><text>bloom: Apply</text></tag></tags>"""))
    [definition] = result.definitions
    assert definition["tags"] == {"chapter": ["Ch.4 Alignment"], "tag": ["Hard Questions"], "bloom": ["Apply"]}
    assert (definition["concepts"], definition["related"]) == (["reward-model-nll"], ["dpo-loss-value"])


# --- export ----------------------------------------------------------------------------------------

def _entries(*yaml_texts: str) -> list[ExportItem]:
    items = [samples.item(text) for text in yaml_texts]
    return [ExportItem(item.id, item, generate(item, 3)) for item in items]


def test_export_is_moodle_xml_with_ids_types_and_a_report() -> None:
    exported = MOODLE_XML.export_items(
        _entries(samples.SINGLE, samples.TRUE_FALSE, samples.NUMERIC, samples.ORDERING, samples.MATCHING,
                 samples.SHORT, samples.ESSAY, samples.SEED), title="Week 4: alignment")
    assert (exported.media_type, exported.filename) == ("application/xml", "week-4-alignment.moodle.xml")
    root, problem = parse_xml(exported.content, exported.filename)
    assert problem is None and root is not None and root.tag == "quiz"
    questions = root.all("question")
    assert [(q.attrs["type"], q.value("idnumber")) for q in questions] == [
        ("multichoice", "single"), ("truefalse", "tf"), ("numerical", "numeric"), ("matching", "matching"),
        ("shortanswer", "short"), ("essay", "essay"), ("multichoice", "seed")]
    seed = questions[-1]
    assert seed.value("single") == "false"
    # seed 3: three pairs of four are penalised; each earns 1/3, the wrong one costs all (1/1)
    assert [a.attrs["fraction"] for a in seed.all("answer")] == ["-100", "33.33333", "33.33333", "33.33333"]
    assert "<text></text>" in exported.content.decode()
    notes = "\n".join(exported.notes)
    assert "item 'seed': computed: exported as its variant of seed 3" in notes
    assert "item 'ordering': ordering items have no GIFT or Moodle XML form" in notes
    again = MOODLE_XML.import_items(exported.content, exported.filename)
    assert again.problems == []
    assert [d["id"] for d in again.definitions] == ["single", "tf", "numeric", "matching", "short", "essay", "seed"]


def _first(definitions: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(d for d in definitions if d["id"] == key)


def test_essay_rubric_travels_as_information_for_graders() -> None:
    exported = MOODLE_XML.export_items(_entries(samples.ESSAY), title="t")
    again = MOODLE_XML.import_items(exported.content, exported.filename)
    criterion = _first(again.definitions, "essay")["rubric"]["criteria"][0]
    item = samples.item(samples.ESSAY)
    assert isinstance(criterion["description"], str)
    for rubric_criterion in item.rubric.criteria:  # type: ignore[attr-defined]
        assert rubric_criterion.title in criterion["description"]
