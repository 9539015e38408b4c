"""The tools every session offers unless the settings say otherwise."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

from voicedesk.tools.calculator import CalculationError, Number, evaluate
from voicedesk.tools.registry import StopConversation, ToolError, ToolRegistry


def calculator(expression: str) -> Number:
    """Compute an arithmetic expression exactly; use it for any arithmetic rather than working it out.

    Args:
        expression: The arithmetic, e.g. "12 * (3 + 4) / 2" or "sqrt(2) ^ 2". Numbers, + - * / // % **
            (or ^), parentheses, and sqrt, sin, cos, tan (radians), log, exp, abs, round, factorial (or n!),
            comb(n, k), pi, e. Integers are exact up to 1233 digits.
    """
    try:
        return evaluate(expression)
    except CalculationError as exc:
        raise ToolError(str(exc)) from None


def get_time(timezone: str | None = None) -> dict[str, str]:
    """Tell the current date and time, in a given time zone or where the user's computer is.

    Args:
        timezone: An IANA time zone such as "Europe/Paris" or "America/New_York"; leave it out for the
            user's local time.
    """
    name = (timezone or "").strip()
    if name:
        now = dt.datetime.now(_zone(name))
    else:
        now = dt.datetime.now().astimezone()
        name = now.tzname() or "local"
    return {
        "timezone": name,
        "iso": now.isoformat(timespec="seconds"),
        # Built from parts: "%-d" is not portable and this must not depend on the platform.
        "human": f"{now:%A} {now.day} {now:%B %Y, %H:%M} ({now.tzname()})",
    }


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris' or 'America/New_York'"
        ) from None


def stop_conversation(reason: str = "") -> StopConversation:
    """End the conversation. Call it only when the user clearly wants to stop, after saying goodbye.

    The session closes as soon as your current spoken reply has finished playing; nothing you say after
    calling this will be heard.

    Args:
        reason: Why the conversation ends, in a few words.
    """
    return StopConversation(reason=reason)


def builtin_tools() -> list[Callable[..., Any]]:
    return [calculator, get_time, stop_conversation]


def default_registry() -> ToolRegistry:
    """A fresh registry holding the built-in tools (fresh, so callers may add or remove their own)."""
    registry = ToolRegistry()
    for func in builtin_tools():
        registry.register(func)
    return registry
