"""The File menu's exports: the person picks where, ``export`` writes, the banner says how it went."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import PySide6
from PySide6.QtWidgets import QFileDialog, QWidget

from voicedesk import __version__
from voicedesk.app import AppRuntime, Item, exports
from voicedesk.private_files import write_private_text
from voicedesk.ui.banner import Banner

ExportKind = Literal["md", "json", "wav", "bundle"]
_FILTERS = {"md": "Markdown (*.md)", "json": "JSON (*.json)", "bundle": "Zip (*.zip)"}
_DEFAULT_NAMES = {"md": "conversation.md", "json": "conversation.json", "bundle": "voicedesk-debug.zip"}


class ExportActions:
    def __init__(self, window: QWidget, runtime: AppRuntime, banner: Banner) -> None:
        self._window = window
        self._runtime = runtime
        self._banner = banner

    def history(self) -> tuple[Item, ...]:
        return self._runtime.history()

    def notes(self) -> dict[str, Any]:
        """What the window adds to the debug bundle's environment notes."""
        banners = [f"{level}: {text}" for level, text in self._banner.history]
        return {"banners": banners, "qt": PySide6.__version__, "app": __version__}

    def bundle_parts(self) -> exports.BundleParts:
        return self._runtime.bundle_parts(self.notes())

    def export_all_to(self, directory: Path) -> list[Path]:
        return self._runtime.export_all_to(directory, self.notes())

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
            self._report(lambda: exports.write_conversation_markdown(target, self.history()))
        elif what == "json":
            self._report(lambda: [_write(target, exports.conversation_json(self.history()))])
        else:
            self._report(lambda: [exports.write_debug_bundle(target, self.bundle_parts())])

    def _report(self, job: Callable[[], list[Path]]) -> None:
        try:
            written = job()
        except OSError as exc:
            self._banner.show_message(f"Export failed: {exc}.", "Choose another folder.", "error")
            return
        names = ", ".join(p.name for p in written) or "nothing (no audio yet)"
        self._banner.show_message(f"Saved {names}.", str(written[0].parent) if written else "", "info")


def _write(path: Path, text: str) -> Path:
    return write_private_text(path, text)
