"""The burn-up of the four weeks as an SVG picture, drawn on the server like the timeline.

From the start of week 1 to the end of week 4, the tasks done so far rise towards the scope
(every task in the plan at that moment), so a scope that grows shows as the upper line
moving away. Weeks still to come are marked on the axis with nothing drawn above them.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from planning.selectors import BurnupPoint

WIDTH = 560
HEIGHT = 230
LEFT = 40
RIGHT = 530
TOP = 18
BOTTOM = 170
DONE = "#1d7a3a"
SCOPE = "#5b6475"


def summary(points: list[BurnupPoint]) -> str:
    """The picture's text alternative: each point in words."""
    parts = [f"{p.label}: {p.done} of {p.scope} done" for p in points if p.done is not None]
    for missing, words in (
        ("before the plan", "before the plan was made"),
        ("to come", "still to come"),
    ):
        labels = [p.label for p in points if p.missing == missing]
        if labels:
            parts.append(f"{words}: {', '.join(labels)}")
    return "Burn-up of tasks done against the scope. " + "; ".join(parts) + "."


def render(points: list[BurnupPoint]) -> SafeString:
    if not points:
        return mark_safe("")
    known = [(i, p) for i, p in enumerate(points) if p.done is not None]
    highest = max([p.scope for _, p in known] + [1])
    step = (RIGHT - LEFT) / max(len(points) - 1, 1)

    def x(index: int) -> float:
        return LEFT + index * step

    def y(count: int) -> float:
        return BOTTOM - count / highest * (BOTTOM - TOP)

    parts = [
        f'<rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}" '
        f'fill="#f6f7f9"/>',
        f'<text x="{LEFT - 6}" y="{y(highest) + 4:.1f}" text-anchor="end">{highest}</text>',
        f'<text x="{LEFT - 6}" y="{BOTTOM + 4}" text-anchor="end">0</text>',
    ]
    for index, point in enumerate(points):
        anchor = "start" if index == 0 else "end" if index == len(points) - 1 else "middle"
        colour = "#3d4454" if point.done is not None else "#8a91a0"
        parts.append(
            f'<line x1="{x(index):.1f}" y1="{TOP}" x2="{x(index):.1f}" y2="{BOTTOM}" '
            f'stroke="#e2e5eb"/><text x="{x(index):.1f}" y="{BOTTOM + 18}" '
            f'text-anchor="{anchor}" fill="{colour}">{escape(point.label)}</text>'
        )
    for name, colour, value, dash in (
        ("scope", SCOPE, lambda p: p.scope, ' stroke-dasharray="5 4"'),
        ("done", DONE, lambda p: p.done, ""),
    ):
        line = " ".join(f"{x(i):.1f},{y(value(p)):.1f}" for i, p in known)
        parts.append(
            f'<polyline class="{name}" points="{line}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5"{dash}/>'
        )
        for i, p in known:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(value(p)):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(p.label)}: {value(p)} {'tasks' if name == 'scope' else 'done'}"
                f"</title></circle>"
            )
    last = known[-1][1] if known else None
    if last is not None:
        parts.append(
            f'<text x="{LEFT}" y="{BOTTOM + 44}" fill="#3d4454">Solid green: tasks done '
            f"({last.done}); dashed grey: all tasks ({last.scope})</text>"
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" class="burnup" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        f"<title>{escape(summary(points))}</title><desc>Tasks done per week, cumulative, "
        f"against the plan's tasks in total, across the four weeks.</desc>"
        f"{''.join(parts)}</svg>"
    )
    return mark_safe(svg)
