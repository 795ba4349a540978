"""Replies as Adaptive Cards (version 1.5) with a plain-text summary for clients without cards.

``reply_for(decision, turn_id, where) -> Reply`` renders every kind of decision (answers, escalations,
hand-offs, small talk); ``welcome()``, ``help_reply()`` and ``vote_thanks()`` are the replies that
need no decision. Cards are plain dicts (no framework).

User text is never interpreted as markup: it appears only in ``TextRun`` elements (which Adaptive
Cards never parse as Markdown) and, percent-encoded, inside the ``mailto:`` link. Handbook text
that goes into Markdown ``TextBlock``s is the indexer's Teams-safe passage; headings and titles
are escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from bot.decision.decide import Decision
from bot.decision.kinds import Kind, Reason
from indexer.model import Hit

DAPA_EMAIL = "dapa@ct.gov"
HANDBOOK_URL = "https://ctopendata.github.io/open-data-handbook"
EXAMPLES = ("How do I retire a dataset?", "What metadata does a dataset need?",
            "Which tool should I use to automate updates?")
CARD_VERSION = "1.5"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~$])")


@dataclass(frozen=True)
class Reply:
    summary: str               # plain text with the link: notifications and clients that cannot render cards
    card: dict | None = None   # Adaptive Card content, or None for a text-only reply
    text: str | None = None    # message text (only for text-only replies)


def escape_markdown(text: str) -> str:
    """Text safe to place in a Markdown TextBlock: special characters backslash-escaped, & < > as entities."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _text(text: str, **props) -> dict:
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def _literal(prefix: str, user_text: str) -> dict:
    """A line showing user text verbatim: TextRun content is never parsed as Markdown."""
    return {"type": "RichTextBlock", "inlines": [
        {"type": "TextRun", "text": prefix, "weight": "Bolder"}, {"type": "TextRun", "text": user_text}]}


def _card(body: list[dict], actions: list[dict], fallback: str) -> dict:
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body, "actions": actions, "fallbackText": fallback,
            "msteams": {"width": "Full"}}


def _link_list(title: str, hits: tuple[Hit, ...]) -> list[dict]:
    if not hits:
        return []
    lines = "\n".join(f"- [{escape_markdown(' › '.join(h.section.breadcrumb))}]({_safe_url(h.section.url)})"
                      for h in hits)
    return [_text(title, weight="Bolder", spacing="Medium"), _text(lines, spacing="Small")]


