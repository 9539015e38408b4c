"""The embedded local realtime server: the offline default backend and the client's test double.

Public API: :class:`~voicedesk.local.server.LocalRealtimeServer`, :class:`~voicedesk.local.server.LocalServerOptions`,
:class:`~voicedesk.local.faults.Faults`, and ``serve_forever`` / ``main`` for ``voicedesk serve``.
"""

from voicedesk.local.faults import Faults
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions, main, serve_forever

__all__ = ["Faults", "LocalRealtimeServer", "LocalServerOptions", "main", "serve_forever"]
