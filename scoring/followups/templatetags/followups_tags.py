from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def sla_duration(value: timedelta | None) -> str:
    """'2 d 3 h', '3 h 20 min', '12 min' — the magnitude only; callers say 'left' or 'overdue'."""
    if value is None:
        return "—"
    minutes = int(abs(value).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def is_negative(value: timedelta | None) -> bool:
    return value is not None and value < timedelta(0)