def _safe_url(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        return HANDBOOK_URL
    return url.replace(" ", "%20").replace(")", "%29").replace("(", "%28")


def _vote_actions(turn_id: str | None, question: str) -> list[dict]:
    if not turn_id:
        return []
    return [{"type": "Action.Submit", "title": f"{icon} {label}",
             "data": {"action": "vote", "vote": vote, "turn": turn_id, "q": question}}
            for vote, icon, label in (("up", "👍", "Helpful"), ("down", "👎", "Not helpful"))]


def mailto(question: str, where: str | None) -> str:
    """``mailto:dapa@ct.gov`` with subject and body prefilled (the question, where it was asked)."""
    short = question if len(question) <= 80 else question[:77] + "..."
    body = f"Question: {question}\n"
    if where:
        body += f"Asked in: {where}\n"
    body += "\n(The CT Open Data Handbook did not answer this; sent from the handbook bot.)"
    return f"mailto:{DAPA_EMAIL}?subject={quote('Open data question: ' + short, safe='')}&body={quote(body, safe='')}"


def answer_reply(decision: Decision, turn_id: str | None) -> Reply:
    best = decision.best
    sec = best.section
    crumb = " › ".join(sec.breadcrumb[:-1]) or sec.page_title
    body = [_text(escape_markdown(crumb), isSubtle=True, size="Small", spacing="None"),
            _text(escape_markdown(sec.heading), weight="Bolder", size="Medium", spacing="Small"),
            _text(best.passage or best.passage_text or "(see the handbook section)")]
    actions = [{"type": "Action.OpenUrl", "title": "Open in handbook", "url": _safe_url(sec.url)}]
    for alt in decision.alternatives:
        body += [_text("Or did you mean:", weight="Bolder", spacing="Medium"),
                 _text(escape_markdown(" › ".join(alt.section.breadcrumb)), isSubtle=True, size="Small"),
                 _text(alt.passage or alt.passage_text)]
        actions.append({"type": "Action.OpenUrl", "title": f"Open: {alt.section.heading[:40]}",
                        "url": _safe_url(alt.section.url)})
    body += _link_list("Also see", decision.also_see)
    actions += _vote_actions(turn_id, decision.question)
    summary = f"{' › '.join(sec.breadcrumb)}: {best.passage_text.splitlines()[0] if best.passage_text else ''}"
    summary = f"{summary[:300]}\nOpen in handbook: {sec.url}"
    return Reply(summary, _card(body, actions, summary))


_ESCALATION_HEADLINES = {
    Reason.ASKED_FOR_PERSON: "Sure, the Data and Policy Analytics team (DAPA) can help you directly.",
    Reason.VOTED_DOWN: "Sorry that didn't help. The Data and Policy Analytics team (DAPA) can answer it.",
    Reason.ACTION_REQUEST: "I can't do that myself, but the Data and Policy Analytics team (DAPA) can.",
}
_NOT_COVERED = "The handbook doesn't cover this, so I'd rather not guess."


def escalation_reply(decision: Decision, where: str | None) -> Reply:
    headline = _ESCALATION_HEADLINES.get(decision.reason, _NOT_COVERED)
    body = [_text(headline, weight="Bolder")]
    if decision.question:
        body.append(_literal("You asked: ", decision.question))
    body += [_text(f"Email the Data and Policy Analytics team at {DAPA_EMAIL}: the button below prefills your "
                  "question.", spacing="Small")]
    body += _link_list("Closest handbook sections", decision.also_see)
    actions = [{"type": "Action.OpenUrl", "title": "Email DAPA", "url": mailto(decision.question, where)}]
    summary = f"{headline} Email DAPA: {DAPA_EMAIL}"
    return Reply(summary, _card(body, actions, summary))


def reply_for(decision: Decision, turn_id: str | None = None, where: str | None = None) -> Reply:
    """The reply to any decision: ``turn_id`` goes on the vote buttons of an answer, ``where`` (the
    conversation, for the DAPA e-mail) on an escalation."""
    kind = decision.kind
    if kind is Kind.HELP:
        return help_reply()
    if kind.small_talk:
        return small_talk(kind)
    if kind.escalates:
        return escalation_reply(decision, where)
    return answer_reply(decision, turn_id)


def welcome() -> Reply:
    body = [_text("Hi! I answer questions about publishing open data, from the CT Open Data Handbook.",
                  weight="Bolder", size="Medium"),
            _text("I know the handbook's guidance on identifying, preparing, describing (metadata), uploading, "
                  "reviewing and maintaining data on the CT Open Data Portal and the CT Geodata Portal, plus "
                  "automation tools, data stories, privacy and retiring data."),
            _text("In a channel, @mention me with your question. Try:", spacing="Medium")]
    actions = [{"type": "Action.Submit", "title": q, "data": {"action": "ask", "q": q}} for q in EXAMPLES]
    actions.append({"type": "Action.OpenUrl", "title": "Open the handbook", "url": HANDBOOK_URL})
    summary = (f"I answer questions from the CT Open Data Handbook ({HANDBOOK_URL}). Try: " + " / ".join(EXAMPLES))
    return Reply(summary, _card(body, actions, summary))


def help_reply() -> Reply:
    body = [_text("Ask me a question about publishing open data in Connecticut.", weight="Bolder"),
            _text("I reply with the handbook passage and a link to the exact section. When the handbook does not "
                  f"cover something I'll point you to the Data and Policy Analytics team ({DAPA_EMAIL}). "
                  "Say \"talk to a person\" at any time."),
            _text("In a channel, @mention me. Examples:", spacing="Medium")]
    actions = [{"type": "Action.Submit", "title": q, "data": {"action": "ask", "q": q}} for q in EXAMPLES]
    summary = f"Ask me about publishing open data; I answer from {HANDBOOK_URL} or refer you to {DAPA_EMAIL}."
    return Reply(summary, _card(body, actions, summary))


def small_talk(kind: Kind) -> Reply:
    text = {Kind.GREETING: "Hello! Ask me anything about publishing open data, or say \"help\".",
            Kind.THANKS: "You're welcome! Happy publishing."}.get(kind, "Ask me a question about the handbook.")
    return Reply(text, None, text)


def vote_thanks(vote: str) -> Reply:
    text = "Thanks for the feedback!" if vote == "up" else "Thanks, noted."
    return Reply(text, None, text)
