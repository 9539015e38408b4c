"""What the session wants of the server, as intents, and the one place that turns them into wire events.

The controller, the tool runner and the renewal logic say *what* they want (send this audio, cut the
answer off at what was heard, hand back a tool's output); ``IntentSender`` decides *how* it goes on the
wire. It is the model layer of the Agents SDK's realtime session (``SendInterrupt``, ``SendToolOutput``,
...). Whether a response may be created or cancelled now is the response state machine's call
(voicedesk.session.response_state), made before an intent is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from voicedesk.audio.base import Pcm16
from voicedesk.realtime import events as ev
from voicedesk.session.items import ImagePart
from voicedesk.session.wire_audio import AudioCodec


@dataclass(frozen=True, slots=True, eq=False)
class SendAudio:
    """Microphone audio for the input buffer (24 kHz pcm16; encoded to the session's input format)."""

    pcm: Pcm16


@dataclass(frozen=True, slots=True)
class CommitInput:
    """Make the input buffer a user item (at least 100 ms of it: see input_buffer.MIN_COMMIT_MS)."""


@dataclass(frozen=True, slots=True)
class ClearInput:
    """Drop what the input buffer holds."""


@dataclass(frozen=True, slots=True)
class RequestResponse:
    pass


@dataclass(frozen=True, slots=True)
class CancelResponse:
    pass


@dataclass(frozen=True, slots=True)
class CutHeardItem:
    """An interrupted answer: keep what the person heard of it, or delete it when they heard nothing."""

    item_id: str
    content_index: int
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class SendUserText:
    text: str


@dataclass(frozen=True, slots=True, eq=False)
class SendUserMessage:
    """A user message with images (and the text typed alongside, if any), under an id of ours."""

    text: str
    images: tuple[ImagePart, ...]
    item_id: str


def input_images(images: tuple[ImagePart, ...]) -> tuple[ev.InputImage, ...]:
    return tuple(ev.InputImage(image.mime, image.data) for image in images if image.data)


@dataclass(frozen=True, slots=True)
class SendSystemMessage:
    """A note to the model only (e.g. why its last answer was cut), as a system message item."""

    text: str


@dataclass(frozen=True, slots=True)
class SendToolOutput:
    call_id: str
    output: str


@dataclass(frozen=True, slots=True)
class UpdateSession:
    """``payload`` is already the session in the target protocol's shape (realtime.session_config)."""

    payload: ev.JsonDict


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """An item of the conversation so far, re-created in a new server session."""

    item: ev.ItemSpec


Intent = (
    SendAudio
    | CommitInput
    | ClearInput
    | RequestResponse
    | CancelResponse
    | CutHeardItem
    | SendUserText
    | SendUserMessage
    | SendSystemMessage
    | SendToolOutput
    | UpdateSession
    | ReplayItem
)


class IntentSender:
    """Turns intents into client events and queues them with ``send`` (``RealtimeClient.send``)."""

    def __init__(self, send: Callable[[ev.ClientEvent], str], codec: AudioCodec) -> None:
        self._send = send
        self.codec = codec

    def client_events(self, intent: Intent) -> list[ev.ClientEvent]:
        match intent:
            case SendAudio(pcm=pcm):
                return [ev.InputAudioAppend(self.codec.encode_input(pcm))]
            case CommitInput():
                return [ev.InputAudioCommit()]
            case ClearInput():
                return [ev.InputAudioClear()]
            case RequestResponse():
                return [ev.ResponseCreate()]
            case CancelResponse():
                return [ev.ResponseCancel()]
            case CutHeardItem(item_id=item_id, content_index=index, audio_end_ms=end_ms):
                if end_ms > 0:
                    return [ev.ItemTruncate(item_id, index, int(end_ms))]
                return [ev.ItemDelete(item_id)]  # a truncate to 0 ms is refused: nothing heard, nothing kept
            case SendUserText(text=text):
                return [ev.ItemCreate(ev.MessageSpec("user", text))]
            case SendUserMessage(text=text, images=images, item_id=item_id):
                return [ev.ItemCreate(ev.MessageSpec("user", text, item_id=item_id, images=input_images(images)))]
            case SendSystemMessage(text=text):
                return [ev.ItemCreate(ev.MessageSpec("system", text))]
            case SendToolOutput(call_id=call_id, output=output):
                return [ev.ItemCreate(ev.FunctionOutputSpec(call_id, output))]
            case UpdateSession(payload=payload):
                return [ev.SessionUpdate(payload)]
            case ReplayItem(item=item):
                return [ev.ItemCreate(item)]
            case _:
                assert_never(intent)

    def send(self, intent: Intent) -> bool:
        """Queue the intent's events; False when one was dropped (audio while disconnected)."""
        return all([self._send(event) for event in self.client_events(intent)])
