"""The central voice visual: a state and caption for every session state, its colours against WCAG AA, its
size, and in the real window a trace that drops at the first frame after an interrupt or an answer's end."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from voicedesk.app import AudioBackend
from voicedesk.audio.base import Levels
from voicedesk.audio.filesource import FileSource
from voicedesk.audio.levels import LEVEL_WINDOW_S
from voicedesk.audio.null import NullSink
from voicedesk.session import events as se
from voicedesk.ui import theme
from voicedesk.ui.contrast import AA_LARGE_TEXT, AA_TEXT, contrast_ratio
from voicedesk.ui.view_model import SessionViewModel
from voicedesk.ui.voice_state import CAPTIONS, VOICE_STATES, VoiceState
from voicedesk.ui.voice_visual import (
    CAPTION_SCALE,
    MAX_HEIGHT,
    MIN_HEIGHT,
    VOICE_HOLD_FRAMES,
    VoiceVisual,
    looks,
)
from voicedesk.ui.waveform import WaveformView


def waveform_of(app: AppHarness) -> WaveformView:
    """The window's waveform (today ``window.waveform``; inside the voice visual once the window places it)."""
    window: Any = app.window
    visual = getattr(window, "voice_visual", None)
    return visual.waveform if isinstance(visual, VoiceVisual) else window.waveform


class Mic:
    """A levels provider whose microphone level a test sets."""

    def __init__(self) -> None:
        self.peak = 0.0

    def __call__(self) -> tuple[Levels, Levels]:
        return Levels(self.peak, self.peak), Levels()


@pytest.fixture
def dark_theme(qapp: QApplication) -> Iterator[Callable[[bool], None]]:
    before = qapp.property("voicedesk_dark")

    def use(dark: bool) -> None:
        qapp.setProperty("voicedesk_dark", dark)

    yield use
    qapp.setProperty("voicedesk_dark", before)


def make_visual(qtbot: QtBot, provider: Callable[[], tuple[Levels, Levels]] | None = None) -> VoiceVisual:
    visual = VoiceVisual(provider)
    qtbot.addWidget(visual)
    return visual


def shown_state(visual: VoiceVisual) -> str:
    """What the visual shows now (a call, so a type checker does not narrow it between steps)."""
    return visual.state


def state(connection: str = "connected", activity: str = "idle", **rest: Any) -> se.StateChanged:
    return se.StateChanged(connection, activity, **rest)  # type: ignore[arg-type]


def test_each_session_state_shows_its_own_state_look_and_caption(qtbot: QtBot) -> None:
    vm = SessionViewModel()
    mic = Mic()
    visual = make_visual(qtbot, mic)
    visual.follow(vm)
    assert shown_state(visual) == "offline" and visual.caption.text() == "Not connected"
    assert visual.accessibleName() == "Voice activity"
    shown: dict[VoiceState, tuple[str, str]] = {"offline": (visual.caption.text(), visual.styleSheet())}

    def expect(expected: VoiceState, act: Callable[[], None]) -> None:
        with qtbot.waitSignal(visual.state_shown, timeout=1000) as signal:
            act()
        assert signal.args == [expected] and shown_state(visual) == expected
        assert visual.caption.text() == CAPTIONS[expected] == visual.accessibleDescription()
        shown[expected] = (visual.caption.text(), visual.styleSheet())

    expect("connecting", lambda: vm.on_event(state("connecting")))
    expect("idle", lambda: vm.on_event(state()))
    expect("listening", lambda: vm.on_event(state(activity="listening", mic_open=True)))
    mic.peak = 0.5  # -6 dBFS: a voice
    expect("user_speaking", visual.refresh)
    mic.peak = 0.0
    for _ in range(VOICE_HOLD_FRAMES - 1):  # a pause between words holds the state
        visual.refresh()
        assert shown_state(visual) == "user_speaking"
    expect("listening", visual.refresh)
    expect("thinking", lambda: vm.on_event(state(activity="thinking")))
    expect("speaking", lambda: vm.on_event(state(activity="speaking")))
    expect("muted", lambda: vm.on_event(state(push_to_talk=False, muted=True)))
    expect("reconnecting", lambda: vm.on_event(state("reconnecting", push_to_talk=False, reconnect_attempt=1)))
    expect("error", lambda: vm.on_event(se.ErrorOccurred("no key", "auth_failed")))
    vm.on_event(state("disconnected", push_to_talk=False))
    assert shown_state(visual) == "error"  # the error stays while the session is down
    expect("connecting", lambda: vm.on_event(state("connecting", push_to_talk=False)))  # a retry clears it
    expect("error", lambda: vm.on_event(se.ErrorOccurred("boom", "server_error", fatal=True)))
    expect("idle", lambda: vm.on_event(state(push_to_talk=False)))

    assert set(shown) == set(VOICE_STATES)
    captions = {caption for caption, _ in shown.values()}
    styles = {style for _, style in shown.values()}
    assert len(captions) == len(styles) == len(VOICE_STATES)  # each state reads and looks different


def test_a_non_fatal_error_leaves_the_state_alone(qtbot: QtBot) -> None:
    vm = SessionViewModel()
    visual = make_visual(qtbot)
    visual.follow(vm)
    vm.on_event(state())
    vm.on_event(se.ErrorOccurred("slow down", "rate_limited"))
    assert shown_state(visual) == "idle"


