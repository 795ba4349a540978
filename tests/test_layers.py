"""The layers, read from the source: the arrows run one way (bot.teams, the Bot Framework edge -> replies,
feedback, learning -> bot.decision -> indexer), nothing imports in a circle, and only bot/teams/ touches the SDK."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SDK = ("botbuilder", "botframework", "msrest")


def _modules() -> dict[str, Path]:
    out = {}
    for package in ("bot", "indexer"):
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def imports(name: str) -> set[str]:
    """Every module ``name`` imports, anywhere in the file (inside functions too): a project module when
    it is one (``from bot.feedback import postgres`` -> bot.feedback.postgres), else the import as written."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def project_imports(name: str) -> set[str]:
    return {m for m in imports(name) if m in MODULES and m != name}


def _cycle() -> list[str] | None:
    graph = {name: sorted(project_imports(name)) for name in MODULES}
    state: dict[str, int] = {}   # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for name in graph:
        if name not in state and (found := visit(name)):
            return found
    return None


def test_the_import_graph_is_read():
    assert {"bot.decision.decide", "bot.feedback.sqlite", "bot.teams.handler", "indexer.index"} <= set(MODULES)
    assert "bot.decision.evidence" in project_imports("bot.decision.decide")
    assert "bot.feedback.sqlite" in project_imports("bot.feedback")   # an import inside a function counts


def test_no_import_circle():
    assert _cycle() is None, " -> ".join(_cycle())


def test_only_bot_teams_touches_the_bot_framework_sdk():
    touching = {name for name in MODULES if any(m.split(".")[0] in SDK for m in imports(name))}
    assert touching and all(name.startswith("bot.teams.") for name in touching), sorted(touching)


def test_the_edge_is_the_top_layer():
    """Nothing below the Bot Framework edge imports it: the decision, replies, cards, feedback, learning and
    the indexer know nothing of bot.teams; only the composition root (bot.app, and bot.cli through it) wires it."""
    for name in MODULES:
        if not name.startswith("bot.teams") and name != "bot.app":
            assert not any(m.startswith("bot.teams") for m in project_imports(name)), name


def test_the_decision_is_framework_free():
    """bot.decision reads search results: it imports no web framework, SDK, storage, reply or edge module."""
    for name in MODULES:
        if name.startswith("bot.decision"):
            for module in imports(name):
                top = module.split(".")[0]
                assert top not in (*SDK, "aiohttp", "sklearn", "psycopg", "sqlite3"), (name, module)
                if top == "bot":
                    assert module.startswith("bot.decision"), (name, module)


def test_the_indexer_knows_nothing_of_the_bot():
    for name in MODULES:
        if name.startswith("indexer"):
            assert not any(m.split(".")[0] in ("bot", *SDK, "aiohttp") for m in imports(name)), name


def test_no_sys_path_edits_and_one_copy_of_what_tests_and_benchmarks_share():
    """What is shared is importable (``tests.support``, ``python -m``): no file edits ``sys.path``; one
    ``free_port`` (tests/support/net.py) and one stub Bot Connector (tests/support/connector.py)."""
    edit = re.compile(r"sys\.path\.(insert|append|extend)\(|sys\.path\s*(\+=|=)")
    port = re.compile(r"def _?free_port\(")
    stub = re.compile(r"add_post\(\s*[\"']/v3/conversations/")
    files = [p for folder in ("bot", "indexer", "tests", "benchmarks", "deploy") for p in (REPO / folder).rglob("*.py")
             if "node_modules" not in p.parts and p != Path(__file__).resolve()]
    assert len(files) > 100
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(REPO).as_posix()
        assert not edit.search(text), name
        assert name == "tests/support/net.py" or not port.search(text), name
        assert name == "tests/support/connector.py" or not stub.search(text), name
