"""The card DAPA's triage conversation gets for each hand-off, and its resolved state (framework-free).

``triage_card(handoff)`` shows the question (verbatim, in TextRuns), where it was asked with a link to
the thread, the closest handbook sections and a "Mark resolved" button (``Action.Execute``, verb
``resolve``: Teams sends an ``adaptiveCard/action`` invoke and shows the card the bot answers with to
everyone in the conversation). ``resolved_card(handoff, by, at)`` is that answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.replies import CARD_VERSION, _literal, _text, escape_markdown, safe_link

RESOLVE = "resolve"   # Action.Execute verb and data["action"] of "Mark resolved"
REASONS = {"outside handbook": "the handbook does not cover it", "asked for a person": "they asked for a person",
           "action request": "it needs someone to act", "voted down": "the answer did not help (👎)",
           "none of these": "none of the sections shown helped"}


@dataclass(frozen=True)
class Handoff:
    handoff_id: str
    question: str
    reason: str                     # the decision's reason ("outside handbook", "voted down", ...)
    where: str                      # "Team X › channel Y", "a Teams group chat", ...
    thread_url: str | None = None   # deep link to the thread / chat message (channels and group chats)
    closest: tuple[tuple[str, str], ...] = ()   # (title, url) of the closest handbook sections

    def to_data(self) -> dict:
        """The card action's data: enough to draw the resolved card without a database read."""
        return {"action": RESOLVE, "handoff": self.handoff_id, "q": self.question, "reason": self.reason,
                "where": self.where, "thread": self.thread_url or "", "closest": [list(c) for c in self.closest]}

    @classmethod
    def from_data(cls, data: dict) -> Handoff | None:
        """The hand-off a "Mark resolved" click refers to, or None when the data is not one."""
        if not isinstance(data.get("handoff"), str) or not data["handoff"]:
            return None
        closest = tuple((str(c[0]), str(c[1])) for c in data.get("closest") or ()
                        if isinstance(c, list) and len(c) == 2)
        text = {k: data.get(k) if isinstance(data.get(k), str) else "" for k in ("q", "reason", "where", "thread")}
        return cls(data["handoff"][:64], text["q"][:2000], text["reason"][:40], text["where"][:300],
                   text["thread"] or None, closest[:5])


def _open_thread(url: str) -> dict:
    return {"type": "Action.OpenUrl", "title": "Open the thread", "url": safe_link(url, url)}


def _body(handoff: Handoff) -> list[dict]:
    why = REASONS.get(handoff.reason, handoff.reason or "handed off")
    body = [_text("Question handed to DAPA", weight="Bolder", size="Medium"),
            _literal("Asked: ", handoff.question or "(no question text)"),
            _text(f"Where: {handoff.where}. Why: {why}.", isSubtle=True, spacing="Small")]
    if handoff.closest:
        lines = "\n".join(f"- [{escape_markdown(title)}]({safe_link(url, url)})" for title, url in handoff.closest)
        body += [_text("Closest handbook sections", weight="Bolder", spacing="Medium"), _text(lines, spacing="Small")]
    return body


def triage_card(handoff: Handoff) -> dict:
    actions = []
    if handoff.thread_url:
        actions.append(_open_thread(handoff.thread_url))
    actions.append({"type": "Action.Execute", "title": "Mark resolved", "verb": RESOLVE,
                    "data": handoff.to_data()})
    summary = f"Question handed to DAPA: {handoff.question[:200]}"
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": _body(handoff), "actions": actions, "fallbackText": summary}


def resolved_card(handoff: Handoff, by: str, at: str) -> dict:
    """The triage card once resolved: the same facts, "✅ Resolved by … at …", no button."""
    body = _body(handoff)
    body.append(_text(f"✅ Resolved by {by or 'a team member'} at {at}", weight="Bolder", color="Good",
                      spacing="Medium"))
    actions = []
    if handoff.thread_url:
        actions.append(_open_thread(handoff.thread_url))
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body, "actions": actions,
            "fallbackText": f"Resolved: {handoff.question[:200]}"}
