"""Teams-shaped activities (channel, group chat, personal chat, card actions, installs), readers for
the cards the bot sends back (what ``tests.support.connector.StubConnector`` recorded), and ``serve``:
a test client that waits until the replies a request queued were sent."""

from __future__ import annotations

import itertools

from tests.support.connector import Sent

BOT_ID = "28:handbook-bot-app-id"
BOT_NAME = "Handbook Bot"
TEAM = {"id": "19:team-guid@thread.tacv2", "name": "DAS Data Team"}
CHANNEL = {"id": "19:open-data-channel@thread.tacv2", "name": "Open Data"}
TENANT = {"id": "tenant-guid"}
CARD = "application/vnd.microsoft.card.adaptive"


def card_of(sent: Sent) -> dict:
    [attachment] = [a for a in sent.activity.get("attachments") or [] if a["contentType"] == CARD]
    return attachment["content"]


def actions_of(card: dict, kind: str) -> list[dict]:
    return [a for a in card.get("actions", []) if a["type"] == kind]


def all_text(card: dict) -> str:
    """Every string in the card body (TextBlocks and TextRuns), joined by newlines."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("TextBlock", "TextRun"):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body", []))
    return "\n".join(out)


_ids = itertools.count(1700000000001)


def _base(service_url: str, conversation: dict, text: str | None, **extra) -> dict:
    activity = {
        "type": "message", "id": str(next(_ids)), "timestamp": "2025-07-01T12:00:00.000Z",
        "serviceUrl": service_url, "channelId": "msteams",
        "from": {"id": "29:user-pat", "name": "Pat Example", "aadObjectId": "aad-user-pat"},
        "conversation": conversation, "recipient": {"id": BOT_ID, "name": BOT_NAME}, "locale": "en-US",
    }
    if text is not None:
        activity["text"] = text
    activity.update(extra)
    return activity


def channel_message(service_url: str, question: str, mention: bool = True, thread_root: str = "1699999999999") -> dict:
    text = f"<at>{BOT_NAME}</at> {question}" if mention else question
    entities = [{"type": "mention", "mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": f"<at>{BOT_NAME}</at>"}]
    conversation = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT["id"],
                    "id": f"{CHANNEL['id']};messageid={thread_root}"}
    return _base(service_url, conversation, text, entities=entities if mention else [],
                 channelData={"teamsChannelId": CHANNEL["id"], "teamsTeamId": TEAM["id"], "channel": CHANNEL,
                              "team": TEAM, "tenant": TENANT})


def personal_message(service_url: str, text: str | None, **extra) -> dict:
    conversation = {"conversationType": "personal", "tenantId": TENANT["id"], "id": "a:personal-chat-id"}
    return _base(service_url, conversation, text, channelData={"tenant": TENANT}, **extra)


def group_message(service_url: str, question: str) -> dict:
    conversation = {"isGroup": True, "conversationType": "groupChat", "tenantId": TENANT["id"],
                    "id": "19:group@thread.v2"}
    entities = [{"type": "mention", "mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": f"<at>{BOT_NAME}</at>"}]
    return _base(service_url, conversation, f"<at>{BOT_NAME}</at> {question}", entities=entities,
                 channelData={"tenant": TENANT})


def bot_added_to_team(service_url: str) -> dict:
    conversation = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT["id"], "id": TEAM["id"]}
    return _base(service_url, conversation, None, type="conversationUpdate",
                 membersAdded=[{"id": BOT_ID}],
                 channelData={"eventType": "teamMemberAdded", "team": TEAM, "tenant": TENANT})


def submit_action(service_url: str, data: dict) -> dict:
    """What Teams sends for an Action.Submit click in a personal chat: a message with ``value``."""
    return personal_message(service_url, None, value=data)


def execute_invoke(service_url: str, data: dict) -> dict:
    """An Action.Execute click: invoke ``adaptiveCard/action``."""
    return personal_message(service_url, None, type="invoke", name="adaptiveCard/action",
                            value={"action": {"type": "Action.Execute", "verb": "vote", "data": data},
                                   "trigger": "manual"})


class SettlingClient:
    """An aiohttp test client whose ``post`` returns once the replies that request queued were sent (or given
    up). The bot acknowledges a request first and sends its replies after (bot/teams/outbox.py); scenario
    tests that look at what reached the connector wait for that, tests of the acknowledgement use ``.raw``."""

    def __init__(self, client) -> None:
        self.raw = client

    async def post(self, *args, **kwargs):
        from bot.app import OUTBOX

        response = await self.raw.post(*args, **kwargs)
        await response.read()
        assert await self.raw.app[OUTBOX].drain(60), "replies still unsent after 60 s"
        return response

    def __getattr__(self, name):
        return getattr(self.raw, name)


async def serve(aiohttp_client, app) -> SettlingClient:
    return SettlingClient(await aiohttp_client(app))
