"""Teams-native features against the real aiohttp app and the stub Bot Connector on loopback.

Built-in feedback (``message/submitAction``), "None of these", the compose-box search
(``composeExtension/query``), link unfurling (``composeExtension/queryLink``), and the hand-off that
reaches a person: the configured tag / people @mentioned in the channel thread, the triage card posted
into DAPA's conversation, "Mark resolved". Index: the bundled knowledge/. Feedback: a real SQLite file.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app import create_app
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.feedback.store import hash_key, hash_user
from bot.index_holder import IndexHolder
from bot.settings import Mention, Settings, parse_mentions
from conftest import wait_for
from tests.support.teams import (
    BOT_ID,
    CHANNEL,
    TEAM,
    actions_of,
    all_text,
    card_of,
    channel_message,
    personal_message,
    serve,
    submit_action,
)

SITE = "https://ctopendata.github.io/open-data-handbook"
ROLES = f"{SITE}/#open-data-roles"
TRIAGE = "19:dapa-triage@thread.tacv2"
TAG = Mention("tag", "MjQzMmI1N2ItMGFiZC00M2RiLWFhN2ItMTZlYWRjNDFmYjEx", "DAPA team")
PERSON = Mention("user", "aad-dapa-lead", "Dana Lead")


@pytest.fixture
def settings(tmp_path, bundled_index):
    return Settings(index_dir=bundled_index[0], feedback_db=tmp_path / "feedback.sqlite3",
                    retry_base_seconds=0.01, retry_max_seconds=0.05)


async def start(aiohttp_client, settings, bundled_index):
    holder = IndexHolder(settings.index_dir, bundled_index[1])
    app = create_app(settings, holder=holder, store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    return await serve(aiohttp_client, app)


def rows(db_path, sql: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as db:
        return db.execute(sql, args).fetchall()


def stored(db_path, sql: str, *args, what: str = "the row") -> list[tuple]:
    return wait_for(lambda: rows(db_path, sql, *args), 10, what)


def invoke(service_url: str, name: str, value: dict, **extra) -> dict:
    return personal_message(service_url, None, type="invoke", name=name, value=value, **extra)


def feedback(reaction: str, text: str | None = None, reply_to: str | None = None, playground: bool = False) -> dict:
    value = {"actionName": "feedback", "actionValue": {"reaction": reaction}}
    if text is not None:
        value["actionValue"]["feedback"] = text if playground else json.dumps({"feedbackText": text})
    return {"value": value, **({"replyToId": reply_to} if reply_to else {})}


# ------------------------------------------------------------------------------------------ built-in feedback
async def test_native_feedback_stored_against_the_answer_with_its_text(aiohttp_client, connector, settings,
                                                                       bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    await bot.post("/api/messages", json=personal_message(connector.url, "who is the data steward?"))
    [answer] = connector.messages
    assert answer.activity["channelData"] == {"feedbackLoop": {"type": "default"}}
    assert "feedbackLoopEnabled" not in json.dumps(answer.activity)   # never both
    message_id = "bot-reply-1"   # what the stub connector answered the send with
    [(turn_id,)] = stored(settings.feedback_db, "SELECT turn_id FROM handbook_sent_messages")

    response = await bot.post("/api/messages", json=invoke(
        connector.url, "message/submitAction", **feedback("like", "Exactly what I needed", reply_to=message_id)))
    assert response.status == 200 and await response.json() == {}
    turn = SQLiteFeedbackStore(settings.feedback_db).turn(turn_id)
    assert turn["question"] == "who is the data steward?" and turn["top_url"] == ROLES
    assert list(turn["votes"].values()) == ["up"]
    assert list(turn["reasons"].values()) == ["Exactly what I needed"]
    assert len(connector.messages) == 1   # 👍 posts nothing into the conversation
    dump = json.dumps(rows(settings.feedback_db, "SELECT * FROM handbook_sent_messages") + rows(
        settings.feedback_db, "SELECT * FROM handbook_votes"))
    assert message_id not in dump and "a:personal-chat-id" not in dump and "29:user-pat" not in dump


async def test_native_thumbs_down_offers_the_hand_off_and_report_shows_the_reason(aiohttp_client, connector,
                                                                                   settings, bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    await bot.post("/api/messages", json=channel_message(connector.url, "who is the data steward?"))
    [answer] = connector.messages
    stored(settings.feedback_db, "SELECT turn_id FROM handbook_sent_messages")
    down = channel_message(connector.url, "", mention=False)
    down.update(type="invoke", name="message/submitAction", text=None,
                **feedback("dislike", "It's about stewards at DAS, not my agency", reply_to="bot-reply-1"))
    response = await bot.post("/api/messages", json=down)
    assert response.status == 200 and await response.json() == {}
    offer = connector.messages[-1]
    assert offer.conversation_id == answer.conversation_id        # in the same thread
    card = card_of(offer)
    assert "Sorry that didn't help" in all_text(card)
    [email] = [a for a in actions_of(card, "Action.OpenUrl") if a["title"] == "Email DAPA"]
    assert "who is the data steward?" in parse_qs(urlsplit(email["url"]).query)["body"][0]
    [row] = SQLiteFeedbackStore(settings.feedback_db).report()
    assert row.question == "who is the data steward?" and row.down_votes == 1
    assert row.reasons == ("It's about stewards at DAS, not my agency",)


async def test_playground_feedback_without_reply_to_id_goes_to_the_latest_answer(aiohttp_client, connector,
                                                                                 settings, bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    for question in ("how can I make a data story?", "who is the data steward?"):
        await bot.post("/api/messages", json=personal_message(connector.url, question))
    stored(settings.feedback_db, "SELECT 1 FROM handbook_sent_messages", what="two sent answers")
    wait_for(lambda: len(rows(settings.feedback_db, "SELECT 1 FROM handbook_sent_messages")) == 2, 10, "both answers")
    response = await bot.post("/api/messages", json=invoke(
        connector.url, "message/submitAction", **feedback("like", "great", playground=True)))
    assert response.status == 200
    [(question, vote, reason)] = rows(settings.feedback_db, "SELECT t.question, v.vote, v.reason FROM handbook_votes v "
                                                            "JOIN handbook_turns t ON t.id = v.turn_id")
    assert (question, vote, reason) == ("who is the data steward?", "up", "great")


def test_a_vote_that_arrives_before_the_sent_id_is_kept_and_attached(tmp_path):
    store = SQLiteFeedbackStore(tmp_path / "f.sqlite3")
    from bot.feedback.store import TurnRecord
    record = TurnRecord("what is open data?", "answer", f"{SITE}/#what-is-open-data", "u1", "personal")
    store.record_turn(record)
    assert store.record_feedback("msg-key", "conv-key", "down", "voter", "too vague") is None   # not known yet
    assert store.turn(record.turn_id)["votes"] == {}
    store.record_message("msg-key", "conv-key", record.turn_id)   # the send returned its id later
    turn = store.turn(record.turn_id)
    assert turn["votes"] == {"voter": "down"} and turn["reasons"] == {"voter": "too vague"}
    assert rows(tmp_path / "f.sqlite3", "SELECT * FROM handbook_pending_votes") == []


@pytest.mark.parametrize("value, status", [
    ({"actionName": "feedback", "actionValue": {"reaction": "meh"}}, 400),
    ({"actionName": "feedback"}, 400),
    ({"actionName": "somethingElse", "actionValue": {}}, 200),
    ("not a dict", 200),
])
async def test_malformed_feedback_gets_a_clear_answer(aiohttp_client, connector, settings, bundled_index, value,
                                                      status):
    bot = await start(aiohttp_client, settings, bundled_index)
    response = await bot.post("/api/messages", json=invoke(connector.url, "message/submitAction", value))
    assert response.status == status
    assert connector.sent == []


# ------------------------------------------------------------------------------------------ None of these
@pytest.mark.parametrize("question, heading", [
    ("which of our data should go public", "Closest handbook sections"),   # the unsure tier
    ("who is the data steward?", "Also see"),                      # an answer with other sections
])
async def test_none_of_these_hands_the_question_to_dapa(aiohttp_client, connector, settings, bundled_index,
                                                        question, heading):
    bot = await start(aiohttp_client, settings, bundled_index)
    await bot.post("/api/messages", json=personal_message(connector.url, question))
    card = card_of(connector.messages[-1])
    [none] = [a for s in card["body"] if s["type"] == "ActionSet" for a in s["actions"]]
    assert none["title"] == "None of these" and none["data"]["q"] == question
    texts = [b.get("text") for b in card["body"]]
    assert texts.index(heading) < [b["type"] for b in card["body"]].index("ActionSet")   # under the sections
    await bot.post("/api/messages", json=submit_action(connector.url, none["data"]))
    handoff = card_of(connector.messages[-1])
    assert "DAPA" in all_text(handoff)
    assert any(a["url"].startswith("mailto:dapa@ct.gov?") for a in actions_of(handoff, "Action.OpenUrl"))
    [(vote, reason)] = stored(settings.feedback_db, "SELECT vote, reason FROM handbook_votes")
    assert (vote, reason) == ("down", "none of these")
    [(h_reason,)] = stored(settings.feedback_db, "SELECT reason FROM handbook_handoffs")
    assert h_reason == "none of these"


# ------------------------------------------------------------------------------------------ compose-box search
async def test_compose_search_returns_the_right_section(aiohttp_client, connector, settings, bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    value = {"commandId": "searchHandbook", "parameters": [{"name": "searchQuery", "value": "data steward"}],
             "queryOptions": {"skip": 0, "count": 25}}
    response = await bot.post("/api/messages", json=invoke(connector.url, "composeExtension/query", value))
    assert response.status == 200
    result = (await response.json())["composeExtension"]
    assert result["type"] == "result" and result["attachmentLayout"] == "list"
    first = result["attachments"][0]
    assert first["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert first["content"]["actions"][0] == {"type": "Action.OpenUrl", "title": "Open in handbook", "url": ROLES}
    assert first["content"]["version"] == "1.3"
    assert first["preview"]["content"]["title"] == "Open data roles"
    assert len({a["content"]["actions"][0]["url"] for a in result["attachments"]}) == len(result["attachments"])
    assert connector.sent == []   # nothing is posted: the user inserts the card


async def test_compose_search_initial_run_and_playground_shape(aiohttp_client, connector, settings, bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    initial = {"commandId": "searchHandbook", "parameters": [{"name": "initialRun", "value": "true"}]}
    body = await (await bot.post("/api/messages", json=invoke(connector.url, "composeExtension/query",
                                                              initial))).json()
    assert body["composeExtension"]["attachments"], "sections to pick from before typing"
    playground = {"parameters": [{"value": "who is the data steward"}], "queryOptions": {"skip": 0, "count": 25}}
    body = await (await bot.post("/api/messages", json=invoke(connector.url, "composeExtension/query",
                                                              playground))).json()
    assert body["composeExtension"]["attachments"][0]["content"]["actions"][0]["url"] == ROLES


# ------------------------------------------------------------------------------------------ link unfurling
@pytest.mark.parametrize("url, heading, note", [
    (ROLES, "Open data roles", False),
    (f"{SITE}/#no-such-anchor", "Introduction", True),
    (f"{SITE}/", "Introduction", False),
    (SITE.replace("ctopendata", "CTOpenData"), "Introduction", False),
])
async def test_handbook_links_unfurl_into_their_section(aiohttp_client, connector, settings, bundled_index, url,
                                                        heading, note):
    bot = await start(aiohttp_client, settings, bundled_index)
    response = await bot.post("/api/messages", json=invoke(connector.url, "composeExtension/queryLink", {"url": url}))
    assert response.status == 200
    [attachment] = (await response.json())["composeExtension"]["attachments"]
    card = attachment["content"]
    assert card["version"] == "1.3" and card["body"][1]["text"] == heading
    assert ("was not found" in all_text(card)) is note
    assert card["actions"][0]["url"].startswith(SITE)


async def test_other_links_are_not_unfurled(aiohttp_client, connector, settings, bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    response = await bot.post("/api/messages", json=invoke(connector.url, "composeExtension/queryLink",
                                                           {"url": "https://data.ct.gov/browse"}))
    assert response.status == 200 and (await response.json())["composeExtension"]["attachments"] == []
    response = await bot.post("/api/messages", json=invoke(connector.url, "composeExtension/queryLink", {}))
    assert response.status == 400


# ------------------------------------------------------------------------------------------ hand-off to a person
OUT_OF_SCOPE = "which team won the hockey match on Sunday?"


async def test_channel_hand_off_mentions_the_tag_and_people_in_the_thread(aiohttp_client, connector, settings,
                                                                          bundled_index):
    bot = await start(aiohttp_client, settings.with_(handoff_mentions=(TAG, PERSON)), bundled_index)
    asked = channel_message(connector.url, OUT_OF_SCOPE, thread_root="1711111111111")
    await bot.post("/api/messages", json=asked)
    [reply] = connector.messages
    assert reply.conversation_id == f"{CHANNEL['id']};messageid=1711111111111"   # the asker's thread
    card = card_of(reply)
    assert "<at>DAPA team</at> <at>Dana Lead</at>" in all_text(card)
    assert card["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>DAPA team</at>",
         "mentioned": {"id": TAG.id, "name": "DAPA team", "type": "tag"}},
        {"type": "mention", "text": "<at>Dana Lead</at>", "mentioned": {"id": PERSON.id, "name": "Dana Lead"}},
    ]
    assert any(a["url"].startswith("mailto:dapa@ct.gov?") for a in actions_of(card, "Action.OpenUrl"))


async def test_hand_off_is_posted_to_triage_and_marked_resolved(aiohttp_client, connector, settings, bundled_index):
    bot = await start(aiohttp_client, settings.with_(triage_conversation_id=TRIAGE), bundled_index)
    asked = channel_message(connector.url, OUT_OF_SCOPE, thread_root="1712222222222")
    await bot.post("/api/messages", json=asked)
    [reply, triage] = connector.messages
    assert reply.conversation_id.endswith(";messageid=1712222222222")
    assert triage.conversation_id == TRIAGE and triage.reply_to_id is None   # a new post, not a reply
    assert triage.activity["from"]["id"] == BOT_ID
    card = card_of(triage)
    assert OUT_OF_SCOPE in all_text(card) and TEAM["name"] in all_text(card) and CHANNEL["name"] in all_text(card)
    [thread] = [a["url"] for a in actions_of(card, "Action.OpenUrl") if a["title"] == "Open the thread"]
    link = urlsplit(thread)
    assert link.netloc == "teams.microsoft.com"
    assert link.path == f"/l/message/{CHANNEL['id']}/1712222222222"
    assert parse_qs(link.query)["parentMessageId"] == ["1712222222222"]
    assert parse_qs(link.query)["tenantId"] == ["tenant-guid"]
    [resolve] = actions_of(card, "Action.Execute")
    assert resolve["title"] == "Mark resolved" and resolve["verb"] == "resolve"
    [(handoff_id, reason, resolved_at)] = stored(settings.feedback_db,
                                                 "SELECT id, reason, resolved_at FROM handbook_handoffs")
    assert resolve["data"]["handoff"] == handoff_id and reason == "outside handbook" and resolved_at is None

    click = channel_message(connector.url, "", mention=False)
    click["conversation"]["id"] = TRIAGE
    click["from"] = {"id": "29:dapa-member", "name": "Dana Lead", "aadObjectId": "aad-dana"}
    click.update(type="invoke", name="adaptiveCard/action", text=None, replyToId="bot-reply-2",
                 value={"action": {"type": "Action.Execute", "verb": "resolve", "data": resolve["data"]},
                        "trigger": "manual"})
    response = await bot.post("/api/messages", json=click)
    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    updated = body["value"]
    assert "Resolved by Dana Lead" in all_text(updated) and not actions_of(updated, "Action.Execute")
    assert OUT_OF_SCOPE in all_text(updated)
    [(resolved_by, resolved_at)] = rows(settings.feedback_db, "SELECT resolved_by, resolved_at FROM handbook_handoffs")
    assert resolved_by == hash_user("aad-dana", settings.user_hash_salt) and resolved_at
    assert "Dana" not in json.dumps(rows(settings.feedback_db, "SELECT * FROM handbook_handoffs"))


async def test_personal_hand_off_keeps_the_email_and_reaches_triage_without_a_link(aiohttp_client, connector,
                                                                                   settings, bundled_index):
    bot = await start(aiohttp_client, settings.with_(triage_conversation_id=TRIAGE, handoff_mentions=(TAG,)),
                      bundled_index)
    await bot.post("/api/messages", json=personal_message(connector.url, "can I talk to a person please"))
    [reply, triage] = connector.messages
    card = card_of(reply)
    assert "msteams" not in card or "entities" not in card["msteams"]     # no mention outside a channel
    assert any(a["url"].startswith("mailto:dapa@ct.gov?") for a in actions_of(card, "Action.OpenUrl"))
    assert triage.conversation_id == TRIAGE
    assert not [a for a in actions_of(card_of(triage), "Action.OpenUrl") if a["title"] == "Open the thread"]
    assert "personal chat" in all_text(card_of(triage))


async def test_nothing_configured_means_no_mention_and_no_triage_post(aiohttp_client, connector, settings,
                                                                      bundled_index):
    bot = await start(aiohttp_client, settings, bundled_index)
    await bot.post("/api/messages", json=channel_message(connector.url, OUT_OF_SCOPE))
    [reply] = connector.messages
    assert "entities" not in card_of(reply).get("msteams", {})
    assert "<at>" not in all_text(card_of(reply))


async def test_triage_failure_never_costs_the_asker_their_reply(aiohttp_client, connector, settings, bundled_index):
    bot = await start(aiohttp_client, settings.with_(triage_conversation_id=TRIAGE,
                                                     triage_service_url="http://127.0.0.1:9/"), bundled_index)
    response = await bot.post("/api/messages", json=channel_message(connector.url, OUT_OF_SCOPE))
    assert response.status == 200
    [reply] = connector.messages
    assert "Email DAPA" in json.dumps(card_of(reply))


def test_handoff_mentions_setting():
    assert parse_mentions("tag:abc=DAPA team; user:aad-1=Dana Lead ;") == (
        Mention("tag", "abc", "DAPA team"), Mention("user", "aad-1", "Dana Lead"))
    assert parse_mentions("") == ()
    for bad in ("abc=DAPA", "group:1=x", "tag:=x", "tag:1=", "tag:1=<b>x</b>"):
        with pytest.raises(ValueError, match="HANDOFF_MENTIONS"):
            parse_mentions(bad)
    env = {"HANDOFF_MENTIONS": "tag:t1=DAPA", "TRIAGE_CONVERSATION_ID": TRIAGE, "TRIAGE_SERVICE_URL": "https://x/"}
    s = Settings.from_env(env)
    assert (s.handoff_mentions, s.triage_conversation_id, s.triage_service_url) == (
        (Mention("tag", "t1", "DAPA"),), TRIAGE, "https://x/")


def test_hashed_keys_differ_from_user_hashes():
    assert hash_key("x", "salt") != hash_user("x", "salt") and hash_key(None, "salt") is None


async def test_personal_install_sends_no_welcome_card(aiohttp_client, connector, settings, bundled_index):
    """Personal chat shows the manifest's prompt starters; Microsoft: a prompt starter or a welcome, not both."""
    bot = await start(aiohttp_client, settings, bundled_index)
    added = personal_message(connector.url, None, type="conversationUpdate", membersAdded=[{"id": BOT_ID}])
    assert (await bot.post("/api/messages", json=added)).status == 200
    assert connector.sent == []


def test_bot_report_shows_what_voters_wrote(tmp_path, capsys, monkeypatch):
    from bot.cli import main
    from bot.feedback.store import TurnRecord

    db = tmp_path / "f.sqlite3"
    store = SQLiteFeedbackStore(db)
    record = TurnRecord("how do I retire a map?", "answer", f"{SITE}/#x", "u1", "channel")
    store.record_turn(record)
    store.record_message("m1", "c1", record.turn_id)
    store.record_feedback("m1", "c1", "down", "voter", "This is about tables,\nnot maps")
    store.close()
    monkeypatch.setenv("FEEDBACK_DB", str(db))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "how do i retire a map?" in out and "“This is about tables, not maps”" in out
