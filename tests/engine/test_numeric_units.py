"""Numeric answers with units and partial credit, graded by Moodle's rules.

Each case names the rule and where Moodle states it: its numerical question type
(question/type/numerical: ``question.php`` for grading, ``questiontype.php`` for the answer
processor, ``lang/en/qtype_numerical.php`` for the documented behaviour) and its tests
(``tests/question_test.php``, ``tests/answerprocessor_test.php``), whose scenarios these items
restate in Assay's own content format.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.grading import grade_responses
from engine.items import ItemBase, NumericItem
from engine.qtypes import Grade, ResponseError, qtype_for
from engine.qtypes.numeric import WithUnit, read_as
from engine.variants import generate, generate_batch
from tests.engine import samples

# Moodle's "numerical with units" test question: what is 1 m + 25 cm? 1.25 exactly for full marks,
# within 0.05 for half; m and cm (100 cm to the m); units graded, a missing or wrong unit costing
# half of the response's credit (question_test.php, make_numerical_question_unit).
METRES = """
id: one-metre-and-25-cm
type: numeric
title: Numerical with units
stem: What is 1 m + 25 cm?
answer: "1.25"
tolerance: {absolute: 0}
unit: m
units:
  graded: true
  penalty: 0.5
  multipliers: {cm: 100}
partial_credit:
  - tolerance: {absolute: 0.05}
    fraction: 0.5
    feedback: Vaguely right.
"""

# Moodle's plain numerical test question (pi to two places: 3.14) with the units m and cm and a
# unit penalty of 0.2 (question_test.php, test_grading_with_units and _graded).
PI = """
id: pi-in-metres
type: numeric
title: Pi in metres
stem: What is pi to two decimal places?
answer: "3.14"
tolerance: {absolute: 0}
unit: m
units: {graded: true, penalty: 0.2, multipliers: {cm: 100}}
misconceptions:
  too-accurate: {says: gives more places than asked, value: "3.142", feedback: Too accurate.}
"""

# Moodle's currency test question: $1332, the unit written first, $ and £ alike
# (question_test.php, test_grading_currency; penalty 0.2).
DOLLARS = """
id: dollars
type: numeric
title: A price
stem: What does it cost?
answer: "1332"
tolerance: {absolute: 0}
unit: $
units: {graded: true, penalty: 0.2, before: true, multipliers: {"£": 1}}
"""

# The issue's own case: an answer in nats that may be given in bits (1 nat = 1/ln 2 bits).
NATS = """
id: entropy-of-a-coin-flip-bias
type: numeric
title: Entropy in nats or bits
stem: What is the answer?
answer: "0.125"
tolerance: {sigfigs: 3}
unit: nats
units: {graded: true, multipliers: {bits: 1.4426950408889634}}
"""

# GIFT's partial credit (Moodle's examples.txt: "When was Ulysses S. Grant born?"):
# {# =1822:0 #Correct! =%50%1822:2 #He was born in 1822.}
GRANT = """
id: grant-born
type: numeric
title: Numerical example
stem: When was Ulysses S. Grant born?
answer: "1822"
tolerance: {absolute: 0}
partial_credit:
  - {value: "1822", tolerance: {absolute: 2}, fraction: 0.5, feedback: He was born in 1822.}
