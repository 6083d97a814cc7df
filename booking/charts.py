"""Bar charts as inline SVG, drawn on the server: no JavaScript, no style attributes (the CSP allows neither).

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``; the page
shows the same figures in a table. Bars are #1d70b8 on white (5.2:1) and text #0b0c0c (19:1), so
both pass WCAG's 3:1 for graphics and 4.5:1 for text; every bar carries its value as text, too.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

BAR_COLOUR = "#1d70b8"
TEXT_COLOUR = "#0b0c0c"
AXIS_COLOUR = "#505a5f"
WIDTH = 720
LABEL_WIDTH = 240
VALUE_WIDTH = 110
ROW_HEIGHT = 36
BAR_HEIGHT = 24
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  #: None: no data (no bar, and the text says so)
    text: str  #: the value as people read it: "75%", "12", "no data"


def _clip(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar], *, maximum: float | None = None) -> str:
    """A horizontal bar chart; bar lengths are proportional to ``value`` ÷ ``maximum`` (default: the largest)."""
    values = [bar.value for bar in bars if bar.value is not None]
    top = maximum if maximum is not None else max(values, default=0)
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = TOP * 2 + ROW_HEIGHT * max(len(bars), 1)
    ident = quoteattr(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby={quoteattr(chart_id + "-title")} aria-describedby={quoteattr(chart_id + "-desc")} id={ident}>',
        f'<title id={quoteattr(chart_id + "-title")}>{escape(title)}</title>',
        f'<desc id={quoteattr(chart_id + "-desc")}>{escape(description)}</desc>',
        f'<line x1="{LABEL_WIDTH}" y1="{TOP}" x2="{LABEL_WIDTH}" y2="{height - TOP}" stroke="{AXIS_COLOUR}" stroke-width="2"/>',
    ]
    if not bars:
        parts.append(f'<text x="{LABEL_WIDTH + 8}" y="{TOP + ROW_HEIGHT / 2 + 6:.0f}" fill="{TEXT_COLOUR}" '
                     'font-size="16">Nothing to show</text>')
    for index, bar in enumerate(bars):
        y = TOP + index * ROW_HEIGHT
        middle = y + ROW_HEIGHT / 2 + 6
        length = 0.0
        if bar.value is not None and top > 0:
            length = round(plot * min(max(bar.value, 0) / top, 1), 1)
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{middle:.0f}" text-anchor="end" fill="{TEXT_COLOUR}" '
                     f'font-size="16">{escape(_clip(bar.label))}</text>')
        if length > 0:
            parts.append(f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y + (ROW_HEIGHT - BAR_HEIGHT) / 2:.0f}" '
                         f'width="{length}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + length + 8}" y="{middle:.0f}" fill="{TEXT_COLOUR}" '
                     f'font-size="16">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
