"""The expression language: batch semantics, the function library, and hostile input refused."""

from __future__ import annotations

import math
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from engine.expressions import (
    MAX_LENGTH,
    NUMBER_COST,
    OPERATION_COST,
    ExpressionError,
    as_batch,
    compile_expression,
    evaluate,
    work_budget,
)


def batched(**values: object) -> dict[str, np.ndarray]:
    """Names for one variant (a batch of one)."""
    return {k: as_batch(v) for k, v in values.items()}


def value(source: str, **names: object) -> object:
    result = evaluate(source, batched(**names))
    return result[0].tolist()


# --- what the language does ---------------------------------------------------------------


def test_arithmetic_follows_python_precedence() -> None:
    assert value("1 + 2 * 3 ** 2 / 6 - 4 // 3 % 2") == 1 + 2 * 3**2 / 6 - 4 // 3 % 2


def test_vectors_are_elementwise_and_reductions_are_per_variant() -> None:
    names = {"r_w": [1.0, -2.0, 0.5], "r_l": [0.0, 1.0, 0.5]}
    assert value("r_w - r_l", **names) == [1.0, -3.0, 0.0]
    assert value("any(r_w <= r_l)", **names) is True
    assert value("all(abs(r_w - r_l) >= 0.2)", **names) is False
    assert value("sum(r_w) / len(r_w)", **names) == pytest.approx(-0.5 / 3)
    assert value("count(r_w > 0)", **names) == 2.0


def test_indexing_slicing_and_lists() -> None:
    assert value("x[i]", x=[10.0, 20.0, 30.0], i=1) == 20.0
    assert value("x[-1]", x=[10.0, 20.0, 30.0]) == 30.0
    assert value("x[1:3]", x=[10.0, 20.0, 30.0]) == [20.0, 30.0]
    assert value("[a, b, a + b]", a=1.0, b=2.0) == [1.0, 2.0, 3.0]
    assert value("sort([3, 1, 2])[0]") == 1.0


def test_conditions_chain_and_combine() -> None:
    assert value("0 < x < 1", x=0.5) is True
    assert value("0 < x < 1", x=1.5) is False
    assert value("x > 0 and not y", x=1.0, y=False) is True
    assert value("true and not false") is True
    assert value("a if a > b else b", a=2.0, b=5.0) == 5.0
    assert value("min(a, b, 0)", a=2.0, b=-1.0) == -1.0
    assert value("max(v)", v=[1.0, 7.0, 3.0]) == 7.0


def test_library_functions_with_keywords() -> None:
    # the course's Model A: −log σ(3.2 − 1.5) = log(1 + e^−1.7) = 0.16779 (reads 0.168)
    assert value("ranking_loss(r_w, r_l)", r_w=3.2, r_l=1.5) == pytest.approx(0.167786, abs=1e-6)
    assert value("ranking_loss(0, 0)") == pytest.approx(math.log(2))
    assert value("ranking_loss(1, 0, margin=1)") == pytest.approx(math.log(2))
    assert value('kl_estimator(a, b, kind="k2")', a=-1.0, b=-2.0) == pytest.approx(0.5)
    assert value("softmax(z)[0]", z=[0.0, 0.0]) == pytest.approx(0.5)


def test_batch_of_variants_evaluates_each_variant() -> None:
    names = {
        "r_w": np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 3.0]]),  # three variants of a vector
        "m": np.array([0.0, 1.0, 2.0]),  # a scalar per variant
    }
    assert evaluate("r_w + m", names).tolist() == [[1.0, 2.0], [1.0, 0.0], [5.0, 5.0]]
    assert evaluate("sum(r_w)", names).tolist() == [3.0, -1.0, 6.0]
    per_variant_index = {"x": names["r_w"], "k": np.array([1.0, 0.0, 1.0])}
    assert evaluate("x[k]", per_variant_index).tolist() == [2.0, 0.0, 3.0]


def test_per_variant_temperature_divides_each_variants_logits() -> None:
    names = {"z": np.array([[2.0, 0.0], [2.0, 0.0]]), "t": np.array([1.0, 1e6])}
    probs = evaluate("softmax(z, temperature=t)", names)
    assert probs[0, 0] == pytest.approx(1 / (1 + math.exp(-2)))
    assert probs[1, 0] == pytest.approx(0.5, abs=1e-5)


def test_expression_reports_names_and_functions() -> None:
    expr = compile_expression("ranking_loss(r_w, r_l) > tie")
    assert expr.names == {"r_w", "r_l", "tie"}
    assert expr.functions == {"ranking_loss"}


# --- what it refuses, before anything runs -------------------------------------------------