"""


def _grade(text: str, typed: Any) -> Grade:
    item = samples.item(text)
    variant = generate(item, 0)
    qtype = qtype_for(item)
    return qtype.grade(item, variant, qtype.parse(item, variant, {"answer": typed}))


def _fraction(text: str, typed: Any) -> float:
    return _grade(text, typed).fraction


# --- reading a number and its unit -----------------------------------------------------------------


@pytest.mark.parametrize(("typed", "value", "unit", "multiplier"), [
    ("1.25 m", 1.25, "m", 1.0),          # answerprocessor_test: '3.142 m'
    ("125cm", 125.0, "cm", 100.0),       # '1.cm', '+1.0cm': no space needed
    ("1.0   cm", 1.0, "cm", 100.0),      # '1.0   cm': any white space
    (".2e+2m", 20.0, "m", 1.0),          # '.2e+2m': the exponent is part of the number
    ("3 frogs", 3.0, "frogs", None),     # '3 frogs': a number, and a unit the question does not know
    ("1.25", 1.25, "", None),            # no unit at all
    (1.25, 1.25, "", None),              # a JSON number carries none
    # Numbers as students write them (engine.qtypes.number_text), read whole before the unit; once
    # "0,5 m" was read as 0 with a unit ",5m".
    ("0,5 m", 0.5, "m", 1.0),            # a decimal comma
    ("1/2 m", 0.5, "m", 1.0),            # a fraction
    ("1,234.5 cm", 1234.5, "cm", 100.0), # thousands separated by commas
    ("12 345,6 m", 12345.6, "m", 1.0),   # by spaces, with a decimal comma
    ("+2 m", 2.0, "m", 1.0),             # a leading plus
    ("\u22120,5 m", -0.5, "m", 1.0),     # a real minus sign
    ("5 eV", 5.0, "eV", None),           # a unit beginning with e is no exponent
])
def test_a_response_is_read_as_a_number_then_its_unit(typed: Any, value: float, unit: str,
                                                      multiplier: float | None) -> None:
    item = samples.item(METRES)
    parsed = qtype_for(item).parse(item, generate(item, 0), {"answer": typed})
    assert parsed == WithUnit(value, multiplier, unit)


@pytest.mark.parametrize(("typed", "read"), [
    ("0,5 m", "0.5 m"), ("1/2 cm", "0.5 cm"), ("1,234.5 m", "1234.5 m"), ("3/8", "0.375"),
    ("0.5 m", None), ("125cm", None), ("frog", None),
])
def test_the_student_is_told_how_a_number_written_otherwise_was_read(typed: str, read: str | None) -> None:
    item = samples.item(METRES)
    assert isinstance(item, NumericItem)
    assert read_as(item, typed) == read


def test_the_reading_keeps_a_unit_written_first() -> None:
    item = samples.item(DOLLARS)
    assert isinstance(item, NumericItem)
    assert read_as(item, "$ 1332,5") == "$ 1332.5"


def test_a_comma_that_could_separate_thousands_or_decimals_is_asked_about_beside_a_unit_too() -> None:
    item = samples.item(METRES)
    with pytest.raises(ResponseError, match=r"write 1500 or 1\.500"):
        qtype_for(item).parse(item, generate(item, 0), {"answer": "1,500 m"})


@pytest.mark.parametrize("typed", [". m", ".e8 m", "m 1.25", "frog", "", None, True, "1" * 41 + " m"])
def test_a_response_without_a_number_where_the_number_goes_is_a_format_error(typed: Any) -> None:
    """answerprocessor_test: '. m', '.e8 m' and 'frog' read as no number (Moodle: "You must enter a
    valid number"); a format error blocks grading, it is not a wrong answer."""
    item = samples.item(METRES)
    with pytest.raises(ResponseError, match="enter a number"):
        qtype_for(item).parse(item, generate(item, 0), {"answer": typed})


# --- units graded: the unit penalty as a fraction of the response's credit --------------------------


@pytest.mark.parametrize(("typed", "fraction"), [
    ("1.25 m", 1.0),     # the base unit (multiplier 1): right
    ("125 cm", 1.0),     # another unit converts by its multiplier: 125 cm / 100 = 1.25 m
    ("1.25", 0.5),       # no unit: 1 − 0.5 × 1 ("the unit penalty will be applied if the unit field is empty")
    ("1.23 m", 0.5),     # the half-credit answer, unit right: 0.5
    ("123 cm", 0.5),     # the same through cm
    ("1.23", 0.25),      # the half-credit answer without a unit: 0.5 − 0.5 × 0.5
    ("2 m", 0.0),        # in no range: wrong
    ("2 cm", 0.0),
])
def test_moodle_grading_unit(typed: str, fraction: float) -> None:
    """question_test.php test_grading_unit; question.php apply_unit_penalty with
    UNITGRADEDOUTOFMARK ("as a fraction (0-1) of the response grade")."""
    assert _fraction(METRES, typed) == pytest.approx(fraction, abs=1e-12)


@pytest.mark.parametrize(("typed", "fraction"), [
    ("3.14 frogs", 0.8),       # an unknown unit is a wrong unit ("the wrong unit name is entered")
    ("3.14", 0.8),             # a missing unit
    ("3.14 m", 1.0),
    ("314cm", 1.0),
    ("3.14 cm", 0.8),          # right only as typed (3.14 cm is 0.0314 m): the unit is wrong
    ("314 m", 0.0),            # right in no unit
])
def test_moodle_grading_with_units_graded(typed: str, fraction: float) -> None:
    """question_test.php test_grading_with_units_graded; question.php get_matching_answer: a range
    matches the converted number (unit right) or else the number as typed (unit wrong)."""
    assert _fraction(PI, typed) == pytest.approx(fraction, abs=1e-12)


def test_a_wrong_unit_on_a_misconception_still_names_it() -> None:
    """get_matching_answer takes the first answer whose range holds the number, whatever its
    credit: 314.2 cm is 3.142 m, Moodle's "Too accurate." answer."""
    graded = _grade(PI, "314.2 cm")
    assert (graded.fraction, graded.misconception, graded.feedback) == (0.0, "too-accurate", ("Too accurate.",))


def test_the_penalty_says_what_it_took() -> None:
    assert _grade(PI, "3.14").feedback == ("The unit is missing or wrong: 20% of the mark is taken off.",)
    penalised = "The unit is missing or wrong: 25% of the mark is taken off."
    assert _grade(METRES, "1.23").feedback == ("Vaguely right.", penalised)
    assert _grade(PI, "3.14 m").feedback == ()


@pytest.mark.parametrize(("typed", "fraction"), [
    ("$1332", 1.0), ("$ 1332", 1.0), ("£1332", 1.0),
    ("frog 1332", 0.8),   # an unknown unit before the number
    ("1332", 0.8),        # no unit
    (" 1332", 0.8),
    ("$1", 0.0),
])
def test_moodle_grading_currency(typed: str, fraction: float) -> None:
    """question_test.php test_grading_currency: units that go on the left ("unitsleft")."""
    assert _fraction(DOLLARS, typed) == pytest.approx(fraction, abs=1e-12)


def test_a_number_then_a_left_unit_cannot_be_read() -> None:
    """test_grading_currency grades '1332 $' wrong: no number ends the response, which Moodle's
    validation refuses ("You must enter a valid number"); in Assay that is a format error."""
    item = samples.item(DOLLARS)
    with pytest.raises(ResponseError):
        qtype_for(item).parse(item, generate(item, 0), {"answer": "1332 $"})


def test_the_issues_nats_and_bits() -> None:
    """0.125 nats is 0.1803 bits (× 1/ln 2): both right; a bare number loses Moodle's default
    unit penalty of 0.1 (format/xml: unitpenalty defaults to 0.1)."""
    assert _fraction(NATS, "0.125 nats") == 1.0
    assert _fraction(NATS, "0.1803 bits") == 1.0
    assert _fraction(NATS, "0.125") == pytest.approx(0.9)
    assert _fraction(NATS, "0.125 bits") == pytest.approx(0.9)  # the number is in nats, the unit says bits


# --- units graded out of the question's mark; units optional ---------------------------------------


def test_the_penalty_as_a_fraction_of_the_question_grade() -> None:
    """question.php apply_unit_penalty with UNITGRADEDOUTOFMAX ("as a fraction (0-1) of the
    question grade"): the penalty is subtracted from the credit, never below 0."""
    of_question = METRES.replace("penalty: 0.5", "penalty: 0.2\n  penalty_of: question")
    assert _fraction(of_question, "1.25") == pytest.approx(0.8)
    assert _fraction(of_question, "1.23") == pytest.approx(0.3)       # 0.5 − 0.2
    heavy = METRES.replace("penalty: 0.5", "penalty: 0.6\n  penalty_of: question")
    assert _fraction(heavy, "1.23") == 0.0                             # max(0.5 − 0.6, 0)


@pytest.mark.parametrize(("typed", "fraction"), [
    ("3.14 frogs", 1.0), ("3.14", 1.0), ("3.14 m", 1.0), ("314cm", 1.0), ("314000000e-8m", 1.0),
])
def test_moodle_grading_with_units_optional(typed: str, fraction: float) -> None:
    """question_test.php test_grading_with_units (UNITOPTIONAL): "If a unit is entered, it is used
    to convert the response to Unit 1 before grading" (lang: manynumerical); without one, or with
    one it does not know, the number is graded as it is and nothing is lost."""
    optional = PI.replace("units: {graded: true, penalty: 0.2, ", "units: {")
    assert _fraction(optional, typed) == fraction


def test_without_units_a_typed_unit_is_a_format_error_as_before() -> None:
    """An item whose unit is only shown (no ``units``) reads a bare number, as it always has
    (Moodle's UNITNONE: "Do not include a unit in your response")."""
    item = samples.item(NATS.replace("units: {graded: true, multipliers: {bits: 1.4426950408889634}}\n", ""))
    assert isinstance(item, NumericItem) and item.units is None
    with pytest.raises(ResponseError, match=r"enter a number such as 0\.25, -3, 1/2 or 1\.5e-3"):
        qtype_for(item).parse(item, generate(item, 0), {"answer": "0.125 nats"})


# --- partial credit --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "fraction", "feedback"), [
    ("1822", 1.0, ()), ("1821", 0.5, ("He was born in 1822.",)), ("1824", 0.5, ("He was born in 1822.",)),
    ("1825", 0.0, ()),
])
def test_gift_partial_credit(typed: str, fraction: float, feedback: tuple[str, ...]) -> None:
    """GIFT's =%50%1822:2 (question/format/gift/examples.txt): a second answer worth half."""
    graded = _grade(GRANT, typed)
    assert (graded.fraction, graded.feedback) == (fraction, feedback)


