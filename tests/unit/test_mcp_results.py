"""An MCP tools/call result put in words for the model."""

from __future__ import annotations

import base64

import mcp_types as types

from voicedesk.tools.mcp.results import MAX_OUTPUT_CHARS, result_text


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


def test_text_blocks_are_joined() -> None:
    assert result_text(types.CallToolResult(content=[text("one"), text("two")])) == "one\ntwo"


def test_structured_content_is_json_and_its_text_copy_is_not_repeated() -> None:
    result = types.CallToolResult(content=[text('{"a": 1}'), text("note")], structured_content={"a": 1})
    assert result_text(result) == '{"a": 1}\nnote'


def test_a_wrapped_plain_value_reads_as_its_text() -> None:
    result = types.CallToolResult(content=[text("hello")], structured_content={"result": "hello"})
    assert result_text(result) == "hello"


def test_images_audio_and_resources_are_described() -> None:
    blob = base64.b64encode(b"x" * 4096).decode()
    result = types.CallToolResult(
        content=[
            types.ImageContent(type="image", data=blob, mime_type="image/jpeg"),
            types.AudioContent(type="audio", data=blob, mime_type="audio/wav"),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(uri="file:///a.bin", mime_type="application/zip", blob=blob),
            ),
            types.ResourceLink(type="resource_link", name="spec", uri="https://x/spec", description="The spec."),
        ]
    )
    assert result_text(result).splitlines() == [
        "[an image (image/jpeg, 4 KB) that cannot be shown here]",
        "[an audio clip (audio/wav, 4 KB) that cannot be played here]",
        "[the binary resource file:///a.bin (application/zip), 4 KB]",
        "[a link to the resource 'spec' at https://x/spec: The spec.]",
    ]


def test_a_huge_result_is_cut_and_says_so() -> None:
    output = result_text(types.CallToolResult(content=[text("y" * (MAX_OUTPUT_CHARS + 10))]))
    assert len(output) < MAX_OUTPUT_CHARS + 100
    assert output.endswith(f"[... cut: the result was {MAX_OUTPUT_CHARS + 10} characters long]")
