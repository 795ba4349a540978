"""The DAPA team's report as plain data: questions per week by reply tier, 👍/👎, the questions the bot
could not answer, the sections voted down most, and which index was serving.

``summary(activity, unanswered, index_meta)`` -> a JSON-ready dict; ``python -m bot report --json
--summary`` prints it and ``report --html FILE`` renders exactly it (``bot.feedback.report_html``), so the
page and the JSON always show the same numbers.

Reply tiers come from the kind stored per turn, mapped in ``tier_of`` (one place; kinds recorded
before the three tiers, ``answer_with_alternatives`` and ``escalate``, included).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone

from bot.feedback.store import ESCALATED_DECISIONS, Activity, ReportRow

TIERS = ("answered", "unsure", "handed_off")
TIER_LABELS = {"answered": "answered", "unsure": "unsure", "handed_off": "handed off"}
DEFAULT_WEEKS = 12


def tier_of(kind: str) -> str | None:
    """Reply tier of a stored decision kind; None for what is not a question (small talk)."""
    if kind in ("answer", "answer_with_alternatives"):
        return "answered"
    if kind == "unsure":
        return "unsure"
    if kind in ESCALATED_DECISIONS:
        return "handed_off"
    return None


def week_of(asked_at: str) -> date:
    """Monday (UTC) of the week of an ISO 8601 timestamp."""
    moment = datetime.fromisoformat(asked_at.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    day = moment.date()
    return day - timedelta(days=day.weekday())


def index_summary(meta: dict | None) -> dict:
    """What the report says about the index: build date, source commits, size, gate."""
    if not meta:
        return {"built_at": None, "sections": None, "pages": None, "sources": [], "gated_at": None}
    gate = meta.get("gate") if isinstance(meta.get("gate"), dict) else {}
    return {"built_at": meta.get("built_at"), "sections": meta.get("sections"), "pages": meta.get("pages"),
            "sources": [{"name": s.get("name"), "commit": s.get("commit")}
                        for s in meta.get("sources", []) if isinstance(s, dict)],
            "gated_at": gate.get("passed_at")}


def summary(activity: list[Activity], unanswered: list[ReportRow], index_meta: dict | None,
            weeks: int = DEFAULT_WEEKS, today: date | None = None, sections_limit: int = 10) -> dict:
    """The report: totals over all stored turns; the last ``weeks`` weeks (empty ones included, oldest
    first); ``unanswered`` as ``FeedbackStore.report`` returns it; sections by 👎 votes."""
    today = today or datetime.now(timezone.utc).date()
    this_week = today - timedelta(days=today.weekday())
    starts = [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    per_week = {start: dict.fromkeys((*TIERS, "up", "down"), 0) for start in starts}
    totals = dict.fromkeys(("questions", *TIERS, "up", "down"), 0)
    sections: dict[str, dict] = {}
    for turn in activity:
        tier = tier_of(turn.decision)
        if tier is None:
            continue
        totals["questions"] += 1
        totals[tier] += 1
        totals["up"] += turn.up
        totals["down"] += turn.down
        row = per_week.get(week_of(turn.asked_at))
        if row is not None:
            row[tier] += 1
            row["up"] += turn.up
            row["down"] += turn.down
        if turn.top_url and tier != "handed_off":
            shown = sections.setdefault(turn.top_url, {"url": turn.top_url, "shown": 0, "up": 0, "down": 0})
            shown["shown"] += 1
            shown["up"] += turn.up
            shown["down"] += turn.down
    voted_down = sorted((s for s in sections.values() if s["down"]),
                        key=lambda s: (-s["down"], -s["shown"], s["url"]))[:sections_limit]
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "index": index_summary(index_meta),
        "totals": totals,
        "weeks": [{"week": start.isoformat(), **per_week[start]} for start in starts],
        "unanswered": [asdict(r) for r in unanswered],
        "sections_voted_down": voted_down,
    }
