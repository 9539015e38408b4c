"""Images into the conversation from the window: pasted (Ctrl+V), dropped files, and what the Share screen
menu captures (voicedesk.ui.share_screen), all through ``ImageInput.share``.

Qt decodes, scales and encodes here (a screen is captured as a QImage already, and Qt's smooth scaling and
JPEG writer are quicker than a round trip through Pillow); the app layer's policy (voicedesk.app.images)
decides the size and the encoding. Connected, an image is sent at once: with the text in the message box
as one message that gets an answer, or alone, to be answered with the next spoken or typed turn. Not
connected, it waits and is shared as soon as the session connects: nothing is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QMimeData, QObject, Qt
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QImageReader,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QShortcut,
)
from PySide6.QtWidgets import QApplication, QLineEdit

from voicedesk.app.images import MAX_FILE_BYTES, Encoding, ImageError, prepare
from voicedesk.session.items import IMAGES_NEED_GA, ImagePart, ImagesNotSupported
from voicedesk.ui.share_screen import ShareScreen

if TYPE_CHECKING:
    from voicedesk.ui.main_window import MainWindow


class QtRaster:
    """A QImage as the app layer's ``Raster``: 32-bit (RGB32, or ARGB32 when it has an alpha channel)."""

    def __init__(self, image: QImage) -> None:
        wanted = QImage.Format.Format_ARGB32 if image.hasAlphaChannel() else QImage.Format.Format_RGB32
        self.image = image if image.format() == wanted else image.convertToFormat(wanted)

    @property
    def width(self) -> int:
        return self.image.width()

    @property
    def height(self) -> int:
        return self.image.height()

    @property
    def has_alpha(self) -> bool:
        """An alpha channel with at least one pixel not opaque (a screenshot's channel is all 255)."""
        if self.image.format() != QImage.Format.Format_ARGB32:
            return False
        pixels = np.frombuffer(self.image.constBits(), np.uint8, self.image.sizeInBytes())
        rows = pixels.reshape(self.height, self.image.bytesPerLine())[:, : self.width * 4]
        return bool(rows[:, 3::4].min() < 255)  # ARGB32 is B, G, R, A in memory on little-endian machines

    def scaled(self, width: int, height: int) -> QtRaster:
        mode = Qt.TransformationMode.SmoothTransformation
        return QtRaster(self.image.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio, mode))

    def encode(self, encoding: Encoding, quality: int) -> bytes:
        image = self.image
        if encoding == "jpeg" and image.format() == QImage.Format.Format_ARGB32:
            flat = QImage(image.size(), QImage.Format.Format_RGB32)
            flat.fill(QColor("white"))  # JPEG has no transparency: what shows through is white, not black
            painter = QPainter(flat)
            painter.drawImage(0, 0, image)
            painter.end()
            image = flat
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        kind, level = ("PNG", -1) if encoding == "png" else ("JPEG", quality)
        # The stubs say bytes; PySide6 6.11 takes only str for the format at run time.
        if not image.save(buffer, kind, level):  # type: ignore[call-overload]
            raise ImageError(f"the image could not be encoded as {encoding.upper()}")
        return bytes(data.data())


def prepare_qimage(image: QImage, source: str) -> ImagePart:
    if image.isNull() or image.width() == 0 or image.height() == 0:
        raise ImageError(f"{source}: the image is empty")
    return prepare(QtRaster(image), source=source)


