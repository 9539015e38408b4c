"""The global shortcut on X11: a passive key grab on the root window (python-xlib, a connection of its own),
read through a QSocketNotifier on that connection's socket, so no thread is needed.

The grab is made for the key with exactly the shortcut's modifiers, and again with Caps Lock and Num Lock
on (X matches modifier states exactly). X grants a grab to one program only: if another holds it the
request fails with BadAccess, which becomes one line in Settings. While the key is held X repeats it;
XKB's detectable auto-repeat (asked for on this connection) turns the repeats into presses alone, and
where a server lacks it a release and press with the same timestamp are dropped as a repeat.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier
from Xlib import XK, X
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.protocol import rq

from voicedesk.app.shortcut_keys import KeyEvent, Shortcut, drop_auto_repeat
from voicedesk.ui.shortcut_backend import ShortcutBackend

log = logging.getLogger(__name__)

XKB_USE_CORE_KBD = 0x100
XKB_DETECTABLE_AUTO_REPEAT = 1


class _XkbUseExtension(rq.ReplyRequest):  # type: ignore[misc]  # python-xlib is untyped
    _request = rq.Struct(
        rq.Card8("opcode"),
        rq.Opcode(0),
        rq.RequestLength(),
        rq.Card16("wanted_major"),
        rq.Card16("wanted_minor"),
    )
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Bool("supported"),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Card16("server_major"),
        rq.Card16("server_minor"),
        rq.Pad(20),
    )


class _XkbPerClientFlags(rq.ReplyRequest):  # type: ignore[misc]
    _request = rq.Struct(
        rq.Card8("opcode"),
        rq.Opcode(21),
        rq.RequestLength(),
        rq.Card16("device_spec"),
        rq.Pad(2),
        rq.Card32("change"),
        rq.Card32("value"),
        rq.Card32("ctrls_to_change"),
        rq.Card32("auto_ctrls"),
        rq.Card32("auto_ctrl_values"),
    )
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Card8("device_id"),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Card32("supported"),
        rq.Card32("value"),
        rq.Card32("auto_ctrls"),
        rq.Card32("auto_ctrl_values"),
        rq.Pad(8),
    )


def detectable_auto_repeat(display: Any) -> bool:
    """Ask XKB to report a held key's repeats as presses without releases, for this connection."""
    try:
        extension = display.query_extension("XKEYBOARD")
        if extension is None or not extension.present:
            return False
        opcode = extension.major_opcode
        used = _XkbUseExtension(display=display.display, opcode=opcode, wanted_major=1, wanted_minor=0)
        if not used.supported:
            return False
        flags = _XkbPerClientFlags(
            display=display.display,
            opcode=opcode,
            device_spec=XKB_USE_CORE_KBD,
            change=XKB_DETECTABLE_AUTO_REPEAT,
            value=XKB_DETECTABLE_AUTO_REPEAT,
            ctrls_to_change=0,
            auto_ctrls=0,
            auto_ctrl_values=0,
        )
        return bool(flags.supported & flags.value & XKB_DETECTABLE_AUTO_REPEAT)
    except xerror.XError as exc:
        log.info("XKB detectable auto-repeat unavailable: %s", exc)
        return False


def _modifier_mask(display: Any, keysym_names: tuple[str, ...], default: int) -> int:
    """The ModN mask the keyboard map gives these keys (Alt is Mod1 and Num Lock Mod2 on most, not all)."""
    wanted = {display.keysym_to_keycode(XK.string_to_keysym(name)) for name in keysym_names} - {0}
    masks = (X.ShiftMask, X.LockMask, X.ControlMask, X.Mod1Mask, X.Mod2Mask, X.Mod3Mask, X.Mod4Mask, X.Mod5Mask)
    for index, keycodes in enumerate(display.get_modifier_mapping()):
        if wanted & set(keycodes):
            return int(masks[index])
    return default


class X11Shortcut(ShortcutBackend):
    name = "X11 key grab"

    def __init__(self, parent: QObject | None = None, display_name: str | None = None) -> None:
        super().__init__(parent)
        self._display_name = display_name
        self._display: Any = None
        self._notifier: QSocketNotifier | None = None
        self._keycode = 0
        self._grabs: list[int] = []
        self.detectable_repeat = False

    def start(self, shortcut: Shortcut) -> None:
        self.stop()
        try:
            display = Display(self._display_name)
        except (xerror.DisplayError, xerror.XError, OSError) as exc:
            self.fail(f"The shortcut cannot work: the X server did not answer ({exc}).")
            return
        problem = self._grab(display, shortcut)
        if problem is not None:
            display.close()
            self.fail(problem)
            return
        self._display = display
        self.detectable_repeat = detectable_auto_repeat(display)
        self._notifier = QSocketNotifier(display.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        self.activate(shortcut, f"{shortcut.text} works in every application (X11 key grab).")
        self._read()  # events that arrived with the replies above are already buffered

    def _grab(self, display: Any, shortcut: Shortcut) -> str | None:
        keysym = XK.string_to_keysym(shortcut.keysym_name)
        keycode = display.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            return f"{shortcut.text} cannot be used: this keyboard has no {shortcut.key} key. Choose another."
        alt = _modifier_mask(display, ("Alt_L", "Alt_R"), X.Mod1Mask)
        meta = _modifier_mask(display, ("Super_L", "Super_R"), X.Mod4Mask)
        num_lock = _modifier_mask(display, ("Num_Lock",), X.Mod2Mask)
        by_name = {"Ctrl": X.ControlMask, "Shift": X.ShiftMask, "Alt": alt, "Meta": meta}
        modifiers = 0
        for name in shortcut.modifiers:
            modifiers |= by_name[name]
        root = display.screen().root
        caught = xerror.CatchError(xerror.BadAccess)
        grabs = sorted({modifiers | extra for extra in (0, X.LockMask, num_lock, X.LockMask | num_lock)})
        for mask in grabs:
            root.grab_key(keycode, mask, False, X.GrabModeAsync, X.GrabModeAsync, onerror=caught)
        display.sync()
        if caught.get_error() is not None:
            for mask in grabs:
                root.ungrab_key(keycode, mask)
            display.sync()
            return f"{shortcut.text} is taken by another program: choose another shortcut."
        self._keycode, self._grabs = keycode, grabs
        return None

    def stop(self) -> None:
        super().stop()
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        display, self._display = self._display, None
        if display is not None:
            try:
                root = display.screen().root
                for mask in self._grabs:
                    root.ungrab_key(self._keycode, mask)
                display.close()  # closing also ends the grabs
            except (xerror.XError, OSError, xerror.ConnectionClosedError):
                pass
        self._grabs = []

    def _read(self) -> None:
        display = self._display
        if display is None:
            return
        try:
            events = self._drain(display)
            if events and not events[-1].pressed and not self.detectable_repeat:
                # A repeat's press is made in the same instant as its release but may not have been read
                # yet: a round trip to the server brings everything it had queued for us.
                display.sync()
                events += self._drain(display)
        except (xerror.ConnectionClosedError, OSError) as exc:
            self.stop()
            self.fail(f"The shortcut stopped working: the X server closed the connection ({exc}).")
            return
        for key in drop_auto_repeat(events):
            self.key(key.pressed)

    def _drain(self, display: Any) -> list[KeyEvent]:
        events: list[KeyEvent] = []
        while display.pending_events():
            event = display.next_event()
            if event.type in (X.KeyPress, X.KeyRelease) and event.detail == self._keycode:
                events.append(KeyEvent(event.type == X.KeyPress, int(event.time)))
        return events
