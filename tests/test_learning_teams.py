"""Learning from use through DAPA's triage card in Teams (issue 13), end to end with real parts: the aiohttp
app and the real Bot Framework adapter against the stub Bot Connector on loopback, the real store (SQLite;
PostgreSQL with TEST_DATABASE_URL, a database per test), real files, ``python -m bot report`` and a real
``python -m indexer build`` subprocess.

A question handed to DAPA reaches the triage card with its closest sections to pick from and a box to
paste a handbook link; "Mark resolved" with a section records the (question -> section) pair, which
``report --suggest`` then lists; "Add the question as an example" writes it to
``knowledge/examples.approved.toml`` (the CLI's approval path), and an index rebuilt from that knowledge
folder ranks the section for that question. A link that names no indexed section is refused with a
clear card and nothing stored; personal data never reaches the approved file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import create_app
from bot.cli import main
from bot.decision.decide import decide
from bot.decision.kinds import Kind
from bot.feedback import open_store
from bot.feedback.store import hash_user
from bot.index_holder import IndexHolder
from bot.learning.approved import read_approved
from bot.learning.store import open_learning_store
from bot.learning.triage import find_section
from bot.replies import CARD_VERSION, PICK_TITLE, UNSURE_HEADLINE, Replies
from bot.settings import Settings
from bot.triage_cards import APPROVE, LINK_INPUT, REJECT, SECTION_INPUT, Handoff, triage_card
from conftest import REPO, SITE, scratch_postgres, wait_for
from indexer.build import build
from indexer.index import Index
from tests.support.teams import CARD, actions_of, all_text, card_of, personal_message, serve

TRIAGE = "19:dapa-triage@thread.tacv2"
# in the employees' words, not the handbook's: the bot is unsure (roles first); DAPA points to get-in-touch
QUESTION = "which person pulls the data out of our system"
GET_IN_TOUCH = f"{SITE}/#get-in-touch"
DANA = {"id": "29:dapa-member", "name": "Dana Lead", "aadObjectId": "aad-dana"}


def make_knowledge(folder: Path) -> Path:
    """A knowledge folder like the repository's: the bundled pages, the team's examples (in and out of scope), DAPA's
    names list."""
    folder.mkdir(parents=True)
    for name in ("index.md", "faq.md", "examples.toml", "out_of_scope.toml", "synonyms.txt", "personal_names.txt"):
        shutil.copy(REPO / "knowledge" / name, folder / name)
    (folder / "sources.toml").write_text(
        f'[[source]]\nname = "bundled"\npath = "."\nsite = "{SITE}"\ninclude = ["index.md", "faq.md"]\n',
        encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(index dir, Index) built from a copy of knowledge/: what the bot serves before anything is approved."""
    tmp = tmp_path_factory.mktemp("learning-teams")
    knowledge = make_knowledge(tmp / "knowledge")
    result = build(knowledge / "sources.toml", tmp / "index", tmp / "cache")
    assert result.ok, result.problems
    return tmp / "index", result.index


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path, served):
    knowledge = make_knowledge(tmp_path / "knowledge")
    base = Settings(index_dir=served[0], feedback_db=tmp_path / "feedback.sqlite3",
                    sources_file=knowledge / "sources.toml", triage_conversation_id=TRIAGE,
                    retry_base_seconds=0.01, retry_max_seconds=0.05)
    if request.param == "sqlite":
        yield base
        return
    with scratch_postgres() as (url, _, _):
        yield base.with_(database_url=url)


async def start(aiohttp_client, settings, served):
    app = create_app(settings, holder=IndexHolder(settings.index_dir, served[1]), store=open_store(settings),
                     watch=False)
    return await serve(aiohttp_client, app)


async def hand_off(bot, connector, question: str) -> dict:
    """Ask in a personal chat, click "None of these" under the sections shown -> the triage card posted."""
    await bot.post("/api/messages", json=personal_message(connector.url, question))
    card = card_of(connector.messages[-1])
    [none] = [a for s in card["body"] if s["type"] == "ActionSet" for a in s["actions"]
              if a["title"] == "None of these"]
    await bot.post("/api/messages", json=personal_message(connector.url, None, value=none["data"]))
    [triage] = [m for m in connector.messages if m.conversation_id == TRIAGE]
    connector.sent.clear()
    return card_of(triage)


