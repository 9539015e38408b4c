"""Push-to-talk against a server ~150 ms away: the status and the recording follow what is really sent."""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.qt.uikit import WAIT_MS, AppHarness
from tests.signals import speech_like
from voicedesk.audio.wavfile import read_wav
from voicedesk.local.server import LocalServerOptions
from voicedesk.session import events as se

MakeApp = Callable[..., AppHarness]


def _sent_audio(app: AppHarness) -> np.ndarray:
    server = app.runtime.server
    assert server is not None
    chunks = [
        np.frombuffer(base64.b64decode(e["audio"]), dtype="<i2")
        for session in server.sessions
        for e in session.client_events
        if e.get("type") == "input_audio_buffer.append"
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def test_talking_over_an_answer_being_cancelled_reads_listening_and_records_exactly_what_was_sent(
    qtbot: QtBot, make_app: MakeApp, run: Callable[..., object]
) -> None:
    options = LocalServerOptions(audio_pace=1.0, latency_s=0.15, transcripts=["one more thing"])
    app = make_app(options=options, speed=1.0)
    w = app.window
    w.send_text("talk for 20 seconds")
    qtbot.waitUntil(lambda: w.status.activity_label.text() == "Speaking", timeout=WAIT_MS)

    shown_while_talking: list[str] = []
    talking = [False]

    def watch(_event: se.SessionEvent) -> None:  # runs after the window has applied the event
        if talking[0]:
            shown_while_talking.append(w.status.activity_label.text())

    app.runtime.subscribe(watch)
    qtbot.mousePress(w.controls.talk_button, Qt.MouseButton.LeftButton)
    talking[0] = True
    shown_while_talking.append(w.status.activity_label.text())
    run(app.source.play(speech_like(1.0)))  # the cancel reaches the server and its answer comes back meanwhile
    shown_while_talking.append(w.status.activity_label.text())
    talking[0] = False
    qtbot.mouseRelease(w.controls.talk_button, Qt.MouseButton.LeftButton)

    assert any(e.status == "cancelled" for e in app.of(se.AgentEnd)), "the first answer was cancelled while talking"
    assert set(shown_while_talking) == {"Listening"}, shown_while_talking
    qtbot.waitUntil(lambda: "one more thing" in w.conversation.plain_text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: [e.status for e in app.of(se.AgentEnd)][-1:] == ["completed"], timeout=WAIT_MS)
    sent = _sent_audio(app)
    assert len(sent) >= 24_000, "the whole second of speech was sent"
    recorded = read_wav(app.runtime.recorder.mic_path)  # its header is valid after every write
    assert len(recorded) == len(sent) and np.array_equal(recorded, sent)
