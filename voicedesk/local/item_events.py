"""The client events that edit the conversation: ``conversation.item.create``, ``.delete``, ``.retrieve`` and
``.truncate``. They read and change the stored items and answer with the matching server event; the only
thing they need from responses is to stop one whose audio is being truncated while it still streams."""

from __future__ import annotations

from typing import Any, Protocol

from voicedesk.local import errors
from voicedesk.local.conversation import Conversation, parse_client_item
from voicedesk.local.responses import ResponseStream
from voicedesk.local.session_config import SessionConfig
from voicedesk.local.session_state import SessionRecord
from voicedesk.local.wire import Dialect, IdMaker, JsonDict


class ItemHost(Protocol):
    """What the item handlers need from the connection they serve."""

    ids: IdMaker
    dialect: Dialect
    conversation: Conversation
    config: SessionConfig
    record: SessionRecord
    active: ResponseStream | None

    async def emit(self, ga_type: str, **fields: Any) -> None: ...

    async def cancel_response(self, stream: ResponseStream, reason: str) -> None: ...


class ItemEvents:
    def __init__(self, host: ItemHost) -> None:
        self._host = host

    async def create(self, event: JsonDict) -> None:
        host = self._host
        if "item" not in event:
            raise errors.missing_parameter("item")
        after = event.get("previous_item_id")
        explicit = after is not None
        if explicit and after != "root" and (not isinstance(after, str) or host.conversation.get(after) is None):
            raise errors.item_not_found(str(after), action="create", param="previous_item_id")
        stored = parse_client_item(
            event["item"],
            dialect=host.dialect,
            ids=host.ids,
            conversation=host.conversation,
            input_format=host.config.input_format,
        )
        previous = host.conversation.insert(stored, None if after == "root" else after, explicit=explicit)
        await host.emit("conversation.item.added", previous_item_id=previous, item=stored.item)
        await host.emit("conversation.item.done", previous_item_id=previous, item=stored.item)

    async def delete(self, event: JsonDict) -> None:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise errors.missing_parameter("item_id")
        if self._host.conversation.get(item_id) is None:
            raise errors.item_not_found(item_id, action="delete")
        self._host.conversation.delete(item_id)
        await self._host.emit("conversation.item.deleted", item_id=item_id)

    async def retrieve(self, event: JsonDict) -> None:
        host = self._host
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise errors.missing_parameter("item_id")
        stored = host.conversation.get(item_id)
        if stored is None:
            raise errors.item_not_found(item_id, action="retrieve")
        item = host.conversation.with_audio(stored, host.config.input_format, host.config.output_format)
        await host.emit("conversation.item.retrieved", item=item)

    async def truncate(self, event: JsonDict) -> None:
        host = self._host
        item_id = event.get("item_id")
        if host.active is not None and isinstance(item_id, str) and item_id in host.active.item_ids:
            # Truncating audio that is still streaming: stop the stream first, as a cancel would.
            await host.cancel_response(host.active, "client_cancelled")
        truncation = host.conversation.truncate(event)
        host.record.truncations.append(truncation)
        await host.emit(
            "conversation.item.truncated",
            item_id=truncation.item_id,
            content_index=event["content_index"],
            audio_end_ms=truncation.audio_end_ms,
        )
