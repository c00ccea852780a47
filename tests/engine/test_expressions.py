"""The expression language: batch semantics, the function library, and hostile input refused."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from engine.expressions import (
    MAX_LENGTH,
    ExpressionError,
    as_batch,
    compile_expression,
    evaluate,
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
