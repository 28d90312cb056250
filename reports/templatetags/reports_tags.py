from django import template

from reports import charts

register = template.Library()


@register.simple_tag
def sparkline(row):
    """The row's score trend as a small SVG (its text alternative is the row's `trend_text`)."""
    return charts.sparkline(row.trend, threshold=row.plan.signoff_threshold, title=row.trend_text)
