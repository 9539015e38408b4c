"""The two names every wire module shares: which protocol an endpoint speaks, and a decoded JSON object."""

from __future__ import annotations

from typing import Any, Literal

ProtocolVersion = Literal["ga", "beta"]
"""The GA protocol or the beta / Azure-preview one (event names and session shape differ)."""
JsonDict = dict[str, Any]
