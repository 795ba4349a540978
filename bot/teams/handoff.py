"""A hand-off that reaches a person: the @mention in the thread and the post in DAPA's triage conversation.

- ``mentions_for(activity, settings)``: the tags / people (``HANDOFF_MENTIONS``) a hand-off @mentions; only
  in a channel thread, where a tag or a team member can be notified (a chat has neither).
- ``thread_link(activity)``: a Teams deep link to the message the question was asked in (channel thread
  or group chat message); None for personal chats, which nobody else can open.
- ``post_to_triage(turn_context, settings, handoff)``: the triage card (bot/triage_cards.py) posted
  proactively into ``TRIAGE_CONVERSATION_ID`` through the adapter (``continue_conversation``), so it
  leaves like every other send. A failure is logged and never reaches the asker.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, urlencode

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference

from bot.triage_cards import Handoff, triage_card

log = logging.getLogger(__name__)
TEAMS = "https://teams.microsoft.com/l/message"


def conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    return conversation.conversation_type if conversation and conversation.conversation_type else "personal"


def mentions_for(activity: Activity, settings) -> tuple:
    if conversation_type(activity) != "channel":
        return ()
    return tuple(settings.handoff_mentions)


def thread_link(activity: Activity) -> str | None:
    """Deep link to where the question was asked (``https://teams.microsoft.com/l/message/...``)."""
    kind = conversation_type(activity)
    conversation_id = activity.conversation.id if activity.conversation else ""
    if not conversation_id or kind == "personal":
        return None
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (data.get("tenant") or {}).get("id") or (activity.conversation.tenant_id or "")
    if kind == "channel":
        channel, _, root = conversation_id.partition(";messageid=")
        root = root or activity.reply_to_id or activity.id or ""
        if not root:
            return None
        query = {"tenantId": tenant, "parentMessageId": root}
        team = data.get("team") or {}
        if team.get("aadGroupId"):
            query["groupId"] = team["aadGroupId"]
        if team.get("name"):
            query["teamName"] = team["name"]
        if (data.get("channel") or {}).get("name"):
            query["channelName"] = data["channel"]["name"]
        query = {k: v for k, v in query.items() if v}
        return f"{TEAMS}/{quote(channel, safe=':@.')}/{quote(root, safe='')}?{urlencode(query)}"
    message = activity.reply_to_id or activity.id or ""
    if not message:
        return None
    context = json.dumps({"contextType": "chat"}, separators=(",", ":"))
    return f"{TEAMS}/{quote(conversation_id, safe=':@.')}/{quote(message, safe='')}?{urlencode({'context': context})}"


async def post_to_triage(turn_context: TurnContext, settings, handoff: Handoff) -> bool:
    """Post the hand-off into the triage conversation; False when none is configured or the post failed."""
    if not settings.triage_conversation_id:
        return False
    incoming = turn_context.activity
    reference = ConversationReference(
        channel_id=incoming.channel_id or "msteams",
        service_url=settings.triage_service_url or incoming.service_url,
        conversation=ConversationAccount(id=settings.triage_conversation_id, is_group=True),
        bot=ChannelAccount(id=incoming.recipient.id if incoming.recipient else settings.app_id,
                           name=incoming.recipient.name if incoming.recipient else None))
    card = MessageFactory.attachment(CardFactory.adaptive_card(triage_card(handoff)))
    card.summary = f"Question handed to DAPA: {handoff.question[:200]}"

    async def send(context: TurnContext):
        context.activity.id = None   # a new post in the triage conversation, not a reply to the continuation
        await context.send_activity(card)

    try:
        await turn_context.adapter.continue_conversation(reference, send, settings.app_id or None)
    except Exception as exc:   # the asker already has their answer; DAPA's copy must not cost it
        log.error("triage post failed (%s); hand-off %s", type(exc).__name__, handoff.handoff_id[:12])
        return False
    log.info("triage: posted hand-off %s (%s)", handoff.handoff_id[:12], handoff.reason)
    return True
