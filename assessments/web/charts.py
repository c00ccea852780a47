"""The statistics page's charts as server-drawn SVG: facility against discrimination, and the
distribution of total marks. Every mark carries a text label; nothing depends on colour alone."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from assessments.reports.schemas import ItemBreakdown, ParameterFacility, SlotStatistics
from assessments.web.plots import Frame


def facility_discrimination_chart(slots: Sequence[SlotStatistics]) -> Markup:
    """Each slot as a point: facility (x, 0..1) against discrimination index (y, -1..1)."""
    frame = Frame(width=420, height=280, left=48, bottom=40)
    points = []
    for slot in slots:
        if slot.facility is None or slot.discrimination_index is None:
            continue
        x = frame.x(min(max(slot.facility, 0), 1), 0, 1)
        y = frame.y(min(max(slot.discrimination_index, -1), 1), -1, 1)
        kind = "flagged" if slot.flags else "fine"
        label = escape(f"question {slot.slot}: facility {slot.facility:.2f}, "
                       f"discrimination {slot.discrimination_index:.2f}")
        points.append(f'<g class="pair {kind}"><circle cx="{x:.1f}" cy="{y:.1f}" r="6"/>'
                      f'<text x="{x + 8:.1f}" y="{y + 4:.1f}">{slot.slot}</text><title>{label}</title></g>')
    zero = frame.y(0, -1, 1)
    base = frame.height - frame.bottom
    ticks = "".join(f'<text x="{frame.x(t / 4, 0, 1):.1f}" y="{base + 16}" text-anchor="middle">{t / 4:g}</text>'
                    for t in range(5))
    yticks = "".join(f'<text x="{frame.left - 6}" y="{frame.y(v, -1, 1) + 4:.1f}" text-anchor="end">{v:g}</text>'
                     for v in (-1, -0.5, 0, 0.5, 1))
    return Markup(  # noqa: S704 - numbers and escaped labels only
        f'<svg class="plot" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="Facility against discrimination index, one point per question">'
        f'<line class="axis" x1="{frame.left}" y1="{base}" x2="{frame.width - frame.right}" y2="{base}"/>'
        f'<line class="axis" x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{base}"/>'
        f'<line class="tie" x1="{frame.left}" y1="{zero:.1f}" x2="{frame.width - frame.right}" y2="{zero:.1f}"/>'
        f'{"".join(points)}{ticks}{yticks}'
        f'<text x="{frame.width / 2}" y="{frame.height - 6}" text-anchor="middle">facility</text>'
        f'<text transform="rotate(-90)" x="{-(frame.top + base) / 2:.1f}" y="12" text-anchor="middle">'
        f'discrimination</text></svg>'
    )


def histogram_chart(counts: Sequence[int], edges: Sequence[float]) -> Markup:
    """Bars of how many attempts scored in each band of total marks."""
    frame = Frame(width=420, height=240, left=40, bottom=40)
    if not counts or len(edges) != len(counts) + 1:
        return Markup("<p>No finished attempts yet.</p>")
    top = max(*counts, 1)
    width = (frame.width - frame.left - frame.right) / len(counts)
    base = frame.height - frame.bottom
    bars = []
    for n, count in enumerate(counts):
        height = (base - frame.top) * count / top
        x = frame.left + n * width
        bars.append(f'<g><rect class="bar" x="{x + 2:.1f}" y="{base - height:.1f}" width="{width - 4:.1f}" '
                    f'height="{height:.1f}"/><title>{edges[n]:g}–{edges[n + 1]:g} marks: {count} attempt(s)'
                    f'</title>{_count_label(x, width, base - height, count)}</g>')
    ticks = "".join(f'<text x="{frame.left + n * width:.1f}" y="{base + 16}" text-anchor="middle">{edges[n]:g}</text>'
                    for n in range(0, len(edges), 2))
    return Markup(  # noqa: S704 - numbers only
        f'<svg class="plot" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="Histogram of total marks">'
        f'<line class="axis" x1="{frame.left}" y1="{base}" x2="{frame.width - frame.right}" y2="{base}"/>'
        f'{"".join(bars)}{ticks}'
        f'<text x="{frame.width / 2}" y="{frame.height - 6}" text-anchor="middle">total marks</text></svg>'
    )


def _count_label(x: float, width: float, y: float, count: int) -> str:
    return f'<text x="{x + width / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{count}</text>' if count else ""


def _bars(values: Sequence[float], labels: Sequence[str], titles: Sequence[str], *, top: float, label: str,
          axis: str) -> Markup:
    """Vertical bars, one per value (0..top), each with its label below and its value above."""
    frame = Frame(width=420, height=200, left=40, bottom=40)
    width = (frame.width - frame.left - frame.right) / max(len(values), 1)
    base = frame.height - frame.bottom
    bars = []
    for n, (value, text, title) in enumerate(zip(values, labels, titles, strict=True)):
        height = (base - frame.top) * (value / top if top else 0)
        x = frame.left + n * width
        bars.append(f'<g><rect class="bar" x="{x + 2:.1f}" y="{base - height:.1f}" width="{width - 4:.1f}" '
                    f'height="{height:.1f}"/><title>{escape(title)}</title>'
                    f'<text x="{x + width / 2:.1f}" y="{base + 14}" text-anchor="middle">{escape(text)}</text></g>')
    return Markup(  # noqa: S704 - numbers and escaped labels only
        f'<svg class="plot" viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{escape(label)}">'
        f'<line class="axis" x1="{frame.left}" y1="{base}" x2="{frame.width - frame.right}" y2="{base}"/>'
        f'{"".join(bars)}<text x="{frame.width / 2}" y="{frame.height - 6}" text-anchor="middle">{escape(axis)}'
        f'</text></svg>'
    )


def option_chart(item: ItemBreakdown) -> Markup:
    """How often each option was chosen (the table beside it says which is the key)."""
    return _bars([o.share or 0.0 for o in item.options], [str(o.index + 1) for o in item.options],
                 [f"option {o.index + 1}: chosen {o.chosen} time(s)" for o in item.options], top=1.0,
                 label=f"Share of answers choosing each option of {item.key}", axis="option (as authored)")


def parameter_chart(item: ItemBreakdown, parameter: ParameterFacility) -> Markup:
    """Facility in each quartile of a drawn parameter."""
    what = parameter.name if parameter.summary == "value" else f"mean of {parameter.name}"
    return _bars([b.facility or 0.0 for b in parameter.bins], [f"{b.low:.3g}" for b in parameter.bins],
                 [f"{what} {b.low:.3g} to {b.high:.3g}: facility "
                  + ("–" if b.facility is None else f"{b.facility:.0%}") + f" of {b.count}" for b in parameter.bins],
                 top=1.0, label=f"Facility of {item.key} by {what}", axis=f"{what} (from)")
