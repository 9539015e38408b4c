"""Showing the assistant something from the window: Share screen (whole screen, a region), Ctrl+V, dropped
files; thumbnails; what happens while disconnected. Each sent image is checked on what the local server
received: valid for the ``openai`` models, its data URL decoding to an image of the expected size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QTextDocument
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.images import check_sent_image, encoded, screenshot_like
from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.app.images import fitted_size
from voicedesk.session import events as se
from voicedesk.ui.thumbnails import thumbnail_url

MakeApp = Callable[..., AppHarness]


def _created(app: AppHarness) -> list[dict[str, Any]]:
    server = app.runtime.server
    assert server is not None
    return [e for s in server.sessions for e in s.received("conversation.item.create")]


def _screen_pixels(app: AppHarness) -> tuple[int, int]:
    screen = app.window.screen()
    ratio = screen.devicePixelRatio()
    return round(screen.geometry().width() * ratio), round(screen.geometry().height() * ratio)


def test_sharing_the_whole_screen_sends_it_at_once_and_shows_a_thumbnail(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    assert w.share_screen.button.isVisible() and w.share_screen.button.text() == "Share screen"
    notes = [a.text() for a in w.share_screen.menu.actions() if not a.isEnabled()]
    assert any("Nothing is captured until you pick" in n for n in notes), "the privacy note is in the menu"
    assert not _created(app), "nothing is captured before the person asks"
    entry = next(a for a in w.share_screen.menu.actions() if a.text() == "Whole screen")
    entry.trigger()
    qtbot.waitUntil(lambda: len(_created(app)) == 1, timeout=WAIT_MS)
    width, height = fitted_size(*_screen_pixels(app))
    check_sent_image(_created(app)[0], width, height)
    assert "response.create" not in app.sent_types(), "shared alone: answered with the next turn"
    qtbot.waitUntil(lambda: "shared ·" in w.conversation.plain_text(), timeout=WAIT_MS)
    shared = w.images.shared[0]
    shown = w.conversation.browser.document().resource(QTextDocument.ResourceType.ImageResource, thumbnail_url(shared))
    assert isinstance(shown, QImage) and 0 < shown.width() <= 240 and 0 < shown.height() <= 160
    assert f'<img src="{thumbnail_url(shared).toString()}"' in w.conversation.browser.document().toHtml()
    assert thumbnail_url(shared).toString() == f"vdimage:{shared.sha256}", "the img names its resource"
    assert shared.describe() in w.conversation.plain_text()
    assert "ask about it" in w.statusBar().currentMessage()


def test_ctrl_v_pastes_the_clipboard_image_with_the_typed_text_as_one_message(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    image = QImage(640, 480, QImage.Format.Format_RGB32)
    image.fill(QColor(30, 120, 200))
    QGuiApplication.clipboard().setImage(image)
    box = w.conversation.message_box
    box.setText("what colour is this")
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(_created(app)) == 1, timeout=WAIT_MS)
    event = _created(app)[0]
    check_sent_image(event, 640, 480, "image/png")  # small and flat: PNG
    assert event["item"]["content"][0] == {"type": "input_text", "text": "what colour is this"}
    assert box.text() == "", "the text went with the image"
    qtbot.waitUntil(app.seen(se.AgentEnd), timeout=WAIT_MS)
    answers = [i.display_text for i in w.history() if i.role == "assistant"]
    assert answers[-1].startswith("I see a 640×480 PNG image") and "what colour is this" in answers[-1]
    # Text on the clipboard pastes as text, as always.
    QGuiApplication.clipboard().setText("plain words")
    qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert box.text() == "plain words" and len(_created(app)) == 1


def _drop(window: Any, target: Any, mime: QMimeData) -> None:
    """As a drag from a file manager arrives: enter, then drop, through the window (which finds the widget)."""
    at = target.mapTo(window, QPoint(20, 20))
    actions, none, plain = Qt.DropAction.CopyAction, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    handle = window.windowHandle()
    QApplication.sendEvent(handle, QDragEnterEvent(at, actions, mime, none, plain))
    QApplication.sendEvent(handle, QDropEvent(QPointF(at), actions, mime, none, plain))


def test_dropped_files_are_shared_and_a_file_that_is_no_image_gets_one_line(
    qtbot: QtBot, make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app()
    w = app.window
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encoded(screenshot_like(3000, 2000), "JPEG"))
    notes = tmp_path / "notes.txt"
    notes.write_text("just words")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo)), QUrl.fromLocalFile(str(notes))])
    _drop(w, w.conversation.browser.viewport(), mime)
    qtbot.waitUntil(lambda: len(_created(app)) == 1, timeout=WAIT_MS)
    check_sent_image(_created(app)[0], 2048, 1365, "image/jpeg")
    assert w.banner.isVisible() and "notes.txt is not an image" in w.banner.message
    assert w.images.shared[0].source == "photo.jpg"


def test_a_region_drawn_over_the_frozen_screen_is_what_is_sent(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    w = app.window
    picker = w.share_screen.pick_region()
    assert picker is not None
    qtbot.waitExposed(picker)
    ratio = picker.frozen.width() / picker.width()
    qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(40, 30))
    qtbot.mouseMove(picker, QPoint(200, 150))
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(240, 130))
    qtbot.waitUntil(lambda: len(_created(app)) == 1, timeout=WAIT_MS)
    check_sent_image(_created(app)[0], round(200 * ratio), round(100 * ratio))
    assert w.images.shared[0].source == "region"


def test_escape_cancels_the_region_and_sends_nothing(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    picker = app.window.share_screen.pick_region()
    assert picker is not None
    qtbot.waitExposed(picker)
    qtbot.keyClick(picker, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: app.window.share_screen.picker is None, timeout=WAIT_MS)
    assert not _created(app)


def test_an_image_shared_while_disconnected_waits_and_goes_when_connected(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(connect=False)
    w = app.window
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    assert w.images.share_qimage(image, "pasted image")
    assert len(w.images.pending) == 1 and "shared as soon as you connect" in w.banner.message
    w.toggle_connection()
    qtbot.waitUntil(lambda: len(_created(app)) == 1, timeout=WAIT_MS)
    check_sent_image(_created(app)[0], 64, 48)
    assert not w.images.pending


def test_the_window_list_says_when_the_desktop_gives_none(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app()
    share = app.window.share_screen
    share.windows_menu.aboutToShow.emit()
    entries = [a.text() for a in share.windows_menu.actions()]
    if QGuiApplication.platformName() == "offscreen":
        assert entries == ["Not on this desktop: share a region instead"]
    assert all(not a.isEnabled() for a in share.windows_menu.actions()) or entries


def test_big_pixels_are_scaled_and_encoded_by_qt_within_the_limits(make_app: MakeApp) -> None:
    from voicedesk.ui.image_input import prepare_qimage

    make_app(connect=False)
    pixels = np.ascontiguousarray(screenshot_like())
    image = QImage(pixels.data, 2560, 1440, 2560 * 3, QImage.Format.Format_RGB888).copy()
    part = prepare_qimage(image, "screen")
    assert (part.mime, part.width, part.height) == ("image/jpeg", 2048, 1152) and part.size < 2_000_000
    with_alpha = QImage(300, 200, QImage.Format.Format_ARGB32)
    with_alpha.fill(QColor(255, 0, 0, 100))
    assert prepare_qimage(with_alpha, "logo").mime == "image/png"
