"""Text templates: computed values in {{ }}, LaTeX left alone, formats checked at load."""

from __future__ import annotations

import numpy as np
import pytest

from engine.content.loader import ContentError, load_item_text
from engine.expressions import OPERATION_COST, ExpressionError, as_batch, work_budget
from engine.texts import FORMAT_COST, MAX_RENDERED_LENGTH, format_value, parse_template, render, render_rows


def test_fields_render_with_formats_and_latex_is_untouched() -> None:
    names = {"loss": as_batch([0.16824, 0.2014]), "k": as_batch(3.0)}
    text = r"$\mathcal{L} = {{ loss[0]:.3f }}$ over {{ k }} pairs; all: {{ loss:.2f }}"
    assert render(text, names) == r"$\mathcal{L} = 0.168$ over 3 pairs; all: 0.17, 0.20"


def test_default_format_prints_whole_numbers_and_six_figures() -> None:
    assert format_value(np.float64(3.0)) == "3"
    assert format_value(np.float64(0.1 * 3)) == "0.3"
    assert format_value(np.float64(2 / 3)) == "0.666667"
    assert format_value(np.bool_(1)) == "true"


def test_latex_groups_that_close_together_are_text() -> None:
    text = r"$D_{\mathrm{KL}}(p \| q) = {{ x:.2f }}$"
    assert render(text, {"x": as_batch(0.5)}) == r"$D_{\mathrm{KL}}(p \| q) = 0.50$"


def test_renders_one_row_of_a_batch() -> None:
    names = {"x": np.array([1.0, 2.0, 3.0])}
    assert [render("x = {{ x }}", names, row) for row in range(3)] == ["x = 1", "x = 2", "x = 3"]


def test_slices_inside_fields_keep_their_colons() -> None:
    assert render("{{ sum(x[1:3]):.1f }}", {"x": as_batch([1.0, 2.0, 3.0])}) == "5.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ x:.3q }}", "bad number format"),
        ("{{ x.real }}", "attribute access"),
        ("open {{ x", "no '}}' closes"),
        ("{{ }}", "empty expression"),
    ],
)
def test_bad_templates_are_refused_when_parsed(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_template(text)


# --- formats and filled-in texts are bounded (red team: unbounded format widths) -------------


@pytest.mark.parametrize(("text", "message"), [
    ("{{ arange(100000):>1000 }}", "the width is at most 50"),      # was a 100 MB attempt page
    ("{{ 1:.100000000f }}", "the precision is at most 20"),         # was 100 MB in 0.2 s
    ("{{ x:0000000000000000000000000000000000051 }}", "the width is at most 50"),
    ("{{ x:" + "9" * 5000 + " }}", "the width is at most 50"),      # never read as a number
])
def test_format_widths_and_precisions_are_bounded_when_parsed(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_template(text)


def test_the_largest_formats_render() -> None:
    text = render("{{ x:>+50,.20f }}|{{ x:^50.20e }}|{{ x:020.3% }}", {"x": as_batch(-1234.5)})
    assert text == f"{-1234.5:>+50,.20f}|{-1234.5:^50.20e}|{-1234.5:020.3%}"


def test_a_text_filled_in_past_its_length_stops_before_formatting_the_rest() -> None:
    names = {"big": as_batch(np.arange(100_000.0))}  # 590,000 characters once joined
    with work_budget() as budget, pytest.raises(ExpressionError, match=f"longer than {MAX_RENDERED_LENGTH:,}"):
        render("all of it: {{ big }}", names)
    formatted = (budget.used - 2 * OPERATION_COST) // FORMAT_COST
    assert formatted < MAX_RENDERED_LENGTH // 3  # "n, " at least three characters a number: not 100,000
    assert len(render("{{ big[0:3000] }}", names)) < MAX_RENDERED_LENGTH


def test_filling_in_a_text_is_bounded_by_its_own_budget() -> None:
    many = " ".join(["{{ sum(exp(arange(100000))) }}"] * 300)
    with pytest.raises(ExpressionError, match="for this text"):
        render(many, {})


def test_render_rows_fills_in_each_row_as_render_does() -> None:
    names = {"x": np.array([1.0, 2.5, -3.0]), "v": as_batch([1.0, 2.0])}
    text = "x = {{ x:.1f }}, v = {{ v }}"
    assert render_rows(text, names, range(3)) == [render(text, names, row) for row in range(3)]


def test_a_format_too_wide_is_refused_at_load_with_its_file_and_line() -> None:
    text = "id: wide\ntype: numeric\ntitle: t\nstem: s\nanswer: '1'\nsolution: 'all of {{ arange(100000):>1000 }}'"
    with pytest.raises(ContentError) as caught:
        load_item_text(text, "wide.yaml")
    expected = ("wide.yaml:6: solution: number format '>1000': the width is at most 50 in expression "
                "'{{ arange(100000):>1000 }}'")
    assert [str(p) for p in caught.value.problems] == [expected]