HOSTILE = {
    "().__class__.__bases__[0].__subclasses__()": "attribute access",
    "x.real": "attribute access",
    "__import__('os').system('touch pwned')": "attribute access",
    "__import__('os')": "names starting with '_'",
    "lambda: 1": "lambdas",
    "[y for y in x]": "comprehensions",
    "{y for y in x}": "comprehensions",
    "(y for y in x)": "comprehensions",
    "import os": "not a valid expression",
    "x = 1": "not a valid expression",
    "(y := 1)": "assignment",
    "f'{x}'": "f-strings",
    "{'a': 1}": "dictionaries",
    "open('/etc/passwd')": "unknown function 'open'",
    "eval('1')": "unknown function 'eval'",
    "getattr(x, 'real')": "unknown function 'getattr'",
    "exec": "unknown name",
    "'a' * 1000": "strings are only allowed as function arguments",
    "sum(*x)": "star arguments",
    "ranking_loss(**x)": "** arguments",
    "x | y": "bitwise",
    "x @ y": "matrix multiplication",
    "x in y": "'in' is not allowed",
    "1e400": "number literal too large",
    "10**16 + 99999999999999999": "number literal too large",
    "x; y": "not a valid expression",
}


@pytest.mark.parametrize(("source", "reason"), HOSTILE.items())
def test_hostile_expressions_are_refused(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(reason)):
        evaluate(source, batched(x=[1.0, 2.0], y=[3.0, 4.0]))


def test_refused_code_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for source in ("__import__('os').system('touch pwned')", "().__class__", "open('pwned', 'w')"):
        with pytest.raises(ExpressionError):
            evaluate(source, {})
    assert not (tmp_path / "pwned").exists()


def test_huge_exponent_is_refused_not_computed() -> None:
    with pytest.raises(ExpressionError, match="exponent too large"):
        evaluate("9**9**9", {})
    with pytest.raises(ExpressionError, match="exponent too large"):
        evaluate("2 ** x", batched(x=[1.0, 5000.0]))


def test_over_long_and_over_nested_input_is_refused() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        compile_expression("1 + " * MAX_LENGTH + "1")
    with pytest.raises(ExpressionError, match=r"nested too deeply|too complex|not a valid"):
        compile_expression("(" * 300 + "1" + ")" * 300)
    with pytest.raises(ExpressionError, match="too complex"):
        compile_expression("+".join(["x"] * 500))


def test_unknown_names_and_bad_indices_say_where() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'nope'"):
        evaluate("nope + 1", {})
    with pytest.raises(ExpressionError, match="index out of range") as caught:
        evaluate("x[5]", batched(x=[1.0, 2.0]))
    assert caught.value.column == 0
    with pytest.raises(ExpressionError, match="whole number"):
        evaluate("x[0.5]", batched(x=[1.0, 2.0]))
    with pytest.raises(ExpressionError, match="column 5"):
        compile_expression("1 + x.y")


def test_axis_cannot_be_chosen_by_authors() -> None:
    with pytest.raises(ExpressionError, match="'axis' cannot be given"):
        evaluate("softmax(z, axis=0)", batched(z=[1.0, 2.0]))


def test_library_argument_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="kl_estimator"):
        evaluate('kl_estimator(a, b, kind="k9")', batched(a=0.0, b=0.0))
    with pytest.raises(ExpressionError, match="ranking_loss"):
        evaluate("ranking_loss(1)", {})


def test_shapes_that_do_not_match_say_so() -> None:
    with pytest.raises(ExpressionError, match="do not match"):
        evaluate("x + y", batched(x=[1.0, 2.0], y=[1.0, 2.0, 3.0]))


@pytest.mark.parametrize(("source", "count"), [
    ("exp(x, x)", "takes 1 number, not 2"),        # numpy's out: would overwrite the variant's x
    ("sqrt(x, x)", "takes 1 number, not 2"),
    ("clip(x, 0, 1, x)", "takes 3 numbers, not 4"),
    ("maximum(x)", "takes 2 numbers, not 1"),
    ("isclose(x, x, 0, 0, x)", "takes 2 to 4 numbers, not 5"),
])
def test_functions_take_their_own_number_of_arguments_and_never_write_into_a_value(source: str, count: str) -> None:
    names = batched(x=[0.5, 2.0])
    before = names["x"].copy()
    with pytest.raises(ExpressionError, match=count):
        evaluate(source, names)
    assert np.array_equal(names["x"], before)


def test_functions_with_their_arguments_still_answer() -> None:
    assert value("clip(x, 0, 1)", x=2.0) == pytest.approx(1.0)
    assert value("isclose(x, 1.0)", x=1.0)
    assert value("isclose(x, 1.1, 0.5, 0)", x=1.0)
    assert value("maximum(x, 3)", x=2.0) == pytest.approx(3.0)


# --- work is bounded before it is done (red team: work bombs inside allowed expressions) ---


