"""Teams scenarios against the real aiohttp app and a stub Bot Connector on loopback.

Index: the bundled knowledge/ (no ../shared needed). Feedback: a real SQLite file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app import create_app
from bot.decision.decide import decide
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings
from conftest import wait_for
from tests.support.teams import (
    CHANNEL,
    TEAM,
    actions_of,
    all_text,
    bot_added_to_team,
    card_of,
    channel_message,
    execute_invoke,
    group_message,
    personal_message,
    serve,
    submit_action,
)

SITE = "https://ctopendata.github.io/open-data-handbook"


@pytest.fixture
def settings(tmp_path, bundled_index):
    return Settings(index_dir=bundled_index[0], feedback_db=tmp_path / "feedback.sqlite3",
                    retry_base_seconds=0.01, retry_max_seconds=0.05)


async def start(aiohttp_client, settings, bundled_index):
    holder = IndexHolder(settings.index_dir, bundled_index[1])
    app = create_app(settings, holder=holder, store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    return await serve(aiohttp_client, app)


@pytest.fixture
async def bot(aiohttp_client, settings, bundled_index):
    return await start(aiohttp_client, settings, bundled_index)


async def test_channel_mention_gets_threaded_answer_card_with_deep_link(bot, connector, bundled_index):
    question = "who is the data steward at my agency?"
    activity = channel_message(connector.url, question)
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 200

    expected = decide(question, bundled_index[1])
    assert expected.best.section.url == f"{SITE}/#open-data-roles"
    [reply] = connector.messages
    assert reply.conversation_id == activity["conversation"]["id"] and ";messageid=" in reply.conversation_id
    assert reply.reply_to_id == activity["id"]
    assert reply.activity["replyToId"] == activity["id"]
    card = card_of(reply)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    [open_url, *_] = actions_of(card, "Action.OpenUrl")
    assert (open_url["title"], open_url["url"]) == ("Open in handbook", f"{SITE}/#open-data-roles")
    assert reply.activity["channelData"] == {"feedbackLoop": {"type": "default"}}   # Teams' own 👍 / 👎
    assert not [a for a in actions_of(card, "Action.Submit") if a["data"].get("action") == "vote"]
    assert "Open data roles" in all_text(card) and "steward" in all_text(card).lower()
    assert f"{SITE}/#open-data-roles" in reply.activity["summary"]


class GatedIndex:
    """The real index, whose search waits until ``gate`` is set: an answer that takes as long as the test wants."""

    def __init__(self, index) -> None:
        self.index, self.gate = index, threading.Event()

    def search(self, *args, **kwargs):
        assert self.gate.wait(30), "the test never opened the gate"
        return self.index.search(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.index, name)


async def test_typing_indicator_while_a_slow_answer_is_worked_on(aiohttp_client, connector, settings, bundled_index):
    slow = GatedIndex(bundled_index[1])
    app = create_app(settings.with_(typing_delay_seconds=0.01), holder=IndexHolder(settings.index_dir, slow),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    bot = await serve(aiohttp_client, app)
    activity = personal_message(connector.url, "who is the data steward?")
    post = asyncio.create_task(bot.post("/api/messages", json=activity))
    try:
        for _ in range(1000):   # the answer is blocked until the gate opens: typing must come first
            if connector.typing:
                break
            await asyncio.sleep(0.01)
        assert connector.typing and not connector.messages, "typing indicator while the answer is not ready"
    finally:
        slow.gate.set()
    assert (await post).status == 200
    [typing] = connector.typing
    [answer] = connector.messages
    assert connector.sent.index(typing) < connector.sent.index(answer)
    assert typing.reply_to_id == activity["id"] and typing.conversation_id == activity["conversation"]["id"]
    assert actions_of(card_of(answer), "Action.OpenUrl")[0]["title"] == "Open in handbook"


async def test_fast_answer_needs_no_typing_indicator(aiohttp_client, connector, settings, bundled_index):
    bot = await start(aiohttp_client, settings.with_(typing_delay_seconds=60), bundled_index)
    await bot.post("/api/messages", json=personal_message(connector.url, "what is open data?"))
    assert [s.activity["type"] for s in connector.sent] == ["message"]


async def test_channel_message_without_mention_is_ignored(bot, connector):
    response = await bot.post("/api/messages", json=channel_message(connector.url, "what is open data?", mention=False))
    assert response.status == 200 and connector.sent == []


async def test_mention_only_and_help_get_help_card(bot, connector):
    await bot.post("/api/messages", json=channel_message(connector.url, ""))
    await bot.post("/api/messages", json=personal_message(connector.url, "help"))
    assert len(connector.messages) == 2
    for sent in connector.messages:
        assert "Ask me a question" in all_text(card_of(sent))


async def test_greeting_and_thanks_answered_briefly_without_search(bot, connector):
    await bot.post("/api/messages", json=personal_message(connector.url, "hi there"))
    await bot.post("/api/messages", json=personal_message(connector.url, "thanks!"))
    texts = [s.activity["text"] for s in connector.messages]
    assert texts[0].startswith("Hello") and texts[1].startswith("You're welcome")
    assert not any(s.activity.get("attachments") for s in connector.messages)


async def test_own_messages_are_ignored(bot, connector):
    activity = personal_message(connector.url, "what is open data?")
    activity["from"] = dict(activity["recipient"])
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 200 and connector.sent == []


async def test_group_chat_answered(bot, connector):
    await bot.post("/api/messages", json=group_message(connector.url, "who is the data steward?"))
    [reply] = connector.messages
    assert reply.conversation_id == "19:group@thread.v2"
    assert actions_of(card_of(reply), "Action.OpenUrl")[0]["url"].startswith(SITE)
    assert reply.activity["channelData"] == {"feedbackLoop": {"type": "default"}}   # Teams' 👍 / 👎 here too


async def test_welcome_when_bot_is_added(bot, connector):
    response = await bot.post("/api/messages", json=bot_added_to_team(connector.url))
    assert response.status == 200
    [welcome] = connector.messages
    card = card_of(welcome)
    examples = [a for a in actions_of(card, "Action.Submit") if a["data"]["action"] == "ask"]
    assert len(examples) == 3 and "CT Open Data Handbook" in all_text(card)


async def test_out_of_scope_escalates_with_prefilled_mailto(bot, connector):
    question = "which team won the hockey match on Sunday & was it close?"
    await bot.post("/api/messages", json=channel_message(connector.url, question))
    [reply] = connector.messages
    card = card_of(reply)
    assert "doesn't cover" in all_text(card)
    [email] = [a for a in actions_of(card, "Action.OpenUrl") if a["title"] == "Email DAPA"]
    parts = urlsplit(email["url"])
    assert parts.scheme == "mailto" and parts.path == "dapa@ct.gov"
    fields = parse_qs(parts.query)
    assert question in fields["body"][0] and question[:40] in fields["subject"][0]
    assert TEAM["name"] in fields["body"][0] and CHANNEL["name"] in fields["body"][0]
    assert " " not in email["url"] and "\n" not in email["url"]


async def test_talk_to_a_person_hands_off_directly(bot, connector):
    await bot.post("/api/messages", json=personal_message(connector.url, "can I talk to a real person please"))
    [reply] = connector.messages
    card = card_of(reply)
    assert "DAPA" in all_text(card)
    assert any(a["url"].startswith("mailto:dapa@ct.gov?") for a in actions_of(card, "Action.OpenUrl"))


def last_turn(db_path) -> str:
    """Id of the newest stored turn (the recorder writes off the reply path: wait for it)."""
    def newest():
        with closing(sqlite3.connect(db_path)) as db:
            row = db.execute("SELECT id FROM handbook_turns ORDER BY asked_at DESC LIMIT 1").fetchone()
        return row and row[0]
    return wait_for(newest, 10, "the turn to be stored")


def legacy_vote(turn_id: str, vote: str, question: str) -> dict:
    """The data of the 👍 / 👎 Action.Submit buttons on answers posted before the built-in feedback loop."""
    return {"data": {"action": "vote", "vote": vote, "turn": turn_id, "q": question}}


async def test_old_card_votes_are_stored_and_survive_restart(aiohttp_client, connector, settings, bundled_index):
    first = await start(aiohttp_client, settings, bundled_index)
    await first.post("/api/messages", json=personal_message(connector.url, "who is the data steward?"))
    [answer] = connector.messages
    turn_id = last_turn(settings.feedback_db)
    down = legacy_vote(turn_id, "down", "who is the data steward?")
    response = await first.post("/api/messages", json=submit_action(connector.url, down["data"]))
    assert response.status == 200
    offer = card_of(connector.messages[-1])
    assert "Sorry that didn't help" in all_text(card_of(connector.messages[-1]))
    assert any(a["url"].startswith("mailto:dapa@ct.gov?") for a in actions_of(offer, "Action.OpenUrl"))
    await first.close()

    second = await start(aiohttp_client, settings, bundled_index)   # same DB file, new app
    turn = SQLiteFeedbackStore(settings.feedback_db).turn(down["data"]["turn"])
    assert turn["question"] == "who is the data steward?" and turn["top_url"] == f"{SITE}/#open-data-roles"
    assert list(turn["votes"].values()) == ["down"] and "29:user-pat" not in str(turn)
    [row] = SQLiteFeedbackStore(settings.feedback_db).report()
    assert (row.question, row.down_votes) == ("who is the data steward?", 1)

    up = dict(down["data"], vote="up")
    response = await second.post("/api/messages", json=execute_invoke(connector.url, up))
    assert response.status == 200 and (await response.json())["statusCode"] == 200
    assert list(SQLiteFeedbackStore(settings.feedback_db).turn(up["turn"])["votes"].values()) == ["up"]


async def test_example_question_button_is_answered(bot, connector):
    ask = {"action": "ask", "q": "who is the data steward?"}
    await bot.post("/api/messages", json=submit_action(connector.url, ask))
    [reply] = connector.messages
    assert actions_of(card_of(reply), "Action.OpenUrl")[0]["title"] == "Open in handbook"


async def test_connector_429_and_503_are_retried(bot, connector, caplog):
    connector.failures = [(429, {"Retry-After": "0"}), (503, {})]
    response = await bot.post("/api/messages", json=personal_message(connector.url, "what is open data?"))
    assert response.status == 200
    assert len(connector.messages) == 1
    assert "retry 1/4" in caplog.text and "status 429" in caplog.text and "status 503" in caplog.text


async def test_connector_down_for_good_does_not_kill_the_app(bot, connector):
    connector.failures = [(500, {})] * 40
    response = await bot.post("/api/messages", json=personal_message(connector.url, "what is open data?"))
    assert response.status == 200
    assert (await bot.get("/healthz")).status == 200


async def test_healthz_503_until_index_loaded(aiohttp_client, settings, tmp_path):
    holder = IndexHolder(tmp_path / "no-index-here")
    app = create_app(settings.with_(index_dir=tmp_path / "no-index-here"), holder=holder,
                     store=SQLiteFeedbackStore(settings.feedback_db), build_if_missing=False, watch=False)
    client = await serve(aiohttp_client, app)
    response = await client.get("/healthz")
    assert response.status == 503 and (await response.json())["status"] in ("loading", "unavailable")


async def test_healthz_reports_index(bot, bundled_index):
    body = await (await bot.get("/healthz")).json()
    meta = bundled_index[1].meta
    assert body["status"] == "ok" and body["sections"] == meta["sections"] and body["built_at"] == meta["built_at"]
