"""Helpers for the bot's scenario tests: a stub Bot Connector and Teams-shaped activities.

The stub is a real aiohttp server on loopback that records what the bot POSTs to
``/v3/conversations/{id}/activities[/{replyToId}]`` and answers like the Bot Connector; it can be told
to fail the next requests (status + headers) to exercise retries.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from aiohttp import web

from indexer.build import DEFAULT_SOURCES, build

BOT_ID = "28:handbook-bot-app-id"
BOT_NAME = "Handbook Bot"
TEAM = {"id": "19:team-guid@thread.tacv2", "name": "DAS Data Team"}
CHANNEL = {"id": "19:open-data-channel@thread.tacv2", "name": "Open Data"}
TENANT = {"id": "tenant-guid"}
CARD = "application/vnd.microsoft.card.adaptive"


def build_bundled(tmp_path_factory):
    """(folder, Index) of the bundled knowledge/ (no ../shared needed)."""
    tmp = tmp_path_factory.mktemp("bundled")
    result = build(DEFAULT_SOURCES, tmp / "index", tmp / "cache")
    assert result.ok, result.problems
    return tmp / "index", result.index


@dataclass
class Sent:
    conversation_id: str
    reply_to_id: str | None
    activity: dict
    authorization: str | None


@dataclass
class StubConnector:
    sent: list[Sent] = field(default_factory=list)
    failures: list[tuple[int, dict]] = field(default_factory=list)   # (status, headers) answered first
    attempts: int = 0
    delay: float = 0.0   # seconds each POST is held before the answer (the activity is posted all the same)
    in_flight: int = 0
    max_in_flight: int = 0

    def app(self) -> web.Application:
        ids = itertools.count(1)

        async def activities(request: web.Request) -> web.Response:
            self.attempts += 1
            if self.failures:
                status, headers = self.failures.pop(0)
                return web.json_response({"error": {"code": "Throttled", "message": "try later"}},
                                         status=status, headers=headers)
            self.sent.append(Sent(request.match_info["conversation_id"], request.match_info.get("reply_to_id"),
                                  await request.json(), request.headers.get("Authorization")))
            if self.delay:   # posted; the answer comes late
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    await asyncio.sleep(self.delay)
                finally:
                    self.in_flight -= 1
            return web.json_response({"id": f"bot-reply-{next(ids)}"})

        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", activities)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{reply_to_id}", activities)
        return app

    @property
    def messages(self) -> list[Sent]:
        return [s for s in self.sent if s.activity.get("type") == "message"]

    @property
    def typing(self) -> list[Sent]:
        return [s for s in self.sent if s.activity.get("type") == "typing"]


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
