"""The readiness pictures as SVG, drawn on the server so that the PDF packet can use them.

The matrix: each category is a row, a pale bar as long as its weight (what it can contribute)
and a solid bar for what its score contributes now. The score history: the weighted total over
time as a step line, with the band lines and the moments of sign-off. Every piece of text is
escaped here.
"""

import datetime
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from checklists.history import TotalStep
from checklists.readiness import Readiness

# One colour per band, the same on every page and in the PDF.
BAND_COLOURS = {
    "ready": "#1d7a3a",
    "minor_adjustments": "#0f766e",
    "significant_preparation": "#9a5b00",
    "not_ready": "#b42318",
}
LABEL = 150
SCALE = 12  # pixels per point of weight
ROW = 30


def _summary(readiness: Readiness) -> str:
    """The picture's text alternative (its SVG title, the PDF's /Alt): each bar in words."""
    parts = []
    for category in readiness.categories:
        score = f"{category.score}/10" if category.score is not None else "not scored"
        achieved = float(category.weighted)
        parts.append(f"{category.title} {achieved:g} of {category.weight} ({score})")
    return (
        f"Readiness by category, score contributed against weight: {'; '.join(parts)}. "
        f"Total {readiness.total:g} / 100, {readiness.band['title']}"
    )


def readiness_chart(readiness: Readiness) -> SafeString:
    colour = BAND_COLOURS.get(readiness.band["key"], "#2451b7")
    widest = max(category.weight for category in readiness.categories)
    width = LABEL + widest * SCALE + 170
    height = len(readiness.categories) * ROW + 36
    rows = []
    for index, category in enumerate(readiness.categories):
        y = 10 + index * ROW
        achieved = float(category.weighted)
        score = f"{category.score}/10" if category.score is not None else "not scored"
        rows.append(
            f'<text x="0" y="{y + 15}">{escape(category.title)}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{category.weight * SCALE}" height="16" '
            f'rx="3" fill="#e6e9ef"><title>{escape(category.title)}: weight '
            f"{category.weight}</title></rect>"
            f'<rect x="{LABEL}" y="{y + 3}" width="{achieved * SCALE:.1f}" height="16" rx="3" '
            f'fill="{colour}"><title>{escape(category.title)}: {achieved:g} of '
            f"{category.weight} ({score})</title></rect>"
            f'<text x="{LABEL + category.weight * SCALE + 8}" y="{y + 15}" fill="#3d4454">'
            f"{achieved:g} / {category.weight} · {score}</text>"
        )
    total_y = height - 8
    rows.append(
        f'<text x="0" y="{total_y}" font-weight="700">Total {readiness.total:g} / 100 · '
        f"{escape(readiness.band['title'])}</text>"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="readiness-chart" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">'
        f"<title>{escape(_summary(readiness))}</title>"
        f"{''.join(rows)}</svg>"
    )
    return mark_safe(svg)


# The score history: the weighted total over time as a step line, with the band lines and the
# moments of sign-off. Those moments come from the caller (checklists does not read sign-offs).

HISTORY_WIDTH = 700
HISTORY_HEIGHT = 250
PLOT_LEFT = 40
PLOT_RIGHT = 500  # right of it: the band lines' labels
# What a band line says beside it; the band's title, shortened, for other playbooks' bands.
BAND_SHORT = {
    "ready": "ready",
    "minor_adjustments": "minor adjustments",
    "significant_preparation": "significant preparation",
}
PLOT_TOP = 28
PLOT_BOTTOM = 200
STEP_COLOUR = "#2451b7"
MOMENT_COLOUR = {"approval": "#3d4454", "signed_off": "#1d7a3a"}


@dataclass(frozen=True)
class Moment:
    """A moment of sign-off to mark on the history: `kind` is "approval" (one role's approval
    was recorded) or "signed_off" (the plan entered the signed-off state)."""

    at: datetime.datetime
    kind: str
    label: str


def _utc(moment: datetime.datetime) -> str:
    return f"{moment.astimezone(datetime.UTC):%d %b %Y %H:%M} UTC"


def score_history_summary(steps: list[TotalStep], moments: list[Moment]) -> str:
    """The history's text alternative (its SVG title, the PDF's /Alt): the total's course and
    the moments of sign-off, in words."""
    if not steps:
        text = "Score history: no score given yet"
    else:
        first, last = steps[0], steps[-1]
        highest = max(steps, key=lambda step: step.total)
        text = (
            f"Score history: the weighted total went from {first.total:g} on "
            f"{_utc(first.at)} to {last.total:g} on {_utc(last.at)} over {len(steps)} "
            f"score{'s' if len(steps) != 1 else ''}, highest {highest.total:g}"
        )
    approvals = [m for m in moments if m.kind == "approval"]
    signed = [m for m in moments if m.kind == "signed_off"]
    if approvals:
        text += f"; {len(approvals)} approval{'s' if len(approvals) != 1 else ''}"
    if signed:
        text += "; signed off on " + ", ".join(_utc(m.at) for m in signed)
    return text + "."


