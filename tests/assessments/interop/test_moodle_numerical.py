"""Moodle numerical questions with units and partial credit: imported, graded and exported as
Moodle grades them.

Moodle's rules, as its numerical question type states them (question/type/numerical): answers are
tried in the order listed, the first whose interval holds the response giving its grade
(question.php get_matching_answer); a unit typed with the number converts it by the unit's
multiplier (questiontype.php, the answer processor); with units graded ("unitgradingtype" 1 or 2)
a missing or wrong unit costs the unit penalty, of the response's grade or of the question's
(apply_unit_penalty). Moodle XML carries these as ``<units>``, ``<unitgradingtype>``,
``<unitpenalty>``, ``<showunits>`` and ``<unitsleft>``, with the defaults question/format/xml
reads (grading 0, penalty 0.1, units typed when there are any).
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from assessments.interop.base import ExportItem, Imported
from assessments.interop.gift import GIFT
from assessments.interop.moodlexml import MOODLE_XML
from assessments.models import CourseRole, Role
from engine.items import NumericItem, parse_item
from engine.qtypes import ResponseError, qtype_for
from engine.variants import generate
from tests.assessments.conftest import World
from tests.assessments.test_walkthroughs import Student, ok
from tests.assessments.test_web import _sign_in as sign_in
from tests.engine import samples


def numerical(body: str, *, name: str = "Entropy") -> bytes:
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>', "<quiz>", '  <question type="numerical">',
        f"    <name><text>{name}</text></name>",
        '    <questiontext format="html"><text>How much information is in the outcome?</text></questiontext>',
        textwrap.dedent(body).strip(), "  </question>", "</quiz>", ""]).encode()


def answer(fraction: str, text: str, tolerance: str = "0", feedback: str = "") -> str:
    return (f'<answer fraction="{fraction}"><text>{text}</text><tolerance>{tolerance}</tolerance>'
            f"<feedback><text>{feedback}</text></feedback></answer>")


def units(*pairs: tuple[str, str]) -> str:
    return "<units>" + "".join(f"<unit><multiplier>{m}</multiplier><unit_name>{n}</unit_name></unit>"
                               for n, m in pairs) + "</units>"


NATS_AND_BITS = units(("nats", "1"), ("bits", "1.4426950408889634"))


def imported(data: bytes) -> dict[str, Any]:
    result = MOODLE_XML.import_items(data, "entropy.xml")
    assert result.problems == [], result.problems
    [definition] = result.definitions
    return definition


def marks(definition: dict[str, Any], *typed: str) -> list[float | str]:
    """What each response earns, or 'invalid' for a format error."""
    item = parse_item(definition)
    variant = generate(item, 0)
    qtype = qtype_for(item)
    found: list[float | str] = []
    for text in typed:
        try:
            found.append(qtype.grade(item, variant, qtype.parse(item, variant, {"answer": text})).fraction)
        except ResponseError:
            found.append("invalid")
    return found


# --- units -------------------------------------------------------------------------------------------


def test_units_graded_with_a_penalty_of_the_response_grade() -> None:
    """The issue's case: 0.125 nats, which is 0.1803 bits; unitgradingtype 1 (UNITGRADEDOUTOFMARK)
    with Moodle's default penalty 0.1. Before, '0.125 nats' was a format error and a bare number
    earned full marks."""
    definition = imported(numerical(f"""
        {answer("100", "0.125", "0.0005")}
        {NATS_AND_BITS}
        <unitgradingtype>1</unitgradingtype><unitpenalty>0.1000000</unitpenalty>
        <showunits>0</showunits><unitsleft>0</unitsleft>
    """))
    assert (definition["unit"], definition["units"]) == ("nats", {
        "graded": True, "penalty": 0.1, "penalty_of": "response", "multipliers": {"bits": 1.4426950408889634}})
    assert marks(definition, "0.125 nats", "0.1803 bits", "0.125nats", "0.125", "0.125 bits", "0.125 shannons",
                 "1 nats", "nats") == [1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.0, "invalid"]


def test_units_graded_with_a_penalty_of_the_question_grade_and_partial_credit() -> None:
    """unitgradingtype 2 (UNITGRADEDOUTOFMAX): the penalty is taken from the question's grade;
    Moodle's own test question 'What is 1 m + 25 cm?' (tests/helper.php, make_numerical_question_unit)."""
    definition = imported(numerical(f"""
        {answer("100", "1.25")}
        {answer("50", "1.25", "0.05", "Vaguely right.")}
        {answer("0", "*", feedback="Completely wrong.")}
        {units(("m", "1"), ("cm", "100"))}
        <unitgradingtype>2</unitgradingtype><unitpenalty>0.2</unitpenalty><showunits>2</showunits>
    """, name="Numerical with units"))
    assert definition["partial_credit"] == [{"tolerance": {"absolute": 0.05}, "fraction": 0.5,
                                             "feedback": "Vaguely right."}]
    assert definition["units"]["penalty_of"] == "question"
    assert marks(definition, "1.25 m", "125 cm", "1.25", "1.23 m", "123cm", "1.23", "2 m") == [
        1.0, 1.0, pytest.approx(0.8), 0.5, 0.5, pytest.approx(0.3), 0.0]


