"""The embedded local realtime server: the offline default backend and the client's test double.

Public API: :class:`~voicedesk.local.server.LocalRealtimeServer`, :class:`~voicedesk.local.server.LocalServerOptions`
and :class:`~voicedesk.local.faults.Faults`; ``voicedesk serve`` runs it on its own (voicedesk.app.serve).
"""

from voicedesk.local.faults import Faults
from voicedesk.local.server import LocalRealtimeServer, LocalServerOptions

__all__ = ["Faults", "LocalRealtimeServer", "LocalServerOptions"]
