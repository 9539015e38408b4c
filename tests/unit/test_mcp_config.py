"""mcp.json: the desktop-client format read into typed entries, one line per mistake, the rest still loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicedesk.tools.mcp_config import (
    HttpServerConfig,
    StdioServerConfig,
    default_mcp_config_path,
    load_mcp_config,
    parse_mcp_config,
)


def test_reads_stdio_and_http_servers(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "time": {
                    "command": "python",
                    "args": ["-m", "mcp_server_time"],
                    "env": {"TZ": "UTC"},
                    "cwd": str(tmp_path),
                },
                "notes": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer x"}},
            }
        }
    )
    config = parse_mcp_config(text)
    assert config.problems == ()
    assert config.servers == (
        StdioServerConfig("time", "python", ("-m", "mcp_server_time"), {"TZ": "UTC"}, str(tmp_path)),
        HttpServerConfig("notes", "https://example.com/mcp", {"Authorization": "Bearer x"}),
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"args": ["x"]}, "server 'bad': needs 'command'"),
        ({"command": ""}, "server 'bad': field 'command' must be a non-empty string"),
        ({"command": "x", "args": "-m y"}, "server 'bad': field 'args' must be a list of strings"),
        ({"command": "x", "env": {"A": 1}}, "server 'bad': field 'env' must be an object of strings"),
        ({"command": "x", "cwd": "/no/such/folder"}, "server 'bad': field 'cwd' names '/no/such/folder'"),
        ({"url": "ftp://host/mcp"}, "server 'bad': field 'url' must be an http:// or https:// address"),
        ({"url": "https://h/mcp", "headers": {"A": "b\r\nC: d"}}, "server 'bad': field 'headers' has an invalid"),
        ({"command": "x", "url": "https://h/mcp"}, "server 'bad': has both 'command' and 'url'"),
        ({"type": "sse", "url": "https://h/sse"}, "server 'bad': field 'type' is \"sse\""),
        ("python", "server 'bad': must be an object"),
    ],
)
def test_a_bad_server_is_one_line_and_the_others_still_load(entry: object, expected: str) -> None:
    text = json.dumps({"mcpServers": {"bad": entry, "good": {"command": "python"}}})
    config = parse_mcp_config(text, source="mcp.json")
    assert [server.name for server in config.servers] == ["good"]
    assert len(config.problems) == 1
    assert config.problems[0].startswith("mcp.json: ")
    assert expected in config.problems[0]
    assert "\n" not in config.problems[0]


def test_unknown_fields_are_named_but_the_server_loads() -> None:
    config = parse_mcp_config(json.dumps({"mcpServers": {"t": {"command": "x", "arg": ["y"], "disabled": False}}}))
    assert [server.name for server in config.servers] == ["t"]
    assert config.problems == ("mcp.json: server 't': ignored unknown field 'arg' (expected: args, command, cwd, env)",)


def test_a_disabled_server_is_left_out_quietly() -> None:
    config = parse_mcp_config(json.dumps({"mcpServers": {"t": {"command": "x", "disabled": True}}}))
    assert config == parse_mcp_config("{}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
        ("[]", "must be a JSON object"),
        ('{"mcpServers": []}', '"mcpServers" must be an object'),
    ],
)
def test_a_broken_file_is_one_line(text: str, expected: str) -> None:
    config = parse_mcp_config(text)
    assert config.servers == ()
    assert len(config.problems) == 1
    assert expected in config.problems[0]


def test_files_missing_unreadable_or_a_folder(tmp_path: Path) -> None:
    assert load_mcp_config(default_mcp_config_path(tmp_path)).problems == ()
    assert load_mcp_config(tmp_path / "given.json", missing_ok=False).problems == (
        f"{tmp_path / 'given.json'}: no such file",
    )
    assert "is a folder" in load_mcp_config(tmp_path).problems[0]
    binary = tmp_path / "mcp.json"
    binary.write_bytes(b"\xff\xfe{")
    assert "not UTF-8" in load_mcp_config(binary).problems[0]
    binary.write_text(json.dumps({"mcpServers": {"t": {"command": "x"}}}), encoding="utf-8")
    assert [server.name for server in load_mcp_config(binary).servers] == ["t"]
