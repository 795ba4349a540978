"""Replies as Adaptive Cards (version 1.5) with a plain-text summary for clients without cards.

``Replies(dapa_email, handbook_url)`` (``Replies.from_settings(settings)``) renders them:
``reply_for(decision, turn_id, where, mentions) -> Reply`` every kind of decision (answers, escalations, hand-offs,
small talk) in one place (with a ``turn_id``, each closest section of an unsure reply has a "This answered
it" button: ``{"action": "pick", "turn", "url"}``); ``welcome()``, ``help()``, ``vote_thanks()`` and
``turn_failed()`` the replies that need no decision. Cards are plain dicts (no framework).

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
from bot.settings import DAPA_EMAIL, HANDBOOK_URL, Settings
from indexer.model import Hit

EXAMPLES = ("How do I retire a dataset?", "What metadata does a dataset need?",
            "Which tool should I use to automate updates?")
CARD_VERSION = "1.5"
SHOWN_QUESTION_CHARS = 300     # "You asked: ..." in a card
MAILTO_QUESTION_CHARS = 1500   # the question in the prefilled e-mail (a long post keeps its end)
MAX_MAILTO = 2000              # mail clients cut longer mailto: links
UNSURE_HEADLINE = "I'm not sure the handbook covers this — these sections come closest:"
NONE_OF_THESE = "none_of_these"   # card action: none of the sections shown helps (Reason.NONE_OF_THESE)
PICK = "pick"                     # card action: this one of the closest sections answered the question
PICK_TITLE = "This answered it"
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


def safe_link(url: str, fallback: str) -> str:
    """``url`` made safe for a Markdown link / card action; ``fallback`` when it is not http(s)."""
    if not url.startswith(("https://", "http://")):
        return fallback
    return url.replace(" ", "%20").replace(")", "%29").replace("(", "%28")


def _none_of_these(turn_id: str | None, question: str) -> list[dict]:
    """One click under the alternatives / also-see links: none of them helps, hand the question to DAPA."""
    return [{"type": "ActionSet", "spacing": "Small", "actions": [
        {"type": "Action.Submit", "title": "None of these",
         "data": {"action": NONE_OF_THESE, "turn": turn_id or "", "q": question}}]}]


def _mention_block(mentions) -> tuple[list[dict], list[dict]]:
    """(body, msteams.entities) that @mention ``mentions`` (settings.Mention: tags or people) in a card."""
    if not mentions:
        return [], []
    ats = [f"<at>{m.name}</at>" for m in mentions]
    entities = [{"type": "mention", "text": at,
                 "mentioned": {"id": m.id, "name": m.name, **({"type": "tag"} if m.kind == "tag" else {})}}
                for m, at in zip(mentions, ats)]
    return [_text(" ".join(ats) + " can you help with this question?", spacing="Medium")], entities


_ESCALATION_HEADLINES = {
    Reason.ASKED_FOR_PERSON: "Sure, the Data and Policy Analytics team (DAPA) can help you directly.",
    Reason.VOTED_DOWN: "Sorry that didn't help. The Data and Policy Analytics team (DAPA) can answer it.",
    Reason.NONE_OF_THESE: "Sorry that didn't help. The Data and Policy Analytics team (DAPA) can answer it.",
    # never promise that DAPA does IT work: say who does, and that DAPA can point the way
    Reason.ACTION_REQUEST: "I can't do that for you. Access, accounts and passwords are handled by your agency's IT "
                           "help desk or by the service's own support; if you're not sure who to ask, the Data and "
                           "Policy Analytics team (DAPA) can point you the right way.",
}
_NOT_COVERED = "The handbook doesn't cover this, so I'd rather not guess."


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, keeping its start and its end (where a post's ask is)."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head].rstrip() + " … " + text[-(limit - head - 3):].lstrip()


class Replies:
    """The bot's replies for one DAPA mailbox and one published handbook (both from ``Settings``)."""

    def __init__(self, dapa_email: str = DAPA_EMAIL, handbook_url: str = HANDBOOK_URL) -> None:
        self.dapa_email, self.handbook_url = dapa_email, handbook_url

    @classmethod
    def from_settings(cls, settings: Settings) -> Replies:
        return cls(settings.dapa_email, settings.handbook_url)

    def reply_for(self, decision: Decision, turn_id: str | None = None, where: str | None = None,
                  mentions=()) -> Reply:
        """The reply to any decision: ``turn_id`` goes on an answer's "None of these", ``where`` (the
        conversation, for the DAPA e-mail) and ``mentions`` (who a channel hand-off @mentions) on an escalation.
        Answers get Teams' built-in 👍 / 👎 from the handler (channelData), not from the card."""
        kind = decision.kind
        if kind is Kind.HELP:
            return self.help()
        if kind.small_talk:
            return self.small_talk(kind)
        if kind.escalates:
            return self.escalation(decision, where, mentions, turn_id)
        return self.answer(decision, turn_id)

    def answer(self, decision: Decision, turn_id: str | None) -> Reply:
        best = decision.best
        sec = best.section
        crumb = " › ".join(sec.breadcrumb[:-1]) or sec.page_title
        body = [_text(escape_markdown(crumb), isSubtle=True, size="Small", spacing="None"),
                _text(escape_markdown(sec.heading), weight="Bolder", size="Medium", spacing="Small"),
                _text(best.passage or best.passage_text or "(see the handbook section)")]
        actions = [{"type": "Action.OpenUrl", "title": "Open in handbook", "url": self._safe_url(sec.url)}]
        for alt in decision.alternatives:
            body += [_text("Or did you mean:", weight="Bolder", spacing="Medium"),
                     _text(escape_markdown(" › ".join(alt.section.breadcrumb)), isSubtle=True, size="Small"),
                     _text(alt.passage or alt.passage_text)]
            actions.append({"type": "Action.OpenUrl", "title": f"Open: {alt.section.heading[:40]}",
                            "url": self._safe_url(alt.section.url)})
        body += self._link_list("Also see", decision.also_see)
        if decision.alternatives or decision.also_see:
            body += _none_of_these(turn_id, decision.question)
        summary = f"{' › '.join(sec.breadcrumb)}: {best.passage_text.splitlines()[0] if best.passage_text else ''}"
        summary = f"{summary[:300]}\nOpen in handbook: {sec.url}"
        return Reply(summary, _card(body, actions, summary))

    def escalation(self, decision: Decision, where: str | None, mentions=(), turn_id: str | None = None) -> Reply:
        """The unsure tier (closest sections, "None of these" and DAPA in one card) or the hand-off tier (DAPA
        only; ``mentions``, the tags / people a channel hand-off @mentions, go into the card)."""
        unsure = decision.kind is Kind.UNSURE and bool(decision.also_see)
        headline = UNSURE_HEADLINE if unsure else _ESCALATION_HEADLINES.get(decision.reason, _NOT_COVERED)
        body = [_text(headline, weight="Bolder")]
        if decision.question:
            body.append(_literal("You asked: ", shorten(decision.question, SHOWN_QUESTION_CHARS)))
        if unsure:
            body += self._link_list("Closest handbook sections", decision.also_see, pick_turn=turn_id)
            body += _none_of_these(turn_id, decision.question)
        ask = "If none of these answers it, email" if unsure else "Email"
        body.append(_text(f"{ask} the Data and Policy Analytics team at {self.dapa_email}: the button below "
                          "prefills your question.", spacing="Medium"))
        mention_body, entities = _mention_block(() if unsure else mentions)
        body += mention_body
        actions = [{"type": "Action.OpenUrl", "title": "Email DAPA", "url": self.mailto(decision.question, where)}]
        summary = self.plain_text(decision)
        card = _card(body, actions, summary)
        if entities:
            card["msteams"] = {**card["msteams"], "entities": entities}
        return Reply(summary, card)

    def plain_text(self, decision: Decision) -> str:
        """A handbook decision as plain text (notifications, clients without cards, the command line)."""
        if decision.kind is Kind.UNSURE and decision.also_see:
            lines = [UNSURE_HEADLINE]
            lines += [f"- {' › '.join(h.section.breadcrumb)}: {h.section.url}" for h in decision.also_see]
            lines.append(f"If none of these answers it, email the Data and Policy Analytics team (DAPA): "
                         f"{self.dapa_email}")
            return "\n".join(lines)
        if decision.best is not None:
            sec, best = decision.best.section, decision.best
            first = best.passage_text.splitlines()[0] if best.passage_text else ""
            lines = [f"{' › '.join(sec.breadcrumb)}: {first}"[:300], f"Open in handbook: {sec.url}"]
            lines += [f"Also see: {' › '.join(h.section.breadcrumb)}: {h.section.url}"
                      for h in decision.alternatives + decision.also_see]
            return "\n".join(lines)
        return f"{_ESCALATION_HEADLINES.get(decision.reason, _NOT_COVERED)} Email DAPA: {self.dapa_email}"

    def mailto(self, question: str, where: str | None) -> str:
        """``mailto:`` DAPA with subject and body prefilled (the question, where it was asked); a long
        question keeps its start and end, so the link stays under ``MAX_MAILTO`` characters."""
        short = question if len(question) <= 80 else question[:77] + "..."
        subject = quote("Open data question: " + short, safe="")
        limit = MAILTO_QUESTION_CHARS
        while True:
            body = f"Question: {shorten(question, limit)}\n"
            if where:
                body += f"Asked in: {where}\n"
            body += "\n(The CT Open Data Handbook did not answer this; sent from the handbook bot.)"
            url = f"mailto:{self.dapa_email}?subject={subject}&body={quote(body, safe='')}"
            if len(url) <= MAX_MAILTO or limit <= 40:
                return url
            limit = limit * 2 // 3   # non-ASCII text grows up to 12x when percent-encoded

    def small_talk(self, kind: Kind) -> Reply:
        text = {Kind.GREETING: "Hello! Ask me anything about publishing open data, or say \"help\".",
                Kind.THANKS: "You're welcome! Happy publishing.",
                Kind.UNCLEAR: "I didn't find a question in that message. Ask me in words about publishing open data "
                              "(for example: \"How do I retire a dataset?\"), or say \"help\".",
                Kind.NOT_ENGLISH: "Sorry, I can only answer questions in English. Ask me in English about publishing "
                                  f"open data, or email the Data and Policy Analytics team at {self.dapa_email}.",
                }.get(kind, "Ask me a question about the handbook.")
        return Reply(text, None, text)

    def welcome(self) -> Reply:
        body = [_text("Hi! I answer questions about publishing open data, from the CT Open Data Handbook.",
                      weight="Bolder", size="Medium"),
                _text("I know the handbook's guidance on identifying, preparing, describing (metadata), uploading, "
                      "reviewing and maintaining data on the CT Open Data Portal and the CT Geodata Portal, plus "
                      "automation tools, data stories, privacy and retiring data."),
                _text("In a channel, @mention me with your question. Try:", spacing="Medium")]
        actions = [{"type": "Action.Submit", "title": q, "data": {"action": "ask", "q": q}} for q in EXAMPLES]
        actions.append({"type": "Action.OpenUrl", "title": "Open the handbook", "url": self.handbook_url})
        summary = (f"I answer questions from the CT Open Data Handbook ({self.handbook_url}). Try: "
                   + " / ".join(EXAMPLES))
        return Reply(summary, _card(body, actions, summary))

    def help(self) -> Reply:
        body = [_text("Ask me a question about publishing open data in Connecticut.", weight="Bolder"),
                _text("I reply with the handbook passage and a link to the exact section. When the handbook does "
                      f"not cover something I'll point you to the Data and Policy Analytics team ({self.dapa_email}). "
                      "Say \"talk to a person\" at any time."),
                _text("In a channel, @mention me. Examples:", spacing="Medium")]
        actions = [{"type": "Action.Submit", "title": q, "data": {"action": "ask", "q": q}} for q in EXAMPLES]
        summary = (f"Ask me about publishing open data; I answer from {self.handbook_url} or refer you to "
                   f"{self.dapa_email}.")
        return Reply(summary, _card(body, actions, summary))

    def vote_thanks(self, vote: str) -> Reply:
        text = "Thanks for the feedback!" if vote == "up" else "Thanks, noted."
        return Reply(text, None, text)

    def pick_thanks(self) -> Reply:
        text = "Thanks — that helps the bot learn which section answers this."
        return Reply(text, None, text)

    def pick_not_recorded(self, why: str) -> Reply:
        """A "This answered it" click that was not stored: ``why`` is a short reason ending in a full stop."""
        text = f"Sorry, I couldn't record that: {why}"
        return Reply(text, None, text)

    def vote_not_recorded(self) -> Reply:
        text = "Sorry, I couldn't record that vote (I no longer have that answer). Please try again on a new answer."
        return Reply(text, None, text)

    def turn_failed(self) -> str:
        """The message sent when a turn failed unexpectedly."""
        return ("Sorry, something went wrong on my side and I couldn't answer. Please try again in a moment, "
                f"or email the Data and Policy Analytics team at {self.dapa_email}.")

    def _link_list(self, title: str, hits: tuple[Hit, ...], pick_turn: str | None = None) -> list[dict]:
        """A titled list of section links; with ``pick_turn`` (a stored turn) each link is a row with a
        "This answered it" button (Action.Submit ``{"action": "pick", "turn", "url"}``)."""
        if not hits:
            return []
        if pick_turn:
            return [_text(title, weight="Bolder", spacing="Medium"),
                    *(self._pick_row(pick_turn, h) for h in hits)]
        lines = "\n".join(f"- [{escape_markdown(' › '.join(h.section.breadcrumb))}]({self._safe_url(h.section.url)})"
                          for h in hits)
        return [_text(title, weight="Bolder", spacing="Medium"), _text(lines, spacing="Small")]

    def _pick_row(self, turn_id: str, hit: Hit) -> dict:
        """One section of the unsure card: its link, and on the right the button that says it answered."""
        url = self._safe_url(hit.section.url)
        link = f"[{escape_markdown(' › '.join(hit.section.breadcrumb))}]({url})"
        return {"type": "ColumnSet", "spacing": "Small", "columns": [
            {"type": "Column", "width": "stretch", "verticalContentAlignment": "Center",
             "items": [_text(link, spacing="None")]},
            {"type": "Column", "width": "auto", "verticalContentAlignment": "Center", "items": [
                {"type": "ActionSet", "actions": [
                    {"type": "Action.Submit", "title": PICK_TITLE,
                     "data": {"action": PICK, "turn": turn_id, "url": hit.section.url}}]}]}]}

    def _safe_url(self, url: str) -> str:
        return safe_link(url, self.handbook_url)
