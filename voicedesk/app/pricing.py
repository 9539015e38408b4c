"""A rough cost estimate from the usage each response reports: a small price table, no network.

Prices are US dollars per million tokens as published for each model family; they change, so the
window always labels the figure as an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Prices:
    text_in: float
    audio_in: float
    cached_in: float
    text_out: float
    audio_out: float


_TABLE: tuple[tuple[str, Prices], ...] = (
    # Longest prefix first: the first match wins.
    ("gpt-4o-mini-realtime", Prices(0.60, 10.0, 0.30, 2.40, 20.0)),
    ("gpt-realtime-mini", Prices(0.60, 10.0, 0.06, 2.40, 20.0)),
    ("gpt-4o-realtime", Prices(5.0, 40.0, 2.50, 20.0, 80.0)),
    ("gpt-realtime", Prices(4.0, 32.0, 0.40, 16.0, 64.0)),
)
DEFAULT_PRICES = _TABLE[-1][1]


def prices_for(model: str) -> Prices:
    name = model.strip().lower()
    for prefix, prices in _TABLE:
        if name.startswith(prefix):
            return prices
    return DEFAULT_PRICES


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def estimate_cost(model: str, input_tokens: int, output_tokens: int, details: dict[str, Any]) -> float:
    """Dollars for one response. Without a text/audio split, tokens are priced as audio (the dearer case)."""
    prices = prices_for(model)
    cost = 0.0
    in_details = details.get("input_token_details")
    if isinstance(in_details, dict) and ("text_tokens" in in_details or "audio_tokens" in in_details):
        text, audio = _int(in_details.get("text_tokens")), _int(in_details.get("audio_tokens"))
        cached = min(_int(in_details.get("cached_tokens")), text + audio)
        # Cached tokens are part of the counts above, billed at the cached rate instead.
        cost += text * prices.text_in + audio * prices.audio_in
        cost -= cached * max(0.0, prices.text_in - prices.cached_in)
    else:
        cost += input_tokens * prices.audio_in
    out_details = details.get("output_token_details")
    if isinstance(out_details, dict) and ("text_tokens" in out_details or "audio_tokens" in out_details):
        cost += _int(out_details.get("text_tokens")) * prices.text_out
        cost += _int(out_details.get("audio_tokens")) * prices.audio_out
    else:
        cost += output_tokens * prices.audio_out
    return cost / 1_000_000
