"""The built-in tools through the registry, as the model would call them."""

from __future__ import annotations

import datetime as dt
import json

from voicedesk.tools import default_registry


async def test_default_registry_holds_the_builtins() -> None:
    registry = default_registry()
    assert registry.names() == ["calculator", "get_time", "stop_conversation"]
    for definition in registry.definitions():
        assert definition["type"] == "function"
        assert definition["description"]
        assert definition["parameters"]["additionalProperties"] is False
    # fresh each time: changing one does not change the next
    registry.unregister("calculator")
    assert "calculator" in default_registry()


async def test_calculator_tool() -> None:
    registry = default_registry()
    result = await registry.execute("calculator", '{"expression": "12 times (3 plus 4) divided by 2"}')
    assert result.ok and result.output == "42"
    failed = await registry.execute("calculator", '{"expression": "1/0"}')
    assert not failed.ok
    assert json.loads(failed.output) == {"error": "The tool 'calculator' failed: division by zero"}


async def test_get_time_in_a_zone() -> None:
    result = await default_registry().execute("get_time", '{"timezone": "Asia/Tokyo"}')
    assert result.ok, result.error
    payload = json.loads(result.output)
    assert payload["timezone"] == "Asia/Tokyo"
    moment = dt.datetime.fromisoformat(payload["iso"])
    assert moment.utcoffset() == dt.timedelta(hours=9)  # Japan has no daylight saving time
    assert abs((moment - dt.datetime.now(dt.UTC)).total_seconds()) < 120
    assert str(moment.day) in payload["human"] and "JST" in payload["human"]


async def test_get_time_local() -> None:
    for arguments in ("{}", '{"timezone": null}', '{"timezone": ""}'):
        result = await default_registry().execute("get_time", arguments)
        assert result.ok, result.error
        moment = dt.datetime.fromisoformat(json.loads(result.output)["iso"])
        assert moment.tzinfo is not None
        assert abs((moment - dt.datetime.now(dt.UTC)).total_seconds()) < 120


async def test_get_time_unknown_zone_is_named() -> None:
    for zone in ("Mars/Olympus_Mons", "../../etc/passwd", "Europe"):
        result = await default_registry().execute("get_time", json.dumps({"timezone": zone}))
        assert not result.ok
        assert result.error is not None
        assert f"unknown time zone {zone!r}" in result.error
        assert "Europe/Paris" in result.error


async def test_stop_conversation_ends_the_session() -> None:
    result = await default_registry().execute("stop_conversation", '{"reason": "the user said bye"}')
    assert result.ok and result.ends_session
    assert json.loads(result.output) == {"status": "The conversation is ending.", "reason": "the user said bye"}
    without_reason = await default_registry().execute("stop_conversation", "{}")
    assert without_reason.ends_session
    assert "reason" not in json.loads(without_reason.output)
