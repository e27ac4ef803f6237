"""Formatting for the pages: fractions as percentages, metric values, missing values said plainly."""

from django import template

register = template.Library()


@register.filter
def pct(fraction, digits: int = 1) -> str:
    """0.052 -> '5.2%'; a missing value -> an em dash."""
    if fraction is None or fraction == "":
        return "—"
    return f"{100 * float(fraction):.{int(digits)}f}%"


@register.filter
def num(value) -> str:
    """A metric value with four significant digits; a missing value -> an em dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}"


@register.filter
def recall(value) -> str:
    """A measured recall, or 'not measured' when the report carries none for this method and band."""
    if value is None or value == "":
        return "not measured"
    return f"{float(value):.3f}"


@register.filter
def get(mapping, key):
    if not isinstance(mapping, dict):
        return None
    return mapping.get(key)


@register.filter
def sortkey(value) -> str:
    """A value for the table sorter: numbers as numbers, missing values last."""
    if value is None or value == "":
        return ""
    return str(value)
