"""The views on their own and the exports: late transcripts, bounded logs, the waveform, Markdown/JSON/WAV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.app import exports
from voicedesk.app.pricing import estimate_cost
from voicedesk.audio.base import Levels
from voicedesk.session import events as se
from voicedesk.session.conversation import Item
from voicedesk.ui.conversation_view import ConversationView
from voicedesk.ui.event_inspector import EventInspector, EventModel, RawEvent
from voicedesk.ui.level_history import LevelHistory, level_to_display
from voicedesk.ui.waveform import WaveformView

MakeApp = Callable[..., AppHarness]
REPO = Path(__file__).resolve().parents[2]


def _msg(item_id: str, role: str, text: str = "", **kw: object) -> Item:
    return Item(item_id, "message", role, kw.pop("status", "completed"), transcript=text, **kw)  # type: ignore[arg-type]


def test_a_late_user_transcript_lands_on_its_own_turn(qtbot: QtBot) -> None:
    view = ConversationView()
    qtbot.addWidget(view)
    user = _msg("item_u1", "user", has_audio=True)
    answer = _msg("item_a1", "assistant", status="in_progress", has_audio=True)
    view.apply_items([user], complete=False)
    view.apply_items([answer], complete=False)
    for text in ("The answer ", "The answer streams ", "The answer streams in."):
        view.apply_transcript("item_a1", text)
        view.refresh()
    assert "(speech; the transcript follows)" in view.plain_text()
    view.apply_items([_msg("item_u1", "user", "what did I say?", has_audio=True), answer], complete=True)
    view.refresh()
    text = view.plain_text()
    assert text.index("what did I say?") < text.index("The answer streams in.")
    assert "transcript follows" not in text
    assert view.shown_ids() == ["item_u1", "item_a1"]
    # An item removed from the conversation leaves the view.
    view.apply_items([_msg("item_u1", "user", "what did I say?", has_audio=True)], complete=True)
    view.refresh()
    assert "The answer" not in view.plain_text()


def test_an_interrupted_answer_shows_the_heard_part_and_the_cut(qtbot: QtBot) -> None:
    view = ConversationView()
    qtbot.addWidget(view)
    text = "one two three four five six seven eight nine ten"
    view.apply_items([_msg("item_a", "assistant", text, has_audio=True, audio_ms=10_000, truncated_ms=5_000)],
                     complete=True)  # fmt: skip
    view.refresh()
    shown = view.plain_text()
    assert "one two three four five ✂ interrupted at 5.0 s" in shown
    assert "six seven" in shown  # the unheard rest, struck through and greyed
    html = view.item_html(view._items["item_a"])
    assert "<s>six seven eight nine ten</s>" in html


def test_the_conversation_view_keeps_a_bounded_number_of_turns(qtbot: QtBot) -> None:
    view = ConversationView(max_items=20)
    qtbot.addWidget(view)
    for n in range(50):
        view.apply_items([_msg(f"item_{n}", "user" if n % 2 else "assistant", f"turn number {n}")], complete=False)
        if n % 7 == 0:
            view.refresh()
    view.refresh()
    assert len(view.shown_ids()) == 20
    assert "turn number 49" in view.plain_text() and "turn number 29 " not in view.plain_text() + " "


def test_the_event_inspector_is_filterable_and_bounded(qtbot: QtBot) -> None:
    inspector = EventInspector(capacity=100)
    qtbot.addWidget(inspector)
    for n in range(250):
        inspector.add("server", {"type": "response.output_audio_transcript.delta", "delta": f"w{n}"})
        inspector.add("client", {"type": "input_audio_buffer.append", "audio": "<elided 960 bytes>"})
    inspector.add("server", {"type": "response.done", "response": {"status": "completed"}})
    inspector.refresh()
    assert len(inspector.model.rows) == 100 and inspector.model.total == 501
    assert "input_audio_buffer.append" not in inspector.visible_types(), "audio is hidden by default"
    inspector.filter_box.setText("response.done")
    assert inspector.visible_types() == ["response.done"]
    inspector.filter_box.setText("")
    inspector.hide_audio_box.setChecked(False)
    inspector.direction_box.setCurrentIndex(1)  # sent only
    assert set(inspector.visible_types()) == {"input_audio_buffer.append"}
    inspector.table.selectRow(0)
    assert "elided" in inspector.details.toPlainText()


def test_the_events_tab_stays_within_its_byte_bound_while_hidden(qtbot: QtBot) -> None:
    model = EventModel(capacity=5000, max_bytes=1_000_000)  # a small bound, so a few events cross it
    for n in range(8):  # never on screen: nothing is flushed, the events wait
        model.add(RawEvent(float(n), "server", {"type": "response.done", "event_id": f"e{n}"}, size=300_000))
        assert model.bytes <= 1_000_000
    assert [event.data["event_id"] for event in model.pending] == ["e5", "e6", "e7"]
    model.flush()
    for n in range(8, 11):  # shown now: the oldest rows make room
        model.add(RawEvent(float(n), "server", {"type": "response.done", "event_id": f"e{n}"}, size=300_000))
        model.flush()
        assert model.bytes <= 1_000_000
    assert [event.data["event_id"] for event in model.rows] == ["e8", "e9", "e10"]
    assert model.rowCount() == 3 and model.total == 11


def test_the_waveform_draws_both_traces_from_level_snapshots(qtbot: QtBot) -> None:
    levels = [(Levels(0.5, 0.2), Levels(0.0, 0.0)), (Levels(0.0, 0.0), Levels(1.0, 0.4))]
    view = WaveformView(lambda: levels[view.frames % 2], seconds=1.0)
    qtbot.addWidget(view)
    for _ in range(4):
        view.refresh()
    mic = view.mic_curve.getData()[1]
    out = view.out_curve.getData()[1]
    assert mic is not None and out is not None and len(mic) == view.history.size
    assert mic.max() == pytest.approx(level_to_display(0.5)) and out.min() == pytest.approx(-1.0)
    assert mic.min() == 0.0 and out.max() == 0.0
    view.clear()
    assert view.mic_curve.getData()[1].max() == 0.0


def test_the_waveform_plot_waits_for_the_first_paint(qtbot: QtBot) -> None:
    view = WaveformView(lambda: (Levels(), Levels()), seconds=1.0)
    qtbot.addWidget(view)
    view.refresh()  # silence: nothing to draw, so nothing to build yet
    assert not view.plot_built
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.plot_built, timeout=5000)
    assert view.plot.isVisible() and view.plot.parent() is view, "the plot replaces its placeholder"


def test_opening_the_main_window_module_does_not_import_pyqtgraph() -> None:
    # pyqtgraph costs ~0.25 s of import; the window's first frame must not wait for it
    probe = "import sys, voicedesk.ui.app, voicedesk.ui.main_window; print('pyqtgraph' in sys.modules)"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_level_history_is_a_ring_in_time_order() -> None:
    history = LevelHistory(4)
    for peak in (0.001, 0.01, 0.1, 1.0, 1.0):
        history.push(peak, 0.0)
    mic, out = history.traces()
    assert list(np.round(mic, 3)) == [round(level_to_display(p), 3) for p in (0.01, 0.1, 1.0, 1.0)]
    assert not out.any() and level_to_display(0.0) == 0.0 and level_to_display(1e-9) == 0.0


def test_cost_estimates_use_the_price_table() -> None:
    details = {"input_token_details": {"text_tokens": 1000, "audio_tokens": 1000, "cached_tokens": 0},
               "output_token_details": {"text_tokens": 0, "audio_tokens": 1000}}  # fmt: skip
    assert estimate_cost("gpt-realtime", 2000, 1000, details) == pytest.approx((4 + 32 + 64) / 1000)
    assert estimate_cost("gpt-4o-mini-realtime-preview", 0, 1000, {}) == pytest.approx(20 / 1000)


def test_exports_write_markdown_json_wav_and_a_bundle_without_secrets(
    qtbot: QtBot, make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    w = app.window
    w.send_text("what is 12 times 7")
    qtbot.waitUntil(lambda: any(e.status == "completed" for e in app.of(se.AgentEnd)[1:]), timeout=WAIT_MS)
    app.runtime.settings.custom_url = "wss://example.test/v1/realtime?api-key=sk-secret-123&model=m"
    written = w.export_all_to(tmp_path / "out")
    names = {p.name for p in written}
    assert {"conversation.md", "conversation.json", "assistant.wav", "debug-bundle.zip"} <= names
    md = (tmp_path / "out" / "conversation.md").read_text()
    assert "what is 12 times 7" in md and "calculator" in md and "84" in md
    items = json.loads((tmp_path / "out" / "conversation.json").read_text())["items"]
    assert [i["role"] for i in items if i["type"] == "message"][:1] == ["user"]
    with wave.open(str(tmp_path / "out" / "assistant.wav")) as wav:
        assert wav.getframerate() == 24000 and wav.getnframes() > 0
    with zipfile.ZipFile(tmp_path / "out" / "debug-bundle.zip") as bundle:
        assert {"events.jsonl", "settings.json", "conversation.json", "environment.json"} <= set(bundle.namelist())
        everything = "".join(bundle.read(n).decode() for n in bundle.namelist())
        assert "sk-secret-123" not in everything
        assert "response.done" in bundle.read("events.jsonl").decode()


def test_markdown_marks_interruptions_and_tools() -> None:
    items = [
        _msg("u", "user", "hi"),
        _msg("a", "assistant", "one two three four", has_audio=True, audio_ms=4000, truncated_ms=2000),
        Item("c", "function_call", None, "completed", name="calculator", call_id="k", arguments='{"expression":"1+1"}'),
        Item("o", "function_call_output", None, "completed", call_id="k", output="2"),
    ]
    md = exports.conversation_markdown(items)
    assert "interrupted at 2.0 s" in md and "one two ✂" in md
    assert '`calculator({"expression":"1+1"})` → `2`' in md


def test_smoke_mode_runs_one_turn_and_exits_zero(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-m", "voicedesk", "--smoke"], cwd=REPO, env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok; the assistant said" in done.stdout


def test_the_look_follows_the_system_colour_scheme(qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from voicedesk.ui import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    hints = QGuiApplication.styleHints()
    try:
        theme.follow_system_theme(app)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what the desktop sends (offscreen has no theme)
        qtbot.waitUntil(lambda: app.property("voicedesk_dark") is True, timeout=2000)
        assert theme.colors() == theme.DARK and app.palette().window().color().name() == "#202124"
        assert "QPushButton#talk_button" in app.styleSheet()
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        qtbot.waitUntil(lambda: app.property("voicedesk_dark") is False, timeout=2000)
        assert theme.colors() == theme.LIGHT
        assert theme.resource("dark.qss") is not None and not theme.app_icon().isNull()
    finally:
        app.setStyleSheet("")
        app.setProperty("voicedesk_dark", None)


def test_the_desktop_entry_and_icons_are_valid() -> None:
    import shutil

    from PySide6.QtGui import QImage

    desktop = REPO / "resources" / "voicedesk.desktop"
    text = desktop.read_text()
    assert "Exec=voicedesk" in text and "Icon=voicedesk" in text
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    for size in (16, 32, 48, 64, 128, 256, 512):
        image = QImage(str(REPO / "resources" / "icons" / f"voicedesk-{size}.png"))
        assert image.width() == size and image.height() == size
    for sheet in ("light.qss", "dark.qss"):
        assert "QPushButton#talk_button" in (REPO / "resources" / sheet).read_text()
