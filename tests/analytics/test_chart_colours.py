"""The colours of the analytics charts (static/js/charts.js) against the card they are drawn on
(static/css/app.css): WCAG 1.4.11 asks 3:1 for the graphics needed to read a chart. The ratios are computed
here with WCAG 2.x's relative luminance, independently of any library."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

CHARTS_JS = Path(settings.BASE_DIR) / "static" / "js" / "charts.js"
APP_CSS = Path(settings.BASE_DIR) / "static" / "css" / "app.css"


def _js_string(name: str) -> str:
    match = re.search(rf'var {name} = "([^"]+)";', CHARTS_JS.read_text())
    assert match, f"charts.js defines no {name}"
    return match.group(1)


def _rgba(text: str) -> tuple[float, float, float, float]:
    """#rgb, #rrggbb or rgba(r,g,b,a) as (r, g, b, alpha), channels 0-255."""
    text = text.strip()
    if text.startswith("#"):
        digits = text[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), 1.0)
    match = re.fullmatch(r"rgba\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([\d.]+)\s*\)", text)
    assert match, f"not a colour: {text}"
    r, g, b, a = match.groups()
    return (float(r), float(g), float(b), float(a))


def _over(colour: tuple[float, float, float, float], background: tuple[float, float, float]) -> tuple:
    """The colour seen when a translucent colour is painted over an opaque background."""
    alpha = colour[3]
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(colour[:3], background, strict=True))


def _relative_luminance(rgb: tuple[float, float, float]) -> float:
    def linear(channel: float) -> float:
        s = channel / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    lighter, darker = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _card_background() -> tuple[float, float, float]:
    match = re.search(r"--card:\s*(#[0-9a-fA-F]{3,6})", APP_CSS.read_text())
    assert match, "app.css defines no --card colour"
    return _rgba(match.group(1))[:3]


def test_the_contrast_formula_gives_the_known_ratios():
    assert round(_contrast((0, 0, 0), (255, 255, 255)), 2) == 21.0
    assert round(_contrast((0x76, 0x76, 0x76), (255, 255, 255)), 2) == 4.54  # the familiar AA grey
    assert _over((0, 0, 0, 0.5), (255, 255, 255)) == (127.5, 127.5, 127.5)


def test_the_nps_interval_band_edges_stand_out_from_the_card_and_from_the_band_fill():
    card = _card_background()
    edge = _rgba(_js_string("BAND_EDGE_COLOUR"))
    fill = _over(_rgba(_js_string("BAND_FILL_COLOUR")), card)
    assert edge[3] == 1.0, "an edge line must be opaque, or its contrast depends on what lies under it"

    # Outside the band the edge meets the card, inside it the fill: 3:1 against both (WCAG 1.4.11).
    assert round(_contrast(edge[:3], card), 2) == 3.96
    assert round(_contrast(edge[:3], fill), 2) == 3.35
    # The fill stays light: it is a tint, under 1.5:1 against the card, so the lines drawn over it
    # (the agent's NPS) keep their own contrast.
    assert round(_contrast(fill, card), 2) == 1.18


def test_the_lines_of_every_chart_have_3_to_1_against_the_card():
    card = _card_background()
    source = CHARTS_JS.read_text()
    department = re.search(r"var DEPARTMENT_COLOURS = \[([^\]]+)\];", source)
    assert department
    colours = [c.strip().strip('"') for c in department.group(1).split(",")]
    colours += [_js_string("TEAM_COLOUR"), _js_string("BAND_EDGE_COLOUR")]
    colours += re.findall(r'label: "Agent (?:QA|NPS)", data: d\.\w+, borderColor: "(#[0-9a-f]{6})"', source)
    assert len(colours) == 11
    assert {
        c: round(_contrast(_rgba(c)[:3], card), 2) for c in colours if _contrast(_rgba(c)[:3], card) < 3
    } == {}
