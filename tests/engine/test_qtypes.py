"""Question types: render without the key, parse strictly, grade with computed feedback."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.items import Tolerance
from engine.qtypes import ManualGradingRequired, ResponseError, grade_rubric, qtype_for
from engine.qtypes.numeric import half_width, parse_number
from engine.qtypes.ordering import score_orders
from engine.variants import generate
from tests.engine import samples

ALL = [samples.SEED, samples.NUMERIC, samples.SINGLE, samples.TRUE_FALSE, samples.ORDERING,
       samples.MATCHING, samples.SHORT, samples.ESSAY]


def grade(text: str, seed: int, raw: dict[str, object]):  # type: ignore[no-untyped-def]
    item = samples.item(text)
    variant = generate(item, seed)
    qtype = qtype_for(item)
    return qtype.grade(item, variant, qtype.parse(item, variant, raw))


@pytest.mark.parametrize("text", ALL)
def test_rendered_question_never_carries_the_key(text: str) -> None:
    item = samples.item(text)
    qtype = qtype_for(item)
    for seed in range(20):
        variant = generate(item, seed)
        shown = json.dumps(qtype.render(item, variant))
        for word in ("correct", "key", "fraction", "misconception", "feedback", "rank", "points"):
            assert f'"{word}' not in shown
        if item.type_name == "numeric":
            answer = float(variant.key["answer"][0])
            assert f"{answer:.3f}" not in shown and repr(answer) not in shown


@pytest.mark.parametrize("text", ALL)
def test_self_tests_pass_for_many_variants(text: str) -> None:
    item = samples.item(text)
    qtype = qtype_for(item)
    for seed in range(30):
        results = qtype.self_test(item, generate(item, seed))
        assert [r.case.label for r in results] == ["right", "wrong", "invalid"]
        assert all(r.passed for r in results), [(r.case.label, r.outcome, r.detail) for r in results]


# --- multiple response: the seed item ------------------------------------------------------


def test_seed_item_key_is_computed_from_the_ranking_loss() -> None:
    item = samples.item(samples.SEED)
    for seed in range(50):
        variant = generate(item, seed)
        r_w, r_l = np.array(variant.value("r_w")), np.array(variant.value("r_l"))
        # a pair costs more than a tie (log 2) exactly when the preferred score is not higher
        np.testing.assert_array_equal(variant.key["correct"][0], r_w <= r_l)


def test_multiple_response_partial_credit_is_moodles() -> None:
    item = samples.item(samples.SEED)
    variant = generate(item, 3)
    qtype = qtype_for(item)
    assert variant.order is not None
    correct = variant.key["correct"][0]
    right = [p for p, k in enumerate(variant.order) if correct[k]]
    wrong = [p for p, k in enumerate(variant.order) if not correct[k]]
    n_right, n_wrong = len(right), len(wrong)
    g = qtype.grade(item, variant, qtype.parse(item, variant, {"choices": right[:1]}))
    assert g.fraction == pytest.approx(1 / n_right)
    g = qtype.grade(item, variant, qtype.parse(item, variant, {"choices": right + wrong[:1]}))
    assert g.fraction == pytest.approx(max(0.0, 1 - 1 / n_wrong))
    g = qtype.grade(item, variant, qtype.parse(item, variant, {"choices": wrong}))
    assert g.fraction == 0.0


def test_multiple_response_feedback_shows_each_selected_options_loss() -> None:
    item = samples.item(samples.SEED)
    variant = generate(item, 3)
    qtype = qtype_for(item)
    g = qtype.grade(item, variant, qtype.parse(item, variant, {"choices": [0]}))
    assert variant.order is not None
    k = variant.order[0]
    loss = float(variant.values["loss"][0, k])
    assert g.feedback == (f"loss {loss:.3f}",)


def test_multiple_response_matches_a_misconception_exactly() -> None:
    item = samples.item(samples.SEED)
    qtype = qtype_for(item)
    for seed in range(30):
        variant = generate(item, seed)
        assert variant.order is not None
        r_w = np.array(variant.value("r_w"))
        believer = [p for p, k in enumerate(variant.order) if r_w[k] <= 0]
        if not believer:
            continue
        g = qtype.grade(item, variant, qtype.parse(item, variant, {"choices": believer}))
        assert g.misconception == "absolute-scores"
        assert g.fraction < 1


@pytest.mark.parametrize("raw", [{}, {"choices": []}, {"choices": [9]}, {"choices": [0, 0]},
                                 {"choices": ["a"]}, {"choices": [True]}, {"choices": "0"}])
def test_multiple_response_format_errors(raw: dict[str, object]) -> None:
    item = samples.item(samples.SEED)
    with pytest.raises(ResponseError):
        qtype_for(item).parse(item, generate(item, 0), raw)


# --- single choice -------------------------------------------------------------------------


def test_single_choice_negative_marking_and_misconception() -> None:
    item = samples.item(samples.SINGLE)
    variant = generate(item, 4)
    qtype = qtype_for(item)
    assert variant.order is not None
    tie = variant.order.index(2)
    g = qtype.grade(item, variant, qtype.parse(item, variant, {"choice": tie}))
    assert g.fraction == -0.5
    assert g.misconception == "order-only"
    right = qtype.correct_response(item, variant)
    assert qtype.grade(item, variant, qtype.parse(item, variant, right)).fraction == 1.0


# --- numeric -------------------------------------------------------------------------------


def test_numeric_tolerances() -> None:
    log2 = math.log(2)
    # sigfigs: half a unit in the third significant figure of 0.693147 is 0.0005
    width = float(half_width(Tolerance(sigfigs=3), np.array([log2]))[0])
    assert abs(0.693 - log2) <= width and abs(0.6925 - log2) > width
    assert abs(0.69 - log2) > width
    assert float(half_width(Tolerance(relative=0.01), np.array([-200.0]))[0]) == pytest.approx(2.0)
    assert float(half_width(Tolerance(absolute=0.05), np.array([7.0]))[0]) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("0.693", 0.693), (" -3 ", -3.0), ("1.5e-3", 0.0015), ("\u22122.5", -2.5), (".5", 0.5), (4, 4.0),
     ("0,5", 0.5), ("1/2", 0.5), ("+2", 2.0), ("1,234.5", 1234.5)],
)
def test_numbers_parse(typed: object, value: float) -> None:
    assert parse_number(typed) == value


@pytest.mark.parametrize("typed", ["about a half", "1/0", "1,500", "nan", "inf", "", None, True,
                                   "1" * 50, float("nan")])
def test_non_numbers_are_format_errors(typed: object) -> None:
    with pytest.raises(ResponseError):
        parse_number(typed)


def test_numeric_grades_and_names_misconceptions() -> None:
    item = samples.item(samples.NUMERIC)
    qtype = qtype_for(item)
    for seed in range(20):
        variant = generate(item, seed)
        r_w, r_l = variant.value("r_w"), variant.value("r_l")
        loss = math.log1p(math.exp(-(r_w - r_l)))  # −log σ(Δ), written out
        assert grade(samples.NUMERIC, seed, {"answer": f"{loss:.3g}"}).fraction == 1.0
        forgot = 1 - 1 / (1 + math.exp(-(r_w - r_l)))
        g = qtype.grade(item, variant, forgot)
        assert (g.fraction, g.misconception) == (0.0, "forgot-the-log")
        assert g.feedback == ("forgot the log",)


# --- true/false, ordering, matching, short text, essay -------------------------------------


def test_true_false_misconception_may_name_a_fixed_answer() -> None:
    item = samples.item(samples.TRUE_FALSE.replace("answer: r_w <= 0}", "answer: false}")
                        .replace("(r_w <= 0) != (r_w < r_l)", "r_w < r_l"))
    variant = generate(item, 1)
    wrong = qtype_for(item).grade(item, variant, response=False)
    assert (wrong.fraction, wrong.misconception) == (0.0, "absolute-scores")


def test_true_false_key_and_misconception() -> None:
    item = samples.item(samples.TRUE_FALSE)
    qtype = qtype_for(item)
    for seed in range(20):
        variant = generate(item, seed)
        key = variant.value("r_w") < variant.value("r_l")
        assert qtype.grade(item, variant, key).fraction == 1.0
        wrong = qtype.grade(item, variant, not key)
        assert wrong.fraction == 0.0 and wrong.misconception == "absolute-scores"


def test_ordering_scoring_methods_by_hand() -> None:
    right = np.array([[0, 1, 2, 3]])
    placed = np.array([[1, 0, 2, 3]])  # first two swapped
    assert score_orders("all_or_nothing", placed, right)[0] == 0.0
    assert score_orders("absolute_position", placed, right)[0] == 0.5
    # neighbours (1,0) no, (0,2) no, (2,3) yes
    assert score_orders("adjacent_pairs", placed, right)[0] == pytest.approx(1 / 3)
    # offsets 1,1,0,0 -> (3-1)+(3-1)+3+3 = 10 of 12
    assert score_orders("relative_to_correct", placed, right)[0] == pytest.approx(10 / 12)


def test_ordering_item_key_sorts_by_computed_loss() -> None:
    item = samples.item(samples.ORDERING)
    for seed in range(20):
        variant = generate(item, seed)
        d = np.array(variant.value("d"))
        np.testing.assert_array_equal(variant.key["sequence"][0], np.argsort(-d))
        g = grade(samples.ORDERING, seed, qtype_for(item).correct_response(item, variant))
        assert g.fraction == 1.0


def test_matching_names_the_misconception_of_a_chosen_distractor() -> None:
    item = samples.item(samples.MATCHING)
    variant = generate(item, 2)
    qtype = qtype_for(item)
    assert variant.order is not None
    right = qtype.correct_response(item, variant)["matches"]
    squares = variant.order.index(4)  # authored pool: 3 answers, "1", then the squared one
    g = qtype.grade(item, variant, (right[0], right[1], squares))
    assert g.fraction == pytest.approx(2 / 3)
    assert g.misconception == "squares-not-logs"


def test_matching_partial_credit() -> None:
    item = samples.item(samples.MATCHING)
    variant = generate(item, 2)
    qtype = qtype_for(item)
    right = qtype.correct_response(item, variant)["matches"]
    assert qtype.grade(item, variant, tuple(right)).fraction == 1.0
    one_swapped = [right[1], right[0], right[2]]
    assert qtype.grade(item, variant, tuple(one_swapped)).fraction == pytest.approx(1 / 3)
    shown = qtype.render(item, variant)
    assert sorted(a["text"] for a in shown["answers"]) == ["-0.6931", "0.2500", "0.5", "0.6931", "1"]


@pytest.mark.parametrize(
    ("typed", "fraction", "misconception"),
    [("Bradley-Terry", 1.0, None), ("  bradley   TERRY ", 1.0, None), ("Plackett-Luce", 0.5, None),
     ("softmax", 0.0, "function-not-model"), ("logistic", 0.0, None)],
)
def test_short_text_patterns(typed: str, fraction: float, misconception: str | None) -> None:
    g = grade(samples.SHORT, 0, {"answer": typed})
    assert (g.fraction, g.misconception) == (fraction, misconception)


def test_essay_is_graded_by_rubric_only() -> None:
    item = samples.item(samples.ESSAY)
    variant = generate(item, 0)
    qtype = qtype_for(item)
    text = qtype.parse(item, variant, {"text": "the policy exploits proxy errors"})
    with pytest.raises(ManualGradingRequired):
        qtype.grade(item, variant, text)
    assert grade_rubric(item, {"mechanism": 1, "safeguard": 1}).fraction == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="choose a level for criterion 'safeguard'"):
        grade_rubric(item, {"mechanism": 2})
    with pytest.raises(ValueError, match="levels 0 to 1"):
        grade_rubric(item, {"mechanism": 2, "safeguard": 5})
    with pytest.raises(ResponseError, match="at least 3 words"):
        qtype.parse(item, variant, {"text": "too short"})
