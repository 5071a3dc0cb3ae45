"""Charts drawn on the server as inline SVG: no chart library, no script, no outside request.

Every label and value is text in the picture (colour is never the only signal), every bar has a <title> for
hover, and the whole chart is one role="img" with an aria-label that says what it shows. The SVG scales with its
viewBox to the page's width; the default width is a phone's content width (360 px less the padding of the page
and of its card), so the text is drawn at its real size on a phone. Only presentation attributes are used (no
style attribute or element): the pages' Content-Security-Policy refuses inline styles.
"""

from __future__ import annotations

import math
from typing import Sequence

from markupsafe import Markup, escape

from ..i18n import gettext
from ..i18n.formats import number

# Tones as on the verification banner: ok green, caution amber, bad red; None is a neutral blue.
COLOURS = {"ok": "#1e7d45", "caution": "#a86c00", "bad": "#b3261e", None: "#3d6a8f"}
INK, MUTED, GRID = "#1d2a1f", "#5b6b5e", "#d5ddd6"
FONT = 13  # px of the viewBox: at the default width, px on a phone
CHAR_W = 7.2  # a generous advance of one digit or short label character at FONT
TEXT_W = 6.6  # the average advance of a character of running text at FONT (where a label is wrapped)
DEFAULT_WIDTH = 300


def _f(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _colour(tone: str | None) -> str:
    return COLOURS.get(tone, COLOURS[None])


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)].rstrip() + "…"


def ticks(top_value: int, count: int = 4) -> list[int]:
    """Round tick values from 0 to at least top_value, at most count+1 of them (steps of 1, 2 or 5 × 10^k)."""
    if top_value <= 0:
        return [0, 1]
    raw = top_value / count
    magnitude = 10 ** max(math.floor(math.log10(raw)), 0) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = math.ceil(top_value / step) * step
    return list(range(0, top + 1, step))


def _svg(width: float, height: float, label: str, body: list[str], kind: str) -> Markup:
    return Markup(
        f'<svg class="chart chart-{kind}" viewBox="0 0 {_f(width)} {_f(height)}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(label)}" '
        f'font-size="{FONT}" fill="{INK}">' + "".join(body) + "</svg>"
    )


def bar_chart(points: Sequence[tuple[str, int]], *, width: int = DEFAULT_WIDTH, height: int = 200, title: str,
              tone: str | None = None) -> Markup:
    """Vertical bars (one per point, in order) on a value axis with round ticks; a few of the labels under them.

    points: (label, value) pairs, e.g. ("01/03", 12). The label is shown under some bars and in each bar's title.
    """
    values = [max(int(v), 0) for _, v in points]
    total = sum(values)
    if not points or total == 0:
        summary = gettext("chart.empty", title=title)
    else:
        top_i = values.index(max(values))
        summary = gettext("chart.bars_summary", title=title, n=len(points), total=number(total),
                          max=number(values[top_i]), at=points[top_i][0])
    marks = ticks(max(values, default=0))
    left = 10 + CHAR_W * len(number(marks[-1]))
    right, top, bottom = 6.0, FONT * 0.75, FONT + 10.0
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    body: list[str] = []
    for mark in marks:  # value grid and its labels
        y = base - plot_h * mark / marks[-1]
        body.append(f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(width - right)}" y2="{_f(y)}" '
                    f'stroke="{INK if mark == 0 else GRID}" stroke-width="1"/>')
        body.append(f'<text x="{_f(left - 4)}" y="{_f(y + FONT * 0.35)}" text-anchor="end" fill="{MUTED}">'
                    f"{escape(number(mark))}</text>")
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.72, 1.0)
    fill = _colour(tone)
    for i, ((label, _), value) in enumerate(zip(points, values)):
        h = plot_h * value / marks[-1]
        x = left + slot * i + (slot - bar_w) / 2
        body.append(f'<rect class="bar" x="{_f(x)}" y="{_f(base - h)}" width="{_f(bar_w)}" height="{_f(h)}" '
                    f'fill="{fill}"><title>{escape(label)}: {escape(number(value))}</title></rect>')
    # Labels under every step-th bar counting back from the last (newest), so they never touch; a label moved in
    # from the chart's edge may crowd its neighbour, which then goes.
    gap = CHAR_W * 1.5
    widest = CHAR_W * max((len(str(label)) for label, _ in points), default=1)
    step = max(1, math.ceil((widest + gap) / slot))
    kept: list[tuple[float, float, str, float]] = []  # (left edge, right edge, label, tick x), newest first
    for i in range(len(points) - 1, -1, -step):
        label = str(points[i][0])
        half = CHAR_W * len(label) / 2
        tick = left + slot * (i + 0.5)
        x = min(max(tick, left + half), width - half)
        if kept and x + half + gap > kept[-1][0]:
            continue
        kept.append((x - half, x + half, label, tick))
    for x0, x1, label, tick in kept:
        body.append(f'<line x1="{_f(tick)}" y1="{_f(base)}" x2="{_f(tick)}" y2="{_f(base + 4)}" '
                    f'stroke="{INK}" stroke-width="1"/>')
        body.append(f'<text x="{_f((x0 + x1) / 2)}" y="{_f(base + FONT + 4)}" text-anchor="middle" fill="{MUTED}">'
                    f"{escape(label)}</text>")
    return _svg(width, height, summary, body, "bars")


