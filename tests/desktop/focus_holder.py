"""Another X client: a plain window that takes the input focus and reports every key it receives, so a
test can show the global shortcut works while voicedesk is not focused (and that the grabbed key never
reached the focused program). With ``--grab KEYS`` it first grabs that shortcut itself, as another
program holding it would.

    DISPLAY=:N python tests/desktop/focus_holder.py [--grab ctrl+alt+space]

Prints JSON lines: {"window": ID, "grabbed": bool} once focused, then {"key": KEYSYM_NAME, "pressed": bool}.
"""

from __future__ import annotations

import argparse
import json
import select
import sys

from Xlib import XK, X
from Xlib import error as xerror
from Xlib.display import Display

MASKS = {"ctrl": X.ControlMask, "alt": X.Mod1Mask, "shift": X.ShiftMask}
KEYSYM_NAMES = {value: name[3:] for name, value in vars(XK).items() if name.startswith("XK_")}


def say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grab", help="grab this shortcut first, e.g. ctrl+alt+space")
    args = parser.parse_args()
    display = Display()
    screen = display.screen()
    window = screen.root.create_window(
        10, 300, 300, 120, 0, screen.root_depth,
        event_mask=X.KeyPressMask | X.KeyReleaseMask | X.StructureNotifyMask,
    )  # fmt: skip
    window.set_wm_name("focus holder")
    window.map()
    while display.next_event().type != X.MapNotify:
        pass
    grabbed = False
    if args.grab:
        *modifiers, key = args.grab.lower().split("+")
        mask = 0
        for name in modifiers:
            mask |= MASKS[name]
        caught = xerror.CatchError(xerror.BadAccess)
        keycode = display.keysym_to_keycode(XK.string_to_keysym(key))
        screen.root.grab_key(keycode, mask, False, X.GrabModeAsync, X.GrabModeAsync, onerror=caught)
        display.sync()
        grabbed = caught.get_error() is None
    window.set_input_focus(X.RevertToParent, X.CurrentTime)
    display.sync()
    say(window=window.id, grabbed=grabbed)
    while True:
        readable, _, _ = select.select([display.fileno(), sys.stdin], [], [], 1.0)
        if sys.stdin in readable and not sys.stdin.readline():
            return  # the test closed our stdin: done
        while display.pending_events():
            event = display.next_event()
            if event.type in (X.KeyPress, X.KeyRelease):
                keysym = display.keycode_to_keysym(event.detail, 0)
                name = KEYSYM_NAMES.get(keysym, str(keysym))
                say(key=name, pressed=event.type == X.KeyPress)


if __name__ == "__main__":
    main()
