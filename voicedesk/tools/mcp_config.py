"""The MCP servers a person configured, in the format desktop MCP clients use::

    {"mcpServers": {
        "time": {"command": "python", "args": ["-m", "mcp_server_time"], "env": {"TZ": "UTC"}, "cwd": "/tmp"},
        "notes": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ..."}}
    }}

Reading never raises for what is in the file: each mistake becomes one line naming the server and the field,
and a bad server entry is left out while the others still load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MCP_CONFIG_NAME = "mcp.json"
"""The file's name in the config directory."""

_STDIO_FIELDS = frozenset({"command", "args", "env", "cwd"})
_HTTP_FIELDS = frozenset({"url", "headers"})
# Keys other desktop clients write that mean nothing here: accepted without a word.
_TOLERATED_FIELDS = frozenset({"type", "transport", "disabled", "description", "autoApprove", "alwaysAllow", "timeout"})
_STDIO_TYPES = frozenset({"stdio"})
_HTTP_TYPES = frozenset({"http", "streamable-http", "streamable_http", "streamableHttp"})
_MAX_CONFIG_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class StdioServerConfig:
    """A server run as a child process, spoken to over its stdin and stdout."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None


@dataclass(frozen=True, slots=True)
class HttpServerConfig:
    """A server reached over streamable HTTP."""

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


McpServerConfig = StdioServerConfig | HttpServerConfig


@dataclass(frozen=True, slots=True)
class McpConfig:
    """The servers that could be read, and one line per problem found on the way."""

    servers: tuple[McpServerConfig, ...] = ()
    problems: tuple[str, ...] = ()


def default_mcp_config_path(config_dir: Path) -> Path:
    return config_dir / MCP_CONFIG_NAME


def load_mcp_config(path: Path, *, missing_ok: bool = True) -> McpConfig:
    """Read ``path``; a missing file is no servers (a problem when ``missing_ok`` is False, for a path
    the person named)."""
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            return McpConfig(problems=(f"{path}: larger than 1 MB, not an MCP server list",))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return McpConfig() if missing_ok else McpConfig(problems=(f"{path}: no such file",))
    except IsADirectoryError:
        return McpConfig(problems=(f"{path}: is a folder, not a JSON file",))
    except UnicodeDecodeError:
        return McpConfig(problems=(f"{path}: not UTF-8 text",))
    except OSError as exc:
        return McpConfig(problems=(f"{path}: cannot be read ({exc.strerror or exc})",))
    return parse_mcp_config(text, source=str(path))


def parse_mcp_config(text: str, source: str = "mcp.json") -> McpConfig:
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        return McpConfig(problems=(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",))
    if not isinstance(data, dict):
        return McpConfig(problems=(f'{source}: must be a JSON object with an "mcpServers" object',))
    entries = data.get("mcpServers", {})
    if not isinstance(entries, dict):
        return McpConfig(problems=(f'{source}: "mcpServers" must be an object of servers by name',))
    servers: list[McpServerConfig] = []
    problems: list[str] = []
    for name, entry in entries.items():
        server = _server(name, entry, f"{source}: server {name!r}", problems)
        if server is not None:
            servers.append(server)
    return McpConfig(servers=tuple(servers), problems=tuple(problems))


def _server(name: str, entry: Any, where: str, problems: list[str]) -> McpServerConfig | None:
    if not name.strip():
        problems.append(f"{where}: a server needs a non-empty name")
        return None
    if not isinstance(entry, dict):
        problems.append(f'{where}: must be an object with "command" or "url"')
        return None
    if entry.get("disabled") is True:
        return None
    kind = entry.get("type", entry.get("transport"))
    if kind is not None and kind not in _STDIO_TYPES | _HTTP_TYPES:
        supported = "stdio or http" if kind != "sse" else "stdio or http (the older SSE transport is not supported)"
        problems.append(f"{where}: field 'type' is {json.dumps(kind)}; use {supported}")
        return None
    has_command, has_url = "command" in entry, "url" in entry
    if has_command and has_url:
        problems.append(f"{where}: has both 'command' and 'url'; keep one")
        return None
    if not has_command and not has_url:
        problems.append(f"{where}: needs 'command' (a program to run) or 'url' (a streamable HTTP address)")
        return None
    known = _STDIO_FIELDS if has_command else _HTTP_FIELDS
    for key in entry:
        if key not in known and key not in _TOLERATED_FIELDS:
            problems.append(f"{where}: ignored unknown field {key!r} (expected: {', '.join(sorted(known))})")
    return _stdio(name, entry, where, problems) if has_command else _http(name, entry, where, problems)


def _stdio(name: str, entry: dict[str, Any], where: str, problems: list[str]) -> StdioServerConfig | None:
    command = entry["command"]
    if not isinstance(command, str) or not command.strip() or "\0" in command:
        problems.append(f"{where}: field 'command' must be a non-empty string")
        return None
    args = entry.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) and "\0" not in arg for arg in args):
        problems.append(f"{where}: field 'args' must be a list of strings")
        return None
    env = _string_map(entry.get("env", {}), where, "env", problems)
    if env is None:
        return None
    cwd = entry.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd.strip()):
        problems.append(f"{where}: field 'cwd' must be a folder path (a string)")
        return None
    if cwd is not None and not Path(cwd).expanduser().is_dir():
        problems.append(f"{where}: field 'cwd' names {cwd!r}, which is not a folder")
        return None
    return StdioServerConfig(
        name=name,
        command=command,
        args=tuple(args),
        env=env,
        cwd=str(Path(cwd).expanduser()) if cwd is not None else None,
    )


def _http(name: str, entry: dict[str, Any], where: str, problems: list[str]) -> HttpServerConfig | None:
    url = entry["url"]
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{where}: field 'url' must be an http:// or https:// address")
        return None
    headers = _string_map(entry.get("headers", {}), where, "headers", problems)
    if headers is None:
        return None
    bad = [key for key, value in headers.items() if not key.strip() or any(c in key + value for c in "\r\n\0")]
    if bad:
        problems.append(f"{where}: field 'headers' has an invalid header {bad[0]!r} (no line breaks allowed)")
        return None
    return HttpServerConfig(name=name, url=url, headers=headers)


def _string_map(value: Any, where: str, field_name: str, problems: list[str]) -> dict[str, str] | None:
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        problems.append(f"{where}: field {field_name!r} must be an object of strings")
        return None
    if any("\0" in key + item for key, item in value.items()):
        problems.append(f"{where}: field {field_name!r} holds a NUL character")
        return None
    return dict(value)
