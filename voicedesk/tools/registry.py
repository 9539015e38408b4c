"""Tools the model may call: registration (schema from type hints and docstring) and safe execution.

``ToolRegistry.execute`` never raises for anything the model or a tool does wrong: unknown tool, bad JSON,
arguments that do not fit the schema, a tool that raises or takes too long. Each comes back as a failed
``ToolResult`` whose ``output`` (a JSON object with an "error" key) tells the model in plain words what
happened, so it can correct itself or tell the person.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import dataclasses
import datetime as dt
import enum
import inspect
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, TypeVar, overload

from voicedesk.tools.docstrings import parse_docstring
from voicedesk.tools.schema import Converter, JsonSchema, parameters_spec
from voicedesk.tools.validation import validate

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what the Realtime API accepts as a function name

# Arguments are parsed on the event loop, in one C call that holds the GIL: this bounds it to about a
# millisecond, and is far more than a spoken request's arguments (a response is a few thousand tokens).
MAX_ARGUMENTS_CHARS = 65_536


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one call; ``output`` is what goes back as ``function_call_output.output``."""

    output: str
    ok: bool
    error: str | None = None
    duration_s: float = 0.0
    ends_session: bool = False
    """The tool asked to end the conversation (see ``StopConversation``)."""


@dataclass(frozen=True, slots=True)
class StopConversation:
    """Return this from a tool to end the session gracefully.

    The registry turns it into a successful ``ToolResult`` with ``ends_session=True`` and touches no
    session itself. The session controller then sends the function_call_output, requests no further
    response, waits until the assistant's current audio has finished playing (the goodbye the model spoke
    before calling the tool) and closes the session.
    """

    reason: str = ""


class ToolError(Exception):
    """Raise from a tool to tell the model what went wrong; the message is passed on as it is."""