async def click(bot, connector, data: dict, verb: str, conversation: str = TRIAGE) -> tuple[int, dict]:
    """A DAPA member's Action.Execute click in the triage conversation (inputs merged into the data)."""
    activity = personal_message(connector.url, None, type="invoke", name="adaptiveCard/action",
                                value={"action": {"type": "Action.Execute", "verb": verb, "data": data},
                                       "trigger": "manual"})
    activity["conversation"] = {"isGroup": True, "conversationType": "channel", "id": conversation,
                                "tenantId": "tenant-guid"}
    activity["from"] = dict(DANA)
    response = await bot.post("/api/messages", json=activity)
    body = await response.json()
    return response.status, body


def resolve_data(card: dict, **inputs) -> dict:
    [resolve] = [a for a in actions_of(card, "Action.Execute") if a["title"] == "Mark resolved"]
    return {**resolve["data"], **inputs}


def action(card: dict, verb: str) -> dict:
    [found] = [a for a in actions_of(card, "Action.Execute") if a["verb"] == verb]
    return found["data"]


def suggestions(settings, monkeypatch, capsys) -> list[dict]:
    for key, value in {"INDEX_DIR": str(settings.index_dir), "FEEDBACK_DB": str(settings.feedback_db),
                       "SOURCES_FILE": str(settings.sources_file), "DATABASE_URL": settings.database_url}.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert main(["report", "--suggest", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def learning_rows(settings) -> tuple[list, list]:
    store = open_learning_store(settings)
    try:
        return store.evidence(), store.reviews()
    finally:
        store.close()


def top3(index: Index, question: str) -> list[str]:
    return [h.section.url for h in index.search(question, 3).hits]


# ------------------------------------------------------------------------------------------ the card, pure


def test_triage_card_offers_the_closest_sections_and_a_link_box(served):
    closest = (("Introduction › Open data roles", f"{SITE}/#open-data-roles"),
               ("Introduction › Get in touch", GET_IN_TOUCH))
    card = triage_card(Handoff("h1", QUESTION, "none of these", "a Teams personal chat", None, closest))
    [choices] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    assert choices["id"] == SECTION_INPUT and [c["value"] for c in choices["choices"]] == [u for _, u in closest]
    assert [c["title"] for c in choices["choices"]] == [t for t, _ in closest]
    [link] = [b for b in card["body"] if b["type"] == "Input.Text"]
    assert link["id"] == LINK_INPUT
    [resolve] = actions_of(card, "Action.Execute")
    assert resolve["verb"] == "resolve" and resolve["title"] == "Mark resolved"
    assert not [b for b in triage_card(Handoff("h2", QUESTION, "outside handbook", "Teams"))["body"]
                if b["type"] == "Input.ChoiceSet"]                    # nothing close: the link box only
    refused = triage_card(Handoff("h1", QUESTION, "none of these", "Teams", None, closest),
                          problem="That link is not a page of the indexed handbook.", link="/nope")
    assert "Not resolved: That link is not a page" in all_text(refused)
    assert [b for b in refused["body"] if b["type"] == "Input.Text"][0]["value"] == "/nope"


@pytest.mark.parametrize("link", [
    GET_IN_TOUCH, "https://CTOPENDATA.github.io/open-data-handbook/#get-in-touch",
    "/open-data-handbook/#get-in-touch", "/#get-in-touch", "/index.html#get-in-touch",
    " <https://ctopendata.github.io/open-data-handbook/index.html#get-in-touch> ",
])
def test_links_in_the_forms_examples_accept_name_the_section(served, link):
    section, problem = find_section(served[1].sections, link)
    assert problem is None and section.url == GET_IN_TOUCH


def test_a_page_link_is_its_first_section_and_faq_links_work(served):
    sections = served[1].sections
    section, _ = find_section(sections, f"{SITE}/")
    assert section.url == f"{SITE}/#introduction"
    faq = next(s for s in sections if s.kind == "faq")
    assert find_section(sections, faq.url)[0] is faq


@pytest.mark.parametrize("link,why", [
    ("https://example.org/open-data-handbook/#get-in-touch", "not a link to the published handbook"),
    ("http://evil.example/#get-in-touch", "not a link to the published handbook"),
    ("javascript:alert(1)", "not a link to the published handbook"),
    (f"{SITE}/#no-such-section", "has no section #no-such-section"),
    ("/no-such-page/", "not a page of the indexed handbook"),
    ("get in touch", "not a handbook link"),
    ("   ", "Pick one of the closest sections"),
    ("/" + "a" * 3000, "too long"),
])
def test_links_that_name_no_indexed_section_are_refused(served, link, why):
    section, problem = find_section(served[1].sections, link)
    assert section is None and why in problem


# ------------------------------------------------------------------------------------------ end to end


async def test_resolve_with_a_section_suggest_approve_from_the_card_and_rebuild(
        aiohttp_client, connector, settings, served, monkeypatch, capsys, tmp_path):
    assert GET_IN_TOUCH not in top3(served[1], QUESTION)      # what the bot cannot do before it learns
    bot = await start(aiohttp_client, settings, served)
    card = await hand_off(bot, connector, QUESTION)
    [choices] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    assert choices["choices"] and all(c["value"].startswith(SITE) for c in choices["choices"])

    # a link that names no indexed section: a clear card, 200, nothing stored
    for bad in ("https://example.org/#get-in-touch", f"{SITE}/#no-such-section"):
        status, body = await click(bot, connector, resolve_data(card, **{LINK_INPUT: bad}), "resolve")
        assert status == 200 and body["statusCode"] == 200 and body["type"] == CARD
        assert "Not resolved" in all_text(body["value"]) and not actions_of(body["value"], "Action.Execute")[1:]
        assert "Mark resolved" in [a["title"] for a in actions_of(body["value"], "Action.Execute")]
    evidence, _ = learning_rows(settings)
    assert evidence == []
    feedback = open_store(settings)
    try:
        handoff_id = card["actions"][-1]["data"]["handoff"]
        assert feedback.handoff(handoff_id)["resolved_at"] is None
    finally:
        feedback.close()

    # the same click outside the triage conversation teaches nothing
    status, body = await click(bot, connector, resolve_data(card, **{LINK_INPUT: "/#get-in-touch"}), "resolve",
                               conversation="a:someone-else")
    assert status == 200 and "triage conversation only" in all_text(body["value"])
    assert learning_rows(settings)[0] == []

    # resolved with the site path of a section (the choice set holds other sections: the pasted link wins)
    status, body = await click(bot, connector, resolve_data(card, **{LINK_INPUT: "/open-data-handbook/#get-in-touch",
                                                                      SECTION_INPUT: choices["choices"][0]["value"]}),
                               "resolve")
    resolved = body["value"]
    assert status == 200 and "Resolved by Dana Lead" in all_text(resolved)
    assert f"]({GET_IN_TOUCH})" in all_text(resolved)            # which section it was resolved with
    assert {a["verb"] for a in actions_of(resolved, "Action.Execute")} == {APPROVE, REJECT}
    [ev] = wait_for(lambda: learning_rows(settings)[0], 10, "the resolution")
    assert (ev.question, ev.resolved_url) == (QUESTION, GET_IN_TOUCH)

    [found] = suggestions(settings, monkeypatch, capsys)
    assert (found["question"], found["url"], found["sources"]) == (QUESTION, GET_IN_TOUCH, {"resolved": 1})

    approved_file = settings.sources_file.parent / "examples.approved.toml"
    assert not approved_file.exists()                           # nothing enters knowledge/ before approval
    status, body = await click(bot, connector, action(resolved, APPROVE), APPROVE)
    assert status == 200 and "Added as an example for this section by Dana Lead" in all_text(body["value"])
    assert not actions_of(body["value"], "Action.Execute")
    assert read_approved(approved_file) == {GET_IN_TOUCH: [QUESTION]}
    _, reviews = learning_rows(settings)
    assert [(r["url"], r["question"], r["verdict"], r["reviewer"]) for r in reviews] == [
        (GET_IN_TOUCH, QUESTION, "approved", hash_user("aad-dana", settings.user_hash_salt))]
    assert "Dana" not in json.dumps(reviews) and "aad-dana" not in json.dumps(reviews)

    status, body = await click(bot, connector, action(resolved, APPROVE), APPROVE)      # a second click
    assert status == 200 and "Already added as an example" in all_text(body["value"])
    assert read_approved(approved_file) == {GET_IN_TOUCH: [QUESTION]}
    assert len(learning_rows(settings)[1]) == 1
    assert suggestions(settings, monkeypatch, capsys) == []       # approved: not proposed again

    # the re-index reads the knowledge folder the approval wrote: the section now comes up for that question
    out = tmp_path / "rebuilt"
    done = subprocess.run([sys.executable, "-m", "indexer", "build", "--sources", str(settings.sources_file),
                           "--out", str(out), "--cache", str(tmp_path / "cache")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert GET_IN_TOUCH in top3(Index.load(out), QUESTION)


async def test_dont_use_is_remembered_and_writes_nothing(aiohttp_client, connector, settings, served, monkeypatch,
                                                         capsys):
    bot = await start(aiohttp_client, settings, served)
    card = await hand_off(bot, connector, QUESTION)
    [choices] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    picked = choices["choices"][-1]
    status, body = await click(bot, connector, resolve_data(card, **{SECTION_INPUT: picked["value"]}), "resolve")
    assert status == 200 and f"]({picked['value']})" in all_text(body["value"])
    wait_for(lambda: learning_rows(settings)[0], 10, "the resolution")
    assert [s["url"] for s in suggestions(settings, monkeypatch, capsys)] == [picked["value"]]

    status, body = await click(bot, connector, action(body["value"], REJECT), REJECT)
    assert status == 200 and "Not used as an example by Dana Lead" in all_text(body["value"])
    assert not (settings.sources_file.parent / "examples.approved.toml").exists()
    assert [r["verdict"] for r in learning_rows(settings)[1]] == ["rejected"]
    assert suggestions(settings, monkeypatch, capsys) == []       # rejected: never proposed again


@pytest.mark.parametrize("question,why", [
    ("can Maria Lopez tell me which person pulls the data out of our system", "a person's name"),
    ("email jane.doe@ct.gov: which person pulls the data out of our system", "an e-mail address"),
    ("Priya asked which person pulls the data out of our system", "a person's name"),
])
async def test_personal_data_never_reaches_the_approved_file_from_teams(aiohttp_client, connector, settings, served,
                                                                        monkeypatch, capsys, question, why):
    names = settings.sources_file.parent / "personal_names.txt"
    names.write_text(names.read_text(encoding="utf-8") + "\nPriya\n", encoding="utf-8")
    bot = await start(aiohttp_client, settings, served)
    card = await hand_off(bot, connector, question)
    status, body = await click(bot, connector, resolve_data(card, **{LINK_INPUT: GET_IN_TOUCH}), "resolve")
    resolved = body["value"]
    assert status == 200 and f"]({GET_IN_TOUCH})" in all_text(resolved)      # resolved, and the pair recorded
    assert f"looks like it holds personal data ({why})" in all_text(resolved)  # ... but no example offered
    assert not actions_of(resolved, "Action.Execute")
    wait_for(lambda: learning_rows(settings)[0], 10, "the resolution")
    assert suggestions(settings, monkeypatch, capsys) == []
    stale = {**resolve_data(card), "action": APPROVE, "section": ["Get in touch", GET_IN_TOUCH], "by": "", "at": ""}
    status, body = await click(bot, connector, stale, APPROVE)           # an approve click all the same
    assert status == 200 and f"looks like it holds personal data ({why})" in all_text(body["value"])
    assert not (settings.sources_file.parent / "examples.approved.toml").exists()
    assert learning_rows(settings)[1] == []                       # no review row copies the question either


async def test_approval_on_a_read_only_knowledge_folder_is_kept_and_exported(aiohttp_client, connector, settings,
                                                                             served, monkeypatch, capsys, tmp_path):
    """A container's knowledge/ is part of its image: the approval is kept in the store and
    ``report --export-approved`` writes it into a checkout's knowledge/ for a pull request."""
    knowledge = settings.sources_file.parent
    if os.geteuid() == 0:   # root writes read-only folders: a knowledge folder that is not there is not writable
        knowledge = tmp_path / "image" / "knowledge"
        settings = settings.with_(sources_file=knowledge / "sources.toml")
    bot = await start(aiohttp_client, settings, served)
    card = await hand_off(bot, connector, QUESTION)
    status, body = await click(bot, connector, resolve_data(card, **{LINK_INPUT: GET_IN_TOUCH}), "resolve")
    if os.geteuid() != 0:
        knowledge.chmod(0o555)
    try:
        status, body = await click(bot, connector, action(body["value"], APPROVE), APPROVE)
    finally:
        if os.geteuid() != 0:
            knowledge.chmod(0o755)
    assert status == 200 and "--export-approved" in all_text(body["value"])
    assert not (knowledge / "examples.approved.toml").exists()
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for key, value in {"FEEDBACK_DB": str(settings.feedback_db), "DATABASE_URL": settings.database_url}.items():
        monkeypatch.setenv(key, value)
    assert main(["report", "--export-approved", "--knowledge", str(checkout)]) == 0
    assert read_approved(checkout / "examples.approved.toml") == {GET_IN_TOUCH: [QUESTION]}


# ------------------------------------------------------------------------------------------ "This answered it"
UNSURE = "which of our data should go public"   # a question the bundled handbook gets the unsure tier for
PICK_THANKS = Replies().pick_thanks().text
USER_ID = "aad-user-pat"                  # the asker of tests.support.teams.personal_message


def pick_rows(card: dict) -> list[tuple[str, dict]]:
    """(the Markdown link, the pick button's data) of each closest section in an unsure card."""
    rows = []
    for block in card["body"]:
        if block["type"] == "ColumnSet":
            link, buttons = block["columns"]
            [text] = link["items"]
            [actions] = buttons["items"]
            [button] = actions["actions"]
            assert (button["type"], button["title"]) == ("Action.Submit", PICK_TITLE)
            rows.append((text["text"], button["data"]))
    return rows


async def ask_unsure(bot, connector) -> dict:
    await bot.post("/api/messages", json=personal_message(connector.url, UNSURE))
    card = card_of(connector.messages[-1])
    assert all_text(card).startswith(UNSURE_HEADLINE), "the unsure tier is what this test is about"
    return card


async def pick(bot, connector, data: dict) -> str:
    """An Action.Submit click in the asker's personal chat -> the bot's text reply."""
    before = len(connector.messages)
    response = await bot.post("/api/messages", json=personal_message(connector.url, None, value=data))
    assert response.status in (200, 201, 202)
    [reply] = connector.messages[before:]
    return reply.activity["text"]


def picks(settings, turn_id: str) -> list[tuple[str, str]]:
    store = open_learning_store(settings)
    try:
        return store.picks(turn_id)
    finally:
        store.close()


def test_the_unsure_card_has_a_pick_button_per_section_only_with_a_turn(served):
    index = served[1]
    decision = decide(UNSURE, index)
    assert decision.kind is Kind.UNSURE and decision.also_see
    card = Replies().reply_for(decision, "turn-1").card
    rows = pick_rows(card)
    assert [d for _, d in rows] == [{"action": "pick", "turn": "turn-1", "url": h.section.url}
                                    for h in decision.also_see]
    assert all(f"]({d['url']})" in link for link, d in rows)        # each button beside its own link
    assert card["version"] == CARD_VERSION == "1.5"
    [none] = [a for b in card["body"] if b["type"] == "ActionSet" for a in b["actions"]]
    assert none["title"] == "None of these"                         # still one click to hand off
    assert pick_rows(Replies().reply_for(decision).card) == []       # no stored turn: plain links
    assert not pick_rows(Replies().reply_for(decide("who is the data steward?", index), "turn-2").card)


async def test_a_pick_is_stored_once_and_proposed_as_a_suggestion(aiohttp_client, connector, settings, served,
                                                                  monkeypatch, capsys, caplog):
    bot = await start(aiohttp_client, settings, served)
    card = await ask_unsure(bot, connector)
    rows = pick_rows(card)
    assert len(rows) >= 2
    _, chosen = rows[-1]                  # not the closest one: the pick names the section
    caplog.set_level("INFO")
    assert await pick(bot, connector, chosen) == PICK_THANKS
    [ev] = learning_rows(settings)[0]
    assert (ev.question, ev.picked_url, ev.resolved_url, ev.vouched()) == (
        UNSURE, chosen["url"], None, (chosen["url"], "picked"))
    assert picks(settings, chosen["turn"]) == [(chosen["url"], hash_user(USER_ID, settings.user_hash_salt))]
    assert UNSURE not in caplog.text                                 # logs: ids and hashes, never the question

    assert await pick(bot, connector, chosen) == PICK_THANKS         # a second click changes nothing
    assert len(picks(settings, chosen["turn"])) == 1
    [found] = suggestions(settings, monkeypatch, capsys)
    assert (found["question"], found["url"], found["sources"], found["count"]) == (
        UNSURE, chosen["url"], {"picked": 1}, 1)
    assert not (settings.sources_file.parent / "examples.approved.toml").exists()   # a person approves first


@pytest.mark.parametrize("change,why", [
    ({"url": f"{SITE}/#no-such-section"}, "no longer in the handbook"),
    ({"url": "https://evil.example/#get-in-touch"}, "no longer in the handbook"),
    ({"url": ["not", "a", "string"]}, "not from one of my replies"),
    ({"turn": "0" * 32}, "no longer have that question"),
    ({"turn": 7}, "not from one of my replies"),
    ({"turn": ""}, "not from one of my replies"),
])
async def test_a_pick_that_names_no_section_or_turn_stores_nothing(aiohttp_client, connector, settings, served,
                                                                   change, why):
    bot = await start(aiohttp_client, settings, served)
    _, data = pick_rows(await ask_unsure(bot, connector))[0]
    text = await pick(bot, connector, {**data, **change})
    assert text.startswith("Sorry, I couldn't record that") and why in text
    assert learning_rows(settings)[0] == [] and picks(settings, data["turn"]) == []
    # the same click as an Action.Execute invoke: 200 with the reason, never a 5xx
    status, body = await click(bot, connector, {**data, **change}, "pick", conversation="a:personal-chat-id")
    assert status == 200 and why in all_text(body["value"])
    assert learning_rows(settings)[0] == []


async def test_a_resolution_wins_over_a_pick(aiohttp_client, connector, settings, served, monkeypatch, capsys):
    bot = await start(aiohttp_client, settings, served)
    card = await ask_unsure(bot, connector)
    [(_, chosen), *_] = [(link, d) for link, d in pick_rows(card) if d["url"] != GET_IN_TOUCH]
    assert await pick(bot, connector, chosen) == PICK_THANKS
    [none] = [a for s in card["body"] if s["type"] == "ActionSet" for a in s["actions"]]
    await bot.post("/api/messages", json=personal_message(connector.url, None, value=none["data"]))
    [triage] = [m for m in connector.messages if m.conversation_id == TRIAGE]
    status, _ = await click(bot, connector, resolve_data(card_of(triage), **{LINK_INPUT: GET_IN_TOUCH}), "resolve")
    assert status == 200
    [ev] = wait_for(lambda: [e for e in learning_rows(settings)[0] if e.resolved_url], 10, "the resolution")
    assert (ev.picked_url, ev.resolved_url) == (chosen["url"], GET_IN_TOUCH)
    [found] = suggestions(settings, monkeypatch, capsys)
    assert (found["url"], found["sources"]) == (GET_IN_TOUCH, {"resolved": 1})
