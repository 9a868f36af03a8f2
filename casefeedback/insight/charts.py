"""Server-rendered SVG charts: no script, no inline style, nothing fetched from elsewhere.

The Content-Security-Policy allows styles only from our own stylesheet, so the
charts use classes (styled in casefeedback.css) and SVG geometry attributes,
never a ``style=""``. Every chart is decorative for screen readers
(``aria-hidden``) because each sits next to a data table that says the same.
Suppressed figures draw no bar and are marked in text, so a chart can never
show what the table hides.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from casefeedback.insight.report import Row

WIDTH = 640
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 200
CHART_HEIGHT = 180


def bars(rows: Sequence[Row], title: str) -> Markup:
    """A horizontal bar per row (a distribution)."""
    top = max((r.value for r in rows if r.value is not None), default=0)
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    span = WIDTH - LABEL_WIDTH - 110
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" aria-hidden="true" focusable="false"><title>{escape(title)}</title>']
    for i, row in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        parts.append(f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + 16}" '
                     f'text-anchor="end">{escape(_short(row.label))}</text>')
        if row.value is None:
            parts.append(f'<text class="chart-suppressed" x="{LABEL_WIDTH + 4}" y="{y + 16}">suppressed</text>')
            continue
        length = round(span * row.value / top) if top else 0
        parts.append(f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" width="{length}" '
                     f'height="{BAR_HEIGHT}"></rect>')
        parts.append(f'<text class="chart-value" x="{LABEL_WIDTH + length + 6}" y="{y + 16}">{row.value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()


def columns(rows: Sequence[Row], title: str) -> Markup:
    """A vertical bar per month (a trend). Suppressed months are a gap with a mark under the axis."""
    top = max((r.value for r in rows if r.value is not None), default=0)
    count = max(len(rows), 1)
    slot = (WIDTH - 40) / count
    base = CHART_HEIGHT - 30
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {CHART_HEIGHT}" '
             f'width="100%" aria-hidden="true" focusable="false"><title>{escape(title)}</title>',
             f'<line class="chart-axis" x1="30" y1="{base}" x2="{WIDTH - 10}" y2="{base}"></line>',
             f'<text class="chart-value" x="0" y="14">{top}</text>']
    for i, row in enumerate(rows):
        x = 30 + i * slot
        if row.value is None:
            parts.append(f'<text class="chart-suppressed" x="{x + slot / 2:.1f}" y="{base - 4}" '
                         'text-anchor="middle">·</text>')
        else:
            h = (base - 20) * row.value / top if top else 0
            parts.append(f'<rect class="chart-bar" x="{x + 1:.1f}" y="{base - h:.1f}" width="{max(slot - 2, 1):.1f}" '
                         f'height="{h:.1f}"></rect>')
        if i == 0 or i == count - 1 or count <= 12 or row.key.endswith("-01"):
            parts.append(f'<text class="chart-tick" x="{x + slot / 2:.1f}" y="{base + 16}" '
                         f'text-anchor="middle">{escape(row.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above went through escape()


def _short(label: str) -> str:
    return label if len(label) <= 28 else label[:27] + "…"
