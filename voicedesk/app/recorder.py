"""Both sides' audio on disk while the session runs: ``you.wav`` holds exactly the microphone audio that
was sent to the model, ``assistant.wav`` the assistant's audio as the person heard it (an interrupted
answer is cut where it was cut). Nothing accumulates in memory; both headers are valid after every write,
so an export can copy the files mid-session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from voicedesk.audio.base import SAMPLE_RATE, Pcm16
from voicedesk.audio.wavfile import WavWriter
from voicedesk.private_files import copy_private, private_dir
from voicedesk.session import events as se

log = logging.getLogger(__name__)


class ConversationRecorder:
    def __init__(self, directory: Path, *, on_failure: Callable[[OSError], None] | None = None) -> None:
        self.directory = directory
        self.mic_path = directory / "you.wav"
        self.assistant_path = directory / "assistant.wav"
        self._mic: WavWriter | None = None
        self._assistant: WavWriter | None = None
        self._item_starts: dict[str, int] = {}  # item_id -> its first frame in assistant.wav
        self._on_failure = on_failure
        self.enabled = True

    def record_sent(self, pcm: Pcm16) -> None:
        """The controller's ``on_input_sent``: a block that went to the model as input audio."""
        if self.enabled:
            self._guarded(lambda: self._mic_writer().write(pcm))

    def on_event(self, event: se.SessionEvent) -> None:
        match event:
            case se.AudioChunk(item_id=item_id, pcm=pcm) if self.enabled:
                self._guarded(lambda: self._write_assistant(item_id, pcm))
            case se.AudioInterrupted(item_id=item_id, audio_end_ms=end_ms) if self._assistant is not None:
                start = self._item_starts.pop(item_id, None)
                if start is not None:
                    writer = self._assistant
                    self._guarded(lambda: writer.truncate(start + end_ms * SAMPLE_RATE // 1000))
            case se.AudioEnd(item_id=item_id):
                self._item_starts.pop(item_id, None)
            case _:
                pass

    def _write_assistant(self, item_id: str, pcm: Pcm16) -> None:
        if self._assistant is None:
            self._assistant = WavWriter(self.assistant_path)
        self._item_starts.setdefault(item_id, self._assistant.frames_written)
        self._assistant.write(pcm)

    def _mic_writer(self) -> WavWriter:
        if self._mic is None:
            self._mic = WavWriter(self.mic_path)
        return self._mic

    def _guarded(self, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:  # a full disk must not stop the conversation: stop recording, say so once
            self.enabled = False
            log.warning("recording stopped: %s", exc)
            if self._on_failure is not None:
                self._on_failure(exc)

    def has_audio(self) -> bool:
        return self.mic_path.exists() or self.assistant_path.exists()

    def copy_to(self, directory: Path) -> list[Path]:
        """Copy both WAVs as they are so far."""
        private_dir(directory)
        copied = []
        for path in (self.mic_path, self.assistant_path):
            if path.exists():
                copied.append(copy_private(path, directory / path.name))
        return copied

    def close(self) -> None:
        for writer in (self._mic, self._assistant):
            if writer is not None:
                writer.close()
        self._mic = self._assistant = None
        self._item_starts.clear()
