"""Assistants and handoffs between them, as in the Agents SDK's realtime agents.

An ``Assistant`` is what the session needs of a profile: its model settings (instructions, voice, turn
detection...), which of the session's tools it offers, the assistants it may hand off to, and its output
guardrails. Each handoff target becomes a tool ``transfer_to_<name>`` (lower case, other characters ``_``)
whose description says when to use it. When the model calls one, the session is updated with the target's
instructions and tools (``session.update``, sent before the call's output), the call gets its output
(``{"assistant": "<name>"}``), ``handoff`` is reported and noted in the conversation, and the one
``response.create`` that follows every tool round lets the new assistant answer. Handoffs chain and can
return. The voice cannot change once the assistant has spoken in a session: it is kept, and the ``handoff``
event says so.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from voicedesk.realtime.session_config import SessionSettings
from voicedesk.session import events as se
from voicedesk.session.guardrails import OutputGuardrails
from voicedesk.session.items import Item, note_item

HANDOFF_PREFIX = "transfer_to_"
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


def handoff_tool_name(assistant: str) -> str:
    """``transfer_to_`` and the name in lower case, every character but letters and digits as ``_``."""
    return HANDOFF_PREFIX + re.sub(r"[^a-z0-9]", "_", assistant.strip().lower())


@dataclass(frozen=True, slots=True, eq=False)
class Assistant:
    name: str
    settings: SessionSettings
    tools: frozenset[str] | None = None
    """The session's tools this assistant offers, by name; None: all of them but ``hidden_tools``."""
    hidden_tools: frozenset[str] = frozenset()
    handoffs: tuple[str, ...] = ()
    """The assistants it may hand off to, by name."""
    handoff_description: str = ""
    """When another assistant should hand off to this one (the end of its transfer tool's description)."""
    guardrails: OutputGuardrails = field(default_factory=OutputGuardrails)

    def offers(self, tool: str) -> bool:
        return tool in self.tools if self.tools is not None else tool not in self.hidden_tools

    def handoff_tool(self) -> dict[str, Any]:
        """The tool another assistant calls to hand off to this one."""
        description = f"Handoff to the {self.name} agent to handle the request. {self.handoff_description}"
        return {
            "type": "function",
            "name": handoff_tool_name(self.name),
            "description": description.strip(),
            "parameters": dict(NO_PARAMETERS),
        }


class Handoffs:
    """The session's assistants and which one is talking; switches between them.

    ``apply`` takes the new assistant's settings into the session (the controller's, without sending them);
    ``resend`` sends the session's settings and tools to the server when connected."""

    def __init__(
        self,
        *,
        emit: Callable[[se.SessionEvent], None],
        voice_used: Callable[[], bool],
        settings: Callable[[], SessionSettings],
        apply: Callable[[Assistant, SessionSettings], None],
        resend: Callable[[], None],
    ) -> None:
        self._emit = emit
        self._voice_used = voice_used
        self._settings = settings
        self._apply = apply
        self._resend = resend
        self.assistants: dict[str, Assistant] = {}
        self.current: Assistant | None = None

    def use(self, assistants: Sequence[Assistant], current: str | None) -> SessionSettings | None:
        """A new set of assistants (profiles edited, or the first): ``current`` (by name, else the first)
        talks. Returns its settings (the voice kept if the session has spoken), or None when there are none."""
        self.assistants = {assistant.name: assistant for assistant in assistants}
        self.current = self.assistants.get(current or "") or next(iter(self.assistants.values()), None)
        if self.current is None:
            return None
        return self._settings_of(self.current)[0]

    def tool_definitions(self, session_tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What the current assistant offers: its share of the session's tools, and its handoffs."""
        current = self.current
        if current is None:
            return session_tools
        offered = [tool for tool in session_tools if current.offers(str(tool.get("name")))]
        targets = [self.assistants[name] for name in current.handoffs if name in self.assistants]
        return offered + [target.handoff_tool() for target in targets if target is not current]

    def target_of(self, tool_name: str) -> Assistant | None:
        """The assistant this call hands off to, when it is one of the current assistant's handoffs."""
        current = self.current
        if current is None or not tool_name.startswith(HANDOFF_PREFIX):
            return None
        return next(
            (
                self.assistants[name]
                for name in current.handoffs
                if name in self.assistants and handoff_tool_name(name) == tool_name
            ),
            None,
        )

    def take_call(self, tool_name: str, _arguments: str) -> str | None:
        """The tool runner asks first: a handoff is done here, at once; returns the call's output (None:
        not a handoff, the registry runs it)."""
        target = self.target_of(tool_name)
        if target is None:
            return None
        self.switch(target.name, "model")
        return json.dumps({"assistant": target.name})

    def switch(self, name: str, requested_by: Literal["model", "person"]) -> se.Handoff:
        """Make ``name`` the talking assistant: its settings and tools go to the server, the handoff is
        reported and noted. KeyError for an unknown name."""
        target = self.assistants[name]
        previous = self.current
        settings, voice_note = self._settings_of(target)
        self.current = target
        self._apply(target, settings)
        self._resend()
        event = se.Handoff(previous.name if previous else "", target.name, requested_by, voice_note)
        self._emit(event)
        return event

    def current_settings(self) -> SessionSettings | None:
        """The talking assistant's settings as the session can take them now (its own voice, in a new one)."""
        return self._settings_of(self.current)[0] if self.current is not None else None

    def _settings_of(self, target: Assistant) -> tuple[SessionSettings, str]:
        """The target's settings as this session can take them: the model stays the session's (it only
        changes on connect), and so does the voice once the assistant has spoken."""
        now = self._settings()
        settings = dataclasses.replace(target.settings, model=now.model)
        if self._voice_used() and settings.voice != now.voice:
            note = (
                f"The voice stays {now.voice}: it cannot change once the assistant has spoken in a session "
                f"({target.name}'s voice is {settings.voice})."
            )
            return dataclasses.replace(settings, voice=now.voice), note
        return settings, ""


def handoff_note(event: se.Handoff) -> Item:
    """The conversation's note of a handoff: "Concierge → Billing"."""
    fields: dict[str, Any] = {"from_agent": event.from_agent, "to_agent": event.to_agent}
    fields["requested_by"] = event.requested_by
    if event.voice_note:
        fields["voice_note"] = event.voice_note
    return note_item("handoff", f"{event.from_agent or '?'} → {event.to_agent}", **fields)
