"""Small server-drawn SVG charts: no script, no CDN, readable without colour.

The review page's ranking-loss plot follows the review policy as the question's view holds it
(:mod:`assessments.attempts.review` decided that view): the curve −log σ(Δ) and the tie's log 2
are the stem's own function, and each of the student's pairs, at its Δ = r_w − r_l, is their own
numbers, shown with feedback. Where a pair lands on the curve (its loss, and so whether it costs
more than a tie) is the key of a "which pairs are penalised" item, and a mean of the losses is
the key of a numeric one: those show only with the right answer. Pairs are numbered as the
student saw them: by the display position of their option.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

from assessments.attempts.schemas import QuestionView
from engine.functions import ranking_loss
from engine.items import ItemBase
from engine.variants import Variant

TIE = math.log(2)
"""A tie's loss, −log σ(0): the dashed line."""


@dataclass(frozen=True)
class Frame:
    width: int = 360
    height: int = 220
    left: int = 44
    right: int = 12
    top: int = 12
    bottom: int = 36

    def x(self, value: float, lo: float, hi: float) -> float:
        return self.left + (value - lo) / (hi - lo) * (self.width - self.left - self.right)

    def y(self, value: float, lo: float, hi: float) -> float:
        return self.height - self.bottom - (value - lo) / (hi - lo) * (self.height - self.top - self.bottom)


@dataclass(frozen=True)
class Pair:
    """One preferred/less-preferred pair of a variant: its number as shown, its Δ and its loss."""

    number: int
    delta: float
    loss: float

    @property
    def penalised(self) -> bool:
        return self.loss > TIE


def _plain_calls(item: ItemBase) -> list[tuple[str, str]]:
    """The (chosen, rejected) names of each ``ranking_loss(a, b)`` the item computes, once each.

    Only the plain loss is drawn: a call with a margin (or on expressions) computes another
    curve than the one plotted, and its pairs' verdicts would contradict the item's key."""
    found: list[tuple[str, str]] = []
    for source in item.compute.values():
        tree = ast.parse(source, mode="eval").body
        if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "ranking_loss"
                and len(tree.args) == 2 and not tree.keywords
                and all(isinstance(a, ast.Name) for a in tree.args)):
            names = (tree.args[0].id, tree.args[1].id)  # type: ignore[attr-defined]
            if names not in found:
                found.append(names)
    return found


def _shown_numbers(variant: Variant, count: int) -> list[int] | None:
    """Pair i's number as shown, where the item's options are a ``for_each`` over the pairs
    (option i shows pair i): the display position of option i, from the variant's shuffle."""
    options = getattr(variant.item, "options", None)
    template = getattr(options, "template", None)
    if template is None or variant.order is None or list(template.for_each.values) != list(range(count)):
        return None
    return [variant.order.index(i) + 1 for i in range(count)]


def ranking_pairs(variant: Variant) -> list[Pair] | None:
    """The pairs a ranking-loss item showed, in the order shown: from each plain
    ``ranking_loss(a, b)`` it computes (None when it computes none)."""
    deltas: list[float] = []
    for chosen_name, rejected_name in _plain_calls(variant.item):
        if chosen_name in variant.values and rejected_name in variant.values:
            chosen = np.atleast_1d(variant.values[chosen_name][0])
            rejected = np.atleast_1d(variant.values[rejected_name][0])
            shape = np.broadcast_shapes(chosen.shape, rejected.shape)
            deltas.extend(float(d) for d in np.broadcast_to(chosen - rejected, shape).ravel())
    if not deltas:
        return None
    numbers = _shown_numbers(variant, len(deltas)) or list(range(1, len(deltas) + 1))
    pairs = [Pair(n, d, float(ranking_loss(d, 0.0))) for n, d in zip(numbers, deltas, strict=True)]
    return sorted(pairs, key=lambda p: p.number)


LABEL_FONT = 11
"""The plot's text size in px (``svg.plot`` in assay.css): labels closer than this overlap."""


@dataclass(frozen=True)
class Label:
    """A pair's number on the plot: where its text goes, anchored at its start or its end."""

    x: float
    y: float
    text: str
    end: bool = False

    def box(self) -> tuple[float, float, float, float]:
        width = 0.65 * LABEL_FONT * len(self.text)
        left = self.x - width if self.end else self.x
        return left, self.y - LABEL_FONT, left + width, self.y  # the baseline is the bottom

    def clear_of(self, other: Label) -> bool:
        a, b = self.box(), other.box()
        return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]

    def svg(self) -> str:
        anchor = ' text-anchor="end"' if self.end else ""
        return f'<text x="{self.x:.1f}" y="{self.y:.1f}"{anchor}>{self.text}</text>'


def place_labels(points: list[tuple[float, float, str]], *, on_axis: bool) -> list[Label]:
    """A label for each point (x, y, text) that overlaps no other label: each takes the first of
    its places that is clear of those placed before it, left to right. A point on the curve
    tries above right, below right, above left, below left, then further up; a mark on the axis
    above it, then further up (the axis's numbers are below)."""
    placed: list[Label | None] = [None] * len(points)
    for n in sorted(range(len(points)), key=lambda i: points[i][0]):
        x, y, text = points[n]
        if on_axis:
            places = [Label(x - 0.325 * LABEL_FONT * len(text), y - 8 - k * (LABEL_FONT + 1), text)
                      for k in range(len(points))]
        else:
            places = [Label(x + 7, y - 7, text), Label(x + 7, y + 7 + LABEL_FONT, text),
                      Label(x - 7, y - 7, text, end=True), Label(x - 7, y + 7 + LABEL_FONT, text, end=True)]
            places += [Label(x + 7, y - 7 - k * (LABEL_FONT + 1), text) for k in range(1, len(points) + 1)]
        others = [label for label in placed if label is not None]
        placed[n] = next((p for p in places if all(p.clear_of(o) for o in others)), places[0])
    return [label for label in placed if label is not None]


