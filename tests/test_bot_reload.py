"""Re-index without restart: a new index at the configured folder is picked up; a corrupt one is
logged and the old one keeps serving; requests keep being answered throughout."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil

from bot.app import create_app
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings
from indexer.build import DEFAULT_SOURCES, build
from tests.support.connector import StubConnector
from tests.support.teams import personal_message, serve


def _build(folder):
    result = build(DEFAULT_SOURCES, folder, folder.parent / "cache")
    assert result.ok
    return result.index


def test_holder_switches_to_new_index_and_rejects_corrupt_one(tmp_path, caplog):
    folder = tmp_path / "index"
    _build(folder)
    holder = IndexHolder(folder)
    first = holder.load_initial(build_if_missing=False)
    assert holder.check() is False                       # nothing changed

    rebuilt = _build(folder)                             # atomic replace, as the indexer does it
    assert holder.check() is True and holder.index is not first
    assert holder.index.meta["checksums"] == rebuilt.meta["checksums"] and holder.reloads == 1

    serving = holder.index
    staged = tmp_path / "staged"
    shutil.copytree(folder, staged)
    (staged / "ranker.npz").write_bytes(b"garbage")       # checksum no longer matches
    shutil.rmtree(folder)
    staged.rename(folder)
    with caplog.at_level(logging.ERROR):
        assert holder.check() is False
    assert holder.index is serving and "new index rejected" in caplog.text
    assert holder.check() is False                       # the same bad version is not retried


async def test_running_app_reloads_without_dropping_requests(aiohttp_client, aiohttp_server, tmp_path):
    folder = tmp_path / "index"
    _build(folder)
    stub = StubConnector()
    server = await aiohttp_server(stub.app())
    url = str(server.make_url("")).rstrip("/")
    settings = Settings(index_dir=folder, feedback_db=tmp_path / "fb.sqlite3", reload_seconds=0.05)
    client = await serve(aiohttp_client, create_app(settings, store=SQLiteFeedbackStore(settings.feedback_db)))
    for _ in range(200):
        if (await client.get("/healthz")).status == 200:
            break
        await asyncio.sleep(0.02)
    before = (await (await client.get("/healthz")).json())["reloads"]

    async def ask(n):
        return (await client.post("/api/messages", json=personal_message(url, f"what is open data? {n}"))).status

    rebuild = asyncio.create_task(asyncio.to_thread(_build, folder))
    statuses = await asyncio.gather(*(ask(n) for n in range(10)))
    await rebuild
    for _ in range(200):
        health = await (await client.get("/healthz")).json()
        if health["reloads"] > before:
            break
        await asyncio.sleep(0.02)
    assert health["reloads"] == before + 1
    assert statuses == [200] * 10 and len(stub.messages) == 10
    assert json.loads((folder / "meta.json").read_text())["built_at"] == health["built_at"]
