"""The review's mathematics as MathJax typesets it (#15): function application after a function's
name, a leading minus as a prefix operator, the math font, and the plot's subscripts and labels."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import fromstring, tostring

import pytest

from assessments.interop.qti.markup_out import math_element
from assessments.rendering import render_inline
from assessments.web.plots import LABEL_FONT, Pair, place_labels, ranking_loss_plot
from engine.functions import ranking_loss

NS = "{http://www.w3.org/1998/Math/MathML}"
APPLY = "\u2061"
STYLESHEET = Path(__file__).resolve().parents[2] / "assessments/web/static/assay.css"


def _row(latex: str) -> list[tuple[str, str, dict[str, str]]]:
    """The formula's top row as the page gets it (after the sanitiser): (tag, text, attributes)."""
    html = str(render_inline(f"${latex}$"))
    math = fromstring(html)
    (row,) = list(math)
    return [(child.tag.removeprefix(NS), (child.text or "").strip(), dict(child.attrib)) for child in row]


def test_log_sigma_gets_function_application_and_a_thin_space() -> None:
    # MathJax: <mi>log</mi><mo>&#x2061;</mo><mi>σ</mi>...; the space after log is TeX's thin space
    row = _row(r"\log \sigma(x)")
    assert [(tag, text) for tag, text, _ in row] == [
        ("mi", "log"), ("mo", APPLY), ("mi", "σ"), ("mo", APPLY), ("mo", "("), ("mi", "x"), ("mo", ")")]
    assert row[1][2] == {"lspace": "0em", "rspace": "0.1667em"}
    assert row[3][2] == {}, "no space between σ and its parenthesis"


def test_exp_of_a_parenthesis_gets_function_application_without_space() -> None:
    row = _row(r"\exp(x)")
    assert [(tag, text) for tag, text, _ in row] == [("mi", "exp"), ("mo", APPLY), ("mo", "("), ("mi", "x"),
                                                     ("mo", ")")]
    assert row[1][2] == {}


@pytest.mark.parametrize("latex", [r"\max(a, b)", r"\operatorname{softmax}(z)", r"\max_i x_i", r"\sin x"])
def test_named_operators_are_applied(latex: str) -> None:
    assert [text for _, text, _ in _row(latex)][1] == APPLY


@pytest.mark.parametrize("latex", [r"\log = 2", "f(x)", r"x \log"])
def test_no_function_application_where_mathjax_puts_none(latex: str) -> None:
    assert APPLY not in str(render_inline(f"${latex}$"))


def test_a_leading_minus_is_a_prefix_operator() -> None:
    row = _row("-1.4")
    assert row == [("mo", "−", {"form": "prefix", "lspace": "0em", "rspace": "0em"}), ("mn", "1.4", {})]


@pytest.mark.parametrize(("latex", "at"), [("x = -1", 2), (r"\sigma(-x)", 3), (r"-\log \sigma(x)", 0)])
def test_a_minus_after_an_operator_or_a_parenthesis_is_prefix(latex: str, at: int) -> None:
    tag, text, attributes = _row(latex)[at]
    assert (tag, text, attributes.get("form")) == ("mo", "−", "prefix")


@pytest.mark.parametrize("latex", ["a - b", "(a) - b", "r_w - r_l"])
def test_a_binary_minus_is_unchanged(latex: str) -> None:
    minus = [attributes for tag, text, attributes in _row(latex) if text == "−"]
    assert minus == [{}]


def test_qti_export_gets_the_same_fixes() -> None:
    math = tostring(math_element(r"-\log \sigma(x)", display=False), encoding="unicode")  # type: ignore[arg-type]
    assert '<mo form="prefix" lspace="0em" rspace="0em">−</mo><mi>log</mi>' in math
    assert f'<mo lspace="0em" rspace="0.1667em">{APPLY}</mo><mi>σ</mi><mo>{APPLY}</mo>' in math


def test_math_is_set_in_the_text_font() -> None:
    css = STYLESHEET.read_text()
    rule = re.search(r"^math \{ font-family: ([^;]+);", css, re.MULTILINE)
    assert rule is not None
    body = re.search(r"font: 16px/1.55 ([^;]+);", css)
    assert body is not None
    assert rule.group(1).startswith(body.group(1).removesuffix(", sans-serif"))
    assert rule.group(1).endswith('"STIX Two Math", "Latin Modern Math", math')


def _pairs(*deltas: float) -> list[Pair]:
    return [Pair(n, d, float(ranking_loss(d, 0.0))) for n, d in enumerate(deltas, start=1)]


def _labels(svg: str) -> dict[str, tuple[float, float]]:
    return {m.group(3): (float(m.group(1)), float(m.group(2)))
            for m in re.finditer(r'<circle[^>]*/><text x="([\d.]+)" y="([\d.]+)"[^>]*>(\d+)</text>', svg)}


def test_the_axis_label_has_subscripts() -> None:
    svg = str(ranking_loss_plot(_pairs(1.0), key=True))
    assert ('Δ = r<tspan class="sub" dy="3" font-size="8">w</tspan><tspan dy="-3"> − r</tspan>'
            '<tspan class="sub" dy="3" font-size="8">l</tspan></text>') in svg
    assert "r_w" not in svg.split('aria-label="')[1].split('"', 1)[1], "no underscore drawn"


@pytest.mark.parametrize("key", [True, False])
def test_labels_of_nearly_equal_pairs_do_not_overlap(key: bool) -> None:
    svg = str(ranking_loss_plot(_pairs(1.0, 1.02, -2.5), key=key))
    labels = _labels(svg)
    assert set(labels) == {"1", "2", "3"}
    (x1, y1), (x2, y2) = labels["1"], labels["2"]
    assert max(abs(x1 - x2), abs(y1 - y2)) >= LABEL_FONT


def test_labels_of_points_apart_stay_where_they_were() -> None:
    labels = _labels(str(ranking_loss_plot(_pairs(-2.0, 2.0), key=True)))
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', str(ranking_loss_plot(_pairs(-2.0, 2.0), key=True)))
    for (cx, cy), number in zip(circles, ("1", "2"), strict=True):
        assert labels[number] == (round(float(cx) + 7, 1), round(float(cy) - 7, 1))


def test_many_close_labels_are_all_clear() -> None:
    points = [(100.0 + n, 50.0, str(n + 1)) for n in range(4)]
    for on_axis in (True, False):
        placed = place_labels(points, on_axis=on_axis)
        assert all(a.clear_of(b) for i, a in enumerate(placed) for b in placed[i + 1:])
