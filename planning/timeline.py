"""The four weeks as an SVG picture, drawn on the server so that the PDF packet can use it too.

Days run left to right; each phase is a band with its tasks beneath it, each task a bar from
the start of its phase to its due date, shaded by status; today is a vertical line. Every piece
of text is escaped here; the result is safe to put in a page as it is.
"""

import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from planning.selectors import Board

# Room for the longest phase label, "Week 4: " and 28 characters in bold, clear of the bars.
LABEL_WIDTH = 290
DAY_WIDTH = 24
HEADER = 34
PHASE_ROW = 24
TASK_ROW = 15
STATUS_FILL = {
    "done": "#1d7a3a",
    "in_progress": "#2451b7",
    "blocked": "#b42318",
    "todo": "#9aa3b2",
}
STATUS_LABEL = {"done": "done", "in_progress": "in progress", "blocked": "blocked", "todo": "to do"}
# The picture covers at most this many days; a task due later points off its right edge.
MAX_DAYS = 70


def _shorten(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(board: Board, first: datetime.date, last: datetime.date) -> str:
    """The picture's text alternative (its SVG title, the PDF's /Alt): what it shows in words."""
    counts = {status: 0 for status in STATUS_LABEL}
    for task in board.tasks:
        counts[task.status] += 1
    overdue = sum(1 for task in board.tasks if task.is_overdue)
    states = ", ".join(f"{n} {STATUS_LABEL[status]}" for status, n in counts.items() if n)
    return (
        f"Timeline of the four weeks, {first:%d %b %Y} to {last:%d %b %Y}: "
        f"{len(board.tasks)} tasks" + (f" ({states})" if states else "") + f", {overdue} overdue"
    )


def render(board: Board) -> SafeString:
    if not board.phases:
        return mark_safe("")
    first = min(column.phase.starts_on for column in board.phases)
    last = max(
        [column.phase.ends_on for column in board.phases] + [task.due_on for task in board.tasks]
    )
    last = min(last, first + datetime.timedelta(days=MAX_DAYS - 1))
    days = (last - first).days + 1
    width = LABEL_WIDTH + days * DAY_WIDTH + 10

    def x(day: datetime.date) -> float:
        return LABEL_WIDTH + (min(max(day, first), last) - first).days * DAY_WIDTH

    rows: list[str] = []
    y = HEADER
    for column in board.phases:
        phase = column.phase
        rows.append(
            f'<g class="phase"><rect x="0" y="{y}" width="{width}" height="{PHASE_ROW}" '
            f'fill="#eef2fb"/>'
            f'<text x="8" y="{y + 16}" font-weight="600">Week {phase.number}: '
            f"{escape(_shorten(phase.title, 28))}</text>"
            f'<rect x="{x(phase.starts_on)}" y="{y + 5}" '
            f'width="{((phase.ends_on - phase.starts_on).days + 1) * DAY_WIDTH}" height="14" '
            f'rx="3" fill="#2451b7" opacity="0.25"><title>{escape(phase.title)}: '
            f"{phase.starts_on:%d %b} to {phase.ends_on:%d %b}</title></rect></g>"
        )
        y += PHASE_ROW
        for _, items in column.groups:
            for item in items:
                start = x(phase.starts_on)
                end = x(item.due_on) + DAY_WIDTH
                bar_width = max(end - start, DAY_WIDTH / 2)
                overdue = ' stroke="#b42318" stroke-width="1.5"' if item.is_overdue else ""
                label = f"{item.title}: {STATUS_LABEL[item.status]}, due {item.due_on:%d %b}"
                if item.is_overdue:
                    label += " (overdue)"
                rows.append(
                    f'<g class="task"><text x="18" y="{y + 11}" font-size="11" fill="#3d4454">'
                    f"{escape(_shorten(item.title))}</text>"
                    f'<rect x="{start}" y="{y + 3}" width="{bar_width}" height="9" rx="2" '
                    f'fill="{STATUS_FILL[item.status]}"{overdue}>'
                    f"<title>{escape(label)}</title></rect></g>"
                )
                y += TASK_ROW
    height = y + 8

    header: list[str] = []
    # Mondays are marked, and the first day too unless a Monday follows too closely for both
    # dates to be read.
    monday_close = 0 < (7 - first.weekday()) % 7 < 3
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        if day.weekday() == 0 or (offset == 0 and not monday_close):
            header.append(
                f'<text x="{x(day) + 2}" y="14" font-size="11" fill="#5b6475">'
                f"{day:%d %b}</text>"
                f'<line x1="{x(day)}" y1="20" x2="{x(day)}" y2="{height}" stroke="#e2e5eb"/>'
            )
    if first <= board.today <= last:
        today_x = x(board.today) + DAY_WIDTH / 2
        header.append(
            f'<line x1="{today_x}" y1="20" x2="{today_x}" y2="{height}" stroke="#b42318" '
            f'stroke-width="2"/><text x="{today_x + 4}" y="30" font-size="11" fill="#b42318" '
            f'font-weight="600">Today</text>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="timeline" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        f"<title>{escape(_summary(board, first, last))}</title>"
        f"{''.join(header)}{''.join(rows)}</svg>"
    )
    return mark_safe(svg)
