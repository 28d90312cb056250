"""The portfolio's sparkline: a plan's score over the last weeks as a small SVG line, drawn on
the server. The picture is decoration for sighted readers; the page puts its text alternative
beside it (`PortfolioRow.trend_text`), so the SVG itself is hidden from screen readers."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 96
HEIGHT = 28
PAD = 3


def _xy(index: int, value: float, count: int) -> tuple[float, float]:
    step = (WIDTH - 2 * PAD) / max(count - 1, 1)
    x = PAD + index * step
    y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * max(0.0, min(value, 100.0)) / 100
    return x, y


def sparkline(
    values: list[float | None], *, threshold: int | None = None, title: str = ""
) -> SafeString:
    """A line through the known points (a week without a score leaves a gap), a dot on the
    latest, and a dashed line at the plan's sign-off threshold. The scale is 0–100."""
    parts = []
    if threshold is not None:
        _, y = _xy(0, float(threshold), len(values))
        parts.append(
            f'<line x1="0" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" class="spark-threshold"/>'
        )
    run: list[str] = []
    runs = []
    for index, value in enumerate(values):
        if value is None:
            if run:
                runs.append(run)
            run = []
            continue
        x, y = _xy(index, value, len(values))
        run.append(f"{x:.1f},{y:.1f}")
    if run:
        runs.append(run)
    for points in runs:
        if len(points) > 1:
            parts.append(f'<polyline points="{" ".join(points)}" class="spark-line"/>')
    last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
    if last is not None:
        x, y = _xy(last[0], last[1], len(values))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="spark-dot"/>')
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" class="sparkline" aria-hidden="true" '
        f'focusable="false"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )
    # Only numbers computed here and the escaped title.
    return mark_safe(svg)
