"""Our side of the server's input audio buffer: how much was appended, whether it may be committed, and how
long the person spoke for each user audio item.

Committing under 100 ms of audio is an error on the service (``input_audio_buffer_commit_empty``), so a
tap of the talk button must be discarded, never committed.
"""

from __future__ import annotations

from voicedesk.audio.base import samples_to_ms

MIN_COMMIT_MS = 100


class InputBuffer:
    def __init__(self) -> None:
        self._appended_samples = 0
        self._committed_ms = 0
        self._speech_started_ms: dict[str, int] = {}
        self._spoken_ms: dict[str, int] = {}

    @property
    def appended_ms(self) -> int:
        """Audio appended since the last commit or clear."""
        return samples_to_ms(self._appended_samples)

    def appended(self, samples: int) -> None:
        self._appended_samples += samples

    def take_for_commit(self) -> int | None:
        """The milliseconds to commit now, or None (and nothing changes) when under ``MIN_COMMIT_MS``."""
        appended_ms = self.appended_ms
        if appended_ms < MIN_COMMIT_MS:
            return None
        self._appended_samples = 0
        self._committed_ms = appended_ms
        return appended_ms

    def cleared(self) -> None:
        """The buffer was emptied (cleared by us, or committed by the server's VAD)."""
        self._appended_samples = 0

    # The length of what the person said, for the conversation's user items: the VAD's marks when there
    # are any, else the length we committed.

    def speech_started(self, item_id: str, audio_start_ms: int) -> None:
        self._speech_started_ms[item_id] = audio_start_ms

    def speech_stopped(self, item_id: str, audio_end_ms: int) -> None:
        began_ms = self._speech_started_ms.pop(item_id, None)
        if began_ms is not None:
            self._spoken_ms[item_id] = audio_end_ms - began_ms

    def committed(self, item_id: str) -> None:
        """``input_audio_buffer.committed``: the server holds what was appended as this item."""
        self._spoken_ms.setdefault(item_id, self._committed_ms)
        self._appended_samples = 0

    def take_spoken_ms(self, item_id: str) -> int | None:
        return self._spoken_ms.pop(item_id, None)

    def reset(self) -> None:
        """A new server session starts with an empty buffer."""
        self._appended_samples = 0
        self._committed_ms = 0
        self._speech_started_ms.clear()
        self._spoken_ms.clear()
