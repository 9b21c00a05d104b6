"""Admin change forms posted back as a browser would: shared by the admin tests and the rollup-refresh world."""

from __future__ import annotations

from django.forms import CheckboxInput, MultiWidget


def posted(form) -> dict:
    """What a browser posts for an admin form as rendered (values unchanged)."""
    data = {}
    for bound in form:
        widget = bound.field.widget
        widget = getattr(widget, "widget", widget)  # RelatedFieldWidgetWrapper
        value = bound.value()
        if isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{i}"] = "" if part is None else str(part)
        elif isinstance(widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif value is not None:
            data[bound.html_name] = str(value)
    return data


def change_page_data(client, url: str) -> dict:
    """The change form of an admin page with its inline formsets, as a browser would post it back."""
    response = client.get(url)
    assert response.status_code == 200, url
    data = {**posted(response.context["adminform"].form), "_save": "Save"}
    for inline in response.context["inline_admin_formsets"]:
        data.update(posted(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(posted(form))
    return data
