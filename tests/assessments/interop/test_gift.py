"""GIFT import and export: Moodle's own GIFT files, malformed input with its line, items going out.

The inputs are Moodle's examples file and GIFT import fixtures, read from the shared corpora
(never copied here); each file's expected outcome is spelled out question by question.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from assessments.interop.base import ExportItem, Imported
from assessments.interop.gift import GIFT
from engine.content.checker import variant_problems
from engine.items import parse_item
from engine.qtypes import qtype_for
from engine.variants import generate
from tests.engine import samples

GIFT_FILES = ["examples.txt", "fixtures/questions.gift.txt", "fixtures/questions_in_category.gift.txt"]


def read(corpora: Path, name: str) -> Imported:
    path = corpora / "moodle" / "gift" / name
    return GIFT.import_items(path.read_bytes(), path.name)


def gift(text: str) -> Imported:
    return GIFT.import_items(textwrap.dedent(text).lstrip("\n").encode(), "test.gift.txt")


def by_title(result: Imported) -> dict[str, dict[str, Any]]:
    return {d["title"]: d for d in result.definitions}


def options(definition: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(o["text"], o["correct"]) for o in definition["options"]]


# --- Moodle's files --------------------------------------------------------------------------------

def test_examples_file_imports_every_question_with_its_type(corpora: Path) -> None:
    result = read(corpora, "examples.txt")
    assert result.problems == []
    assert [d["type"] for d in result.definitions] == [
        # examples from the description
        "single_choice", "single_choice", "true_false", "short_text", "numeric",
        # from the documentation: multiple choice, short answer, true/false, matching, numerical
        "single_choice", "single_choice", "single_choice", "single_choice",
        "short_text", "short_text", "true_false", "true_false", "matching", "matching",
        "numeric", "numeric", "numeric", "numeric", "numeric",
        # names, feedback, formats, weights, multiple answers, special characters
        "short_text", "single_choice", "single_choice", "short_text", "short_text", "true_false",
        "single_choice", "single_choice", "short_text", "multiple_response", "multiple_response",
        "single_choice", "single_choice",
        # from gift/format.php, then the more complicated examples
        "single_choice", "single_choice", "true_false", "short_text", "numeric", "matching",
        "single_choice", "single_choice", "short_text", "numeric",
    ]


def test_examples_numbers_value_with_error_range_and_several_answers(corpora: Path) -> None:
    definitions = read(corpora, "examples.txt").definitions
    born = definitions[4]
    assert (born["stem"], born["answer"], born["tolerance"]) == (
        "When was Ulysses S. Grant born?", "1822", {"absolute": 1.0})
    pi_error, pi_range = definitions[16], definitions[17]
    assert pi_error["stem"] == pi_range["stem"] == "What is the value of pi (to 3 decimal places)? _____."
    assert (pi_error["answer"], pi_error["tolerance"]) == ("3.1415", {"absolute": 0.0005})
    assert (pi_range["answer"], pi_range["tolerance"]) == ("3.1415", {"absolute": 0.0005})  # midpoint, half-width
    several = definitions[18]
    assert (several["answer"], several["tolerance"]) == ("1822", {"absolute": 0.0})
    assert by_title(read(corpora, "examples.txt"))["Numerical example"]["tolerance"] == {"absolute": 0.0}


def test_examples_notes_say_what_assay_cannot_weigh(corpora: Path) -> None:
    notes = read(corpora, "examples.txt").notes
    assert sum("partial credit on" in n for n in notes) == 3
    assert any("Jesus' hometown" in n and "'Bethlehem' (25%), 'Galilee' (50%)" in n for n in notes)
    assert any("the right answer's feedback 'Correct! 100% credit' is not carried" in n for n in notes)
    assert len(notes) == 4


def test_examples_numeric_partial_credit_is_carried_and_grades_as_moodle(corpora: Path) -> None:
    """GIFT's {# =1822:0 =%50%1822:2} (examples.txt, twice): Moodle tries the answers in order
    (qtype_numerical question.php get_matching_answer), so 1822 earns 100%, 1820 to 1824 50%."""
    named = by_title(read(corpora, "examples.txt"))
    example = named["Numerical example"]
    assert (example["answer"], example["tolerance"]) == ("1822", {"absolute": 0.0})
    assert example["partial_credit"] == [{"tolerance": {"absolute": 2.0}, "fraction": 0.5,
                                          "feedback": "He was born in 1822.\nYou get 50% credit for being close."}]
    item = parse_item(example)
    variant = generate(item, 0)
    qtype = qtype_for(item)
    marks = {typed: qtype.grade(item, variant, qtype.parse(item, variant, {"answer": typed})).fraction
             for typed in ("1822", "1821", "1824", "1820", "1825", "1819")}
    assert marks == {"1822": 1.0, "1821": 0.5, "1824": 0.5, "1820": 0.5, "1825": 0.0, "1819": 0.0}
    several = read(corpora, "examples.txt").definitions[18]
    assert several["partial_credit"] == [{"tolerance": {"absolute": 2.0}, "fraction": 0.5}]


def test_examples_weights_matching_names_formats_and_escapes(corpora: Path) -> None:
    result = read(corpora, "examples.txt")
    definitions, named = result.definitions, by_title(result)
    # ~%50% on two right answers, with and without ~%-50% on the wrong ones: Assay's rule exactly
    positive, negative = definitions[29], definitions[30]
    assert options(positive) == options(negative) == [
        ("No one", False), ("Grant", True), ("Grant's wife", True), ("Grant's father", False)]
    assert positive["scoring"] == {"method": "partial", "wrong_selection_penalty": False}
    assert negative["scoring"] == {"method": "partial", "wrong_selection_penalty": True}
    capitals = definitions[14]
    assert [(p["prompt"], p["answer"]) for p in capitals["pairs"]] == [
        ("Canada", "Ottawa"), ("Italy", "Rome"), ("Japan", "Tokyo"), ("India", "New Delhi")]
    assert named["Kanji Origins"]["stem"] == "Japanese characters originally\ncame from what country?"
    assert named["Thanksgiving Date"]["stem"].endswith("celebrated on the _____ Thursday of November.")
    assert definitions[24]["stem"] == "Who's buried in **Grant's tomb**?"  # [markdown]
    assert options(named["Which answer equals 5?"]) == [("= 2 + 2", False), ("= 2 + 3", True), ("= 2 + 4", False)]
    control = named["GIFT Control Characters"]
    assert options(control) == [("~", False), ("=", False), ("#", False), ("{", False), ("}", False),
                                ("\\", True)]
    assert control["options"][0]["feedback"] == "~ is a control character."
    assert control["options"][5]["feedback"].startswith("Correct! \\ (backslash) is not a control character.")
    assert definitions[1]["stem"] == "Grant is _____ in Grant's tomb."  # the missing word
    jesus = definitions[27]
    assert (jesus["title"], jesus["stem"]) == ("Jesus' hometown", "Jesus Christ was from _____.")
    assert [o["feedback"] for o in jesus["options"]][-1] == "Yes! That's right!"
    false_with_feedback = definitions[25]
    assert (false_with_feedback["answer"], false_with_feedback["feedback_true"]) == (
        False, "No one is buried in Grant's tomb.")


def test_moodle_import_fixture(corpora: Path) -> None:
    result = read(corpora, "fixtures/questions.gift.txt")
    assert result.problems == []
    assert [(d["id"], d["type"]) for d in result.definitions] == [
        ("q8", "essay"), ("moodle-activities", "matching"), ("q2", "single_choice"),
        ("colours", "multiple_response"), ("q5", "numeric"), ("shortanswer", "short_text"),
        ("q1", "true_false"), ("2-08-tsl", "true_false"), ("2-08-tsl-2", "true_false")]
    named = by_title(result)
    essay = named["Q8"]
    assert essay["stem"] == "How are you?"
    assert [c["id"] for c in essay["rubric"]["criteria"]] == ["response"]
    matching = named["Moodle activities"]
    assert matching["stem"] == "Match the **activity** to the description."  # [html]
    assert [p["answer"] for p in matching["pairs"]] == ["Forum", "Choice", "Database", "Wiki"]
    assert matching["distractors"] == ["Chat"]  # "= -> Chat"
    assert options(named["Q2"]) == [("yellow", True), ("red", False), ("blue", False)]
    assert named["Q2"]["options"][1]["feedback"] == "wrong, it's yellow"  # [html] feedback
    colours = named["colours"]
    assert options(colours) == [("yellow", True), ("red", False), ("off-beige", True), ("blue", False)]
    assert colours["scoring"]["wrong_selection_penalty"] is True
    # Q5 and Q1 carry a stray '";' after the block: the missing-word form, not an error
    q5 = named["Q5"]
    assert (q5["stem"], q5["answer"], q5["tolerance"]) == (
        'What is a number from 1 to 5? _____";', "3", {"absolute": 2.0})
    q1 = named["Q1"]
    assert q1["stem"] == '42 is the Absolute Answer to everything._____";'
    assert (q1["answer"], q1["feedback_true"], q1["feedback_false"]) == (
        False, "42 is the Ultimate Answer.", "You gave the right answer.")
    assert q1["solution"] == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    shortanswer = named["Shortanswer"]
    assert [(a["match"], a.get("fraction", 1.0)) for a in shortanswer["answers"]] == [
        ("Frog", 1.0), ("Cat", 0.5), ("*", 0.0)]
    assert named["2-08 TSL"]["answer"] is True


def test_moodle_import_fixture_notes(corpora: Path) -> None:
    notes = read(corpora, "fixtures/questions.gift.txt").notes
    assert notes == [
        ("question 'Q8' (line 2): graded by a one-criterion default rubric (Not met, Partly met, Met): "
         "write the real criteria"),
        ("question 'colours' (line 22): Moodle's weights (50%, -100%, 50%, -100%) become Assay's partial credit "
         "(each right option earns 1/2, each wrong one costs 1/2): some selections mark differently"),
        "question 'Q5' (line 31): the feedback for any other answer ('Completely wrong') is not carried",
    ]


def test_category_fixture_html_and_escapes(corpora: Path) -> None:
    result = read(corpora, "fixtures/questions_in_category.gift.txt")
    assert result.problems == []
    assert [d["type"] for d in result.definitions] == ["matching", "single_choice", "short_text", "true_false"]
    assert all(d["tags"] == {"category": ["Default for New Features"]} for d in result.definitions)
    named = by_title(result)
    assert named["Greeting"]["stem"] == (  # \= and \: inside [html]
        "[Listen to this greeting:](http://demo.moodle.net/file.php/5/media/bonjour.mp3)\n\n"
        "What language is being spoken?")
    assert options(named["Greeting"])[1] == ("French", True)
    assert named["Moodle user"]["answers"] == [{"match": "Moodler"}]
    assert named["Moodle acronym"]["stem"] == (
        "Moodle is an acronym for Modular Object-Oriented Dynamic Learning Environment.")
    assert result.notes == ["question 'Moodle acronym' (line 27): <span> styles dropped"]


@pytest.mark.parametrize("name", GIFT_FILES)
def test_every_imported_definition_is_a_sound_item(corpora: Path, name: str) -> None:
    for definition in read(corpora, name).definitions:
        assert json.loads(json.dumps(definition)) == definition  # plain data, as the bank stores it
        item = parse_item(definition)
        assert variant_problems(item) == ([], 1), definition["id"]


# --- malformed input: the line, and nothing imported -------------------------------------------------

@pytest.mark.parametrize(("text", "line", "message"), [
    ("Fine?{=yes ~no}\n\nBroken {=a ~b\nstill broken\n", 3, "'{' is not closed by '}'"),
    ("Stray } here {=a ~b}\n", 1, "'}' closes an answer block that no '{' opened"),
    ("Two {=a ~b} blocks\n{=c ~d}\n", 2, "a second answer block"),
    ("::Unclosed name Who? {=a ~b}\n", 1, "not closed by '::'"),
    ("Only one? {\n~%50%a\n}\n", 1, "needs at least two answers"),
    ("Match {\n=a -> 1\n=b 2\n}\n", 3, "needs '->' between the prompt and its answer"),
    ("When? {#\n=18x22:1\n}\n", 2, "'18x22:1' is not a number"),
    ("Entropy? {#0.125 nats}\n", 1, ("'0.125 nats' is not a number (write 1822, 1822:2 or 3.141..3.142) (GIFT has "
     "no units: give the number alone, or use Moodle XML)")),
    ("Range? {#5..1}\n", 1, "runs from high to low"),
    ("Weight? {\n~%fifty%a\n=b\n}\n", 2, "a malformed weight"),
    ("Third? {\n~%33%a\n=b\n}\n", 2, "the grade 33% of answer 'a' is not one of Moodle's grades"),
    ("Which? {=a =b ~c}\n", 1, "2 options are fully right; Assay's single choice needs exactly one"),
    ("Numbers? {#=1 =2}\n", 1, "Assay's numeric item has one right answer; this question has 2 (1, 2)"),
    ("Close? {#=%50%1:1}\n", 1, "no answer is fully right (100%)"),
    ("Partly? {~%50%a ~%50%b =%50%c}\n", 1, "no option is fully right (100%)"),
    ("Same? {=a ~a}\n", 1, "two options read the same"),
    ("$CATEGORY: $course$/A\nQuestion? {T}\n", 2, "leave a blank line after $CATEGORY:"),
    ("{=a ~b}\n", 1, "the question has no text"),
])
def test_a_malformed_question_is_reported_with_its_line(text: str, line: int, message: str) -> None:
    result = gift(text)
    assert result.definitions == []
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.file, problem.line) == ("test.gift.txt", line)
    assert message in problem.message


def test_one_bad_question_rejects_the_whole_file() -> None:
    result = gift("""
        // a good question first
        ::Good::Which? {=right ~wrong}

        ::Bad::Which? {=right ~wrong

        ::Also good::True? {T}
    """)
    assert result.definitions == []
    assert [(p.line, p.message) for p in result.problems] == [
        (4, "question 'Bad' (line 4): the answer block opened by '{' is not closed by '}'")]


def test_undecodable_and_empty_files() -> None:
    latin1 = GIFT.import_items("Ok? {T}\n\nCafé? {T}\n".encode("latin-1"), "latin1.txt")
    assert [(p.line, p.message) for p in latin1.problems] == [(3, "the file is not UTF-8 text")]
    empty = GIFT.import_items(b"// only a comment\n\n", "empty.txt")
    assert [(p.line, p.message) for p in empty.problems] == [(0, "no GIFT questions in the file")]


def test_descriptions_are_skipped_with_a_note_and_braces_stay_template_text() -> None:
    result = gift("""
        ::Intro::Read this first.

        ::Sets::Is \\{\\{1\\}\\} a set containing a set? {T}
    """)
    assert result.problems == []
    assert [d["title"] for d in result.definitions] == ["Sets"]
    assert result.definitions[0]["stem"] == "Is { {1}} a set containing a set?"  # '{{' would open a field
    assert result.notes == ["question 'Intro' (line 1): a description (no answer) is not an item: skipped"]


def test_numeric_wrong_answers_become_misconceptions() -> None:
    result = gift("""
        ::Loss::What is log 2? {#
        =0.693:0.001
        =%0%0.5:0.001#You took 1 - 0.5 instead of the log.
        =%0%0.6931:0.01#Too close to the key to diagnose anything.
        }
    """)
    assert result.problems == []
    definition = result.definitions[0]
    assert definition["misconceptions"] == {
        "you-took-1-0-5-instead": {"says": "You took 1 - 0.5 instead of the log.", "value": "0.5",
                                   "feedback": "You took 1 - 0.5 instead of the log."}}
    assert any("the answer 0.6931 (0%) is not carried" in n for n in result.notes)


def test_several_numeric_answers_keep_their_credit_and_moodles_order_is_noted() -> None:
    """The issue's {#=%50%7.45:0.1 =%100%7.5:0.05}: the 50% answer is carried as partial credit.
    Moodle tries answers in the order listed (qtype_numerical question.php get_matching_answer),
    so there 7.45 ± 0.1 covers 7.5 ± 0.05 and the 100% answer can never be reached; Assay tries its
    key first, and the import says where the two differ."""
    result = gift("""
        ::Rate::What is the rate? {#=%50%7.45:0.1 =%100%7.5:0.05}
    """)
    assert result.problems == []
    [definition] = result.definitions
    assert (definition["answer"], definition["tolerance"]) == ("7.5", {"absolute": 0.05})
    assert definition["partial_credit"] == [{"value": "7.45", "tolerance": {"absolute": 0.1}, "fraction": 0.5}]
    assert result.notes == [("question 'Rate' (line 1): the answer 7.45 (50%) is listed before 7.5 (100%) and their "
                            "ranges overlap: where they do, Moodle gives 50% and Assay 100%")]


def test_an_id_comment_names_the_item_and_a_category_becomes_a_tag() -> None:
    result = gift("""
        $CATEGORY: $course$/top/Physics/Waves//Sound

        // question: speed-of-sound  name: Speed of sound
        ::Speed of sound::How fast? {#343:5}

        // question: 44  name: Moodle's own id is a number
        ::Pitch::Higher frequency, higher pitch? {T}
    """)
    assert result.problems == []
    assert [(d["id"], d["tags"]) for d in result.definitions] == [
        ("speed-of-sound", {"category": ["Physics > Waves/Sound"]}),
        ("pitch", {"category": ["Physics > Waves/Sound"]})]


# --- export ---------------------------------------------------------------------------------------

def _entries(*yaml_texts: str, seed: int = 0) -> list[ExportItem]:
    items = [samples.item(text) for text in yaml_texts]
    return [ExportItem(item.id, item, generate(item, seed)) for item in items]


def test_export_reports_computed_items_and_skips_ordering() -> None:
    exported = GIFT.export_items(_entries(samples.NUMERIC, samples.ORDERING, samples.ESSAY), title="Week 4")
    assert exported.media_type == "text/plain; charset=utf-8"
    assert exported.filename == "week-4.gift.txt"
    text = exported.content.decode()
    assert text.startswith("// Week 4\n")
    assert "// question: numeric  name:" in text
    assert "ordering" not in text.split("// question:", 1)[1].split("\n", 1)[0]
    notes = "\n".join(exported.notes)
    assert "item 'numeric': computed: exported as its variant of seed 0" in notes
    assert "ordering items have no GIFT or Moodle XML form" in notes
    assert "item 'essay': GIFT does not carry" in notes and "its rubric and word limits" in notes
    again = GIFT.import_items(exported.content, exported.filename)
    assert again.problems == []
    assert [d["type"] for d in again.definitions] == ["numeric", "essay"]


def test_a_category_tag_goes_out_as_category_and_comes_back() -> None:
    text = samples.TRUE_FALSE.replace("title:", "tags: {category: Physics > Waves}\ntitle:", 1)
    exported = GIFT.export_items(_entries(text), title="t")
    assert "$CATEGORY: $course$/top/Physics/Waves\n" in exported.content.decode()
    again = GIFT.import_items(exported.content, exported.filename)
    assert again.definitions[0]["tags"] == {"category": ["Physics > Waves"]}
