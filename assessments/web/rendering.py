"""The pages' name for :mod:`assessments.rendering` (author text to safe HTML with MathML), which
moved there so that the API's domains render with it too without importing the pages."""

from assessments.rendering import (
    MAX_FORMULAS,
    MAX_TEXT_CHARS,
    mathml,
    plain_text,
    render_inline,
    render_markdown,
)

__all__ = ["MAX_FORMULAS", "MAX_TEXT_CHARS", "mathml", "plain_text", "render_inline", "render_markdown"]
