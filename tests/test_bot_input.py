"""Bad input: malformed requests get 4xx (never 500); hostile user text never becomes markup or links."""

from __future__ import annotations

import json
import re

import pytest

from bot.app import create_app
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings
from tests.support.teams import card_of, channel_message, personal_message, serve


@pytest.fixture
async def bot(aiohttp_client, tmp_path, bundled_index):
    settings = Settings(index_dir=bundled_index[0], feedback_db=tmp_path / "fb.sqlite3")
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    return await serve(aiohttp_client, app)


async def test_non_json_body_is_400(bot):
    response = await bot.post("/api/messages", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400


async def test_json_that_is_not_an_object_is_400(bot):
    response = await bot.post("/api/messages", json=["a", "list"])
    assert response.status == 400


async def test_wrong_content_type_is_415(bot, connector):
    body = json.dumps(personal_message(connector.url, "hi"))
    response = await bot.post("/api/messages", data=body, headers={"Content-Type": "text/plain"})
    assert response.status == 415


async def test_body_over_256kb_is_413(bot, connector):
    activity = personal_message(connector.url, "x" * (300 * 1024))
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 413 and connector.sent == []


@pytest.mark.parametrize("field", ["type", "serviceUrl", "conversation"])
async def test_activity_missing_required_fields_is_400(bot, connector, field):
    activity = personal_message(connector.url, "what is open data?")
    del activity[field]
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 400 and connector.sent == []


async def test_bad_service_url_is_400(bot):
    response = await bot.post("/api/messages", json=personal_message("file:///etc/passwd", "hi"))
    assert response.status == 400


async def test_unknown_activity_type_is_acknowledged_and_ignored(bot, connector):
    activity = personal_message(connector.url, None, type="somethingNew")
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 200 and connector.sent == []


async def test_malformed_mention_entity_does_not_break_the_turn(bot, connector):
    activity = channel_message(connector.url, "what is open data?")
    activity["entities"].append({"type": "mention", "text": "<at>x</at>"})   # no "mentioned"
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 200 and len(connector.messages) == 1


HOSTILE = [
    "[x](javascript:alert(1)) how do I publish?",
    "<at>Someone Else</at> <script>alert(1)</script> open data?",
    "${user.password} {{template}} $root.data what is open data",
    "قاعدة البيانات المفتوحة؟ open data ‮gnp.exe",
    "🙂🚀 open data 🚀 " * 3,
    "open data " * 1000,   # 10 000 characters
]


@pytest.mark.parametrize("text", HOSTILE, ids=["md-link", "html", "template", "rtl", "emoji", "10k"])
async def test_hostile_text_never_becomes_markup(bot, connector, text):
    response = await bot.post("/api/messages", json=personal_message(connector.url, text))
    assert response.status == 200
    [reply] = connector.messages
    card = card_of(reply)
    # Everything a client renders as Markdown / HTML: message text, summary, TextBlocks, fallback.
    rendered = [reply.activity.get("text") or "", reply.activity.get("summary") or "", card["fallbackText"]]
    rendered += [b["text"] for b in _blocks(card, "TextBlock")]
    for text_ in rendered:
        assert "javascript:" not in text_ and "<script" not in text_ and "<at>" not in text_ and "${" not in text_
        # the only Markdown links are the handbook's own: https pages and plain mailto addresses
        assert not re.search(r"\]\((?!https://|mailto:[\w.+-]+@[\w.-]+\))", text_), text_
    # User text appears verbatim only in TextRuns (never parsed as Markdown), truncated.
    assert all(len(r["text"]) <= 500 for r in _blocks(card, "TextRun"))
    urls = [a["url"] for a in card["actions"] if a["type"] == "Action.OpenUrl"]
    assert all(u.startswith(("https://", "mailto:dapa@ct.gov?")) for u in urls)
    assert not any(c in u for u in urls for c in " <>\"{}")


async def test_long_question_is_truncated(bot, connector):
    await bot.post("/api/messages", json=personal_message(connector.url, "which team won the match " * 800))
    [reply] = connector.messages
    runs = [r["text"] for r in _blocks(card_of(reply), "TextRun")]
    assert runs and max(len(t) for t in runs) <= 500
    assert len(reply.activity["attachments"][0]["content"]["actions"][0]["url"]) < 4000


def _blocks(node, kind):
    out = []
    if isinstance(node, dict):
        if node.get("type") == kind:
            out.append(node)
        for value in node.values():
            out += _blocks(value, kind)
    elif isinstance(node, list):
        for value in node:
            out += _blocks(value, kind)
    return out


ODD_POSTS = {
    "25k-post": "Some background on our upload problem. " * 620 + "How do I schedule automatic updates for my dataset?",
    "emoji-only": "🙂🙂🚀",
    "link-only": "https://example.org/resource/abcd-1234",
    "non-english": "如何在门户网站上发布数据集？",
    "stack-trace": 'Traceback (most recent call last):\n  File "sync.py", line 41, in <module>\n'
                   "    client.replace(ds, rows)\nrequests.exceptions.HTTPError: 403 Client Error: Forbidden for url\n",
}


@pytest.mark.parametrize("name", list(ODD_POSTS))
async def test_odd_posts_get_one_clear_reply_and_no_error(bot, connector, caplog, name):
    text = ODD_POSTS[name]
    response = await bot.post("/api/messages", json=personal_message(connector.url, text))
    assert response.status == 200
    [reply] = connector.messages
    shown = reply.activity.get("text") or reply.activity.get("summary") or ""
    assert shown.strip()
    if name in ("emoji-only", "link-only"):
        assert "didn't find a question" in shown
    if name == "non-english":
        assert "only answer questions in English" in shown
    if reply.activity.get("attachments"):
        assert len(json.dumps(card_of(reply))) < 20_000
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info], caplog.text
