"""Teams invokes the SDK's TeamsActivityHandler 4.17 does not route, or routes through models we do not need.

- ``message/submitAction`` with ``actionName == "feedback"``: the 👍 / 👎 of Teams' built-in feedback
  loop (the answer is sent with ``channelData.feedbackLoop.type == "default"``). ``replyToId`` is the id
  Teams gave the answer when it was sent; the vote is stored against that answer's turn (or kept until
  that id is stored: the send may still be in flight), with the text typed into the form. 👎 offers
  the hand-off in the same conversation / thread. Answered 200 ``{}``.
- ``composeExtension/query``: handbook search from the compose box. The search text is the first
  parameter's value (Teams sends ``searchQuery``; the Agents Playground may send no names); an empty
  query (``initialRun``) lists the handbook's starting sections. Result cards: bot/section_cards.py.
- ``composeExtension/queryLink`` (and ``anonymousQueryLink``): a pasted handbook URL unfurls into its
  section's card; anything else gets an empty result (Teams then shows the plain link).
"""

from __future__ import annotations

import json
import logging

from botbuilder.core import TurnContext
from botbuilder.schema import InvokeResponse

from bot import section_cards
from bot.feedback.store import hash_key

log = logging.getLogger(__name__)
FEEDBACK = "message/submitAction"
QUERY = "composeExtension/query"
QUERY_LINK = ("composeExtension/queryLink", "composeExtension/anonymousQueryLink")
MAX_RESULTS = 10
MAX_QUERY_CHARS = 200
REACTIONS = {"like": "up", "dislike": "down"}


def ok(body: dict | None = None) -> InvokeResponse:
    return InvokeResponse(status=200, body=body if body is not None else {})


def bad(message: str) -> InvokeResponse:
    return InvokeResponse(status=400, body={"error": message})


def _value(activity) -> dict:
    return activity.value if isinstance(activity.value, dict) else {}


# ---------------------------------------------------------------------------------------------- feedback
def feedback_text(raw) -> str | None:
    """The form's text: Teams sends ``feedback`` as a JSON string ``{"feedbackText": ...}``; the Agents
    Playground sends the text itself."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw.strip()
    if isinstance(parsed, dict):
        text = parsed.get("feedbackText")
        return text.strip() or None if isinstance(text, str) else None
    return raw.strip()


def message_key(activity, message_id: str | None, salt: str) -> str | None:
    """Hashed key of a Teams message: the conversation (without the thread suffix) plus the message id."""
    if not message_id or not activity.conversation or not activity.conversation.id:
        return None
    base = activity.conversation.id.split(";messageid=", 1)[0]
    return hash_key(f"{base}\n{message_id}", salt)


def conversation_key(activity, salt: str) -> str:
    return hash_key(activity.conversation.id if activity.conversation else "", salt) or ""


def parse_feedback(activity) -> tuple[str, str | None] | str:
    """(vote, reason) from a feedback invoke, or a message saying what is wrong with it."""
    value = _value(activity)
    action = value.get("actionValue") if isinstance(value.get("actionValue"), dict) else {}
    vote = REACTIONS.get(action.get("reaction"))
    if vote is None:
        return "actionValue.reaction must be 'like' or 'dislike'"
    return vote, feedback_text(action.get("feedback"))


# ---------------------------------------------------------------------------------------------- search
def query_text(activity) -> tuple[str, bool]:
    """(search text, initial run) of a ``composeExtension/query``."""
    value = _value(activity)
    params = [p for p in value.get("parameters") or [] if isinstance(p, dict)]
    initial = any(p.get("name") == "initialRun" for p in params)
    named = ([p for p in params if p.get("name") == "searchQuery"]
             or [p for p in params if p.get("name") != "initialRun"])
    text = named[0].get("value") if named else ""
    text = text if isinstance(text, str) else ""
    return " ".join(text.split())[:MAX_QUERY_CHARS], initial or not text.strip()


def _hits(result) -> list:
    return list(getattr(result, "hits", result) or [])


def search_response(index, activity) -> InvokeResponse:
    if index is None:
        return ok({"composeExtension": {"type": "message", "text": "The handbook is still loading; try again in a "
                                                                   "minute."}})
    text, initial = query_text(activity)
    value = _value(activity)
    options = value.get("queryOptions") if isinstance(value.get("queryOptions"), dict) else {}
    skip = options.get("skip") if isinstance(options.get("skip"), int) and options["skip"] >= 0 else 0
    count = options.get("count") if isinstance(options.get("count"), int) and options["count"] > 0 else MAX_RESULTS
    count = min(count, MAX_RESULTS)
    if initial:
        attachments = [section_cards.attachment(s) for s in _starting_sections(index)][skip:skip + count]
    else:
        attachments = section_cards.search_results(_hits(index.search(text, skip + count)))[skip:skip + count]
    log.info("compose search: %d result(s)%s", len(attachments), " (initial run)" if initial else "")
    return ok({"composeExtension": {"type": "result", "attachmentLayout": "list", "attachments": attachments}})


def _starting_sections(index) -> list:
    """Top-level sections, one per page, in index order: what the search lists before anything is typed."""
    seen, out = set(), []
    for section in index.sections:
        page = section.url.split("#", 1)[0]
        if page not in seen and section.kind == "section":
            seen.add(page)
            out.append(section)
    return out


# ---------------------------------------------------------------------------------------------- unfurl
def unfurl_response(index, activity) -> InvokeResponse:
    url = _value(activity).get("url")
    if not isinstance(url, str) or not url.strip():
        return bad("value.url is missing")
    attachment = section_cards.unfurl(index.sections, url) if index is not None else None
    log.info("link unfurl: %s", "section card" if attachment else "not a known handbook page")
    return ok({"composeExtension": {"type": "result", "attachmentLayout": "list",
                                    "attachments": [attachment] if attachment else []}})


def is_invoke(turn_context: TurnContext, *names: str) -> bool:
    return turn_context.activity.name in names
