"""Parse a rendered page with the standard library's HTML parser and follow aria-describedby references, so
tests can check that a control's error message is tied to it (the element exists, once, and holds the text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value if value is not None else "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(
            Element(tag, {name: value if value is not None else "" for name, value in attrs})
        )

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                break

    def handle_data(self, data):
        for element in self.open:
            element.text_parts.append(data)


class Page:
    def __init__(self, html: str) -> None:
        collector = _Collector()
        collector.feed(html)
        collector.close()
        self.elements = collector.elements

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        """Elements of that tag whose attributes (trailing underscore dropped, _ for -) equal the values."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [
            e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one element with id={element_id!r}, found {len(found)}"
        return found[0]

    def unresolved_references(self) -> list[str]:
        """aria-describedby / aria-labelledby ids on the page that name no element, or more than one."""
        counts: dict[str, int] = {}
        for element in self.elements:
            if "id" in element.attrs:
                counts[element.attrs["id"]] = counts.get(element.attrs["id"], 0) + 1
        return [
            element_id
            for element in self.elements
            for name in ("aria-describedby", "aria-labelledby")
            for element_id in element.attrs.get(name, "").split()
            if counts.get(element_id) != 1
        ]

    def description(self, element: Element) -> str:
        """The text of every element the control's aria-describedby names (each must exist exactly once)."""
        ids = element.attrs.get("aria-describedby", "").split()
        assert ids, f"<{element.tag} {element.attrs}> has no aria-describedby"
        return " ".join(self.by_id(element_id).text for element_id in ids)


def page_of(response) -> Page:
    return Page(response.content.decode())