def test_a_voice_is_not_checked_while_the_microphone_is_closed(qtbot: QtBot) -> None:
    vm = SessionViewModel()
    mic = Mic()
    visual = make_visual(qtbot, mic)
    visual.follow(vm)
    vm.on_event(state())
    mic.peak = 0.5  # the Settings meter may show it, but nothing is sent
    visual.refresh()
    assert shown_state(visual) == "idle" and not visual.user_voice
    vm.on_event(state(activity="listening", mic_open=True))
    visual.refresh()
    assert shown_state(visual) == "user_speaking"
    vm.on_event(state())  # released: the next press starts from silence
    assert shown_state(visual) == "idle" and not visual.user_voice


def _window_background(dark: bool) -> str:
    if dark:
        return theme._dark_palette().color(QPalette.ColorRole.Window).name()
    fusion = QStyleFactory.create("Fusion")
    assert fusion is not None
    return fusion.standardPalette().color(QPalette.ColorRole.Window).name()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_state_meets_wcag_aa_in_both_themes(dark: bool) -> None:
    palette = looks(dark)
    traces = theme.DARK if dark else theme.LIGHT
    around = _window_background(dark)
    for name in VOICE_STATES:
        look = palette[name]
        assert contrast_ratio(look.accent, look.tint) >= AA_TEXT, f"caption of {name}"
        for voice in ("user", "assistant"):  # the legends and the traces sit on the tint
            assert contrast_ratio(traces[voice], look.tint) >= AA_TEXT, f"{voice} on {name}"
        assert contrast_ratio(look.accent, around) >= AA_LARGE_TEXT, f"ring of {name} against the window"
    assert len({(look.tint, look.accent) for look in palette.values()}) == len(VOICE_STATES)


def test_the_theme_switch_restyles_the_card_and_the_plot(qtbot: QtBot, dark_theme: Callable[[bool], None]) -> None:
    dark_theme(False)
    visual = make_visual(qtbot)
    visual.show()
    qtbot.waitExposed(visual)
    light = looks(False)["offline"]
    assert light.tint in visual.styleSheet()
    plot = visual.waveform.plot  # built now
    assert plot.backgroundBrush().color().name() == light.tint
    dark_theme(True)
    visual.apply_theme()
    dark = looks(True)["offline"]
    assert dark.tint in visual.styleSheet() and light.tint not in visual.styleSheet()
    assert plot.backgroundBrush().color().name() == dark.tint
    assert visual.waveform.mic_curve._pen.color().name() == theme.DARK["user"]


def test_the_caption_follows_the_font_and_the_visual_fits_small_and_big_windows(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    visual = VoiceVisual(None)
    rest = QWidget()  # the conversation, which takes most of the room
    rest.setMinimumHeight(400)
    layout.addWidget(visual, 1)
    layout.addWidget(rest, 4)
    base = visual.font().pointSizeF()
    assert visual.caption.font().pointSizeF() == pytest.approx(base * CAPTION_SCALE)
    bigger = visual.font()
    bigger.setPointSizeF(base * 2)
    visual.setFont(bigger)  # the system's font size went up
    assert visual.caption.font().pointSizeF() == pytest.approx(base * 2 * CAPTION_SCALE)
    visual.setFont(QApplication.font())
    assert visual.minimumSizeHint().height() <= MIN_HEIGHT
    host.resize(800, 600)
    host.show()
    qtbot.waitExposed(host)
    qtbot.waitUntil(lambda: MIN_HEIGHT <= visual.height() < MAX_HEIGHT, timeout=WAIT_MS)
    host.resize(2560, 1440)
    qtbot.waitUntil(lambda: visual.height() == MAX_HEIGHT, timeout=WAIT_MS)


# --- the real window: what is drawn follows what is heard ---------------------------------------------


def test_an_interrupt_drops_the_assistant_trace_at_the_next_frame(
    make_app: Callable[..., AppHarness], qtbot: QtBot
) -> None:
    app = make_app(speed=1.0)  # the answer plays in real time
    waveform = waveform_of(app)
    assert app.window.send_text("talk for 20 seconds")
    qtbot.waitUntil(lambda: waveform.history.latest()[1] > 0.3, timeout=WAIT_MS)
    app.window.interrupt()
    app.window.clock.tick()
    assert waveform.history.latest()[1] == 0.0
    assert app.of(se.AudioInterrupted)  # it was an interrupt, not the answer's end


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_at_the_end_of_an_answer_the_trace_drops_one_window_after_the_last_sound(
    make_app: Callable[..., AppHarness], qtbot: QtBot
) -> None:
    now = FakeTime()  # the sink plays only when the test moves its time: every frame is exact
    sink = NullSink(1.0, now=now)
    app = make_app(audio=AudioBackend(FileSource(speed=math.inf), sink))
    waveform = waveform_of(app)
    assert app.window.send_text("talk for 2 seconds")
    done = app.seen(se.RawModelEvent, lambda e: e.direction == "server" and e.data.get("type") == "response.done")
    qtbot.waitUntil(done, timeout=WAIT_MS)
    assert sink.buffered_samples > 24000
    heard = []
    for _ in range(30):  # one second of frames
        now.t += 1 / 30
        app.window.clock.tick()
        heard.append(waveform.history.latest()[1])
    assert max(heard) > 0.3  # the answer is heard
    now.t += sink.buffered_samples / 24000  # played to its last sample
    qtbot.waitUntil(lambda: app.of(se.AudioEnd) != [], timeout=WAIT_MS)  # the session saw it drain
    now.t += LEVEL_WINDOW_S + 0.001
    app.window.clock.tick()
    assert waveform.history.latest()[1] == 0.0
