"""Turns, votes and hand-offs: the records and store protocol (``store.py``), SQLite (``sqlite.py``, the
default), PostgreSQL (``postgres.py``) and the writer thread that keeps them off the reply path
(``recorder.py``). ``open_store(settings)`` opens the store the settings ask for."""

from __future__ import annotations

from bot.feedback.store import FeedbackStore


def open_store(settings) -> FeedbackStore:
    """PostgreSQL when ``settings.database_url`` (DATABASE_URL) is set, else SQLite at ``settings.feedback_db``
    (FEEDBACK_DB)."""
    if getattr(settings, "database_url", ""):
        try:
            from bot.feedback.postgres import PostgresFeedbackStore
        except ImportError as exc:
            raise RuntimeError(f"DATABASE_URL is set but the PostgreSQL store is unavailable ({exc}); "
                               "unset DATABASE_URL to use SQLite (FEEDBACK_DB)") from exc
        return PostgresFeedbackStore(settings.database_url)
    from bot.feedback.sqlite import SQLiteFeedbackStore

    return SQLiteFeedbackStore(settings.feedback_db)
