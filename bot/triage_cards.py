"""The card DAPA's triage conversation gets for each hand-off, and its resolved state (framework-free).

``triage_card(handoff)`` shows the question (verbatim, in TextRuns), where it was asked with a link to
the thread, the closest handbook sections, a choice of those sections and a box to paste a handbook link
("Resolved with", optional), and a "Mark resolved" button (``Action.Execute``, verb ``resolve``: Teams
sends an ``adaptiveCard/action`` invoke with the inputs merged into the action's data, and shows the card
the bot answers with to everyone in the conversation). ``resolved_card(handoff, by, at, section)`` is
that answer; resolved with a section whose question is stored, it offers "Add the question as an example
for this section" (verb ``approve_example``) and "Don't use" (verb ``reject_example``), the approval of
``python -m bot report --approve`` (bot/learning/triage.py). A link that names no indexed section gets
the triage card back with the reason (``problem``), nothing stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.replies import CARD_VERSION, _literal, _text, escape_markdown, safe_link

RESOLVE = "resolve"   # Action.Execute verb and data["action"] of "Mark resolved"
APPROVE = "approve_example"   # ... of "Add the question as an example for this section"
REJECT = "reject_example"     # ... of "Don't use"
SECTION_INPUT = "resolvedSection"   # Input.ChoiceSet id: the url of one of the closest sections
LINK_INPUT = "resolvedLink"         # Input.Text id: a pasted handbook link (wins over the choice)
PERSONAL = {"email": "an e-mail address", "phone": "a phone number", "number": "a long number, such as an id",
            "mention": "an @mention", "name": "a person's name"}
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


def picked_link(data: dict) -> str:
    """The section link a "Mark resolved" click carries: the pasted link, else the chosen section ("": none)."""
    for key in (LINK_INPUT, SECTION_INPUT):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:2100]
    return ""


def _resolve_inputs(handoff: Handoff, link: str = "") -> list[dict]:
    inputs = [_text("Resolved with (optional): the handbook section that answers it", weight="Bolder",
                    spacing="Medium")]
    if handoff.closest:
        inputs.append({"type": "Input.ChoiceSet", "id": SECTION_INPUT, "style": "compact", "isMultiSelect": False,
                       "placeholder": "One of the closest sections",
                       "choices": [{"title": title, "value": url} for title, url in handoff.closest]})
    inputs.append({"type": "Input.Text", "id": LINK_INPUT, "maxLength": 2000, "value": link,
                   "placeholder": "or paste a handbook link (https://…#section)"})
    return inputs


def triage_card(handoff: Handoff, problem: str | None = None, link: str = "") -> dict:
    """The hand-off as DAPA's triage conversation sees it; ``problem``: why the last click stored nothing
    (shown above the inputs, with the ``link`` that was pasted)."""
    actions = []
    if handoff.thread_url:
        actions.append(_open_thread(handoff.thread_url))
    actions.append({"type": "Action.Execute", "title": "Mark resolved", "verb": RESOLVE,
                    "data": handoff.to_data()})
    body = _body(handoff)
    if problem:
        body.append(_text(f"⚠️ Not resolved: {problem}", color="Attention", weight="Bolder", spacing="Medium"))
    body += _resolve_inputs(handoff, link)
    summary = f"Question handed to DAPA: {handoff.question[:200]}"
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body, "actions": actions, "fallbackText": summary}


def resolved_from_data(data: dict) -> tuple[tuple[str, str] | None, str, str]:
    """(section (title, url), resolved by, at) an approve / reject click carries."""
    section = data.get("section")
    section = ((str(section[0])[:300], str(section[1])[:2000])
               if isinstance(section, list) and len(section) == 2 and all(isinstance(x, str) for x in section)
               else None)
    by, at = (data.get(k) if isinstance(data.get(k), str) else "" for k in ("by", "at"))
    return section, by[:200], at[:40]


def review_note(state: str, detail: str = "", who: str = "", written: bool = True) -> str:
    """What an approve / reject click did (``bot.learning.triage.Outcome``), as the card says it."""
    by = f" by {who}" if who else ""
    if state == "approved":
        where = ("It is in knowledge/examples.approved.toml and is used from the next re-index." if written else
                 "It is recorded; this server cannot write knowledge/ here, so run "
                 "`python -m bot report --export-approved` against this database in a checkout and commit the file.")
        return f"✅ Added as an example for this section{by}. {where}"
    if state == "rejected":
        return f"Not used as an example{by}; it will not be proposed again."
    if state == "already approved":
        return "✅ Already added as an example for this section."
    if state == "already rejected":
        return "Already marked not to use; it will not be proposed again."
    if state == "personal":
        return (f"Not added: the question looks like it holds personal data ({PERSONAL.get(detail, detail)}). "
                "Questions with personal data never go into knowledge/.")
    if state == "known":
        return "Not added: this question (or one very like it) is already an example for this section."
    if state == "unusable":
        return "Not added: the question is too short or too long to be a useful example."
    if state == "gone":
        return "Not added: the current index no longer holds that section."
    if state == "no question":
        return "The question itself was not stored, so it cannot become an example."
    return "Not added: no section is recorded for this question (its question was not stored)."


def resolved_card(handoff: Handoff, by: str, at: str, section: tuple[str, str] | None = None,
                  offer: bool = False, note: str | None = None) -> dict:
    """The triage card once resolved: the same facts, "✅ Resolved by … at …", the section it was resolved
    with. ``offer``: the approve / reject buttons (a stored question resolved with a section); ``note``: what
    the last click did (approved, why not, ...)."""
    body = _body(handoff)
    body.append(_text(f"✅ Resolved by {by or 'a team member'} at {at}", weight="Bolder", color="Good",
                      spacing="Medium"))
    if section is not None:
        title, url = section
        body.append(_text(f"Resolved with: [{escape_markdown(title)}]({safe_link(url, url)})", spacing="Small"))
    if note:
        body.append(_text(note, spacing="Small", isSubtle=not note.startswith("✅")))
    actions = []
    if handoff.thread_url:
        actions.append(_open_thread(handoff.thread_url))
    if section is not None and offer:
        data = {**handoff.to_data(), "section": list(section), "by": by, "at": at}
        actions.append({"type": "Action.Execute", "title": "Add the question as an example for this section",
                        "verb": APPROVE, "data": {**data, "action": APPROVE}})
        actions.append({"type": "Action.Execute", "title": "Don't use", "verb": REJECT,
                        "data": {**data, "action": REJECT}})
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body, "actions": actions,
            "fallbackText": f"Resolved: {handoff.question[:200]}"}
