"""ToolRegistry.execute: every way a call can go, and never an exception out of it."""

from __future__ import annotations

import asyncio
import enum
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import pytest

from voicedesk.tools import StopConversation, ToolError, ToolRegistry, ToolResult


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


@dataclass
class Point:
    x: float
    y: float = 0.0


class Options(TypedDict):
    verbose: bool


@dataclass
class Reading:
    city: str
    degrees: float
    unit: Unit


def error_of(result: ToolResult) -> str:
    assert not result.ok
    assert result.error is not None
    payload = json.loads(result.output)
    assert payload == {"error": result.error}
    return result.error


@pytest.fixture
def registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool
    def add(a: int, b: int = 10) -> int:
        return a + b

    @registry.tool
    def echo(text: str) -> str:
        return text

    @registry.tool
    async def temperature(city: str, unit: Unit = Unit.CELSIUS, when: Literal["now", "tonight"] = "now") -> Reading:
        await asyncio.sleep(0)
        return Reading(city=city, degrees=21.5, unit=unit)

    @registry.tool
    def describe(point: Point, options: Options, tags: list[str] | None) -> dict[str, Any]:
        return {"point": point, "is_point": isinstance(point, Point), "options": options, "tags": tags}

    @registry.tool
    def scale(factor: float) -> str:
        return type(factor).__name__

    @registry.tool
    def broken() -> None:
        raise RuntimeError("disk on fire")

    @registry.tool
    def polite_failure() -> None:
        raise ToolError("the printer is out of paper")

    @registry.tool
    async def async_broken() -> None:
        raise ValueError("bad value")

    @registry.tool
    def nothing() -> None:
        return None

    @registry.tool
    def unserializable() -> object:
        return object()

    @registry.tool
    def bye(reason: str = "") -> StopConversation:
        return StopConversation(reason)

    return registry


async def test_sync_tool_ok(registry: ToolRegistry) -> None:
    result = await registry.execute("add", '{"a": 2, "b": 3}')
    assert result == ToolResult(output="5", ok=True, error=None, duration_s=result.duration_s)
    assert 0.0 <= result.duration_s < 5.0


async def test_default_applies_when_missing_or_null(registry: ToolRegistry) -> None:
    assert (await registry.execute("add", '{"a": 2}')).output == "12"
    assert (await registry.execute("add", '{"a": 2, "b": null}')).output == "12"


async def test_string_result_is_sent_as_is(registry: ToolRegistry) -> None:
    result = await registry.execute("echo", '{"text": "héllo \\"x\\""}')
    assert result.ok and result.output == 'héllo "x"'


async def test_async_tool_with_enum_and_dataclass_result(registry: ToolRegistry) -> None:
    result = await registry.execute("temperature", '{"city": "Oslo", "unit": "f"}')
    assert result.ok
    assert json.loads(result.output) == {"city": "Oslo", "degrees": 21.5, "unit": "f"}


async def test_nested_arguments_are_converted(registry: ToolRegistry) -> None:
    result = await registry.execute("describe", '{"point": {"x": 1}, "options": {"verbose": true}}')
    assert result.ok, result.error
    assert json.loads(result.output) == {
        "point": {"x": 1.0, "y": 0.0},
        "is_point": True,
        "options": {"verbose": True},
        "tags": None,  # Optional without default: passed as None
    }


async def test_int_is_accepted_for_float_and_converted(registry: ToolRegistry) -> None:
    assert (await registry.execute("scale", '{"factor": 2}')).output == "float"


async def test_empty_arguments_mean_no_arguments(registry: ToolRegistry) -> None:
    result = await registry.execute("nothing", "")
    assert result.ok and result.output == "null"


async def test_unknown_tool(registry: ToolRegistry) -> None:
    message = error_of(await registry.execute("launch_rockets", "{}"))
    assert "no tool named 'launch_rockets'" in message
    assert "add" in message and "echo" in message


async def test_invalid_json(registry: ToolRegistry) -> None:
    message = error_of(await registry.execute("add", '{"a": 2,'))
    assert "not valid JSON" in message


async def test_deeply_nested_arguments_are_refused_not_raised(registry: ToolRegistry) -> None:
    # json.loads raises RecursionError on deep nesting; it used to escape execute and kill the call's task.
    nested = '{"text": ' + "[" * 20_000 + "]" * 20_000 + "}"
    assert "nested too deeply" in error_of(await registry.execute("echo", nested))


async def test_oversized_arguments_are_refused_before_parsing(registry: ToolRegistry) -> None:
    huge = json.dumps({"text": "x" * 10_000_000})  # parsing this on the event loop would stall it
    assert "the limit is 65,536" in error_of(await registry.execute("echo", huge))
    fine = json.dumps({"text": "x" * 60_000})
    assert (await registry.execute("echo", fine)).output == "x" * 60_000


