"""The feedback store backends as the storage tests open them: from a JSON-able spec (the ``spec``
fixture in tests/conftest.py), so writer subprocesses can open the same store
(``{"backend": "sqlite", "path": ...}`` or ``{"backend": "postgres", "url": ...}``), and a turn factory."""

from __future__ import annotations

from bot.feedback.store import FeedbackStore, TurnRecord


def open_backend(spec: dict) -> FeedbackStore:
    if spec["backend"] == "postgres":
        from bot.feedback.postgres import PostgresFeedbackStore

        return PostgresFeedbackStore(spec["url"])
    from bot.feedback.sqlite import SQLiteFeedbackStore

    return SQLiteFeedbackStore(spec["path"])


def turn(question: str, decision: str = "escalate", top_url: str | None = None, user: str | None = "u1",
         kind: str = "channel") -> TurnRecord:
    return TurnRecord(question=question, decision=decision, top_url=top_url, user_hash=user,
                      conversation_type=kind)
