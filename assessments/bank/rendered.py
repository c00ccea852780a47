"""Item texts as HTML for API clients, beside their source, so that a client need not render
Markdown or LaTeX: stems and solutions as Markdown blocks, options, prompts, feedback and
misconceptions' words as inline Markdown, LaTeX as MathML, all sanitised
(:mod:`assessments.rendering`, the renderer the pages use).

The rendered texts keep the shape of what they render (the definition, or a preview's question),
holding only the text fields (and the ``id`` of a thing with texts, to line it up with its source):
``{"stem": "<p>...</p>", "options": [{"id": 0, "text": "..."}]}``. A stored definition is
rendered as written (a computed item's ``{{ placeholders }}`` stay; a preview fills them in for
its seed).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assessments.rendering import render_inline, render_markdown

BLOCK_TEXTS = frozenset({"stem", "solution"})
"""Texts that are Markdown blocks (paragraphs, lists, display math)."""
INLINE_TEXTS = frozenset({"text", "feedback", "prompt", "says", "feedback_true", "feedback_false", "label"})
"""Texts that are one line (an option, a prompt, a feedback sentence)."""
NOT_TEXT = frozenset({"params", "compute", "constraints", "answer", "tolerance", "scoring", "tags", "concepts",
                      "related", "selects", "value", "correct", "match", "id", "type"})
"""Fields that hold expressions or data, never words to show."""


def rendered_texts(value: Any, key: str | None = None) -> Any:
    """The text fields of ``value`` as HTML, in its shape; None where it holds none."""
    if isinstance(value, str):
        if key in BLOCK_TEXTS:
            return str(render_markdown(value))
        return str(render_inline(value)) if key in INLINE_TEXTS else None
    if isinstance(value, dict):
        found = {k: r for k, v in value.items()
                 if str(k) not in NOT_TEXT and (r := rendered_texts(v, str(k))) is not None}
        if found and isinstance(value.get("id"), int | str):
            found = {"id": value["id"], **found}  # what lines a rendered option up with its source
        return found or None
    if isinstance(value, list):
        items = [rendered_texts(v, key) for v in value]
        return items if any(i is not None for i in items) else None
    return None


class RenderedPreview(BaseModel):
    """A preview's texts as HTML with MathML."""

    question: dict[str, Any] = Field(description="the question's texts (stem, options, prompts, answers) as HTML, "
                                                 "in the question's shape")
    key_feedback: list[str]
    solution: str | None


def rendered_preview(question: dict[str, Any], key_feedback: list[str], solution: str | None) -> RenderedPreview:
    return RenderedPreview(question=rendered_texts(question) or {},
                           key_feedback=[str(render_markdown(text)) for text in key_feedback],
                           solution=str(render_markdown(solution)) if solution else None)


__all__ = ["RenderedPreview", "rendered_preview", "rendered_texts"]
