from django import template

register = template.Library()


@register.filter
def pct(value, digits: int = 1) -> str:
    """A fraction as a percentage ("—" when there is no figure)."""
    if value is None:
        return "—"
    return f"{100 * value:.{digits}f}%"


@register.filter
def num(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


@register.filter
def signed(value) -> str:
    if value is None:
        return ""
    return f"▲{value}" if value > 0 else (f"▼{-value}" if value < 0 else "=")
