"""Small server-drawn SVG charts: no script, no CDN, readable without colour."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

from engine.functions import ranking_loss
from engine.variants import Variant


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


def ranking_pairs(variant: Variant) -> list[tuple[float, float]] | None:
    """(Δ, loss) of the pairs a ranking-loss item showed: from each ``ranking_loss(a, b)`` it computes."""
    import ast

    found: list[tuple[float, float]] = []
    for source in variant.item.compute.values():
        tree = ast.parse(source, mode="eval").body
        if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "ranking_loss"
                and len(tree.args) >= 2 and all(isinstance(a, ast.Name) for a in tree.args[:2])):
            names = [a.id for a in tree.args[:2]]  # type: ignore[attr-defined]
            if all(n in variant.values for n in names):
                chosen = np.atleast_1d(variant.values[names[0]][0])
                rejected = np.atleast_1d(variant.values[names[1]][0])
                delta = np.broadcast_to(chosen - rejected, np.broadcast_shapes(chosen.shape, rejected.shape))
                found.extend((float(d), float(ranking_loss(d, 0.0))) for d in delta.ravel())
    return found or None


def ranking_loss_plot(pairs: list[tuple[float, float]]) -> Markup:
    """The curve −log σ(Δ) with the student's pairs marked, and the tie's log 2 as a line."""
    frame = Frame()
    span = max(4.0, max(abs(d) for d, _ in pairs) + 0.5)
    lo_x, hi_x = -span, span
    hi_y = float(ranking_loss(-span, 0.0)) * 1.05
    xs = np.linspace(lo_x, hi_x, 120)
    curve = " ".join(f"{frame.x(x, lo_x, hi_x):.1f},{frame.y(float(ranking_loss(x, 0.0)), 0, hi_y):.1f}" for x in xs)
    tie_y = frame.y(math.log(2), 0, hi_y)
    marks = []
    for n, (delta, loss) in enumerate(pairs):
        cx, cy = frame.x(delta, lo_x, hi_x), frame.y(loss, 0, hi_y)
        shape = "penalised" if loss > math.log(2) else "fine"
        marks.append(
            f'<g class="pair {shape}"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="5"/>'
            f'<text x="{cx + 7:.1f}" y="{cy - 7:.1f}">{n + 1}</text>'
            f"<title>pair {n + 1}: Δ = {delta:.1f}, loss = {loss:.3f}</title></g>"
        )
    axis_y = frame.height - frame.bottom
    ticks = "".join(
        f'<text x="{frame.x(t, lo_x, hi_x):.1f}" y="{axis_y + 16}" text-anchor="middle">{t:g}</text>'
        for t in range(-int(span), int(span) + 1, max(1, int(span) // 2))
    )
    label = escape("−log σ(Δ) against Δ = r_w − r_l; points: your pairs; dashed: a tie's loss, log 2")
    return Markup(  # noqa: S704 - every value above is a number or escaped
        f'<svg class="plot" viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{label}">'
        f'<line class="axis" x1="{frame.left}" y1="{axis_y}" x2="{frame.width - frame.right}" y2="{axis_y}"/>'
        f'<line class="axis" x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{axis_y}"/>'
        f'<line class="tie" x1="{frame.left}" y1="{tie_y:.1f}" x2="{frame.width - frame.right}" y2="{tie_y:.1f}"/>'
        f'<polyline class="curve" points="{curve}"/>{"".join(marks)}{ticks}'
        f'<text x="{frame.width / 2}" y="{frame.height - 4}" text-anchor="middle">Δ = r_w − r_l</text>'
        f'<text x="12" y="{frame.top + 10}" class="ylabel">loss</text></svg>'
    )
