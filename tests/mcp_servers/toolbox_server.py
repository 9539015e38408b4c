"""A small MCP server for the tests, run as a child process over stdio (``python toolbox_server.py``).

Its tools cover what the client must handle: text, structured content, an image, a resource, an error
result, a crash in the middle of a call, a slow call, and a tool that adds another tool at run time
(a tools/list_changed). tools/list is paginated two tools per page.

``--http PORT --token T`` serves streamable HTTP on 127.0.0.1:PORT instead, refusing requests without the
header ``Authorization: Bearer T``. ``--hang`` never answers anything (a server stuck before initialize);
``--stderr-then-exit`` writes a few lines to stderr and exits at once (a server that cannot start).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import sys
import time
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import (
    EmbeddedResource,
    ImageContent,
    ListToolsResult,
    PaginatedRequestParams,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel

PAGE_SIZE = 2
PNG_1X1 = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")).decode()


class Sum(BaseModel):
    total: float
    terms: int


class PagedServer(MCPServer):
    """tools/list in pages of PAGE_SIZE, the cursor being the index of the next tool."""

    async def _handle_list_tools(self, ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        tools = await self.list_tools()
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + PAGE_SIZE
        return ListToolsResult(tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None)


def create_server() -> MCPServer:
    server = PagedServer("toolbox", version="1.0")

    @server.tool(description="Say the text back, with the process id of the server.")
    def echo(text: str) -> str:
        calls = os.environ.get("TOOLBOX_CALLS")
        if calls:  # the tests' witness that a call reached the server (or never did)
            with open(calls, "a", encoding="utf-8") as log:
                log.write(f"echo {text}\n")
        return f"echo: {text} (pid {os.getpid()})"

    @server.tool(description="Add numbers.")
    def add(numbers: list[float]) -> Sum:
        return Sum(total=sum(numbers), terms=len(numbers))

    @server.tool(description="A picture, a resource and a link.")
    def media() -> list[ImageContent | EmbeddedResource | ResourceLink | TextContent]:
        return [
            TextContent(type="text", text="Here you are."),
            ImageContent(type="image", data=PNG_1X1, mime_type="image/png"),
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(uri="file:///notes/today.txt", mime_type="text/plain", text="Buy milk."),
            ),
            ResourceLink(
                type="resource_link", name="report", uri="file:///reports/q3.pdf", mime_type="application/pdf"
            ),
        ]

    @server.tool(description="Always fails.")
    def fail(reason: str = "broken on purpose") -> str:
        raise ToolError(reason)

    @server.tool(description="Dies in the middle of the call.")
    def crash() -> str:
        sys.stderr.write("toolbox: crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)

    @server.tool(description="Wait, then answer.")
    def wait(seconds: float) -> str:
        time.sleep(seconds)
        return f"waited {seconds:g} s"

    @server.tool(description="Add a tool named by the argument, and tell the client the tool list changed.")
    async def grow(name: str, ctx: Context) -> str:
        def added() -> str:
            return f"I am {name}"

        server.add_tool(added, name=name, description=f"A tool added at run time: {name}.")
        with contextlib.suppress(Exception):  # only a 2025-era session has one
            await ctx.session.send_tool_list_changed()
        await ctx.notify_tools_changed()  # a 2026-era subscriptions/listen stream
        return f"added {name}"

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--stderr-then-exit", action="store_true")
    parser.add_argument("--http", type=int, default=0)
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    if args.hang:
        while True:
            time.sleep(3600)
    if args.stderr_then_exit:
        for line in ("toolbox: starting", "toolbox: cannot open the database", "toolbox: giving up"):
            print(line, file=sys.stderr, flush=True)
        sys.exit(2)
    if args.http:
        serve_http(args.http, args.token)
        return
    create_server().run()


def serve_http(port: int, token: str) -> None:
    import uvicorn

    app = create_server().streamable_http_app()
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        if scope["type"] == "http" and headers.get(b"authorization") != expected:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"wrong or missing token"})
            return
        await app(scope, receive, send)

    uvicorn.run(guarded, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
