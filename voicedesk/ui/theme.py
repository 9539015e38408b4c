"""Light and dark looks that follow the system (QStyleHints.colorScheme), the app icon, resource paths."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path | None:
    """resources/ of a source checkout, of a PyInstaller bundle, or $VOICEDESK_RESOURCES."""
    candidates = []
    if os.environ.get("VOICEDESK_RESOURCES"):
        candidates.append(Path(os.environ["VOICEDESK_RESOURCES"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    candidates.append(Path(sys.prefix) / "share" / "voicedesk" / "resources")
    return next((c for c in candidates if c.is_dir()), None)


def resource(name: str) -> Path | None:
    base = resources_dir()
    path = base / name if base else None
    return path if path is not None and path.exists() else None


def app_icon() -> QIcon:
    icon = QIcon()
    base = resources_dir()
    if base is None:
        return icon
    for size in ICON_SIZES:
        png = base / "icons" / f"voicedesk-{size}.png"
        if png.exists():
            icon.addFile(str(png))
    svg = base / "icons" / "voicedesk.svg"
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    return icon


def is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 128


# Colours the views use for things a stylesheet cannot reach (plot pens, rich text). Each one reads as text on
# its look's Base and Window colours with a WCAG AA contrast (4.5:1; tests/qt/test_theme_contrast.py checks).
LIGHT = {"user": "#1f5fbf", "assistant": "#1d7a46", "tool": "#7a5a00", "muted": "#6b6b6b", "cut": "#c0392b"}
DARK = {"user": "#7fb2ff", "assistant": "#6fdc9c", "tool": "#e8c46a", "muted": "#8c8c8c", "cut": "#ff7b6b"}


def dark_in_use() -> bool:
    """The look ``apply_theme`` chose for the application (the system's when it was never applied)."""
    app = QApplication.instance()
    chosen = app.property("voicedesk_dark") if app is not None else None
    return chosen if isinstance(chosen, bool) else is_dark()


def colors() -> dict[str, str]:
    return DARK if dark_in_use() else LIGHT


def _dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#202124",
        QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a",
        QPalette.ColorRole.AlternateBase: "#26282b",
        QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#2d2f33",
        QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.Highlight: "#2e71de",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2d2f33",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.PlaceholderText: "#8c8c8c",
        QPalette.ColorRole.Link: "#7fb2ff",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b6e73"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#6b6e73"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6e73"))
    return p


LIGHT_FIXES = {
    # Fusion's own light highlight (#308cc6) is 3.7:1 under white text: the same blue, darker.
    QPalette.ColorRole.Highlight: "#2a7bad",
    QPalette.ColorRole.PlaceholderText: LIGHT["muted"],
}


def palette(app: QApplication, dark: bool) -> QPalette:
    """The dark palette, or Fusion's light one with the colours that were too faint to read made darker."""
    if dark:
        return _dark_palette()
    p = app.style().standardPalette()
    for role, color in LIGHT_FIXES.items():
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            p.setColor(group, role, QColor(color))
    return p


def apply_theme(app: QApplication, dark: bool | None = None) -> bool:
    """Set the Fusion style, a palette and resources/{light,dark}.qss; returns whether it is dark."""
    forced = os.environ.get("VOICEDESK_THEME", "").lower()
    if forced in ("dark", "light"):  # a person's explicit choice wins over the system
        dark = forced == "dark"
    dark = is_dark() if dark is None else dark
    app.setStyle("Fusion")
    app.setPalette(palette(app, dark))
    sheet = resource("dark.qss" if dark else "light.qss")
    app.setStyleSheet(sheet.read_text(encoding="utf-8") if sheet else "")
    app.setProperty("voicedesk_dark", dark)
    return dark


def follow_system_theme(app: QApplication) -> None:
    """Re-apply the look whenever the system switches between light and dark."""

    def changed(scheme: Qt.ColorScheme) -> None:
        apply_theme(app, None if scheme == Qt.ColorScheme.Unknown else scheme == Qt.ColorScheme.Dark)

    QGuiApplication.styleHints().colorSchemeChanged.connect(changed)
