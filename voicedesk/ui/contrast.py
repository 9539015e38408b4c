"""WCAG 2.x contrast between two sRGB colours (plain Python, no Qt): what the theme's colour pairs are
checked against, so text stays readable in the light and the dark look."""

from __future__ import annotations

AA_TEXT = 4.5  # normal text
AA_LARGE_TEXT = 3.0  # text of 18 pt, or 14 pt bold, and up; also non-text UI parts (WCAG 1.4.11)


def _channel(value: int) -> float:
    c = value / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """``#rrggbb`` (or ``#rgb``) -> relative luminance 0..1."""
    hex_digits = color.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(d * 2 for d in hex_digits)
    if len(hex_digits) != 6:
        raise ValueError(f"not an #rrggbb colour: {color!r}")
    r, g, b = (int(hex_digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """1.0 (none) .. 21.0 (black on white); the order of the two colours does not matter."""
    a, b = relative_luminance(foreground), relative_luminance(background)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)
