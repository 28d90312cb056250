"""The readiness matrix as an SVG picture, drawn on the server so that the PDF packet can use it.

Each category is a row: a pale bar as long as its weight (what it can contribute) and a solid
bar for what its score contributes now. Every piece of text is escaped here.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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
