"""The history store at full size: search, the sidebar's list, storing an item, opening the file.

Builds (or reuses, with --db) a history of N conversations of M items of generated speech-like text from a
seed, then times what the window and the CLI do. Usage:
    python benchmarks/bench_history.py [--conversations 10000] [--items 100] [--db /tmp/history.sqlite3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from voicedesk.history import HistoryStore

_VOCABULARY = (
    "the a to and of what is it you can I my for on with this that be how time invoice meeting weather "
    "Paris tomorrow send calendar total remind call email price flight hotel train report summary budget "
    "project deadline doctor appointment recipe dinner music play pause volume light kitchen garden "
    "birthday gift order package delivery refund account password network printer battery update"
)
WORDS = tuple(_VOCABULARY.split())


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build(path: Path, conversations: int, items: int, seed: int) -> None:
    rng = random.Random(seed)
    start = time.time() - conversations * 3600
    with HistoryStore(path) as store:
        for n in range(conversations):
            conversation = store.begin(started_at=start + n * 3600, source="bench")
            records = []
            for i in range(items):
                role = "user" if i % 2 == 0 else "assistant"
                text = " ".join(_sentence(rng, rng.randint(5, 14)) for _ in range(1 if role == "user" else 3))
                if n % 997 == 0 and i == 3:
                    text += " zanzibar"  # a rare word: in about ten conversations
                records.append(
                    {
                        "id": f"item_{n}_{i}",
                        "type": "message",
                        "role": role,
                        "status": "completed",
                        "text": "",
                        "transcript": text,
                        "created_at": start + n * 3600 + i * 10,
                    }
                )
            store.add_items(conversation, records)


def _ms(action: object, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, default=Path("/tmp/voicedesk-bench-history/history.sqlite3"))
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    if not args.db.exists():
        began = time.perf_counter()
        build(args.db, args.conversations, args.items, args.seed)
        print(f"built {args.db} in {time.perf_counter() - began:.0f} s ({args.db.stat().st_size / 1e6:.0f} MB)")

    opened = _ms(lambda: HistoryStore(args.db).close(), args.runs)
    with HistoryStore(args.db) as store:
        conversations, items = store.count()
        print(f"{conversations} conversations, {items} items")
        rows = [("open the store (app start-up)", opened)]
        rows.append(("list the sidebar (200 newest)", _ms(lambda: store.conversations(limit=200), args.runs)))
        for query in ("zanzibar", "invoice", "invoice tot", "doctor appointment tomorrow", "pa"):
            rows.append((f"search {query!r}: first 50", _ms(lambda q=query: store.search(q, limit=50), args.runs)))
        conversation = store.begin(source="bench")
        counter = iter(range(10**9))

        def store_item() -> None:
            store.add_item(
                conversation,
                {
                    "id": f"new_{next(counter)}",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "transcript": "The invoice total for March is 42 euros, due on the fifth.",
                },
            )

        rows.append(("store one item", _ms(store_item, args.runs * 5)))
        store.delete(conversation)
    print(f"{'measure':<44} {'median ms':>10} {'p95 ms':>8}")
    for name, timings in rows:
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        print(f"{name:<44} {statistics.median(timings):>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
