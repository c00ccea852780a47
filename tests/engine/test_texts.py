"""Text templates: computed values in {{ }}, LaTeX left alone, formats checked at load."""

from __future__ import annotations

import numpy as np
import pytest

from engine.expressions import ExpressionError, as_batch
from engine.texts import format_value, parse_template, render


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
