"""The global push-to-talk shortcut without Qt: what a shortcut is ("Ctrl+Alt+Space"), which backend can
catch it on this desktop, and the key-event rule every backend shares (auto-repeat is not a release).

Hold to talk needs both the press and the release of the key, so every backend reports both; whether a
press was long enough to send is not decided here: the session's input buffer refuses under 100 ms of
audio (voicedesk.session.input_buffer), for the window's button, Space and this shortcut alike.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_SHORTCUT = "Ctrl+Alt+Space"
MODIFIER_NAMES: dict[str, str] = {
    "ctrl": "Ctrl",
    "control": "Ctrl",
    "alt": "Alt",
    "shift": "Shift",
    "meta": "Meta",
    "super": "Meta",
    "win": "Meta",
    "cmd": "Meta",
}
MODIFIER_ORDER = ("Ctrl", "Alt", "Shift", "Meta")
# Qt's key names (QKeySequence.toString) whose X keysym name differs in more than case.
_KEYSYMS = {
    "space": "space",
    "esc": "Escape",
    "escape": "Escape",
    "return": "Return",
    "enter": "Return",
    "tab": "Tab",
    "backspace": "BackSpace",
    "ins": "Insert",
    "insert": "Insert",
    "del": "Delete",
    "delete": "Delete",
    "home": "Home",
    "end": "End",
    "pgup": "Prior",
    "pgdown": "Next",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "pause": "Pause",
    "print": "Print",
    "scrolllock": "Scroll_Lock",
    "menu": "Menu",
}

Backend = Literal["x11", "portal", "pynput", "none"]


class ShortcutError(ValueError):
    """A shortcut that cannot be used; the message is one line for the person."""


@dataclass(frozen=True, slots=True)
class Shortcut:
    modifiers: frozenset[str]
    """Of MODIFIER_ORDER's names."""
    key: str
    """Qt's name of the key: "Space", "F9", "K"."""

    @property
    def text(self) -> str:
        return "+".join([m for m in MODIFIER_ORDER if m in self.modifiers] + [self.key])

    @property
    def keysym_name(self) -> str:
        """The X keysym name of the key (also the XDG shortcuts format's key name)."""
        lowered = self.key.lower()
        if lowered in _KEYSYMS:
            return _KEYSYMS[lowered]
        return lowered if len(self.key) == 1 else self.key

    @property
    def is_function_key(self) -> bool:
        return self.key[:1] == "F" and self.key[1:].isdigit()


def parse_shortcut(text: str) -> Shortcut:
    """ "Ctrl+Alt+Space" (QKeySequence's portable text) to a Shortcut; ShortcutError says what is wrong.

    One key with modifiers: a plain letter or Space alone would be taken from every other program."""
    cleaned = text.strip()
    if not cleaned:
        raise ShortcutError("no shortcut given: press the keys you want, e.g. Ctrl+Alt+Space")
    if "," in cleaned:
        raise ShortcutError(f"{cleaned!r} is several keys in a row: a global shortcut is one key with modifiers")
    parts = cleaned.split("+")
    if cleaned.endswith("++") or cleaned == "+":  # "Ctrl++": the plus key itself
        parts = [*cleaned[:-2].split("+"), "+"] if cleaned != "+" else ["+"]
    *modifier_parts, key = [part.strip() for part in parts]
    modifiers: set[str] = set()
    for part in modifier_parts:
        name = MODIFIER_NAMES.get(part.lower())
        if name is None:
            raise ShortcutError(f"{cleaned!r}: {part!r} is not a modifier (Ctrl, Alt, Shift, Meta)")
        modifiers.add(name)
    if not key or key.lower() in MODIFIER_NAMES:
        raise ShortcutError(f"{cleaned!r} has no key besides the modifiers: add one, e.g. Space")
    key = key.upper() if len(key) == 1 else key[:1].upper() + key[1:]
    shortcut = Shortcut(frozenset(modifiers), key)
    if not (modifiers - {"Shift"}) and not shortcut.is_function_key:
        raise ShortcutError(
            f"{cleaned!r} would take that key from every other program: add Ctrl, Alt or Meta, or use a function key"
        )
    return shortcut


# ---------------------------------------------------------------------- key events


@dataclass(frozen=True, slots=True)
class KeyEvent:
    pressed: bool
    time_ms: int
    """The windowing system's timestamp of the event."""


def drop_auto_repeat(events: list[KeyEvent]) -> list[KeyEvent]:
    """X11 auto-repeat while a key is held arrives as a release immediately followed by a press with the
    same timestamp; such pairs are not the person letting go. (Where the server supports it, the X11
    backend asks for detectable auto-repeat instead, which sends the presses alone: ``HoldState`` ignores
    a press while held.)"""
    kept: list[KeyEvent] = []
    index = 0
    while index < len(events):
        event = events[index]
        following = events[index + 1] if index + 1 < len(events) else None
        if not event.pressed and following is not None and following.pressed and following.time_ms == event.time_ms:
            index += 2
            continue
        kept.append(event)
        index += 1
    return kept


class HoldState:
    """Whether the shortcut is held: repeated presses while held, and releases while not, change nothing."""

    def __init__(self) -> None:
        self.held = False

    def press(self) -> bool:
        """True when this press begins a hold."""
        if self.held:
            return False
        self.held = True
        return True

    def release(self) -> bool:
        """True when this release ends a hold."""
        if not self.held:
            return False
        self.held = False
        return True


# ---------------------------------------------------------------------- which backend


def choose_backend(qt_platform: str, environ: Mapping[str, str], platform: str = sys.platform) -> Backend:
    """The backend for this desktop: Windows and macOS use pynput; a Wayland session the desktop portal
    (an X11 grab under XWayland would see keys only while an X11 program has the focus); X11 a key grab;
    anything else (Qt's offscreen platform, a console) none."""
    if platform == "win32" or platform == "darwin":
        return "pynput"
    name = qt_platform.lower()
    if name.startswith("wayland") or environ.get("XDG_SESSION_TYPE") == "wayland" or environ.get("WAYLAND_DISPLAY"):
        return "portal" if name in ("xcb", "") or name.startswith("wayland") else "none"
    if name == "xcb" and environ.get("DISPLAY"):
        return "x11"
    return "none"
