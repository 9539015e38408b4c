"""The central voice visual: the live waveform (the person's voice above the axis, the assistant's below)
inside a tinted card with a ring and a large caption, whose look follows the session's state.

The state comes from the view model's snapshot (``voice_state``), plus whether the person's voice is heard
right now: the microphone level the waveform sampled on this tick of the display clock (no second read of
the device) above ``VOICE_THRESHOLD``, held ``VOICE_HOLD_FRAMES`` so a pause between words does not flicker.
Per frame that is one comparison while the microphone is open; the card is restyled only when the state
changes. The colours of every state, light and dark, are checked against WCAG AA in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from voicedesk.session import events as se
from voicedesk.ui import theme
from voicedesk.ui.display_clock import FPS, DisplayClock
from voicedesk.ui.view_model import SessionViewModel
from voicedesk.ui.voice_state import CAPTIONS, VoiceState, voice_state
from voicedesk.ui.waveform import LevelsProvider, WaveformView

CAPTION_SCALE = 1.4
"""The caption's size relative to the widget's (the application's) font: it follows the system's size."""
MIN_HEIGHT = 90  # fits an 800x600 window
MAX_HEIGHT = 220  # on a big screen the conversation keeps the rest
VOICE_THRESHOLD = 0.4
"""On the waveform's display scale (0 at -60 dBFS, 1 at full scale): about -36 dBFS, above a room's noise."""
VOICE_HOLD_FRAMES = round(0.3 * FPS)
ERROR_CODES: Final = frozenset({"auth_failed"})
"""Non-fatal error codes that still put the visual in the error state (the person must act)."""


class StateLook(NamedTuple):
    tint: str  # the card's and the plot's background
    accent: str  # the caption's text and the ring


LIGHT_LOOKS: Final[dict[VoiceState, StateLook]] = {
    "offline": StateLook("#f1f1f1", "#545454"),
    "connecting": StateLook("#eef2f8", "#34507f"),
    "idle": StateLook("#f3f6fa", "#3a4a5f"),
    "listening": StateLook("#e9f1fd", "#1a4f9e"),
    "user_speaking": StateLook("#e3edfc", "#163f80"),
    "thinking": StateLook("#f3edfb", "#5b3598"),
    "speaking": StateLook("#e4f4ea", "#165c35"),
    "muted": StateLook("#f7efe4", "#7a4300"),
    "reconnecting": StateLook("#fbf4e0", "#6b4f00"),
    "error": StateLook("#fdecea", "#a3221b"),
}
DARK_LOOKS: Final[dict[VoiceState, StateLook]] = {
    "offline": StateLook("#1e1f22", "#b3b6bb"),
    "connecting": StateLook("#1a2233", "#a3c4ff"),
    "idle": StateLook("#1b1f26", "#c3ccd9"),
    "listening": StateLook("#16243a", "#94bfff"),
    "user_speaking": StateLook("#1b2f52", "#bcd6ff"),
    "thinking": StateLook("#251d35", "#cdb0ff"),
    "speaking": StateLook("#12291c", "#82e2ab"),
    "muted": StateLook("#2d2313", "#f0c27a"),
    "reconnecting": StateLook("#2a2612", "#e8c46a"),
    "error": StateLook("#3a1a18", "#ff9a90"),
}


def looks(dark: bool) -> dict[VoiceState, StateLook]:
    return DARK_LOOKS if dark else LIGHT_LOOKS


class VoiceVisual(QFrame):
    """``follow`` a view model, ``start`` with the window; ``state`` is what is shown, ``state_shown`` says
    when it changes. ``waveform`` is the WaveformView inside (its whole API stays available there)."""

    state_shown = Signal(str)  # VoiceState

    def __init__(
        self,
        provider: LevelsProvider | None = None,
        parent: QWidget | None = None,
        *,
        clock: DisplayClock | None = None,
        seconds: float = 10.0,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("voice_visual")
        self.waveform = WaveformView(provider, seconds, clock=clock)
        self.caption = QLabel(CAPTIONS["offline"])
        self.caption.setObjectName("voice_caption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.waveform, 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(MIN_HEIGHT)
        self.setMaximumHeight(MAX_HEIGHT)
        self.setAccessibleName("Voice activity")
        self._view_model: SessionViewModel | None = None
        self._state: VoiceState = "offline"
        self._error = False
        self._mic_open = False
        self._voice_frames = 0  # display frames the heard voice still holds
        self._unsubscribe: Callable[[], None] | None = None
        self._apply_caption_font()
        self._show("offline")

    # ------------------------------------------------------------------ what the window calls

    @property
    def state(self) -> VoiceState:
        return self._state

    @property
    def user_voice(self) -> bool:
        """The person's voice is heard now (held for a moment after it stops)."""
        return self._voice_frames > 0

    def follow(self, view_model: SessionViewModel) -> None:
        self._view_model = view_model
        view_model.state_changed.connect(self._update)
        view_model.error_reported.connect(self._on_error)
        view_model.connection_changed.connect(self._on_connection)
        self._update()

    def start(self) -> None:
        """Draw and check for the person's voice on every tick of the display clock (after the waveform's
        sample, so both read the same level)."""
        self.waveform.start()
        clock = self.waveform.clock
        if self._unsubscribe is None and clock is not None:
            self._unsubscribe = clock.every(0, self._check_voice)

    def stop(self) -> None:
        self.waveform.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def refresh(self) -> None:
        """One frame by hand (tests, a stopped clock): the waveform's sample, then the voice check."""
        self.waveform.refresh()
        self._check_voice()

    def clear(self) -> None:
        self.waveform.clear()
        self._set_voice_frames(0)

    def apply_theme(self) -> None:
        self.waveform.apply_theme()
        self._restyle()

    # ------------------------------------------------------------------ state

    def _on_error(self, event: se.ErrorOccurred) -> None:
        if event.fatal or event.code in ERROR_CODES:
            self._error = True
            self._update()

    def show_error(self) -> None:
        """A connection that was never made (the session reports only lost ones): shown until the next attempt."""
        self._error = True
        self._update()

    def _on_connection(self, connection: str) -> None:
        # The view model reports state_changed right after, with the whole snapshot: update then.
        if connection in ("connecting", "connected"):
            self._error = False

    def _check_voice(self) -> None:
        if not self._mic_open:
            return
        if self.waveform.history.latest()[0] > VOICE_THRESHOLD:
            self._set_voice_frames(VOICE_HOLD_FRAMES)
        elif self._voice_frames:
            self._set_voice_frames(self._voice_frames - 1)

    def _set_voice_frames(self, frames: int) -> None:
        was_heard = self._voice_frames > 0
        self._voice_frames = frames
        if was_heard != (frames > 0):
            self._update()

    def _update(self) -> None:
        vm = self._view_model
        if vm is None:
            self._show("error" if self._error else "offline")
            return
        self._mic_open = vm.mic_open
        if not self._mic_open:
            self._voice_frames = 0
        state = voice_state(
            connection=vm.connection,
            activity=vm.activity,
            push_to_talk=vm.push_to_talk,
            muted=vm.muted,
            mic_open=self._mic_open,
            user_voice=self._voice_frames > 0,
            error=self._error,
        )
        if state != self._state:
            self._show(state)
            self.state_shown.emit(state)

    def _show(self, state: VoiceState) -> None:
        self._state = state
        text = CAPTIONS[state]
        self.caption.setText(text)
        self.setAccessibleDescription(text)
        self._restyle()

    # ------------------------------------------------------------------ look

    def _restyle(self) -> None:
        look = looks(theme.dark_in_use())[self._state]
        self.setStyleSheet(
            f"#voice_visual {{ background: {look.tint}; border: 2px solid {look.accent}; border-radius: 10px; }}"
            f" #voice_caption {{ color: {look.accent}; background: transparent; border: none; }}"
        )
        self.waveform.set_background(look.tint)

    def _apply_caption_font(self) -> None:
        font = QFont(self.font())
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * CAPTION_SCALE)
        else:  # a pixel-sized application font: scale that
            font.setPixelSize(round(font.pixelSize() * CAPTION_SCALE))
        font.setBold(True)
        self.caption.setFont(font)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._apply_caption_font()
