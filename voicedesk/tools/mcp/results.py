"""An MCP tools/call result in words for the model: text joined, structured content as JSON, images,
audio and resources described rather than pasted."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

MAX_OUTPUT_CHARS = 60_000
"""Longer outputs are cut: a function_call_output is read by the model in full, every turn after."""
_MAX_RESOURCE_TEXT = 8_000


def result_text(result: types.CallToolResult) -> str:
    parts: list[str] = []
    structured = result.structured_content
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    if isinstance(structured, dict) and structured.keys() == {"result"} and _covers(texts, structured["result"]):
        structured = None  # a plain return value the SDK wrapped as {"result": ...}: the text says it all
    for block in result.content:
        if isinstance(block, types.TextContent):
            if structured is not None and _same_json(block.text, structured):
                continue  # servers send the structured result a second time as text
            parts.append(block.text)
        else:
            parts.append(_describe(block))
    if structured is not None:
        parts.insert(0, json.dumps(structured, ensure_ascii=False))
    text = "\n".join(part for part in parts if part)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n[... cut: the result was {len(text)} characters long]"
    return text


def _covers(texts: list[str], value: Any) -> bool:
    return any(text == value or _same_json(text, value) for text in texts)


def _same_json(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


def _describe(block: Any) -> str:
    if isinstance(block, types.ImageContent):
        return f"[an image ({block.mime_type}, {_size(block.data)}) that cannot be shown here]"
    if isinstance(block, types.AudioContent):
        return f"[an audio clip ({block.mime_type}, {_size(block.data)}) that cannot be played here]"
    if isinstance(block, types.ResourceLink):
        about = f": {block.description}" if block.description else ""
        kind = f", {block.mime_type}" if block.mime_type else ""
        return f"[a link to the resource {block.name!r} at {block.uri}{kind}{about}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        kind = f" ({resource.mime_type})" if resource.mime_type else ""
        if isinstance(resource, types.TextResourceContents):
            text = resource.text
            if len(text) > _MAX_RESOURCE_TEXT:
                text = text[:_MAX_RESOURCE_TEXT] + " [... cut]"
            return f"[the resource {resource.uri}{kind}:]\n{text}"
        return f"[the binary resource {resource.uri}{kind}, {_size(resource.blob)}]"
    return f"[content of type {getattr(block, 'type', type(block).__name__)!r} that cannot be shown here]"


def _size(base64_data: str) -> str:
    size = len(base64_data) * 3 // 4
    return f"{size} bytes" if size < 2048 else f"{size // 1024} KB"