def _lines(text: str, chars: int, most: int = 2) -> list[str]:
    """Text broken at spaces into at most `most` lines of about `chars` characters (the last one clipped)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[: most - 1] + [" ".join(lines[most - 1:])]
    return [_clip(line, chars) for line in lines] or [""]


def hbar_chart(points: Sequence[tuple[str, int]], *, width: int = DEFAULT_WIDTH, title: str,
               tones: Sequence[str | None] | None = None, tone: str | None = None) -> Markup:
    """Horizontal bars, one row per point: the label above (on two lines at most), the bar under it with its value
    at its end, on a faint track showing the full scale.

    tones: one tone per point (e.g. each verdict's TONE), else tone for every bar.
    """
    values = [max(int(v), 0) for _, v in points]
    shown = [f"{label}: {number(v)}" for (label, _), v in zip(points, values) if v]
    summary = f"{title}. " + "; ".join(shown) if shown else gettext("chart.empty", title=title)
    top_value = max(values, default=0)
    value_w = CHAR_W * len(number(top_value)) + 8
    plot_w = width - value_w - 2
    chars = int(width // TEXT_W)
    line_h, bar_h = round(FONT * 1.25), 16
    body: list[str] = []
    y = 0.0
    for i, ((label, _), value) in enumerate(zip(points, values)):
        fill = _colour(tones[i] if tones is not None else tone)
        w = plot_w * value / top_value if top_value else 0
        lines = _lines(str(label), chars)
        for k, line in enumerate(lines):
            body.append(f'<text x="0" y="{_f(y + FONT + k * line_h)}">{escape(line)}</text>')
        bar_y = y + FONT + (len(lines) - 1) * line_h + 5
        body.append(f'<line x1="0" y1="{_f(bar_y + bar_h / 2)}" x2="{_f(plot_w)}" y2="{_f(bar_y + bar_h / 2)}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(f'<rect class="bar" x="0" y="{_f(bar_y)}" width="{_f(w)}" height="{bar_h}" fill="{fill}">'
                    f"<title>{escape(label)}: {escape(number(value))}</title></rect>")
        body.append(f'<text x="{_f(w + 5)}" y="{_f(bar_y + bar_h - 3)}" font-weight="700">'
                    f"{escape(number(value))}</text>")
        y = bar_y + bar_h + 8
    return _svg(width, max(y - 6, float(line_h)), summary, body, "hbars")