@dataclass(frozen=True, slots=True, eq=False)
class Tool:
    """A registered function with its Realtime API definition."""

    name: str
    description: str
    parameters: JsonSchema
    func: Callable[..., Any]
    is_async: bool
    to_kwargs: Converter = dataclasses.field(repr=False)

    @classmethod
    def from_function(cls, func: Callable[..., Any], name: str | None = None, description: str | None = None) -> Tool:
        """Describe ``func``; raises TypeError/ValueError at once for what cannot be described."""
        tool_name = name if name is not None else getattr(func, "__name__", "")
        if not _NAME.match(tool_name):
            raise ValueError(f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'")
        doc = parse_docstring(inspect.getdoc(func))
        spec = parameters_spec(func, doc.params, f"tool {tool_name!r}")
        return cls(
            name=tool_name,
            description=description if description is not None else doc.summary,
            parameters=spec.schema,
            func=func,
            is_async=_is_async(func),
            to_kwargs=spec.convert,
        )

    def definition(self) -> dict[str, Any]:
        """The function tool entry of ``session.update``'s ``tools`` list (a fresh copy)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": copy.deepcopy(self.parameters),
        }


class ToolRegistry:
    """An ordered set of tools by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    @overload
    def tool(self, func: F, /) -> F: ...

    @overload
    def tool(
        self, func: None = None, /, *, name: str | None = None, description: str | None = None
    ) -> Callable[[F], F]: ...

    def tool(
        self, func: F | None = None, /, *, name: str | None = None, description: str | None = None
    ) -> F | Callable[[F], F]:
        """Decorator: ``@registry.tool`` or ``@registry.tool(name=..., description=...)``."""

        def decorate(target: F) -> F:
            self.register(target, name=name, description=description)
            return target

        return decorate(func) if func is not None else decorate

    def register(self, func: Callable[..., Any], name: str | None = None, description: str | None = None) -> Tool:
        return self.add(Tool.from_function(func, name=name, description=description))

    def add(self, tool: Tool) -> Tool:
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        return tool

    def unregister(self, name: str) -> None:
        """Remove a tool; KeyError if there is none by that name."""
        del self._tools[name]

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition() for tool in self._tools.values()]

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A new registry with only these tools, in the order given; KeyError names any unknown one."""
        wanted = list(names)
        unknown = [name for name in wanted if name not in self._tools]
        if unknown:
            raise KeyError(f"no such tools: {', '.join(unknown)}")
        return ToolRegistry(self._tools[name] for name in dict.fromkeys(wanted))

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    async def execute(self, name: str, arguments_json: str, *, timeout_s: float = 10.0) -> ToolResult:
        """Run a tool call from the model. Never raises, except CancelledError when the caller cancels."""
        started = time.perf_counter()
        try:
            tool = self._tools.get(name)
            if tool is None:
                available = ", ".join(self._tools) or "none"
                raise _Refused(f"There is no tool named '{name}'. Available tools: {available}.")
            kwargs = _arguments(tool, arguments_json)
            value = await _call(tool, kwargs, timeout_s)
            result = _success(tool, value)
        except _Refused as refused:
            result = ToolResult(output=json.dumps({"error": refused.message}), ok=False, error=refused.message)
        return dataclasses.replace(result, duration_s=time.perf_counter() - started)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is_async(func: Callable[..., Any]) -> bool:
    call = getattr(func, "__call__", None)  # noqa: B004 - looking for an async __call__, not callability
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)


def _arguments(tool: Tool, arguments_json: str) -> dict[str, Any]:
    if len(arguments_json) > MAX_ARGUMENTS_CHARS:
        raise _Refused(
            f"The arguments for '{tool.name}' are {len(arguments_json):,} characters long; the limit is "
            f"{MAX_ARGUMENTS_CHARS:,}. Send shorter arguments."
        )
    text = arguments_json.strip()
    try:
        # Models send "" for a call without arguments now and then.
        arguments = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise _Refused(
            f"The arguments for '{tool.name}' are not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}). Send a JSON object."
        ) from exc
    except RecursionError as exc:
        raise _Refused(f"The arguments for '{tool.name}' are nested too deeply. Send a flat JSON object.") from exc
    problems = validate(arguments, tool.parameters)
    if problems:
        raise _Refused(f"Invalid arguments for '{tool.name}': {'; '.join(problems)}.")
    try:
        kwargs: dict[str, Any] = tool.to_kwargs(arguments)
    except (TypeError, ValueError) as exc:  # e.g. a dataclass __post_init__ rejecting a value
        raise _Refused(f"Invalid arguments for '{tool.name}': {exc}.") from exc
    return kwargs


async def _call(tool: Tool, kwargs: dict[str, Any], timeout_s: float) -> Any:
    try:
        running: asyncio.Future[Any] = (
            asyncio.ensure_future(tool.func(**kwargs)) if tool.is_async else _in_thread(tool, kwargs)
        )
    except Exception as exc:  # e.g. a wrapper whose real signature differs from the one described
        raise _Refused(f"The tool '{tool.name}' could not be started: {_exception_text(exc)}") from exc
    try:
        done, _ = await asyncio.wait({running}, timeout=timeout_s)
    except asyncio.CancelledError:
        running.cancel()
        raise
    if not done:
        # Async tools get cancelled; a sync tool's thread cannot be stopped and is abandoned.
        running.cancel()
        running.add_done_callback(_discard)
        raise _Refused(f"The tool '{tool.name}' did not finish within {timeout_s:g} seconds.")
    try:
        return running.result()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled ourselves
        raise _Refused(f"The tool '{tool.name}' was cancelled before it finished.") from None
    except ToolError as exc:  # an expected failure, explained by the tool itself
        log.info("tool %s refused: %s", tool.name, exc)
        raise _Refused(f"The tool '{tool.name}' failed: {exc}") from exc
    except Exception as exc:
        log.warning("tool %s raised", tool.name, exc_info=True)
        raise _Refused(f"The tool '{tool.name}' failed: {_exception_text(exc)}") from exc


def _in_thread(tool: Tool, kwargs: dict[str, Any]) -> asyncio.Future[Any]:
    """Run a sync tool on a daemon thread of its own.

    Not ``asyncio.to_thread``: its executor's threads are joined when the loop shuts down (with no time
    limit on Python 3.11), so one stuck tool would hang the application on exit.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def deliver(value: Any, error: BaseException | None) -> None:
        if future.done():
            return  # timed out and abandoned
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def work() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = context.run(tool.func, **kwargs)
        except Exception as exc:
            error = exc
        except BaseException as exc:  # SystemExit and co. must not escape as such from a tool
            error = RuntimeError(_exception_text(exc))
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this result any more
            loop.call_soon_threadsafe(deliver, value, error)

    threading.Thread(target=work, name=f"tool-{tool.name}", daemon=True).start()
    return future


def _discard(future: asyncio.Future[Any]) -> None:
    # Retrieve a late outcome so asyncio does not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()


def _exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _success(tool: Tool, value: Any) -> ToolResult:
    if isinstance(value, StopConversation):
        ending: dict[str, str] = {"status": "The conversation is ending."}
        if value.reason:
            ending["reason"] = value.reason
        return ToolResult(output=json.dumps(ending), ok=True, ends_session=True)
    try:
        output = serialize_output(value)
    except (TypeError, ValueError) as exc:
        raise _Refused(f"The tool '{tool.name}' returned a result that cannot be sent as JSON: {exc}") from exc
    return ToolResult(output=output, ok=True)


def serialize_output(value: Any) -> str:
    """A string as it is, anything else as JSON (dataclasses as objects, enums as their values)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=_jsonable, ensure_ascii=False, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
