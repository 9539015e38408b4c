"""The File menu's exports: the person picks where, ``export`` writes, the banner says how it went."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import PySide6
from PySide6.QtWidgets import QFileDialog, QWidget

from voicedesk import __version__
from voicedesk.session.conversation import Item
from voicedesk.ui import export
from voicedesk.ui.banner import Banner
from voicedesk.ui.runtime import SessionRuntime

ExportKind = Literal["md", "json", "wav", "bundle"]
_FILTERS = {"md": "Markdown (*.md)", "json": "JSON (*.json)", "bundle": "Zip (*.zip)"}
_DEFAULT_NAMES = {"md": "conversation.md", "json": "conversation.json", "bundle": "voicedesk-debug.zip"}


class ExportActions:
    def __init__(self, window: QWidget, runtime: SessionRuntime, banner: Banner) -> None:
        self._window = window
        self._runtime = runtime
        self._banner = banner

    def history(self) -> tuple[Item, ...]:
        controller = self._runtime.controller
        return controller.history() if controller is not None else ()

    def bundle_parts(self) -> export.BundleParts:
        """What the debug bundle holds: settings (no key), recent events, the conversation, and notes."""
        rt = self._runtime
        c = rt.controller
        notes = {
            "endpoint": c.endpoint.describe() if c else None,
            "connection": c.connection if c else None,
            "audio": rt.audio.fallback_reason or "devices" if rt.audio else None,
            "banners": [f"{level}: {text}" for level, text in self._banner.history],
            "qt": PySide6.__version__,
            "app": __version__,
        }
        return export.BundleParts(rt.settings, list(rt.recent_events), self.history(), notes,
                                  c.journal_path if c else None)  # fmt: skip

    def export_all_to(self, directory: Path) -> list[Path]:
        return export.export_everything(directory, self.history(), self._runtime.recorder, self.bundle_parts())

    def export_all(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self._window, "Export everything into…", str(Path.home()))
        if chosen:
            folder = Path(chosen) / f"voicedesk-{time.strftime('%Y%m%d-%H%M%S')}"
            self._report(lambda: self.export_all_to(folder))

    def export_one(self, what: ExportKind) -> None:
        if what == "wav":
            chosen = QFileDialog.getExistingDirectory(self._window, "Save both sides' audio into…", str(Path.home()))
            if chosen:
                self._report(lambda: self._runtime.recorder.copy_to(Path(chosen)))
            return
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save as", str(Path.home() / _DEFAULT_NAMES[what]), _FILTERS[what]
        )
        if not path:
            return
        target = Path(path)
        if what == "md":
            self._report(lambda: [_write(target, export.conversation_markdown(self.history()))])
        elif what == "json":
            self._report(lambda: [_write(target, export.conversation_json(self.history()))])
        else:
            self._report(lambda: [export.write_debug_bundle(target, self.bundle_parts())])

    def _report(self, job: Callable[[], list[Path]]) -> None:
        try:
            written = job()
        except OSError as exc:
            self._banner.show_message(f"Export failed: {exc}.", "Choose another folder.", "error")
            return
        names = ", ".join(p.name for p in written) or "nothing (no audio yet)"
        self._banner.show_message(f"Saved {names}.", str(written[0].parent) if written else "", "info")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
