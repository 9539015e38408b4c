"""Hostile calculator input: refused before it is computed, with the event loop running on meanwhile.

One long C call holds the GIL, so a sync tool on its worker thread still freezes the loop (microphone,
window) and its timeout cannot fire: the only defence is not to start work whose cost is unbounded.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from voicedesk.tools import ToolRegistry
from voicedesk.tools.builtins import default_registry
from voicedesk.tools.calculator import MAX_DIGITS, CalculationError, evaluate

# Each of these takes seconds to minutes (or all memory) if computed; "what" is named in the refusal.
HOSTILE = [
    ("round(1, -3*10**7)", "round()"),
    ("round(1, -10**9)", "round()"),
    ("round(7, -(2**4000))", "round()"),
    ("round(2.5, -10**9)", "round()"),
    ("round(2.5, 10**9)", "round()"),
    ("round(10**1000, -10**8)", "round()"),
    ("round(-1, -1e300)", "round()"),
    ("9**9**9**9", "9 ** 387420489"),
    ("10**10**10", "10 ** 10000000000"),
    ("(-3)**(10**8)", "-3 ** 100000000"),
    ("2**(2**4000)", "2 ** a 1205-digit number"),
    ("(10**1000)**(10**1000)", "a 1001-digit number ** a 1001-digit number"),
    ("(10**1000) * (10**1000)", "a 1001-digit number * a 1001-digit number"),
    ("(2**4000)*(2**4000)*(2**4000)", "*"),
    ("factorial(10**7)", "factorial(10000000)"),
    ("factorial(2**4000)", "factorial(a 1205-digit number)"),
    ("factorial(3000)", "factorial(3000)"),
    ("(10**6)!", "cannot read"),
    ("10000000!", "factorial(10000000)"),
    ("comb(10**9, 5*10**8)", "comb(1000000000, 500000000)"),
    ("comb(2**4000, 2**3999)", "comb("),
    ("comb(2**4000, 3)", "comb("),
    ("sqrt(2**4000) + exp(2**4000)", "floating point"),
    ("sin(10**1000)", "floating point"),
    ("(2**4000) / 3", "floating point"),
    ("1.5 ** (10**9)", "too large"),
    ("9 ** 9 ** 9 ** 9 ** 9 ** 9 ** 9 ** 9", "too large"),
    ("1" * 300_000, "longer than"),
    ("1 plus " * 50_000 + "1", "longer than"),
]


@pytest.mark.parametrize(("expression", "named"), HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_input_is_refused_before_computing(expression: str, named: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculationError) as caught:
        evaluate(expression)
    elapsed = time.perf_counter() - started
    assert named in str(caught.value)
    assert "Traceback" not in str(caught.value) and len(str(caught.value)) < 300
    assert elapsed < 1.0, f"{expression[:40]!r} took {elapsed:.2f} s before being refused"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2**100", 2**100),
        ("round(3.14159, 2)", 3.14),
        ("factorial(20)", 2432902008176640000),
        ("5!", 120),
        ("comb(52, 5)", 2598960),
        ("comb(10**9, 2)", 10**9 * (10**9 - 1) // 2),
        ("comb(5, 7)", 0),
        ("factorial(450) // factorial(449)", 450),
        ("10**1233", 10**1233),  # the largest power of ten that fits
        ("(2**4095 - 1) * 2 + 1", 2**4096 - 1),  # the largest integer that fits
        ("round(123456789, -3)", 123457000),
        ("round(10**1233 - 1, -1233)", 10**1233),
        ("round(1, -1234)", 0),
        ("round(2.5, 1234)", 2.5),
        ("1**(10**1000)", 1),
        ("(-1)**(10**1000 + 1)", -1),
        ("0**(2**4000)", 0),
        ("log(2**4000, 2)", 4000),
    ],
    ids=lambda value: str(value)[:30],
)
def test_large_but_fine_calculations_still_work(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == pytest.approx(expected) if isinstance(expected, float) else result == expected


def test_the_largest_result_reaches_the_model_as_json() -> None:
    result = asyncio.run(default_registry().execute("calculator", json.dumps({"expression": "10**1233 - 1"})))
    assert result.ok and result.output == "9" * MAX_DIGITS


async def _largest_loop_gap_during(registry: ToolRegistry, calls: list[str]) -> tuple[float, list[str]]:
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # the ticker is running before the first call
    errors = []
    for expression in calls:
        result = await registry.execute("calculator", json.dumps({"expression": expression}), timeout_s=5)
        assert not result.ok and result.error is not None
        errors.append(result.error)
    await asyncio.sleep(0.02)
    stop.set()
    await ticking
    return max(gaps), errors


def test_the_event_loop_keeps_running_while_hostile_calls_are_refused() -> None:
    calls = [
        "round(1, -3*10**7)",
        "9**9**9**9",
        "factorial(10**7)",
        "(10**1000)*(10**1000)",
        "1 plus " * 9_000 + "1",  # the word rewrites' regexes hold the GIL too: refused before them
        "1" * 16_000_000,  # the arguments are refused before json.loads, which runs on the loop
    ]
    largest_gap, errors = asyncio.run(_largest_loop_gap_during(default_registry(), calls))
    # The issue asks for no stall over 50 ms; the bound is wide for a loaded machine, and the stall
    # without the bounds was 34 s for the first call alone.
    assert largest_gap < 0.25, f"the event loop stalled for {largest_gap * 1000:.0f} ms"
    assert "round()" in errors[0] and "too large" in errors[1] and "longer than" in errors[4]
    assert "the limit is 65,536" in errors[5]
