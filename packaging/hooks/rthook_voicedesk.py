"""PyInstaller runtime hook: runs inside every voicedesk bundle before voicedesk itself.

1. PortAudio. sounddevice finds it with ``ctypes.util.find_library("portaudio")``. The Linux bundle carries
   its own libportaudio.so.2 (the system one need not be installed), but find_library never looks inside a
   bundle on Linux, so point it there. Windows and macOS use the copy sounddevice's wheel ships.
2. TLS trust. The bundled OpenSSL was built with the build machine's certificate paths, which do not exist
   on other distributions, and on Windows and macOS the system keychain is where corporate CAs live.
   truststore makes ``ssl.create_default_context()`` (what websockets uses for wss://) verify with the
   operating system's trust store: Windows CryptoAPI, macOS Security framework, the distribution's CA file.
3. pyqtgraph imports PySide6.QtOpenGL at import time but uses it only for its OpenGL drawing, which
   voicedesk never switches on. The spec leaves that 9 MB binding out; a stand-in module takes its place,
   and any use of it says why it is missing.
4. ``VOICEDESK_BUNDLE_CHECK=1`` prints what the bundle contains and can load, as JSON, and exits
   (0 when everything loaded): the packaging test and CI use it.
5. ``VOICEDESK_REPORT_FIRST_PAINT=1`` prints ``voicedesk: first paint at <time.time()>`` on stderr when the
   main window receives its first paint event, for measuring cold start (packaging/measure_start.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType


def _bundled_portaudio() -> str | None:
    base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
    for name in ("libportaudio.so.2", "libportaudio.so"):
        path = os.path.join(base, name)
        if os.path.isfile(path):
            return path
    return None


def _use_bundled_portaudio() -> None:
    if not sys.platform.startswith("linux") or _bundled_portaudio() is None:
        return
    import ctypes.util

    system_find_library = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        if name == "portaudio":
            return _bundled_portaudio()
        return system_find_library(name)

    ctypes.util.find_library = find_library


def _use_system_trust_store() -> None:
    try:
        import truststore
    except ImportError:  # a bundle built without it keeps OpenSSL's defaults
        return
    truststore.inject_into_ssl()


def _stand_in_for_opengl_binding() -> None:
    import importlib.machinery
    import types

    base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
    binding = os.path.join(base, "PySide6", "QtOpenGL")
    if any(os.path.exists(binding + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES):
        return  # a bundle built with the real binding

    stand_in = types.ModuleType("PySide6.QtOpenGL", "Stand-in for the QtOpenGL binding, left out of this bundle.")

    def __getattr__(name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"PySide6.QtOpenGL.{name}: this voicedesk bundle carries no OpenGL binding")

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["PySide6.QtOpenGL"] = stand_in


def _bundle_check() -> None:
    import json

    report: dict[str, object] = {"frozen": bool(getattr(sys, "frozen", False))}
    ok = True

    def probe(name: str, fn: Callable[[], object]) -> None:
        nonlocal ok
        try:
            report[name] = fn()
        except Exception as exc:  # report every failure, not only the first
            ok = False
            report[name] = f"FAILED: {type(exc).__name__}: {exc}"

    def portaudio() -> dict[str, str]:
        import sounddevice

        return {"library": str(sounddevice._libname), "version": sounddevice.get_portaudio_version()[1]}

    def keyring_backends() -> dict[str, object]:
        # keyring finds its backends through entry points: without keyring's metadata and the backend
        # modules in the bundle it silently falls back to "fail" (no keychain at all).
        from importlib import import_module
        from importlib.metadata import entry_points

        from keyring.backend import get_all_keyring

        points = {ep.name: ep.value for ep in entry_points(group="keyring.backends")}
        native = {"linux": "SecretService", "win32": "Windows", "darwin": "macOS"}.get(sys.platform)
        if native is not None and native not in points:
            raise RuntimeError(f"keyring backend {native} not registered: {sorted(points)}")
        for name in ("chainer", native):
            if name:
                import_module(points[name])
        if sys.platform == "linux":
            import secretstorage  # noqa: F401  (SecretService needs it, and it needs cryptography)
        return {"entry_points": sorted(points), "viable_here": sorted(type(k).__module__ for k in get_all_keyring())}

    def resamplers() -> dict[str, str]:
        import samplerate
        import soxr

        return {"samplerate": samplerate.__version__, "soxr": soxr.__version__}

    def tls() -> str:
        import ssl

        context = ssl.create_default_context()
        return f"{type(context).__module__}.{type(context).__name__}"

    def qt() -> dict[str, object]:
        import PySide6
        from PySide6 import QtCore, QtGui, QtWidgets  # noqa: F401

        plugins = os.path.join(os.path.dirname(PySide6.__file__), "Qt", "plugins")
        return {
            "version": PySide6.__version__,
            "platforms": sorted(os.listdir(os.path.join(plugins, "platforms"))) if os.path.isdir(plugins) else [],
        }

    def icu() -> dict[str, object]:
        # The trimmed ICU data (packaging/icu_trim.py) must still hold the collation tailorings: in Swedish
        # "ö" sorts after "z", in German before it; a missing coll/sv.res would sort both the German way.
        from PySide6.QtCore import QCollator, QLocale

        order = {name: QCollator(QLocale(name)).compare("ö", "z") for name in ("sv_SE", "de_DE")}
        if not (order["sv_SE"] > 0 > order["de_DE"]):
            raise RuntimeError(f"collation data missing: compare('ö', 'z') gave {order}")
        upper = QLocale("tr_TR").toUpper("i")
        if upper != "İ":
            raise RuntimeError(f"Turkish case mapping gave {upper!r}")
        return {"collation": order, "tr_upper_i": upper}

    def plotting() -> str:
        import pyqtgraph

        return str(pyqtgraph.__version__)

    def resources() -> list[str]:
        from voicedesk.ui import theme

        base = theme.resources_dir()
        if base is None:
            raise RuntimeError("resources/ not found")
        return sorted(os.path.relpath(os.path.join(d, f), base) for d, _, fs in os.walk(base) for f in fs)

    probe("portaudio", portaudio)
    probe("keyring_backends", keyring_backends)
    probe("resamplers", resamplers)
    probe("tls_context", tls)
    probe("qt", qt)
    if sys.platform.startswith("linux"):  # only the Linux bundle carries ICU, trimmed; elsewhere Qt uses the OS
        probe("icu", icu)
    probe("pyqtgraph", plotting)
    probe("resources", resources)
    print(json.dumps(report, indent=1))
    sys.stdout.flush()
    os._exit(0 if ok else 1)


def _report_first_paint() -> None:
    """Wrap voicedesk.ui.app.make_application, once imported, to watch for the first Paint event."""
    import importlib.abc
    import importlib.util
    import time

    target = "voicedesk.ui.app"

    def install(module: ModuleType) -> None:
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QWidget

        make_application: Callable[..., QObject] | None = getattr(module, "make_application", None)
        if make_application is None:
            print("voicedesk: first paint probe: voicedesk.ui.app has no make_application", file=sys.stderr)
            return

        class FirstPaint(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint and isinstance(watched, QWidget):
                    window = watched.window()
                    if window is not None and window.isVisible() and type(window).__name__ == "MainWindow":
                        print(f"voicedesk: first paint at {time.time():.6f}", file=sys.stderr, flush=True)
                        parent = self.parent()
                        if parent is not None:
                            parent.removeEventFilter(self)
                return False

        def wrapped(*args: object, **kwargs: object) -> QObject:
            app = make_application(*args, **kwargs)
            app.installEventFilter(FirstPaint(app))
            return app

        setattr(module, "make_application", wrapped)  # noqa: B010  (ModuleType declares no such attribute)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(
            self, name: str, path: Sequence[str] | None, target_module: ModuleType | None = None
        ) -> ModuleSpec | None:
            if name != target:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            original = spec.loader

            class Loader(importlib.abc.Loader):  # only for this module: the frozen importer is shared
                def create_module(self, spec: ModuleSpec) -> ModuleType | None:
                    return original.create_module(spec)

                def exec_module(self, module: ModuleType) -> None:
                    original.exec_module(module)
                    install(module)

            spec.loader = Loader()
            return spec

    sys.meta_path.insert(0, Finder())


_use_bundled_portaudio()
_use_system_trust_store()
_stand_in_for_opengl_binding()
if os.environ.get("VOICEDESK_REPORT_FIRST_PAINT"):
    _report_first_paint()
if os.environ.get("VOICEDESK_BUNDLE_CHECK"):
    _bundle_check()
