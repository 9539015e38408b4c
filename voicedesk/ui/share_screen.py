"""The Share screen button and its menu: the whole screen, one window, or a region drawn with the mouse.

Privacy: nothing is captured until the person picks one of these; the capture is sent to the model in this
conversation only (and kept in the history with it, when the history is on). The region is drawn over a
frozen capture of the screen, so what is sent is exactly what was framed.

Capturing uses ``QScreen.grabWindow``: the screen (window id 0) or a window id from the X server's list
(voicedesk.ui.x11_windows). Wayland lets no application read the screen this way: there the menu says so,
and a screenshot pasted with Ctrl+V works everywhere.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QScreen,
)
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from voicedesk.ui.accessibility import describe
from voicedesk.ui.x11_windows import X11Window, list_windows

if TYPE_CHECKING:
    from voicedesk.ui.image_input import ImageInput
    from voicedesk.ui.main_window import MainWindow

PRIVACY_NOTE = "Nothing is captured until you pick one of these; it goes to the model in this conversation only."
CANNOT_CAPTURE = (
    "This desktop does not let applications capture the screen (Wayland): paste a screenshot with Ctrl+V instead."
)


class RegionPicker(QWidget):
    """A frozen screen, full screen, to frame a rectangle with the mouse; Esc cancels."""

    chosen = Signal(QRect)  # in the capture's pixels
    cancelled = Signal()

    def __init__(self, frozen: QPixmap, screen: QScreen) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("region_picker")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.frozen = frozen
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._start: QPoint | None = None
        self._end: QPoint | None = None

    def selection(self) -> QRect:
        """The framed rectangle in widget coordinates (empty before a drag)."""
        if self._start is None or self._end is None:
            return QRect()
        left, top = min(self._start.x(), self._end.x()), min(self._start.y(), self._end.y())
        return QRect(left, top, abs(self._end.x() - self._start.x()), abs(self._end.y() - self._start.y()))

    def to_pixels(self, rect: QRect) -> QRect:
        """Widget coordinates to the capture's pixels (they differ by the device pixel ratio)."""
        ratio = self.frozen.width() / max(1, self.width())
        pixels = QRect(round(rect.x() * ratio), round(rect.y() * ratio), round(rect.width() * ratio),
                       round(rect.height() * ratio))  # fmt: skip
        return pixels.intersected(self.frozen.rect())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawPixmap(self.rect(), self.frozen)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 110))
        selection = self.selection()
        if not selection.isEmpty():
            painter.drawPixmap(selection, self.frozen, self.to_pixels(selection))
            painter.setPen(QColor(80, 160, 255))
            painter.drawRect(selection.adjusted(0, 0, -1, -1))
        painter.setPen(QColor("white"))
        painter.drawText(self.rect().adjusted(0, 16, 0, 0), Qt.AlignmentFlag.AlignHCenter,
                         "Drag to frame what to share · Esc cancels")  # fmt: skip
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._start = self._end = event.position().toPoint()
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._start is not None:
            self._end = event.position().toPoint()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._start is None:
            return
        self._end = event.position().toPoint()
        selection = self.selection()
        if selection.width() < 4 or selection.height() < 4:  # a click, not a frame: try again
            self._start = self._end = None
            self.update()
            return
        self.chosen.emit(self.to_pixels(selection))
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            self.close()


class ShareScreen:
    """The button beside the talk controls, and what each menu entry captures."""

    def __init__(self, window: MainWindow, images: ImageInput) -> None:
        self._window = window
        self._images = images
        self.picker: RegionPicker | None = None
        self.button = QToolButton()
        self.button.setObjectName("share_screen_button")
        self.button.setText("Share screen")
        self.button.setToolTip("Show the assistant your screen, a window or a region. " + PRIVACY_NOTE)
        describe(self.button, "Share screen", self.button.toolTip())
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.button)
        self.menu.setObjectName("share_screen_menu")
        self.menu.addAction("Whole screen", self.share_screen)
        self.windows_menu = self.menu.addMenu("A window")
        self.windows_menu.aboutToShow.connect(self._list_windows)
        self.menu.addAction("A region…", self.pick_region)
        self.menu.addSeparator()
        note = self.menu.addAction(PRIVACY_NOTE)
        note.setEnabled(False)
        self.button.setMenu(self.menu)
        row = window.controls.row
        row.insertWidget(row.indexOf(window.controls.talk_button), self.button)  # left of the talk button

    def _screen(self) -> QScreen:
        return self._window.screen() or QGuiApplication.primaryScreen()

    def _grab(self, window_id: int = 0) -> QPixmap | None:
        if QGuiApplication.platformName().startswith("wayland"):
            self._window.banner.show_message(CANNOT_CAPTURE, "", "warning")
            return None
        pixmap = self._screen().grabWindow(window_id)
        if pixmap.isNull():
            self._window.banner.show_message(
                "Nothing shared: the screen could not be captured here.", "Paste a screenshot with Ctrl+V instead.",
                "warning",
            )  # fmt: skip
            return None
        return pixmap

    def share_screen(self) -> bool:
        pixmap = self._grab()
        return pixmap is not None and self._images.share_qimage(pixmap.toImage(), "screen")

    def share_window(self, window: X11Window) -> bool:
        pixmap = self._grab(window.id)
        return pixmap is not None and self._images.share_qimage(pixmap.toImage(), f"window: {window.title}")

    def other_windows(self) -> list[X11Window] | None:
        """Windows of other applications (None where the desktop gives no list)."""
        if QGuiApplication.platformName() != "xcb":
            return None
        own = {int(w.winId()) for w in QGuiApplication.topLevelWindows()}
        return list_windows(exclude=own)

    def _list_windows(self) -> None:
        self.windows_menu.clear()
        windows = self.other_windows()
        if not windows:
            why = "No other windows" if windows is not None else "Not on this desktop: share a region instead"
            self.windows_menu.addAction(why).setEnabled(False)
            return
        for window in reversed(windows):  # the topmost first
            title = window.title if len(window.title) <= 60 else window.title[:59] + "…"
            self.windows_menu.addAction(title, partial(self.share_window, window))

    def pick_region(self) -> RegionPicker | None:
        pixmap = self._grab()
        if pixmap is None:
            return None
        self.picker = picker = RegionPicker(pixmap, self._screen())
        picker.chosen.connect(lambda rect: self.share_region(pixmap.toImage(), rect))
        picker.destroyed.connect(lambda: setattr(self, "picker", None))
        picker.showFullScreen()
        picker.activateWindow()
        return picker

    def share_region(self, frozen: QImage, rect: QRect) -> bool:
        return self._images.share_qimage(frozen.copy(rect), "region")
