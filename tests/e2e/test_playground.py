"""End-to-end through the Microsoft 365 Agents Playground (Microsoft's Teams emulator), marker ``e2e``.

The whole scenario (the real bot, the Playground, headless Chromium) runs in a network namespace that
has only loopback: this module runs ``unshare -n sh -c 'ip link set lo up && python -m tests.e2e.driver ...'``
once, and the tests assert on what the Playground received (tests/e2e/driver.py writes it as JSON).
The driver refuses to run if it sees any interface besides ``lo``, so no test can reach the network.

Needs: root (for ``unshare -n``), ``npm ci`` in tests/e2e (the pinned Playground and playwright-core),
Debian's ``chromium``, and ../shared/handbook (the knowledge base the deep links point into). Missing
pieces skip the module locally and fail it under ``CI=true`` (.ci/run installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import REPO, SITE, require_shared, skip_or_fail

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent
CLI = HERE / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
PLAYWRIGHT = HERE / "node_modules" / "playwright-core"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "docs" / "screenshots"
RETIRE = SITE + "/open_data_resources/data_retirement#"


def _missing() -> str | None:
    if not CLI.exists() or not PLAYWRIGHT.exists():
        return "tests/e2e/node_modules is missing: run `npm ci --prefix tests/e2e`"
    if not CHROMIUM.exists():
        return "/usr/bin/chromium is missing: `apt-get install chromium`"
    if shutil.which("node") is None or shutil.which("unshare") is None or shutil.which("ip") is None:
        return "node, unshare (util-linux) and ip (iproute2) are needed"
    if os.geteuid() != 0:
        return "unshare -n needs root here"
    return None


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    problem = _missing()
    if problem:
        skip_or_fail(problem)
    handbook = require_shared("handbook", "2025-07")
    from indexer.build import build

    tmp = tmp_path_factory.mktemp("e2e")
    sources = tmp / "sources.toml"
    sources.write_text(f'[[source]]\nname = "handbook"\npath = "{handbook}"\nsite = "{SITE}"\n\n'
                       f'[[source]]\nname = "faq"\npath = "{REPO / "knowledge" / "faq.md"}"\nsite = "{SITE}"\n',
                       encoding="utf-8")
    result = build(sources, tmp / "index", tmp / "cache", synonyms_file=REPO / "knowledge" / "synonyms.txt")
    assert result.ok, result.problems

    shots = tmp / "screenshots"
    out = tmp / "result.json"
    driver = (f"ip link set lo up && exec {sys.executable} -m tests.e2e.driver --index {tmp / 'index'} "
              f"--out {out} --work {tmp / 'work'} --screenshots {shots}")
    proc = subprocess.run(["unshare", "-n", "sh", "-c", driver], cwd=REPO, capture_output=True, text=True,
                          timeout=420)
    assert out.exists(), f"driver wrote nothing (exit {proc.returncode}): {proc.stderr[-3000:]}"
    data = json.loads(out.read_text())
    assert "error" not in data, f"{data['error']}\n--- bot\n{data['bot.log']}\n--- playground\n{data['playground.log']}"
    # E2E_SAVE_SCREENSHOTS=1: refresh the README's pictures
    for name in ("answer-card.png", "escalation.png", "feedback-form.png", "compose-search.png"):
        if os.environ.get("E2E_SAVE_SCREENSHOTS") == "1" and (shots / name).exists():
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shots / name, SCREENSHOTS / name)
    return data


def card(event: dict) -> dict:
    [attachment] = [a for a in event["message"]["attachments"]
                    if a["contentType"] == "application/vnd.microsoft.card.adaptive"]
    return attachment["content"]


def open_urls(c: dict) -> list[str]:
    return [a["url"] for a in c.get("actions", []) if a["type"] == "Action.OpenUrl"]


def test_ran_in_a_loopback_only_namespace(run):
    assert run["loopback_only"] is True


def test_welcome_on_install_in_a_channel(run):
    [welcome] = run["api"]["welcome"]
    c = card(welcome)
    assert "handbook" in json.dumps(c).lower()
    asks = [a for a in c["actions"] if a["type"] == "Action.Submit" and a["data"].get("action") == "ask"]
    assert len(asks) == 3   # three example questions


def test_personal_chat_answer_card_deep_link(run):
    replies = run["api"]["personal"]["replies"]
    c = card(replies[-1])
    assert c["version"] == "1.5"
    assert open_urls(c)[0].startswith(RETIRE)
    titles = [a["title"] for a in c["actions"]]
    assert "Open in handbook" in titles
    assert replies[-1]["message"]["feedbackLoopEnabled"] is True   # the Playground shows Teams' 👍 / 👎


def test_channel_post_with_mention_is_answered_in_its_thread(run):
    channel = run["api"]["channel"]
    thread = channel["sent"]["postConversationId"]
    assert thread.endswith(";messageid=" + channel["sent"]["messageId"])
    [reply] = channel["replies"]
    assert reply["actionConversationId"] == thread        # the reply is in the post's thread
    assert open_urls(card(reply))[0].startswith(RETIRE)


def test_channel_post_without_mention_is_ignored(run):
    assert run["api"]["channel_no_mention"]["replies"] == []


def test_out_of_scope_question_escalates_to_dapa(run):
    [reply] = run["api"]["out_of_scope"]["replies"]
    [mailto] = [u for u in open_urls(card(reply)) if u.startswith("mailto:")]
    parts = urlsplit(mailto)
    assert parts.path == "dapa@ct.gov"
    query = parse_qs(parts.query)
    assert "snow in Hartford" in query["body"][0]
    assert query["subject"]


def test_built_in_feedback_round_trip(run):
    api = run["api"]
    answer = card(run["api"]["personal"]["replies"][-1])
    assert not [a for a in answer["actions"] if a["type"] == "Action.Submit"], "no in-card vote buttons"
    assert api["feedback_like"]["replies"] == []          # 👍 posts nothing into the chat
    like = api["feedback_like"]["stored"]
    assert [(v["question"], v["vote"], v["reason"]) for v in like] == [
        ("how do I retire a dataset?", "up", "Exactly the steps I needed")]
    assert like[0]["top_url"].startswith(RETIRE)
    [offer] = api["feedback_dislike"]["replies"]          # 👎 offers the hand-off
    assert any(u.startswith("mailto:dapa@ct.gov") for u in open_urls(card(offer)))
    [down] = api["feedback_dislike"]["stored"]            # the same voter's 👎 replaced the 👍
    assert (down["vote"], down["reason"]) == ("down", "I need to retire a map, not a table")


def test_compose_box_search_returns_the_section(run):
    result = run["api"]["compose_search"]["composeExtension"]
    assert result["type"] == "result" and result["attachmentLayout"] == "list"
    first = result["attachments"][0]
    assert first["content"]["actions"][0]["url"].startswith(RETIRE)
    assert first["preview"]["content"]["title"]


def test_handbook_link_unfurls(run):
    unfurl = run["api"]["unfurl"]
    [attachment] = unfurl["response"]["composeExtension"]["attachments"]
    assert attachment["content"]["version"] == "1.3"
    assert attachment["content"]["actions"][0]["url"] == unfurl["url"]
    heading = unfurl["url"].rsplit("#", 1)[-1].replace("-", " ")   # the pasted link's section, by its anchor
    assert heading.lower() in json.dumps(attachment["content"]).lower()


def test_none_of_these_hands_off(run):
    none = run["api"]["none_of_these"]
    assert none["value"]["q"] == "how do I retire a dataset?"
    [handoff] = none["replies"]
    assert any(u.startswith("mailto:dapa@ct.gov") for u in open_urls(card(handoff)))
    assert any(v["reason"] == "none of these" for v in none["stored"])


def test_web_ui_renders_answer_and_escalation(run):
    ui = run["ui"]
    assert "error" not in ui, ui.get("error")
    assert "Process for retiring assets" in ui["answer_text"] and "Open in handbook" in ui["answer_text"]
    assert "Email DAPA" in ui["escalation_text"]
    for path in ui["shots"].values():
        assert Path(path).stat().st_size > 10_000


def test_web_ui_feedback_form_and_compose_search(run):
    ui = run["ui"]
    assert "feedback_error" not in ui, ui.get("feedback_error")
    assert "What went wrong?" in ui["feedback_text"]           # Teams' 👎 form on the answer
    assert "search_error" not in ui, ui.get("search_error")
    assert "retiring" in ui["search_text"].lower()               # the compose-box search lists the section
    assert {"feedback", "search"} <= set(ui["shots"])