def score_history_chart(
    steps: list[TotalStep],
    bands: list[dict],
    moments: list[Moment],
    *,
    start: datetime.datetime,
    end: datetime.datetime,
) -> SafeString:
    """`steps` from `history.total_history`, `bands` the playbook's, the picture running from
    `start` (the plan's creation) to `end` (now, or when the packet was asked for)."""
    times = [step.at for step in steps] + [moment.at for moment in moments]
    start = min([start, *times])
    end = max([end, *times])
    span = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime.datetime) -> float:
        return PLOT_LEFT + (moment - start).total_seconds() / span * (PLOT_RIGHT - PLOT_LEFT)

    def y(total) -> float:
        return PLOT_BOTTOM - float(total) / 100 * (PLOT_BOTTOM - PLOT_TOP)

    parts = [
        f'<rect x="{PLOT_LEFT}" y="{PLOT_TOP}" width="{PLOT_RIGHT - PLOT_LEFT}" '
        f'height="{PLOT_BOTTOM - PLOT_TOP}" fill="#f6f7f9"/>',
        f'<text x="{PLOT_LEFT - 6}" y="{y(100) + 4:.1f}" text-anchor="end">100</text>',
        f'<text x="{PLOT_LEFT - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
    ]
    for band in bands:
        if band["min"] <= 0:
            continue
        colour = BAND_COLOURS.get(band["key"], "#3d4454")
        line_y = y(band["min"])
        parts.append(
            f'<line x1="{PLOT_LEFT}" y1="{line_y:.1f}" x2="{PLOT_RIGHT}" y2="{line_y:.1f}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{PLOT_RIGHT + 6}" y="{line_y + 4:.1f}" fill="{colour}">{band["min"]}+ '
            f"{escape(BAND_SHORT.get(band['key']) or _shorten(band['title'], 24))}</text>"
        )
    for moment in moments:
        colour = MOMENT_COLOUR.get(moment.kind, "#3d4454")
        mx = x(moment.at)
        if moment.kind == "signed_off":
            parts.append(
                f'<g class="moment signed-off"><line x1="{mx:.1f}" y1="{PLOT_TOP - 8}" '
                f'x2="{mx:.1f}" y2="{PLOT_BOTTOM}" stroke="{colour}" stroke-width="2"/>'
                f'<text x="{mx:.1f}" y="{PLOT_TOP - 12}" text-anchor="middle" fill="{colour}" '
                f'font-weight="600">signed off</text><title>{escape(moment.label)}, '
                f"{_utc(moment.at)}</title></g>"
            )
        else:
            parts.append(
                f'<g class="moment approval"><line x1="{mx:.1f}" y1="{PLOT_TOP}" '
                f'x2="{mx:.1f}" y2="{PLOT_BOTTOM}" stroke="{colour}" stroke-width="1" '
                f'stroke-dasharray="2 3"/><path d="M{mx - 5:.1f} {PLOT_BOTTOM + 12} '
                f'L{mx + 5:.1f} {PLOT_BOTTOM + 12} L{mx:.1f} {PLOT_BOTTOM + 4} Z" '
                f'fill="{colour}"/><title>{escape(moment.label)}, {_utc(moment.at)}</title></g>'
            )
    if steps:
        path = [f"M{x(steps[0].at):.1f} {y(steps[0].total):.1f}"]
        for step in steps[1:]:
            path.append(f"H{x(step.at):.1f} V{y(step.total):.1f}")
        path.append(f"H{x(end):.1f}")
        parts.append(
            f'<path d="{" ".join(path)}" fill="none" stroke="{STEP_COLOUR}" stroke-width="2.5"/>'
        )
        last = steps[-1]
        parts.append(
            f'<circle cx="{x(end):.1f}" cy="{y(last.total):.1f}" r="3.5" fill="{STEP_COLOUR}">'
            f"<title>Now {last.total:g} / 100</title></circle>"
        )
    else:
        parts.append(
            f'<text x="{(PLOT_LEFT + PLOT_RIGHT) / 2}" y="{y(50):.1f}" text-anchor="middle" '
            f'fill="#3d4454">No score given yet</text>'
        )
    axis_y = PLOT_BOTTOM + 30
    parts.append(
        f'<text x="{PLOT_LEFT}" y="{axis_y}">{start:%d %b %Y}</text>'
        f'<text x="{PLOT_RIGHT}" y="{axis_y}" text-anchor="end">'
        f"{end - datetime.timedelta(seconds=1):%d %b %Y}</text>"
        f'<text x="{PLOT_LEFT}" y="{axis_y + 16}" fill="#3d4454">Blue line: weighted total; '
        f"dashed: band lines; triangle: an approval; green line: signed off</text>"
    )
    summary = escape(score_history_summary(steps, moments))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {HISTORY_WIDTH} {HISTORY_HEIGHT}" '
        f'width="{HISTORY_WIDTH}" height="{HISTORY_HEIGHT}" role="img" '
        f'class="score-history-chart" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        f"<title>{summary}</title><desc>The weighted readiness total over time as a step "
        f"line against the band lines, with the moments of sign-off marked.</desc>"
        f"{''.join(parts)}</svg>"
    )
    return mark_safe(svg)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
