"""WCAG AA contrast in the light and the dark look: the palettes, the stylesheets and the colours the views
draw text in. Disabled text is exempt (as WCAG says); the tray icon's glyph is a non-text part (3:1).
Font sizes in the stylesheets are in points, so text follows the system's size and scaling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from voicedesk.ui import theme, tray
from voicedesk.ui.contrast import AA_LARGE_TEXT, AA_TEXT, contrast_ratio

RESOURCES = Path(__file__).parents[2] / "resources"
NAMED = {"white": "#ffffff", "black": "#000000"}
Role = QPalette.ColorRole
TEXT_PAIRS = (
    (Role.Text, Role.Base),
    (Role.Text, Role.AlternateBase),
    (Role.WindowText, Role.Window),
    (Role.ButtonText, Role.Button),
    (Role.PlaceholderText, Role.Base),
    (Role.HighlightedText, Role.Highlight),
    (Role.ToolTipText, Role.ToolTipBase),
    (Role.Link, Role.Base),
)


def qss_rules(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(selector, {property: value}) for each rule of a stylesheet."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for match in re.finditer(r"([^{}]+)\{([^}]*)\}", text):
        declarations = (part.split(":", 1) for part in match.group(2).split(";") if ":" in part)
        yield match.group(1).strip(), {name.strip(): value.strip() for name, value in declarations}


def hex_color(value: str) -> str:
    value = NAMED.get(value.lower(), value)
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", value), f"not a colour this check reads: {value!r}"
    return value


def solid(palette: QPalette, role: QPalette.ColorRole, over: QPalette.ColorRole | None = None) -> str:
    """The role's colour as seen: a translucent one (Qt's default placeholder) blended over ``over``."""
    color = palette.color(QPalette.ColorGroup.Active, role)
    if color.alpha() == 255 or over is None:
        return color.name()
    under, a = palette.color(QPalette.ColorGroup.Active, over), color.alphaF()

    def mix(top: float, bottom: float) -> float:
        return a * top + (1 - a) * bottom

    mixed = QColor.fromRgbF(
        mix(color.redF(), under.redF()), mix(color.greenF(), under.greenF()), mix(color.blueF(), under.blueF())
    )
    return mixed.name()


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def look(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[tuple[bool, QPalette]]:
    before = qapp.style().name()
    qapp.setStyle("Fusion")  # what apply_theme sets: the light palette is Fusion's own
    yield request.param, theme.palette(qapp, request.param)
    qapp.setStyle(before)


def test_the_palette_text_pairs_meet_aa(look: tuple[bool, QPalette]) -> None:
    _dark, palette = look
    failures = []
    for text, background in TEXT_PAIRS:
        fg, bg = solid(palette, text, background), solid(palette, background)
        if contrast_ratio(fg, bg) < AA_TEXT:
            failures.append(f"{text.name} {fg} on {background.name} {bg}: {contrast_ratio(fg, bg):.2f}")
    assert not failures


def test_the_views_text_colours_meet_aa_on_the_base_and_the_window(look: tuple[bool, QPalette]) -> None:
    dark, palette = look
    colours = theme.DARK if dark else theme.LIGHT
    failures = [
        f"{name} {colour} on {role.name}: {contrast_ratio(colour, solid(palette, role)):.2f}"
        for name, colour in colours.items()
        for role in (Role.Base, Role.Window)
        if contrast_ratio(colour, solid(palette, role)) < AA_TEXT
    ]
    assert not failures


@pytest.mark.parametrize("sheet", ["light.qss", "dark.qss"])
def test_every_stylesheet_rule_with_text_meets_aa(sheet: str, qapp: QApplication) -> None:
    """A rule with a colour and a background is checked against its background; one with only a colour
    against the window behind it (labels sit on the window)."""
    window = solid(theme.palette(qapp, sheet == "dark.qss"), Role.Window)
    checked, failures = 0, []
    for selector, props in qss_rules((RESOURCES / sheet).read_text(encoding="utf-8")):
        if "color" not in props or ":disabled" in selector:
            continue
        background = props.get("background", props.get("background-color", window))
        ratio = contrast_ratio(hex_color(props["color"]), hex_color(background))
        checked += 1
        if ratio < AA_TEXT:
            failures.append(f"{selector}: {props['color']} on {background} is {ratio:.2f}")
    assert checked >= 10 and not failures


def test_the_check_reads_a_failing_rule(qapp: QApplication) -> None:
    rules = dict(qss_rules("QLabel#faint { color: #8a8a8a; background: white; } /* x */ QFrame { border: 0; }"))
    assert rules == {"QLabel#faint": {"color": "#8a8a8a", "background": "white"}, "QFrame": {"border": "0"}}
    assert contrast_ratio(hex_color(rules["QLabel#faint"]["color"]), hex_color("white")) < AA_TEXT


@pytest.mark.parametrize("sheet", ["light.qss", "dark.qss"])
def test_stylesheets_leave_text_at_the_system_font_size(sheet: str) -> None:
    """No fixed font size (it would ignore the system's), nor a pixel one (it would ignore high-DPI scaling)."""
    text = (RESOURCES / sheet).read_text(encoding="utf-8")
    assert not re.findall(r"font-size\s*:", text)
    assert not re.search(r"font[^;}]*\d+px", text)


def test_the_tray_glyph_stands_out_from_every_state(qapp: QApplication) -> None:
    assert all(contrast_ratio(tray.GLYPH, colour) >= AA_LARGE_TEXT for colour in tray.COLORS.values())


def test_apply_theme_sets_the_readable_light_palette(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEDESK_THEME", raising=False)
    before_palette, before_sheet, before_style = qapp.palette(), qapp.styleSheet(), qapp.style().name()
    try:
        assert theme.apply_theme(qapp, dark=False) is False
        placeholder = solid(qapp.palette(), Role.PlaceholderText, Role.Base)
        assert contrast_ratio(placeholder, solid(qapp.palette(), Role.Base)) >= AA_TEXT
        assert qapp.palette().color(Role.Highlight).name() == theme.LIGHT_FIXES[Role.Highlight]
    finally:
        qapp.setStyle(before_style)
        qapp.setPalette(before_palette)
        qapp.setStyleSheet(before_sheet)
        qapp.setProperty("voicedesk_dark", None)