# --- the item's own self-test, vectorised grading, and what authors may not write -------------------


@pytest.mark.parametrize("text", [METRES, PI, DOLLARS, NATS, GRANT])
def test_self_tests_cover_the_unit(text: str) -> None:
    item = samples.item(text)
    results = qtype_for(item).self_test(item, generate(item, 0))
    assert all(r.passed for r in results), [(r.case.label, r.outcome, r.detail) for r in results]
    graded = isinstance(item, NumericItem) and item.units is not None and item.units.graded
    assert [r.case.label for r in results][3:] == (["without its unit"] if graded else [])


@pytest.mark.parametrize("text", [METRES, PI, DOLLARS, NATS, GRANT])
def test_vectorised_grading_equals_one_by_one(text: str) -> None:
    item = samples.item(text)
    qtype = qtype_for(item)
    batch = generate_batch(item, range(3))
    shapes = ["{} m", "{}m", "{} cm", "{}", "{} frogs", "$ {}", "£{}", "{} nats", "{} bits", "junk", "{} "]
    numbers = ["1.25", "125", "1.23", "123", "3.14", "314", "3.142", "1332", "0.125", "0.1803", "1821", "9"]
    rng = np.random.default_rng(7)
    raw = [{"answer": str(rng.choice(shapes)).format(rng.choice(numbers))} for _ in range(300)]
    rows = rng.integers(0, len(batch), size=len(raw))
    result = grade_responses(batch, raw, rows)
    for n, (response, row) in enumerate(zip(raw, rows, strict=True)):
        variant = batch[int(row)]
        try:
            graded = qtype.grade(item, variant, qtype.parse(item, variant, response))
        except ResponseError:
            assert np.isnan(result.fraction[n])
            continue
        assert result.fraction[n] == graded.fraction, response
        assert result.misconception_name(n) == graded.misconception


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("unit: m\n", ""), "units need the unit of the answer"),
    (lambda t: t.replace("{cm: 100}", "{m: 1}"), "is the answer's own unit"),
    (lambda t: t.replace("{cm: 100}", "{2cm: 50}"), "may not start with a digit"),
    (lambda t: t.replace("{cm: 100}", "{e3: 50}"), "may not start with a digit, a point, a sign or an exponent"),
    (lambda t: t.replace("{cm: 100}", "{cm: 0}"), "a multiplier must be above 0"),
    (lambda t: t.replace("{cm: 100}", "{cm: 100, c m: 1}"), "listed twice"),
    (lambda t: t.replace("graded: true, ", ""), "applies only when units are graded"),
    (lambda t: t.replace("penalty: 0.2", "penalty: 1.5"), "less than or equal to 1"),
    (lambda t: t + "scoring: {method: all_or_nothing}\npartial_credit: [{fraction: 0.5}]\n",
     "partial credit cannot go with all-or-nothing scoring"),
    (lambda t: t + "partial_credit: [{fraction: 1}]\n", "less than 1"),
])
def test_what_cannot_be_read_or_graded_is_refused_where_it_is(change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        samples.item(change(PI))


def test_an_item_without_units_or_partial_credit_keeps_the_key_it_had() -> None:
    """Stored attempts rebuild their variants: an item that declares neither gets no new key arrays."""
    item: ItemBase = samples.item(samples.NUMERIC)
    assert set(generate(item, 0).key) == {"answer", "width", "misconception_values", "misconception_widths"}


def test_the_question_says_which_units_it_reads_and_never_the_answer() -> None:
    item = samples.item(METRES)
    shown = qtype_for(item).render(item, generate(item, 0))
    assert (shown["unit"], shown["units"], shown["unit_before"]) == ("m", ["m", "cm"], False)
    assert "1.25" not in str(shown)