def read_image_file(path: Path) -> ImagePart:
    """A dropped file as an image ready to send; ImageError (one line) when it is none."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise ImageError(f"{path.name} is a folder, not an image")
    if size > MAX_FILE_BYTES:
        raise ImageError(f"{path.name} is {size // 1_000_000} MB: too large to be an image to share")
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # a photo upright, as its EXIF orientation says
    image = reader.read()
    if image.isNull():
        raise ImageError(f"{path.name} is not an image (PNG, JPEG, GIF, BMP …): not shared")
    return prepare_qimage(image, path.name)


def _image_files(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class ImageInput(QObject):
    """Paste and drop on the window; ``share`` sends (or keeps until connected) what any path brought."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.pending: list[ImagePart] = []
        self.shared: list[ImagePart] = []
        """Every image sent from this window, in order (what the tests and the status line look at)."""
        window.setAcceptDrops(True)
        box = window.conversation.message_box
        for target in (window, box, window.conversation.browser.viewport()):
            target.installEventFilter(self)
        # Ctrl+V anywhere in the window; in the message box its own paste runs unless the clipboard has an image.
        self._paste = QShortcut(QKeySequence(QKeySequence.StandardKey.Paste), window)
        self._paste.activated.connect(self.paste)
        window.view_model.connected_changed.connect(lambda connected: self._share_pending() if connected else None)

    # ------------------------------------------------------------------ paste and drop

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(watched, QLineEdit) and isinstance(event, QKeyEvent):
            return event.matches(QKeySequence.StandardKey.Paste) and self._clipboard_has_image() and self.paste()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(event, QDragEnterEvent | QDropEvent):
            mime = event.mimeData()
            if mime.hasImage() or _image_files(mime):
                event.acceptProposedAction()
                return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            mime = event.mimeData()
            if _image_files(mime) or mime.hasImage():
                event.acceptProposedAction()
                self.take(mime, "dropped image")
                return True
        return False

    @staticmethod
    def _clipboard_has_image() -> bool:
        mime = QGuiApplication.clipboard().mimeData()
        return mime is not None and (mime.hasImage() or bool(_image_files(mime)))

    def paste(self) -> bool:
        """Ctrl+V: the clipboard's image (or image files copied in a file manager). True when it held one."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not (mime.hasImage() or _image_files(mime)):
            if not isinstance(QApplication.focusWidget(), QLineEdit):
                self._window.statusBar().showMessage("The clipboard holds no image to paste.", 4000)
            return False
        self.take(mime, "pasted image")
        return True

    def take(self, mime: QMimeData, what: str) -> None:
        """Files first (the original, not a preview), else the image data itself."""
        files = _image_files(mime)
        if files:
            self.add_files(files)
            return
        image = mime.imageData()
        self.share_qimage(image if isinstance(image, QImage) else QImage(image), what)

    def add_files(self, paths: list[Path]) -> None:
        images, problems = [], []
        for path in paths:
            try:
                images.append(read_image_file(path))
            except ImageError as exc:
                problems.append(str(exc))
        if problems:
            self._window.banner.show_message(problems[0] + ".", "Drop PNG, JPEG, GIF or BMP files.", "warning")
        if images:
            self.share(images)

    # ------------------------------------------------------------------ sharing

    def share_qimage(self, image: QImage, source: str) -> bool:
        try:
            part = prepare_qimage(image, source)
        except ImageError as exc:
            self._window.banner.show_message(f"Nothing shared: {exc}.", "", "warning")
            return False
        self.share([part])
        return True

    def share(self, images: list[ImagePart]) -> None:
        window = self._window
        controller = window.runtime.controller
        if controller is None or not window.view_model.connected:
            self.pending += images
            window.banner.show_message(
                f"Not connected: {_count(self.pending)} kept, shared as soon as you connect.",
                "Nothing else is sent until then.",
                "info",
                ("Connect", window.toggle_connection),
            )
            return
        text = window.conversation.message_box.text().strip()
        try:
            controller.send_text(text, images)
        except ImagesNotSupported:
            window.banner.show_message(f"Image not shared: {IMAGES_NEED_GA}.", "", "warning")
            return
        self.shared += images
        if text:
            window.conversation.message_sent()
        what = ", ".join(image.describe() for image in images)
        hint = "" if text else ": ask about it by talking or typing"
        window.statusBar().showMessage(f"Shared {what}{hint}.", 6000)

    def _share_pending(self) -> None:
        if self.pending:
            waiting, self.pending = self.pending, []
            self.share(waiting)


def _count(images: list[ImagePart]) -> str:
    return "the image is" if len(images) == 1 else f"{len(images)} images are"


def install_image_input(window: MainWindow) -> tuple[ImageInput, ShareScreen]:
    """Paste, drop and the Share screen button and menu, on the window (one call from MainWindow)."""
    images = ImageInput(window)
    return images, ShareScreen(window, images)
