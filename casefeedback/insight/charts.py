"""Server-rendered SVG charts: no script, no inline style, nothing fetched from elsewhere.

The Content-Security-Policy allows styles only from our own stylesheet, so the
charts use classes (styled in casefeedback.css) and SVG geometry attributes,
never a ``style=""``. Every chart is decorative for screen readers
(``aria-hidden``) because each sits next to a data table that says the same.
Hidden figures draw no mark and are labelled in words, so a chart can never
show what the table hides. A chart with nothing to draw is a sentence instead
of a bare axis, and that sentence is read by everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from casefeedback.insight import hidden
from casefeedback.insight.report import Row

WIDTH = 640
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 200
CHART_HEIGHT = 180
LEFT = 30  # room for the scale on a trend


def _open(height: int, title: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" aria-hidden="true" focusable="false"><title>{escape(title)}</title>')


def _words(empty: str, threshold: int) -> Markup:
    return Markup('<p class="chart-empty">{}</p>').format(hidden.nothing_to_draw(empty, threshold))


def bars(rows: Sequence[Row], title: str, threshold: int, empty: str = "No answers in this period yet") -> Markup:
    """A horizontal bar per row (a distribution); words instead when every figure is hidden."""
    if hidden.every(r.value for r in rows):
        return _words(empty, threshold)
    top = max((r.value for r in rows if r.value is not None), default=0)
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    span = WIDTH - LABEL_WIDTH - 110
    parts = [_open(height, title)]
    for i, row in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        parts.append(f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + 16}" '
                     f'text-anchor="end">{escape(_short(row.label))}</text>')
        if row.value is None:
            parts.append(f'<text class="chart-suppressed" x="{LABEL_WIDTH + 4}" y="{y + 16}">'
                         f'{hidden.HIDDEN} (fewer than {threshold})</text>')
            continue
        length = round(span * row.value / top) if top else 0
        parts.append(f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" width="{length}" '
                     f'height="{BAR_HEIGHT}"></rect>')
        parts.append(f'<text class="chart-value" x="{LABEL_WIDTH + length + 6}" y="{y + 16}">{row.value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()


def columns(rows: Sequence[Row], title: str, threshold: int,
            empty: str = "No feedback in this period yet") -> Markup:
    """A vertical bar per month (a trend). Hidden months are a gap with a mark on the axis, and a key says so."""
    if hidden.every(r.value for r in rows):
        return _words(empty, threshold)
    top = max((r.value for r in rows if r.value is not None), default=0)
    count = max(len(rows), 1)
    slot = (WIDTH - LEFT - 10) / count
    base = CHART_HEIGHT - 30
    parts = [_open(CHART_HEIGHT, title),
             f'<line class="chart-axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - 10}" y2="{base}"></line>',
             f'<text class="chart-value" x="0" y="14">{top}</text>']
    if hidden.some(r.value for r in rows):
        parts.append(f'<text class="chart-suppressed" x="{WIDTH - 10}" y="14" text-anchor="end">'
                     f'· {hidden.HIDDEN.lower()}: fewer than {threshold}</text>')
    for i, row in enumerate(rows):
        x = LEFT + i * slot
        if row.value is None:
            parts.append(f'<text class="chart-suppressed" x="{x + slot / 2:.1f}" y="{base - 4}" '
                         'text-anchor="middle">·</text>')
        else:
            h = (base - 20) * row.value / top if top else 0
            parts.append(f'<rect class="chart-bar" x="{x + 1:.1f}" y="{base - h:.1f}" width="{max(slot - 2, 1):.1f}" '
                         f'height="{h:.1f}"></rect>')
        parts.append(_tick(i, count, row, x + slot / 2, base))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()


def trend(rows: Sequence[Row], values: Sequence[float | None], scale: tuple[int, int], title: str,
          threshold: int, empty: str = "No ratings in this period yet") -> Markup:
    """A line through each month's value on a fixed scale (an average rating); broken where a month is hidden."""
    if hidden.every(values):
        return _words(empty, threshold)
    low, high = scale
    count = max(len(rows), 1)
    slot = (WIDTH - LEFT - 10) / count
    base, ceiling = CHART_HEIGHT - 30, 20
    parts = [_open(CHART_HEIGHT, title),
             f'<line class="chart-axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - 10}" y2="{base}"></line>',
             f'<text class="chart-value" x="0" y="{ceiling + 5}">{high}</text>',
             f'<text class="chart-value" x="0" y="{base}">{low}</text>']
    run: list[str] = []
    for i, (row, value) in enumerate(zip(rows, values, strict=True)):
        x = LEFT + i * slot + slot / 2
        if value is None:
            parts.append(_line(run))
            run = []
            parts.append(f'<text class="chart-suppressed" x="{x:.1f}" y="{base - 4}" text-anchor="middle">·</text>')
        else:
            y = base - (base - ceiling) * (value - low) / ((high - low) or 1)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle class="chart-point" cx="{x:.1f}" cy="{y:.1f}" r="3"></circle>')
        parts.append(_tick(i, count, row, x, base))
    parts.append(_line(run))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is a number or went through escape()


def _line(points: list[str]) -> str:
    return f'<polyline class="chart-line" points="{" ".join(points)}"></polyline>' if len(points) > 1 else ""


def _tick(i: int, count: int, row: Row, x: float, base: int) -> str:
    # Every month when there are few; else the ends and each January, but never one on top of an end's.
    if count <= 12 or i in (0, count - 1) or (row.key.endswith("-01") and 2 <= i <= count - 3):
        return f'<text class="chart-tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">{escape(row.label)}</text>'
    return ""


def _short(label: str) -> str:
    return label if len(label) <= 28 else label[:27] + "…"
