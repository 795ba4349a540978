"""The index format: JSON + numpy arrays, no pickle; everything the ranker holds round-trips; an index
of another or older format is refused with the command that rebuilds it, and nothing in it runs."""

from __future__ import annotations

import asyncio
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import REPO
from indexer import state
from indexer.build import build
from indexer.errors import IndexLoadError
from indexer.index import FORMAT, FORMAT_VERSION, Index

SYNONYMS = REPO / "knowledge" / "synonyms.txt"
QUESTIONS = ("what is open data", "how do I retire a datset", "who reviews my dataset before it is published",
             "metadata fields", "gatway agent")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fmt") / "index"
    result = build(REPO / "knowledge" / "sources.toml", out, out.parent / "cache", synonyms_file=SYNONYMS)
    assert result.ok
    return out


def _same(a, b, path="ranker") -> None:
    """Deep equality of two object graphs: every attribute of every object, arrays by value."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), path
    elif sp.issparse(a):
        assert a.format == b.format and a.shape == b.shape, path
        for part in ("data", "indices", "indptr"):
            _same(getattr(a, part), getattr(b, part), f"{path}.{part}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ"
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        _same(vars(a), vars(b), path)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_the_folder_holds_no_pickle_and_arrays_load_without_pickle(bundled):
    names = sorted(p.name for p in bundled.iterdir())
    assert names == ["meta.json", "ranker.json", "ranker.npz", "sections.json"]
    meta = json.loads((bundled / "meta.json").read_text())
    assert meta["format"] == FORMAT and meta["format_version"] == FORMAT_VERSION
    with zipfile.ZipFile(bundled / "ranker.npz") as z:
        assert all(n.endswith(".npy") for n in z.namelist())
    with np.load(bundled / "ranker.npz", allow_pickle=False) as arrays:
        assert all(arrays[k].dtype != object for k in arrays.files)
    tree = (bundled / "ranker.json").read_text()
    assert "sklearn" not in tree and "pickle" not in tree


def test_every_attribute_of_the_ranker_round_trips(bundled):
    """Fails when the ranker gains state the format does not carry back (a forgotten attribute)."""
    built = build(REPO / "knowledge" / "sources.toml", bundled.parent / "again", bundled.parent / "cache",
                  synonyms_file=SYNONYMS).index
    loaded = Index.load(bundled.parent / "again")
    _same(built.ranker, loaded.ranker)
    assert loaded.ranker.analyzer is loaded.ranker.body.analyzer, "a shared object comes back shared"
    for q in QUESTIONS:
        assert [(h.section.id, round(h.score, 12)) for h in built.search(q, 5).hits] == \
               [(h.section.id, round(h.score, 12)) for h in loaded.search(q, 5).hits], q


def test_state_that_cannot_be_stored_fails_the_save_naming_it(tmp_path, bundled):
    index = Index.load(bundled)
    index.ranker.body.tokenize = lambda text: text.split()
    with pytest.raises(state.StateError, match=r"Ranker\.body\.tokenize: a .*function"):
        index.save(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    del index.ranker.body.tokenize
    index.ranker.extra = {"weights": np.arange(3.0), "names": ("a", "b"), 2: frozenset({"x"})}
    index.save(tmp_path / "out")   # plain data in a new attribute is stored without any change here
    _same(index.ranker.extra, Index.load(tmp_path / "out").ranker.extra)


def test_encode_decode_values():
    value = {"t": (1, 2.5, "x", None, True), "s": {3, 1}, "f": frozenset({("a", 1)}), "np": np.float32(1.5),
             "i": np.int64(7), "m": sp.csr_matrix(np.eye(3)), "c": sp.csc_matrix(np.ones((2, 2))),
             "a": np.array(["ab", "c"]), "$": "dollar key", (1, 2): [np.zeros(2, dtype=np.int32)]}
    tree, arrays = state.encode(value)
    json.dumps(tree)
    _same(value, state.decode(tree, arrays))


# ------------------------------------------------------------------------------ refusals
def _refusal(index_dir: Path) -> str:
    with pytest.raises(IndexLoadError) as err:
        Index.load(index_dir)
    message = str(err.value)
    assert str(index_dir) in message and "\n" not in message
    return message


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).touch, ())


def test_a_format_2_index_with_a_pickle_is_refused_with_the_rebuild_command_and_never_unpickled(tmp_path):
    old = tmp_path / "index"
    old.mkdir()
    marker = tmp_path / "code-ran"
    (old / "model.pkl").write_bytes(pickle.dumps(_RunsCode(str(marker))))
    (old / "sections.json").write_text("[]")
    # meta.json as format 2 wrote it (indexer/index.py before the portable format)
    (old / "meta.json").write_text(json.dumps({"built_at": "2026-11-30T10:00:00Z", "format_version": 2,
                                               "sections": 0, "pages": 0, "sources": [], "params": {},
                                               "checksums": {}}))
    message = _refusal(old)
    assert "format version 2" in message and "pickle" in message
    assert f"python -m indexer build --out {old}" in message
    assert not marker.exists()


def test_newer_and_foreign_formats_are_refused(bundled, tmp_path):
    meta = json.loads((bundled / "meta.json").read_text())
    for name, change, expected in (
            ("newer", {"format_version": FORMAT_VERSION + 1}, "newer handbook-bot"),
            ("older", {"format_version": FORMAT_VERSION - 1}, f"has format version {FORMAT_VERSION - 1}; this "
                                                              f"version reads {FORMAT_VERSION}. Rebuild it"),
            ("foreign", {"format": "someone else's index"}, "not a handbook-bot index"),
            ("bool", {"format_version": True}, "not a handbook-bot index"),
            ("none", {"format_version": None, "format": None}, "not a handbook-bot index")):
        folder = tmp_path / name
        folder.mkdir()
        for f in bundled.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        (folder / "meta.json").write_text(json.dumps({**meta, **change}))
        message = _refusal(folder)
        assert expected in message and "python -m indexer build --out" in message, message


def test_an_npz_with_pickled_objects_is_refused(bundled, tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    for f in bundled.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    with np.load(bundled / "ranker.npz") as arrays:
        data = {k: arrays[k] for k in arrays.files}
    first = next(iter(data))
    data[first] = np.array([_RunsCode(str(tmp_path / "code-ran"))], dtype=object)
    np.savez(folder / "ranker.npz", **data)
    meta = json.loads((folder / "meta.json").read_text())
    meta.pop("checksums")                      # an attacker can rewrite meta.json too
    (folder / "meta.json").write_text(json.dumps(meta))
    assert "corrupt index" in _refusal(folder)
    assert not (tmp_path / "code-ran").exists()


def test_unknown_class_in_the_tree_is_refused(bundled, tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    for f in bundled.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    tree = json.loads((folder / "ranker.json").read_text())
    tree["class"] = "os.system"
    (folder / "ranker.json").write_text(json.dumps(tree))
    meta = json.loads((folder / "meta.json").read_text())
    meta.pop("checksums")
    (folder / "meta.json").write_text(json.dumps(meta))
    message = _refusal(folder)
    assert "os.system" in message and "not one this version stores" in message


async def test_the_bot_on_an_index_of_the_previous_format_says_how_to_rebuild_it(aiohttp_client, bundled, tmp_path,
                                                                                  caplog):
    """After an upgrade that changed the format, `make run` on the old var/index: /healthz 503 with the reason
    and the rebuild command, one log line without a traceback, and the old index is left as it was."""
    import logging
    import shutil

    from bot.app import create_app
    from bot.feedback.sqlite import SQLiteFeedbackStore
    from bot.settings import Settings
    from tests.support.teams import serve

    live = tmp_path / "var" / "index"
    shutil.copytree(bundled, live)
    meta = json.loads((live / "meta.json").read_text())
    (live / "meta.json").write_text(json.dumps({**meta, "format_version": FORMAT_VERSION - 1}))
    before = {p.name: p.read_bytes() for p in live.iterdir()}
    settings = Settings(index_dir=live, feedback_db=tmp_path / "feedback.sqlite3")
    caplog.set_level(logging.ERROR, logger="bot.app")
    client = await serve(aiohttp_client, create_app(settings, store=SQLiteFeedbackStore(settings.feedback_db),
                                                    watch=False))
    for _ in range(200):
        response = await client.get("/healthz")
        health = await response.json()
        if health["status"] != "loading":
            break
        await asyncio.sleep(0.05)
    assert response.status == 503 and health["status"] == "unavailable", health
    assert f"format version {FORMAT_VERSION - 1}" in health["reason"]
    assert f"python -m indexer build --out {live}" in health["reason"]
    logged = [r for r in caplog.records if r.name == "bot.app"]
    assert len(logged) == 1 and logged[0].exc_info is None and "Rebuild it" in logged[0].getMessage()
    assert {p.name: p.read_bytes() for p in live.iterdir()} == before
