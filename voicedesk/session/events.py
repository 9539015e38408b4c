"""What the session controller reports: one typed union, the vocabulary of the OpenAI Agents SDK's
realtime session events (agent_start/agent_end, tool_start/tool_end, audio, audio_end, audio_interrupted,
error, history_updated/history_added, raw_model_event, handoff, guardrail_tripped) plus what a desktop client
shows besides: connection and activity state, transcript deltas, latency, usage, session renewal, audio device
problems.

Every event has a ``kind`` string equal to its Agents SDK name where one exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from voicedesk.audio.base import AudioProblem, Pcm16
from voicedesk.realtime.client import ConnectionState as ConnectionState  # the session reports it too
from voicedesk.realtime.server_events import RateLimit as RateLimit  # likewise, in RateLimitsReported
from voicedesk.session.conversation import Item

Activity = Literal["idle", "listening", "thinking", "speaking"]
Direction = Literal["client", "server"]
InterruptReason = Literal["user", "barge_in", "guardrail"]


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A full snapshot of what the controls show: the connection, what the assistant is doing, the turn
    mode (push-to-talk or voice detection), whether the microphone is muted (voice detection), whether
    microphone audio is being sent, and while reconnecting which reconnect this is within the retry budget
    (1-based; 0 otherwise, a planned session renewal included)."""

    connection: ConnectionState
    activity: Activity
    push_to_talk: bool = True
    muted: bool = False
    mic_open: bool = False
    reconnect_attempt: int = 0
    kind: str = "state_changed"


@dataclass(frozen=True, slots=True)
class AgentStart:
    """The model began a response."""

    response_id: str
    kind: str = "agent_start"


@dataclass(frozen=True, slots=True)
class AgentEnd:
    """A response finished: status is completed, cancelled, incomplete or failed."""

    response_id: str
    status: str
    kind: str = "agent_end"


@dataclass(frozen=True, slots=True)
class ToolStart:
    call_id: str
    name: str
    arguments: str
    kind: str = "tool_start"


@dataclass(frozen=True, slots=True)
class ToolEnd:
    call_id: str
    name: str
    arguments: str
    output: str
    ok: bool
    duration_s: float
    approval: str = ""
    """How the call was let run or refused ("allowed", "approved", "denied", "timed-out", ...); "" when no
    approval applies."""
    source: str = ""
    """Where the tool comes from ("built-in", "file", "MCP <server>"); "" when not known."""
    kind: str = "tool_end"


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Assistant audio received (already handed to the sink)."""

    item_id: str
    pcm: Pcm16
    kind: str = "audio"


@dataclass(frozen=True, slots=True)
class AudioEnd:
    """The assistant's audio for an item has finished playing."""

    item_id: str
    kind: str = "audio_end"


@dataclass(frozen=True, slots=True)
class AudioInterrupted:
    """Playback was cut (button, Esc, barge-in or a guardrail); ``audio_end_ms`` is what the person heard."""

    item_id: str
    audio_end_ms: int
    reason: InterruptReason
    kind: str = "audio_interrupted"


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    """Something the person should know. ``code`` is a stable machine name (see ``ErrorCode``)."""

    message: str
    code: str
    hint: str = ""
    fatal: bool = False
    kind: str = "error"


@dataclass(frozen=True, slots=True)
class HistoryAdded:
    item: Item
    kind: str = "history_added"


@dataclass(frozen=True, slots=True)
class HistoryUpdated:
    """The ordered conversation changed (an item was updated, removed, truncated or reordered)."""

    items: tuple[Item, ...]
    kind: str = "history_updated"


@dataclass(frozen=True, slots=True)
class RawModelEvent:
    """Every event on the wire, both ways; audio payloads are elided in ``data``."""

    direction: Direction
    data: dict[str, Any]
    size: int = 0
    """Roughly how many bytes ``data`` holds (long strings in it are shortened: session.inspector)."""
    kind: str = "raw_model_event"


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    item_id: str
    role: Literal["user", "assistant"]
    delta: str
    text: str
    kind: str = "transcript_delta"


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """End of user speech -> first audio received -> first audio played, in milliseconds."""

    first_audio_received_ms: float
    first_audio_played_ms: float | None
    kind: str = "latency"


@dataclass(frozen=True, slots=True)
class UsageReported:
    response_id: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    details: dict[str, Any] = field(default_factory=dict)
    kind: str = "usage"


@dataclass(frozen=True, slots=True)
class RateLimitsReported:
    """What is left of the account's limits (requests, tokens), as the service last reported it."""

    limits: tuple[RateLimit, ...]
    kind: str = "rate_limits"


@dataclass(frozen=True, slots=True)
class SessionRenewed:
    """A new server session replaced the old one; the conversation was carried over."""

    reason: Literal["expired", "timeout", "reconnected"]
    carried_items: int
    summarized_items: int
    kind: str = "session_renewed"


@dataclass(frozen=True, slots=True)
class AudioDeviceProblem:
    """A device failed (``recovered``: voicedesk moved to another one) or the microphone records only silence;
    ``cleared`` says that problem is over."""

    message: str
    device: str | None
    recovered: bool
    cause: Literal["device", "silence"] = "device"
    cleared: bool = False
    kind: str = "audio_device_problem"

    @classmethod
    def of(cls, problem: AudioProblem) -> AudioDeviceProblem:
        return cls(problem.message, problem.device, problem.recovered, problem.cause, problem.cleared)


@dataclass(frozen=True, slots=True)
class Handoff:
    """Another assistant took over: the model called its ``transfer_to_…`` tool, or the person picked it.
    ``voice_note`` says why the voice stayed as it was (it cannot change once the assistant has spoken)."""

    from_agent: str
    to_agent: str
    requested_by: Literal["model", "person"] = "model"
    voice_note: str = ""
    kind: str = "handoff"


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """One output guardrail's verdict: its name (``blocked_patterns``, ``max_answer_seconds``, the hook's
    ``module:function``) and why it tripped."""

    guardrail: str
    reason: str
    tripped: bool = True


@dataclass(frozen=True, slots=True)
class GuardrailTripped:
    """An output guardrail stopped an answer: playback stopped, the response cancelled, the item cut at what
    was heard. ``message`` is the answer's text when it tripped."""

    guardrail_results: tuple[GuardrailResult, ...]
    message: str
    item_id: str
    kind: str = "guardrail_tripped"

    @property
    def reason(self) -> str:
        return "; ".join(result.reason for result in self.guardrail_results)


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The session is over: the person disconnected, a tool ended it, or an error left nothing to do."""

    reason: Literal["user", "tool", "error"]
    kind: str = "session_ended"


SessionEvent = (
    StateChanged
    | AgentStart
    | AgentEnd
    | ToolStart
    | ToolEnd
    | AudioChunk
    | AudioEnd
    | AudioInterrupted
    | ErrorOccurred
    | HistoryAdded
    | HistoryUpdated
    | RawModelEvent
    | TranscriptDelta
    | TurnLatency
    | UsageReported
    | RateLimitsReported
    | SessionRenewed
    | AudioDeviceProblem
    | Handoff
    | GuardrailTripped
    | SessionEnded
)
