"""The event loop's longest stall while the calculator tool runs hostile or costly expressions.

A sync tool runs on a worker thread, but one long C call holds the GIL: the loop (microphone, window)
stops until it returns. This prints, per expression, the loop's largest gap during the call and what the
tool answered.  Usage: python benchmarks/bench_tools.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from voicedesk.tools.builtins import default_registry

EXPRESSIONS = [
    # refused before computing (each took seconds to minutes, or all memory, before the bounds)
    "round(1, -3*10**7)",
    "9**9**9**9",
    "factorial(10**7)",
    "(10**1000)*(10**1000)",
    "1 plus " * 9_000 + "1",
    # the costliest calculations that are still done
    "comb(4000, 2000)",
    "factorial(450)",
    "(10**616) * (10**616)",
    "7 ** 1459",
    "round(2**4000, -1000)",
]


async def _largest_gap(expression: str) -> tuple[float, str]:
    registry = default_registry()
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    result = await registry.execute("calculator", json.dumps({"expression": expression}), timeout_s=30)
    await asyncio.sleep(0.01)
    stop.set()
    await ticking
    answer = result.output if result.ok else f"refused: {result.error}"
    return max(gaps), str(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"{'expression':<28} {'loop gap ms (median / max)':>28}  answer")
    for expression in EXPRESSIONS:
        measured = [asyncio.run(_largest_gap(expression)) for _ in range(runs)]
        gaps_ms = [gap * 1000 for gap, _ in measured]
        label = expression if len(expression) <= 26 else expression[:23] + "..."
        answer = measured[0][1]
        answer = answer if len(answer) <= 60 else answer[:57] + "..."
        print(f"{label:<28} {statistics.median(gaps_ms):>14.1f} / {max(gaps_ms):<10.1f}  {answer}")


if __name__ == "__main__":
    main()
