"""The Teams app package: manifest valid against Microsoft's published schema (offline), icons, zip.

The schema comes from the pinned npm package @microsoft/app-manifest, installed into
deploy/teams/node_modules by `make teams-schema` (.ci/run does it). Without it the schema tests skip
locally and fail under CI=true.
"""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import skip_or_fail
from deploy.teams import icons, package

REPO = Path(__file__).resolve().parent.parent
TEAMS = REPO / "deploy" / "teams"



BOT_ID = "0f4c6a3e-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
ENV = {"MicrosoftAppId": BOT_ID}


@pytest.fixture
def manifest() -> dict:
    return package.fill(package.TEMPLATE.read_text(encoding="utf-8"), package.values_from_env(ENV))


@pytest.fixture
def schema_path(manifest) -> Path:
    path = package.schema_file(manifest)
    if not path.is_file():
        message = f"{path} is absent: run `make teams-schema` (npm @microsoft/app-manifest)"
        skip_or_fail(message)
    return path


def test_schema_comes_from_the_pinned_package(schema_path):
    pinned = json.loads((TEAMS / "package.json").read_text())["dependencies"]["@microsoft/app-manifest"]
    installed = json.loads((TEAMS / "node_modules/@microsoft/app-manifest/package.json").read_text())["version"]
    assert installed == pinned
    schema = json.loads(schema_path.read_text(encoding="utf-8-sig"))
    assert "bots" in schema["properties"] and "manifestVersion" in schema["required"]


def test_manifest_is_valid_against_microsofts_schema(manifest, schema_path):
    assert package.schema_errors(manifest, schema_path) == []


def test_manifest_content(manifest):
    major, minor = map(int, manifest["manifestVersion"].split("."))
    assert (major, minor) >= (1, 17)
    assert manifest["$schema"].endswith(f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json")
    assert manifest["id"] == BOT_ID
    (bot,) = manifest["bots"]
    assert bot["botId"] == BOT_ID
    assert set(bot["scopes"]) == {"team", "groupChat", "personal"}
    listed = [scope for command_list in bot["commandLists"] for scope in command_list["scopes"]]
    assert sorted(listed) == sorted(bot["scopes"]), "one command list per scope"
    for command_list in bot["commandLists"]:
        titles = [c["title"].lower() for c in command_list["commands"]]
        if command_list["scopes"] == ["personal"]:   # prompt starters: questions to start with (no welcome card)
            assert len(titles) >= 3 and all(t.endswith("?") for t in titles[:3])
        else:                                        # the command menu of a team / group chat
            assert "help" in titles and len(titles) >= 3
    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == BOT_ID
    [search] = extension["commands"]
    assert search["type"] == "query" and set(search["context"]) == {"compose", "commandBox"}
    assert [p["name"] for p in search["parameters"]] == ["searchQuery"] and search["initialRun"] is True
    [links] = extension["messageHandlers"]
    assert links == {"type": "link", "value": {"domains": ["ctopendata.github.io"]}}
    assert manifest["version"] == package.project_version() and manifest["version"] != "0.1.0"
    assert "ctopendata.github.io" in manifest["validDomains"]
    assert manifest["description"]["short"] and "dapa@ct.gov" in manifest["description"]["full"]
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith("https://")
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


@pytest.mark.parametrize("breakage, expected", [
    (lambda m: m["bots"][0].pop("botId"), "botId"),
    (lambda m: m["bots"][0].__setitem__("botId", "not-a-guid"), "does not match"),
    (lambda m: m["bots"][0].__setitem__("scopes", ["team", "channel"]), "channel"),
    (lambda m: m["name"].__setitem__("short", "x" * 31), "too long"),
    (lambda m: m.pop("icons"), "icons"),
    (lambda m: m.__setitem__("unexpectedField", True), "unexpectedField"),
    (lambda m: m["bots"][0]["commandLists"][0]["commands"][0].pop("description"), "description"),
    (lambda m: m["composeExtensions"][0]["messageHandlers"][0].__setitem__("type", "file"), "file"),
    (lambda m: m["composeExtensions"][0]["commands"][0].__setitem__("context", ["compose", "chat"]), "chat"),
    (lambda m: m["composeExtensions"].append(dict(m["composeExtensions"][0])), "too long"),
])
def test_broken_manifest_is_rejected(manifest, schema_path, breakage, expected):
    broken = copy.deepcopy(manifest)
    breakage(broken)
    errors = package.schema_errors(broken, schema_path)
    assert errors, "a broken manifest passed the schema"
    assert any(expected in e for e in errors), errors


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Minimal decoder for 8-bit RGBA PNGs (all five filter types)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    assert (depth, color_type, interlace) == (8, 6, 0), "expected 8-bit RGBA, not interlaced"
    raw, stride, rows, prev = zlib.decompress(idat), width * 4, [], bytearray(width * 4)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a, b = (line[i - 4] if i >= 4 else 0), prev[i]
            c = prev[i - 4] if i >= 4 else 0
            p = a + b - c
            pred = [0, a, b, (a + b) // 2,
                    a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c)
                    else c][kind]
            line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
    pixels = [tuple(row[i:i + 4]) for row in rows for i in range(0, stride, 4)]
    return width, height, pixels


def test_color_icon():
    width, height, pixels = read_png(icons.color_icon())
    assert (width, height) == (192, 192)
    assert all(p[3] == 255 for p in pixels)
    assert len(set(pixels)) > 3, "a drawing, not a flat square"


def test_outline_icon_is_white_on_transparent():
    width, height, pixels = read_png(icons.outline_icon())
    assert (width, height) == (32, 32)
    assert {p[3] for p in pixels} == {0, 255}
    opaque = [p for p in pixels if p[3] == 255]
    assert set(opaque) == {(255, 255, 255, 255)}
    assert 0.15 < len(opaque) / len(pixels) < 0.7


def test_make_teams_package_writes_the_zip(tmp_path):
    out = tmp_path / "handbook-bot.zip"
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_ID", "TEAMS_APP_ID", "APP_VERSION")}
    done = subprocess.run([sys.executable, "-m", "deploy.teams.package", "--out", str(out)], cwd=REPO,
                          env={**env, "MicrosoftAppId": BOT_ID}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        inside = json.loads(z.read("manifest.json"))
        assert read_png(z.read("color.png"))[:2] == (192, 192)
        assert read_png(z.read("outline.png"))[:2] == (32, 32)
    assert inside["bots"][0]["botId"] == BOT_ID and "{{" not in json.dumps(inside)


def test_package_refuses_missing_or_malformed_bot_id(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_ID", "MicrosoftAppId")}
    for extra, message in (({}, "MicrosoftAppId"), ({"BOT_ID": "my-bot"}, "GUID")):
        done = subprocess.run([sys.executable, "-m", "deploy.teams.package", "--out", str(tmp_path / "x.zip")],
                              cwd=REPO, env={**env, **extra}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and message in done.stderr
        assert not (tmp_path / "x.zip").exists()