def test_a_unit_menu_becomes_a_typed_unit_with_a_note() -> None:
    result = MOODLE_XML.import_items(numerical(f"""
        {answer("100", "1.25")}{units(("m", "1"), ("cm", "100"))}
        <unitgradingtype>1</unitgradingtype><unitpenalty>0.5</unitpenalty><showunits>2</showunits>
    """), "menu.xml")
    assert result.problems == []
    assert "its units are typed after the number (before it, for units on the left), not chosen from a list" in (
        " | ".join(result.notes))


def test_units_optional_by_default_and_on_the_left() -> None:
    """With units and no <unitgradingtype> or <showunits>, Moodle's XML import types units and
    grades none (format/xml import_numerical); <unitsleft> puts them before the number
    (tests/question_test.php test_grading_currency: '$1332')."""
    definition = imported(numerical(f"""
        {answer("100", "1332")}{units(("$", "1"), ("£", "1"))}<unitsleft>1</unitsleft>
    """, name="Price"))
    assert (definition["unit"], definition["units"]) == ("$", {"multipliers": {"£": 1.0}, "before": True})
    assert marks(definition, "$1332", "$ 1332", "£1332", "1332", "frog 1332", "1332 $") == [
        1.0, 1.0, 1.0, 1.0, 1.0, "invalid"]


def test_no_units_shown_means_a_bare_number_as_before() -> None:
    """showunits 3 (UNITNONE: "Units are not used at all. Only the numerical value is graded"): the
    unit of the answers is only shown beside the box, and a unit typed is a format error, as Moodle
    refuses it ("Do not include a unit in your response")."""
    result = MOODLE_XML.import_items(numerical(f"""
        {answer("100", "0.125", "0.0005")}{NATS_AND_BITS}<showunits>3</showunits>
    """), "none.xml")
    [definition] = result.definitions
    assert definition["unit"] == "nats" and "units" not in definition
    assert marks(definition, "0.125", "0.125 nats") == [1.0, "invalid"]
    assert any("its units other than the answers' own are not carried" in note for note in result.notes)


def test_an_answer_written_with_its_unit_is_read_as_moodle_reads_it() -> None:
    """Moodle strips the unit of the answers from an answer that ends with it (questiontype.php
    get_question_options: "Required for compatibility with the old code")."""
    definition = imported(numerical(f"""{answer("100", "1.25m")}{units(("m", "1"))}"""))
    assert definition["answer"] == "1.25"


@pytest.mark.parametrize(("body", "message"), [
    (answer("100", "1") + units(("cm", "100")) + "<showunits>0</showunits>",
     "no unit has the multiplier 1, so the unit of the answers is unknown"),
    (answer("100", "1") + units(("m", "1")) + "<showunits>5</showunits>", "<showunits> is '5'; Moodle reads one of"),
    (answer("100", "1") + units(("m", "1")) + "<unitgradingtype>x</unitgradingtype>", "<unitgradingtype> is 'x'"),
    (answer("100", "1") + units(("m", "1")) + "<unitgradingtype>1</unitgradingtype><unitpenalty>1.5</unitpenalty>",
     "the unit penalty 1.5 is not a fraction between 0 and 1"),
    (answer("100", "1") + units(("m", "1"), ("2x", "2")), "may not start with a digit"),
])
def test_units_assay_cannot_read_are_problems_with_their_line(body: str, message: str) -> None:
    result = MOODLE_XML.import_items(numerical(body), "bad.xml")
    assert result.definitions == []
    [problem] = result.problems
    assert message in problem.message and problem.line >= 3


# --- partial credit and the order of answers ---------------------------------------------------------


def test_an_answer_tried_before_the_key_where_they_overlap_is_noted() -> None:
    """Moodle takes the first answer whose range holds the number: a 50% answer listed first wins
    where it overlaps the 100% one; Assay tries its key first."""
    result = MOODLE_XML.import_items(numerical(answer("50", "10", "1") + answer("100", "10.5", "0.1")), "o.xml")
    assert result.problems == []
    assert any("the answer 10 (50%) is listed before 10.5 (100%) and their ranges overlap: where they do, Moodle "
               "gives 50% and Assay 100%" in note for note in result.notes)


