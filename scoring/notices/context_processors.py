from django.utils.functional import SimpleLazyObject

from .selectors import notice_unread_count


def notices(request):
    """`notice_unread_count` for the nav, counted only when a template shows it: one query on a full
    page, none on an htmx fragment or a page without the nav."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notice_unread_count": SimpleLazyObject(lambda: notice_unread_count(user))}
