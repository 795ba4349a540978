"""A client for the Microsoft 365 Agents Playground's own conversation API (what its web UI calls).

Found by reading ``@microsoft/m365agentsplayground`` 0.2.28 ``dist/`` (see tests/e2e/README.md):

- ``GET  /_internal/v1/config``: tenant, bot id/name, current user, personal chat, group chats, teams
  and channels (their ids are the conversation ids to post to);
- ``POST /_conversation/v1/conversations/{id}/messages`` ``{from, text, textFormat, mentions?}``: the
  user sends a message (the call the web UI makes on Enter). In a channel it starts a new post: the
  answer carries ``postConversationId`` (``{channel};messageid={id}``), the thread the bot's reply
  lands in. The Playground forwards a channel post to the bot only when it @mentions the bot;
- ``POST /_debug/conversation/{id}/installation`` ``{}``: "install" the app there: ``installationUpdate``
  (Teams) then ``conversationUpdate`` with the bot in ``membersAdded``;
- ``POST /_conversation/v1/submit`` ``{conversation, from, replyToId, value}``: an ``Action.Submit``
  click on the card ``replyToId``: a message activity with ``value``;
- ``POST /_conversation/v1/invoke`` ``{name: "adaptiveCard/action", value, from, conversation,
  replyToId}``: an ``Action.Execute`` click; the bot's invoke response is the HTTP answer;
- websocket ``/_ws_conversation/v1/conversations/stream``: what the bot sent, as
  ``{"action": "createMessage" | "updateMessage" | "typing", "actionConversationId", "message"}``.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp


class Playground:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.events: list[dict] = []
        self._session: aiohttp.ClientSession | None = None
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self):
        self._session = aiohttp.ClientSession()
        self.config = (await self._get("/_internal/v1/config"))["config"]
        self._ws = await self._session.ws_connect(self.base + "/_ws_conversation/v1/conversations/stream")
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc):
        if self._reader:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        await self._session.close()

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))
                self._changed.set()

    async def _get(self, path: str):
        async with self._session.get(self.base + path) as r:
            r.raise_for_status()
            return await r.json()

    async def _post(self, path: str, body: dict):
        async with self._session.post(self.base + path, json=body) as r:
            text = await r.text()
            if r.status >= 300:
                raise RuntimeError(f"POST {path} -> {r.status}: {text[:300]}")
            return json.loads(text) if text else None

    # ------------------------------------------------------------------ who and where
    @property
    def bot(self) -> dict:
        return self.config["bot"]

    @property
    def me(self) -> str:
        return self.config["currentUser"]["id"]

    @property
    def personal_chat(self) -> str:
        return self.config["personalChat"]["id"]

    def channel(self, name: str = "General") -> str:
        for team in self.config["teams"]:
            for channel in team["channels"]:
                if channel["name"] == name:
                    return channel["id"]
        raise KeyError(name)

    # ------------------------------------------------------------------ what a user does
    async def install(self, conversation_id: str) -> None:
        await self._post(f"/_debug/conversation/{conversation_id}/installation", {})

    async def say(self, conversation_id: str, text: str) -> dict:
        """A message in a chat (personal or group)."""
        return await self._post(f"/_conversation/v1/conversations/{conversation_id}/messages",
                                {"from": {"id": self.me}, "text": text, "textFormat": "plain"})

    async def post_in_channel(self, channel_id: str, text: str, mention: bool = True) -> dict:
        """A new channel post, @mentioning the bot as the Teams client does (``<at>Name</at>`` + entity)."""
        at = f"<at>{self.bot['name']}</at>"
        body = {"from": {"id": self.me}, "text": f"{at} {text}" if mention else text, "textFormat": "xml"}
        if mention:
            body["mentions"] = [{"mentioned": {"id": self.bot["id"]}, "text": at}]
        return await self._post(f"/_conversation/v1/conversations/{channel_id}/messages", body)

    async def submit(self, conversation_id: str, card_message_id: str, value: dict) -> None:
        await self._post("/_conversation/v1/submit", {"conversation": {"id": conversation_id}, "from": {"id": self.me},
                                                      "replyToId": card_message_id, "value": value})

    async def invoke(self, name: str, conversation_id: str, value: dict, reply_to: str | None = None):
        """An invoke as the web UI sends it; the HTTP answer is what the Playground made of the bot's response."""
        body = {"name": name, "value": value, "from": {"id": self.me}, "conversation": {"id": conversation_id}}
        if reply_to:
            body["replyToId"] = reply_to
        return await self._post("/_conversation/v1/invoke", body)

    async def feedback(self, conversation_id: str, reaction: str, text: str = ""):
        """The 👍 / 👎 under a message with Teams' feedback loop, and the form's text (``message/submitAction``;
        the Playground sends no ``replyToId`` with it)."""
        return await self.invoke("message/submitAction", conversation_id,
                                 {"actionName": "feedback", "actionValue": {"reaction": reaction, "feedback": text}})

    async def compose_search(self, conversation_id: str, text: str):
        """What the message-extension search dialog sends when the user types (no command id or parameter
        name unless they were entered in the dialog)."""
        return await self.invoke("composeExtension/query", conversation_id, {
            "parameters": [{"value": text}], "queryOptions": {"skip": 0, "count": 25}})

    async def query_link(self, conversation_id: str, url: str):
        """The link-unfurling dialog: ``composeExtension/queryLink`` with the pasted URL."""
        return await self.invoke("composeExtension/queryLink", conversation_id, {"url": url})

    # ------------------------------------------------------------------ what the bot sent
    def bot_messages(self, since: int = 0) -> list[dict]:
        return [e for e in self.events[since:] if e.get("action") == "createMessage"
                and e["message"].get("from", {}).get("id") == self.bot["id"]]

    async def wait_for_bot(self, since: int, count: int = 1, timeout: float = 20.0, card: bool = False) -> list[dict]:
        """The bot's messages received after event ``since``: at least ``count`` (cards only if ``card``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.bot_messages(since) if not card or e["message"].get("attachments")]
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waited {timeout}s for {count} bot message(s); got {len(found)}: "
                                   f"{json.dumps(self.events[since:])[:800]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass
