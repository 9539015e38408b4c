"""The other applications' windows on an X11 desktop, for "Share screen → A window": their ids and titles.

Qt lists only its own windows; the X server knows all of them. Read with Xlib through ctypes: the window
manager's ``_NET_CLIENT_LIST`` (what a task bar shows), or, with no window manager (Xvfb), the root's mapped
children that have a name. Elsewhere (Wayland, Windows, macOS) there is no such list: ``None``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterable
from dataclasses import dataclass

_XA_WINDOW = 33
_IS_VIEWABLE = 2
_MAX_WINDOWS = 512


@dataclass(frozen=True, slots=True)
class X11Window:
    id: int
    title: str


class _Attributes(ctypes.Structure):
    # XWindowAttributes up to map_state (the rest is never read; the buffer below is large enough).
    _fields_ = [
        ("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
        ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong), ("class_", ctypes.c_int), ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int), ("map_state", ctypes.c_int), ("_rest", ctypes.c_byte * 128),
    ]  # fmt: skip


def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XDefaultRootWindow.restype = ctypes.c_ulong
    lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    lib.XInternAtom.restype = ctypes.c_ulong
    lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.XGetWindowProperty.argtypes = [
        ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
        ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p),
    ]  # fmt: skip
    lib.XQueryTree.argtypes = [
        ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint),
    ]  # fmt: skip
    lib.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_Attributes)]
    lib.XFree.argtypes = [ctypes.c_void_p]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return lib


class _Display:
    def __init__(self, lib: ctypes.CDLL, display: int) -> None:
        self.lib, self.display = lib, display
        self.root = lib.XDefaultRootWindow(display)

    def atom(self, name: str) -> int:
        return int(self.lib.XInternAtom(self.display, name.encode(), 0))

    def property(self, window: int, name: str, kind: int) -> tuple[int, bytes] | None:
        """(format, raw value) of a window property, or None when it has none."""
        actual, fmt = ctypes.c_ulong(), ctypes.c_int()
        count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        status = self.lib.XGetWindowProperty(
            self.display, window, self.atom(name), 0, 4096, 0, kind,
            ctypes.byref(actual), ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after), ctypes.byref(data),
        )  # fmt: skip
        if status != 0 or not data.value:
            return None
        try:
            if actual.value == 0 or count.value == 0:
                return None
            # Format 32 items are C longs in memory (8 bytes on 64-bit), whatever the protocol's 32 bits.
            width = {8: 1, 16: 2, 32: ctypes.sizeof(ctypes.c_long)}[fmt.value]
            return fmt.value, ctypes.string_at(data.value, width * count.value)
        finally:
            self.lib.XFree(data)

    def title(self, window: int) -> str:
        for name, kind in (("_NET_WM_NAME", self.atom("UTF8_STRING")), ("WM_NAME", 0)):  # 0: AnyPropertyType
            found = self.property(window, name, kind)
            if found is not None and found[0] == 8:
                return found[1].decode("utf-8", "replace").strip("\0").strip()
        return ""

    def client_list(self) -> list[int]:
        found = self.property(self.root, "_NET_CLIENT_LIST", _XA_WINDOW)
        if found is None:
            return []
        count = len(found[1]) // ctypes.sizeof(ctypes.c_ulong)
        return list((ctypes.c_ulong * count).from_buffer_copy(found[1]))[:_MAX_WINDOWS]

    def mapped_children(self) -> list[int]:
        root, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p(), ctypes.c_uint()
        if not self.lib.XQueryTree(
            self.display,
            self.root,
            ctypes.byref(root),
            ctypes.byref(parent),
            ctypes.byref(children),
            ctypes.byref(count),
        ):
            return []
        try:
            ids = list((ctypes.c_ulong * count.value).from_address(children.value)) if children.value else []
        finally:
            if children.value:
                self.lib.XFree(children)
        viewable = []
        for window in ids[-_MAX_WINDOWS:]:
            attributes = _Attributes()
            got = self.lib.XGetWindowAttributes(self.display, window, ctypes.byref(attributes))
            if got and attributes.map_state == _IS_VIEWABLE:
                viewable.append(window)
        return viewable


def list_windows(exclude: Iterable[int] = ()) -> list[X11Window] | None:
    """The named top-level windows, top of the stack last (None: no X11 display to ask)."""
    lib = _library()
    if lib is None:
        return None
    display = lib.XOpenDisplay(None)
    if not display:
        return None
    try:
        x = _Display(lib, display)
        windows = x.client_list() or x.mapped_children()
        skip = set(exclude)
        named = [X11Window(w, x.title(w)) for w in windows if w not in skip]
        return [w for w in named if w.title]
    finally:
        lib.XCloseDisplay(display)