def _number(value: float) -> str:
    """A student's own number as they would write it (Δ of scores on a grid: 1.3, −0.25)."""
    text = f"{round(value, 4):g}"
    return "0" if text == "-0" else text.replace("-", "−")


def ranking_loss_plot(pairs: list[Pair], *, key: bool) -> Markup:
    """The curve −log σ(Δ) and the tie's log 2 as a line, with the student's pairs: each on the
    Δ axis at its Δ; with ``key`` (the review shows the right answer), each on the curve, with
    its loss and whether it costs more than a tie."""
    frame = Frame()
    span = max(4.0, max(abs(p.delta) for p in pairs) + 0.5)
    lo_x, hi_x = -span, span
    hi_y = float(ranking_loss(-span, 0.0)) * 1.05
    xs = np.linspace(lo_x, hi_x, 120)
    curve = " ".join(f"{frame.x(x, lo_x, hi_x):.1f},{frame.y(float(ranking_loss(x, 0.0)), 0, hi_y):.1f}" for x in xs)
    tie_y = frame.y(TIE, 0, hi_y)
    axis_y = frame.height - frame.bottom
    marks = []
    where = [(frame.x(p.delta, lo_x, hi_x), frame.y(p.loss, 0, hi_y) if key else float(axis_y), str(p.number))
             for p in pairs]
    labels = place_labels(where, on_axis=not key)
    for pair, (cx, cy, _), placed in zip(pairs, where, labels, strict=True):
        said = f"pair {pair.number}: Δ = {_number(pair.delta)}"
        if key:
            verdict = "penalised" if pair.penalised else "fine"
            cost = "more than a tie" if pair.penalised else "no more than a tie"
            marks.append(
                f'<g class="pair {verdict}"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="5"/>{placed.svg()}'
                f"<title>{escape(said)}, loss = {pair.loss:.3f}, {cost}</title></g>"
            )
        else:
            marks.append(
                f'<g class="pair"><circle cx="{cx:.1f}" cy="{axis_y}" r="4"/>{placed.svg()}'
                f"<title>{escape(said)}</title></g>"
            )
    ticks = "".join(
        f'<text x="{frame.x(t, lo_x, hi_x):.1f}" y="{axis_y + 16}" text-anchor="middle">{t:g}</text>'
        for t in range(-int(span), int(span) + 1, max(1, int(span) // 2))
    )
    points = "points: your pairs on the curve" if key else "marks on the Δ axis: your pairs"
    label = escape(f"−log σ(Δ) against Δ = r_w − r_l; {points}; dashed: a tie's loss, log 2")
    return Markup(  # noqa: S704 - every value above is a number or escaped
        f'<svg class="plot" viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{label}">'
        f'<line class="axis" x1="{frame.left}" y1="{axis_y}" x2="{frame.width - frame.right}" y2="{axis_y}"/>'
        f'<line class="axis" x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{axis_y}"/>'
        f'<line class="tie" x1="{frame.left}" y1="{tie_y:.1f}" x2="{frame.width - frame.right}" y2="{tie_y:.1f}"/>'
        f'<polyline class="curve" points="{curve}"/>{"".join(marks)}{ticks}'
        f'<text x="{frame.width / 2}" y="{frame.height - 4}" text-anchor="middle">{AXIS_LABEL}</text>'
        f'<text x="12" y="{frame.top + 10}" class="ylabel">loss</text></svg>'
    )


AXIS_LABEL = ('Δ = r<tspan class="sub" dy="3" font-size="8">w</tspan><tspan dy="-3"> − r</tspan>'
              '<tspan class="sub" dy="3" font-size="8">l</tspan>')
"""The Δ axis's label, Δ = r_w − r_l with its subscripts as subscripts: each lowered by ``dy`` (which
every SVG renderer honours, unlike ``baseline-shift``) and the baseline restored after it."""


CAPTION = {
    True: "The ranking loss −log σ(Δ): each point is one of your pairs, numbered as the options were; "
          "above the dashed line a pair costs more than a tie.",
    False: "The ranking loss −log σ(Δ): each mark on the Δ axis is one of your pairs, numbered as the "
           "options were; above the dashed line a pair would cost more than a tie.",
}


def review_plot(variant: Variant, *, feedback: bool, right_answer: bool) -> Markup | None:
    """The plot of a reviewed question, as its view allows: nothing unless it shows feedback or
    the right answer; the key's parts only with the right answer."""
    if not (feedback or right_answer):
        return None
    pairs = ranking_pairs(variant)
    if not pairs:
        return None
    return Markup(  # noqa: S704 - the plot is built from numbers; the caption is ours
        f'<figure class="plot-figure">{ranking_loss_plot(pairs, key=right_answer)}'
        f"<figcaption>{escape(CAPTION[right_answer])}</figcaption></figure>"
    )


def review_plots(views: Iterable[QuestionView], variants: Mapping[int, Variant]) -> dict[int, Markup]:
    """Per slot, the plot its review shows (``variants`` by slot: the student's own)."""
    plots = {}
    for view in views:
        plot = review_plot(variants[view.slot], feedback=view.feedback is not None,
                           right_answer=view.right_answer is not None)
        if plot is not None:
            plots[view.slot] = plot
    return plots
