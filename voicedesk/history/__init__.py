"""Conversation history: a SQLite store of every conversation, searchable, resumable. No Qt."""

from voicedesk.history.store import (
    ConversationSummary,
    HistoryError,
    HistoryStore,
    SearchHit,
    StoredConversation,
    default_path,
)

__all__ = ["ConversationSummary", "HistoryError", "HistoryStore", "SearchHit", "StoredConversation", "default_path"]