# --- out and back in ---------------------------------------------------------------------------------

UNITS_ITEM = """
id: entropy-in-nats
type: numeric
title: Entropy in nats or bits
stem: What is the answer?
answer: "0.125"
tolerance: {absolute: 0.0005}
unit: nats
units:
  graded: true
  penalty: 0.25
  penalty_of: question
  multipliers: {bits: 1.4426950408889634}
partial_credit:
  - {tolerance: {absolute: 0.01}, fraction: 0.5, feedback: Close.}
misconceptions:
  used-log2: {says: took the log in base 2, value: "0.1803", feedback: That is in bits.}
"""


def _export(fmt: Any, text: str) -> tuple[bytes, list[str]]:
    item = samples.item(text)
    exported = fmt.export_items([ExportItem(item.id, item, generate(item, 0))], title="Entropy")
    return exported.content, exported.notes


def test_moodle_xml_carries_units_and_partial_credit_out_and_back() -> None:
    content, notes = _export(MOODLE_XML, UNITS_ITEM)
    xml = content.decode()
    for element in ("<multiplier>1</multiplier>", "<unit_name>nats</unit_name>",
                    "<multiplier>1.4426950408889634</multiplier>", "<unit_name>bits</unit_name>",
                    "<unitgradingtype>2</unitgradingtype>", "<unitpenalty>0.25</unitpenalty>",
                    "<showunits>0</showunits>", "<unitsleft>0</unitsleft>",
                    'fraction="50">\n      <text>0.125</text>\n      <tolerance>0.01</tolerance>'):
        assert element in xml, element
    back: Imported = MOODLE_XML.import_items(content, "entropy.xml")
    assert back.problems == []
    item = parse_item(back.definitions[0])
    assert isinstance(item, NumericItem)
    original = samples.item(UNITS_ITEM)
    assert isinstance(original, NumericItem)
    assert (item.unit, item.units) == (original.unit, original.units)
    assert [(p.fraction, p.feedback) for p in item.partial_credit] == [(0.5, "Close.")]
    assert marks(back.definitions[0], "0.1803 bits", "0.125", "0.13 nats", "0.13", "0.1803") == [
        1.0, pytest.approx(0.75), 0.5, pytest.approx(0.25), 0.0]
    assert not any("unit" in note for note in notes)


def test_gift_carries_partial_credit_and_says_it_cannot_carry_units() -> None:
    content, notes = _export(GIFT, UNITS_ITEM)
    assert "=%50%0.125:0.01#Close." in content.decode()
    assert any("GIFT does not carry" in note and "its units ('nats', 'bits') (Moodle reads a GIFT numerical "
               "question's response as a bare number)" in note for note in notes)
    back = GIFT.import_items(content, "entropy.gift.txt")
    assert back.problems == []
    assert back.definitions[0]["partial_credit"] == [{"tolerance": {"absolute": 0.01}, "fraction": 0.5,
                                                      "feedback": "Close."}]


# --- through the API: imported, taken, graded, shown -------------------------------------------------


def test_an_imported_question_with_units_is_taken_and_graded_as_moodle_grades_it(world: World) -> None:
    teacher = world.user("teacher", Role.INSTRUCTOR)
    ada, bob = world.user("ada"), world.user("bob")
    course = world.course("info", (teacher, CourseRole.INSTRUCTOR), (ada, CourseRole.STUDENT),
                          (bob, CourseRole.STUDENT))
    api = world.client
    assert api is not None
    data = numerical(f"""
        {answer("100", "0.125", "0.0005")}{NATS_AND_BITS}
        <unitgradingtype>1</unitgradingtype><unitpenalty>0.1</unitpenalty><showunits>0</showunits>
    """)
    reply = api.post("/api/v1/items/import", headers=world.headers(teacher), params={"format": "moodlexml"},
                     content=data)
    assert reply.status_code == 200, reply.text
    [made] = reply.json()["items"]
    quiz = world.quiz(course, [made["key"]])
    world.db.commit()
    for student, typed, mark in ((ada, "0.1803 bits", 1.0), (bob, "0.125", 0.9)):
        me = Student(world, student, quiz)
        page = ok(me.start(), 201)
        assert page["questions"][0]["question"]["units"] == ["nats", "bits"]
        assert ok(me.save(1, {"answer": typed}))["state"] == "answered"
        if student is ada:  # the page asks for the unit too
            sign_in(world, "ada")
            shown = api.get(f"/attempts/{me.attempt_id}")
            assert shown.status_code == 200 and "Your answer and its unit (nats, bits)</label>" in shown.text
        assert ok(me.submit())["marks"] == pytest.approx(mark)