async def test_arguments_must_be_an_object(registry: ToolRegistry) -> None:
    message = error_of(await registry.execute("add", "[1, 2]"))
    assert "the arguments must be an object, got an array" in message


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("add", "{}", "missing required argument 'a'"),
        ("add", '{"a": "2"}', "argument 'a' must be an integer, got the string \"2\""),
        ("add", '{"a": 2.5}', "argument 'a' must be an integer, got the number 2.5"),
        ("add", '{"a": true}', "argument 'a' must be an integer, got the boolean true"),
        ("add", '{"a": null}', "argument 'a' is required and must not be null"),
        ("add", '{"a": 1, "c": 2}', "unknown argument 'c' (expected: a, b)"),
        ("temperature", '{"city": "Oslo", "unit": "k"}', 'argument \'unit\' must be one of "c", "f", got "k"'),
        ("temperature", '{"city": "Oslo", "when": "later"}', 'must be one of "now", "tonight"'),
        ("describe", '{"point": {"y": 1}, "options": {"verbose": true}}', "missing required argument 'point.x'"),
        ("describe", '{"point": {"x": 1, "z": 0}, "options": {}}', "unknown argument 'point.z'"),
        ("describe", '{"point": {"x": 1}, "options": {"verbose": 1}}', "argument 'options.verbose' must be a boolean"),
        (
            "describe",
            '{"point": {"x": 1}, "options": {"verbose": true}, "tags": [1]}',
            "argument 'tags[0]' must be a string",
        ),
    ],
)
async def test_schema_mismatch(registry: ToolRegistry, name: str, arguments: str, expected: str) -> None:
    message = error_of(await registry.execute(name, arguments))
    assert message.startswith(f"Invalid arguments for '{name}'")
    assert expected in message


async def test_every_problem_is_reported(registry: ToolRegistry) -> None:
    message = error_of(await registry.execute("add", '{"b": "x", "q": 1}'))
    assert "missing required argument 'a'" in message
    assert "argument 'b' must be an integer" in message
    assert "unknown argument 'q'" in message


async def test_integral_float_counts_as_integer(registry: ToolRegistry) -> None:
    result = await registry.execute("add", '{"a": 2.0, "b": 1}')
    assert result.ok and result.output == "3"


async def test_tool_that_raises(registry: ToolRegistry) -> None:
    assert error_of(await registry.execute("broken", "{}")) == "The tool 'broken' failed: RuntimeError: disk on fire"
    assert error_of(await registry.execute("async_broken", "{}")) == (
        "The tool 'async_broken' failed: ValueError: bad value"
    )


async def test_tool_error_message_is_passed_on_plainly(registry: ToolRegistry) -> None:
    message = error_of(await registry.execute("polite_failure", "{}"))
    assert message == "The tool 'polite_failure' failed: the printer is out of paper"


async def test_unserializable_result(registry: ToolRegistry) -> None:
    assert "cannot be sent as JSON" in error_of(await registry.execute("unserializable", "{}"))


async def test_stop_conversation_flag(registry: ToolRegistry) -> None:
    result = await registry.execute("bye", '{"reason": "user said goodbye"}')
    assert result.ok and result.ends_session
    assert json.loads(result.output)["reason"] == "user said goodbye"
    assert not (await registry.execute("add", '{"a": 1}')).ends_session


async def test_async_timeout_cancels_the_tool() -> None:
    registry = ToolRegistry()
    cancelled = asyncio.Event()

    @registry.tool
    async def slow() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    started = time.monotonic()
    result = await registry.execute("slow", "{}", timeout_s=0.05)
    assert time.monotonic() - started < 5.0
    assert error_of(result) == "The tool 'slow' did not finish within 0.05 seconds."
    await asyncio.wait_for(cancelled.wait(), 5.0)


async def test_async_tool_ignoring_cancellation_is_still_abandoned_in_time() -> None:
    registry = ToolRegistry()
    release = asyncio.Event()

    @registry.tool
    async def stubborn() -> str:
        while not release.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue  # misbehaves: swallows the cancellation
        return "done"

    started = time.monotonic()
    result = await registry.execute("stubborn", "{}", timeout_s=0.05)
    assert time.monotonic() - started < 5.0
    assert "did not finish" in error_of(result)
    release.set()
    await asyncio.sleep(0.05)


async def test_sync_timeout_abandons_the_thread() -> None:
    registry = ToolRegistry()
    release = threading.Event()

    @registry.tool
    def blocking() -> str:
        release.wait(30)
        return "late"

    started = time.monotonic()
    result = await registry.execute("blocking", "{}", timeout_s=0.05)
    assert time.monotonic() - started < 5.0
    assert "did not finish within 0.05 seconds" in error_of(result)
    release.set()


async def test_sync_tools_run_off_the_loop_thread() -> None:
    registry = ToolRegistry()

    @registry.tool
    def where() -> bool:
        return threading.current_thread() is threading.main_thread()

    result = await registry.execute("where", "{}")
    assert result.output == "false"


async def test_cancelling_execute_propagates_and_cancels_the_tool() -> None:
    registry = ToolRegistry()
    cancelled = asyncio.Event()

    @registry.tool
    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.create_task(registry.execute("slow", "{}"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 5.0)