def _peak_bytes(source: str) -> int:
    """The most memory Python and numpy held while ``source`` was refused."""
    tracemalloc.start()
    try:
        with pytest.raises(ExpressionError):
            evaluate(source, batched(x=[1.0, 2.0]))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("source", "bomb"), [
    ("kwise_ranking_loss(arange(8000))", "32 million pairs: 4 s and 2.2 GB"),
    ("softmax(arange(10000), arange(1, 10001))", "one temperature per row: 10,000 × 10,000 logits"),
    ("arange(2e8)", "1.6 GB of float64"),
    ("sum([" + ", ".join(f"[{n}]" for n in range(40)) + "] * arange(100000))", "40 × 100,000 broadcast: 32 MB"),
    ("gae(arange(5000), arange(5000))", "5,000 steps of a Python loop"),
])
def test_work_bombs_are_refused_before_numpy_allocates(source: str, bomb: str) -> None:
    assert _peak_bytes(source) < 2_000_000, bomb  # the operands: a vector of 100,000 is 0.8 MB


@pytest.mark.parametrize(("source", "message"), [
    ("kwise_ranking_loss(arange(65))", "at most 64 numbers, not 65"),
    ("gae(arange(1001), arange(1001))", "at most 1000 numbers, not 1001"),
    ("softmax(arange(400), arange(1, 401))", "a value would hold 160000 numbers"),
    ("arange(100001)", "a value would hold 100001 numbers"),
    ("arange(0, 1e15, 1e9)", "a value would hold 1000000 numbers"),
    ("arange(1e16)", "number literal too large"),
    ("arange(10 ** 15 * 10)", "arange's bounds must lie within"),
    ("arange(0, 5, 0)", "step cannot be zero"),
])
def test_sizes_are_worked_out_from_the_operands(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        evaluate(source, {})


def test_allowed_sizes_still_evaluate() -> None:
    assert value("kwise_ranking_loss(arange(64))") == pytest.approx(
        float(np.mean([math.log1p(math.exp(j - i)) for i in range(64) for j in range(i + 1, 64)])))
    assert value("len(arange(0, 10, 3))") == 4.0
    assert value("len(arange(10, 0, -4))") == 3.0
    assert value("len(arange(5, 1))") == 0.0
    assert value("sum(softmax(arange(300), arange(1, 301)))") == pytest.approx(300.0)


@pytest.mark.parametrize(("source", "message"), [
    ("round(x, 1e10)", "round's ndigits must lie between -15 and 15"),  # was an OverflowError
    ("arange(1e15)", "a value would hold 1000000000000000 numbers"),    # was a MemoryError
    ("round(x, 16)", "round's ndigits must lie between -15 and 15"),    # was nan for 400
    ('sum("a")', "sum() takes numbers, not text"),                       # was an AttributeError
    ('max(x, "b")', "max() takes numbers, not text"),
])
def test_evaluation_errors_are_expression_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        evaluate(source, batched(x=[1.25, 2.5]))
    assert value("round(x, 1)", x=1.25) == 1.2
    assert value("round(x, -15)", x=1.25) == 0.0


def test_one_budget_counts_every_operation_of_an_evaluation() -> None:
    with work_budget() as budget:
        evaluate("x + 1", batched(x=[1.0, 2.0, 3.0]))
    assert budget.used == OPERATION_COST + NUMBER_COST * 3  # a deterministic count: the same everywhere
    with work_budget(limit=OPERATION_COST * 3) as small, pytest.raises(ExpressionError, match="too much computation"):
        evaluate("x + x + x + x", batched(x=[1.0]))  # three operations within, the fourth past it
    assert small.used <= OPERATION_COST * 4 + NUMBER_COST * 4


def test_a_nested_budget_cannot_grant_more_than_its_caller() -> None:
    with work_budget(limit=50_000) as outer, work_budget(limit=10**12) as inner:
        for _ in range(2):
            evaluate("x * 2", batched(x=[1.0]))
        with pytest.raises(ExpressionError, match="more than 50,000 work units"):
            evaluate("x * 2", batched(x=[1.0]))  # the third: past the outer budget, whatever the inner
    assert inner.used == outer.used > outer.limit
    with work_budget(limit=10**12) as roomy, work_budget(limit=30_000, what="this text") as text, \
            pytest.raises(ExpressionError, match="for this text"):
        evaluate("x * 2 * 2", batched(x=[1.0]))
    assert roomy.used == text.used


def test_an_evaluation_outside_any_budget_has_one_of_its_own() -> None:
    source = " + ".join(["sum(exp(arange(100000)))"] * 30)  # 30 times the largest value: allowed
    assert evaluate(source, {}).shape == (1,)
    many = " + ".join(["sum(gae(arange(1000), arange(1000)))"] * 10)  # 10 × 1,000 steps × STEP_COST
    with pytest.raises(ExpressionError, match="too much computation"):
        evaluate(many, {})
