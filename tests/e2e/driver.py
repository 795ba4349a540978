"""Runs the end-to-end scenarios; meant to run INSIDE a loopback-only network namespace.

    unshare -n sh -c 'ip link set lo up && exec python -m tests.e2e.driver --index DIR --out result.json'

(tests/e2e/test_playground.py does exactly that.) It refuses to start when the namespace has any
interface besides loopback. It starts the real bot (``python -m bot serve``) and the Microsoft 365
Agents Playground (``agentsplayground -c msteams``, telemetry off, ``TEAMSAPPTESTER_BROWSER=none``) on
127.0.0.1, plays a Teams user through the Playground's conversation API (tests/e2e/playground.py),
optionally drives its web UI in headless Chromium for screenshots (tests/e2e/ui.js), and writes
everything the Playground received to ``--out`` as JSON for the tests to assert on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import aiohttp

from tests.support.net import free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CLI = HERE / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
QUESTION = "how do I retire a dataset?"
OUT_OF_SCOPE = "will it snow in Hartford tomorrow"


def interfaces() -> list[str]:
    """Network interfaces of this process's namespace (/proc/net/dev is per namespace; /sys may not be)."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":")[0].strip() for line in lines)


def loopback_only() -> bool:
    return interfaces() == ["lo"]


async def wait_http(url: str, seconds: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}")
            try:
                async with session.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {seconds}s")


def start_bot(index: str, port: int, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "INDEX_DIR": index, "MicrosoftAppId": "",
           "FEEDBACK_DB": str(tmp / "feedback.sqlite3"), "DATABASE_URL": ""}
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--index", index, "--port", str(port)], cwd=REPO,
                            env=env, stdout=open(tmp / "bot.log", "w"), stderr=subprocess.STDOUT)


def start_playground(bot_port: int, port: int, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none", "BROWSER": "none"}
    cmd = ["node", str(CLI), "-e", f"http://127.0.0.1:{bot_port}/api/messages", "-c", "msteams", "-p", str(port),
           "--service-url", f"http://127.0.0.1:{port}/_connector", "--disable-telemetry"]
    return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=open(tmp / "playground.log", "w"),  # devTools/ log
                            stderr=subprocess.STDOUT)


def _card(event: dict) -> dict | None:
    for a in event["message"].get("attachments") or []:
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return a["content"]
    return None


def _none_of_these(card: dict) -> dict:
    for element in card.get("body", []):
        for action in element.get("actions", []) if element.get("type") == "ActionSet" else []:
            if (action.get("data") or {}).get("action") == "none_of_these":
                return action["data"]
    raise LookupError(f"no 'None of these' in {json.dumps(card)[:300]}")


def stored_votes(db: Path) -> list[dict]:
    """What the feedback store holds for votes (read straight from the bot's SQLite file)."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT t.question, t.top_url, v.vote, v.reason FROM handbook_votes v"
                            " JOIN handbook_turns t ON t.id = v.turn_id ORDER BY v.voted_at").fetchall()
    return [dict(zip(("question", "top_url", "vote", "reason"), r)) for r in rows]


async def api_scenarios(base: str, db: Path) -> dict:
    from tests.e2e.playground import Playground

    out: dict = {}
    async with Playground(base) as pg:
        out["config"] = {"bot": pg.bot, "me": pg.me, "personal_chat": pg.personal_chat}
        general = pg.channel("General")

        mark = len(pg.events)
        await pg.install(general)
        out["welcome"] = await pg.wait_for_bot(mark, card=True)

        mark = len(pg.events)
        sent = await pg.say(pg.personal_chat, QUESTION)
        out["personal"] = {"sent": sent, "replies": await pg.wait_for_bot(mark, card=True)}

        mark = len(pg.events)
        sent = await pg.post_in_channel(general, QUESTION)
        out["channel"] = {"sent": sent, "replies": await pg.wait_for_bot(mark, card=True)}

        mark = len(pg.events)
        sent = await pg.post_in_channel(general, QUESTION, mention=False)
        await asyncio.sleep(3)
        out["channel_no_mention"] = {"sent": sent, "replies": pg.bot_messages(mark)}

        mark = len(pg.events)
        sent = await pg.say(pg.personal_chat, OUT_OF_SCOPE)
        out["out_of_scope"] = {"sent": sent, "replies": await pg.wait_for_bot(mark, card=True)}

        # Teams' built-in feedback on the personal answer (the Playground's 👍 / 👎 and its form)
        mark = len(pg.events)
        await asyncio.sleep(0.5)   # the answer's Teams id is stored when its send returns
        like = await pg.feedback(pg.personal_chat, "like", "Exactly the steps I needed")
        await asyncio.sleep(1)
        out["feedback_like"] = {"invoke_response": like, "replies": pg.bot_messages(mark), "stored": stored_votes(db)}
        mark = len(pg.events)
        dislike = await pg.feedback(pg.personal_chat, "dislike", "I need to retire a map, not a table")
        out["feedback_dislike"] = {"invoke_response": dislike, "replies": await pg.wait_for_bot(mark, card=True),
                                   "stored": stored_votes(db)}

        # the compose-box search and a pasted handbook link
        out["compose_search"] = await pg.compose_search(pg.personal_chat, "retire a dataset")
        answer = _card(out["personal"]["replies"][-1])
        section_url = next(a["url"] for a in answer["actions"] if a["type"] == "Action.OpenUrl")
        out["unfurl"] = {"url": section_url, "response": await pg.query_link(general, section_url)}

        # "None of these" under the also-see links
        mark = len(pg.events)
        data = _none_of_these(answer)
        await pg.submit(pg.personal_chat, out["personal"]["replies"][-1]["message"]["messageId"], data)
        out["none_of_these"] = {"value": data, "replies": await pg.wait_for_bot(mark, card=True),
                                "stored": stored_votes(db)}
    return out


def ui_screenshots(base: str, shots: Path) -> dict:
    shots.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["node", str(HERE / "ui.js"), base, str(shots), QUESTION, OUT_OF_SCOPE], cwd=HERE,
                         capture_output=True, text=True, timeout=180)
    if run.returncode != 0:
        return {"error": (run.stderr or run.stdout)[-2000:]}
    return json.loads(run.stdout.strip().splitlines()[-1])


async def main_async(args) -> dict:
    tmp = Path(args.work)
    tmp.mkdir(parents=True, exist_ok=True)
    bot_port, pg_port = free_port(), free_port()
    bot = start_bot(args.index, bot_port, tmp)
    playground = None
    result: dict = {"loopback_only": loopback_only()}
    try:
        await wait_http(f"http://127.0.0.1:{bot_port}/healthz", 120, bot)
        playground = start_playground(bot_port, pg_port, tmp)
        base = f"http://127.0.0.1:{pg_port}"
        await wait_http(base + "/_debug/ping", 60, playground)
        result["api"] = await api_scenarios(base, tmp / "feedback.sqlite3")
        if args.screenshots:
            result["ui"] = await asyncio.to_thread(ui_screenshots, base, Path(args.screenshots))
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for proc in (playground, bot):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for name in ("bot.log", "playground.log"):
            path = tmp / name
            result[name] = path.read_text(errors="replace")[-4000:] if path.exists() else ""
    return result


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--index", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--work", required=True, help="folder for logs and the feedback database")
    p.add_argument("--screenshots", help="save UI screenshots here (headless Chromium)")
    args = p.parse_args()
    if not loopback_only():
        print("refusing to run: this network namespace has interfaces besides loopback "
              f"({interfaces()}); run me under `unshare -n`", file=sys.stderr)
        return 2
    result = asyncio.run(main_async(args))
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
