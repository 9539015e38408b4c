"""Identifiers and the two wire dialects (GA and beta) of the Realtime protocol.

Internally the server thinks in GA names and GA item shapes; a :class:`Dialect` renames events and
reshapes items on the way out, so the beta/Azure-preview naming is one translation, not a second code path.
"""

from __future__ import annotations

import itertools
import json
import secrets
import string
from typing import Any

JsonDict = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits


class IdMaker:
    """Ids shaped like the real service's (``event_``, ``item_``, ``resp_``, ``call_``, ``sess_``...).

    A random per-connection stem plus a counter: unique, cheap enough for thousands of audio deltas.
    """

    def __init__(self) -> None:
        self._stem = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        self._counter = itertools.count(1)

    def new(self, prefix: str) -> str:
        n = next(self._counter)
        digits = []
        while True:
            n, r = divmod(n, len(_ALPHABET))
            digits.append(_ALPHABET[r])
            if n == 0:
                break
        tail = "".join(reversed(digits)).rjust(9, "0")
        return f"{prefix}_{self._stem}{tail}"


# GA event name -> beta event name; None means the event does not exist in beta.
_BETA_EVENT_NAMES: dict[str, str | None] = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "conversation.item.added": "conversation.item.created",
    "conversation.item.done": None,
}

# GA content part types of stored items -> beta content types.
_BETA_CONTENT_TYPES = {"output_audio": "audio", "output_text": "text"}
_GA_CONTENT_TYPES = {v: k for k, v in _BETA_CONTENT_TYPES.items()}


class Dialect:
    """GA (default) or beta naming for everything the server sends."""

    def __init__(self, beta: bool) -> None:
        self.beta = beta

    def event_type(self, ga_type: str) -> str | None:
        """The name of a GA event in this dialect; None when the dialect has no such event."""
        if not self.beta:
            return ga_type
        return _BETA_EVENT_NAMES.get(ga_type, ga_type)

    def item(self, item: JsonDict) -> JsonDict:
        """A stored (GA-shaped) item as this dialect shows it."""
        if not self.beta or item.get("type") != "message":
            return item
        content = [
            {**part, "type": _BETA_CONTENT_TYPES.get(part.get("type", ""), part.get("type"))}
            for part in item.get("content", [])
        ]
        return {**item, "content": content}

    @staticmethod
    def ga_content_type(client_type: str) -> str:
        """Normalise a beta content type sent by a client to the GA name used in storage."""
        return _GA_CONTENT_TYPES.get(client_type, client_type)


def dumps(event: JsonDict) -> str:
    # Compact separators: audio deltas dominate the traffic and every byte is copied several times.
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
