"""Shared fixtures. ``shared_dir`` points at ../shared: skipped when absent, a failure under CI=true."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HANDBOOK_SHARED", REPO.parent / "shared"))
SITE = "https://ctopendata.github.io/open-data-handbook"


IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(message: str):
    """Skip a test whose prerequisite is missing here; under CI=true a missing prerequisite fails."""
    if IN_CI:
        pytest.fail(message + " and CI=true")
    pytest.skip(message)


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        skip_or_fail(f"{path} is absent (tests that read ../shared need it)")
    return path


def wait_for(predicate, seconds: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy (returned) or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def handbook_index(tmp_path_factory):
    """Index of the eval knowledge base: the 2025-07 handbook + the seed FAQ."""
    from tests.support.knowledge import build_eval_index

    require_shared("handbook", "2025-07")
    return build_eval_index(SHARED, tmp_path_factory.mktemp("kb")).index


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory):
    """(index dir, Index) of the bundled knowledge/ pages, for the bot's scenario tests."""
    from tests.support.knowledge import build_bundled

    return build_bundled(tmp_path_factory)


@pytest.fixture
async def connector(aiohttp_server):
    """A stub Bot Connector on loopback that records what the bot sends (tests/support/connector.py)."""
    from tests.support.connector import StubConnector

    stub = StubConnector()
    server = await aiohttp_server(stub.app())
    stub.url = str(server.make_url("")).rstrip("/")
    return stub


# What turns each group of skipped tests on (the first pattern found in the skip reason wins).
ENABLE_SKIPPED = (
    ("tests/e2e/node_modules", "npm ci --prefix tests/e2e; apt-get install chromium fonts-noto-color-emoji"),
    ("chromium", "apt-get install chromium fonts-noto-color-emoji iproute2 util-linux"),
    ("node, unshare", "apt-get install nodejs util-linux iproute2"),
    ("unshare", "run the tests as root (unshare -n keeps the browser on loopback)"),
    ("make and git", "apt-get install make git"),
    ("make teams-schema", "make teams-schema"),
    ("TEST_DATABASE_URL", "bash deploy/ci/postgres.sh install; d=$(mktemp -d); chmod 755 $d; "
                          "export TEST_DATABASE_URL=$(bash deploy/ci/postgres.sh start $d/pg)"),
    ("Bicep", "install the Bicep CLI (az bicep install)"),
    ("../shared", "put the shared data at ../shared (or set HANDBOOK_SHARED)"),
    ("shared/", "put the shared data at ../shared (or set HANDBOOK_SHARED)"),
)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After the run: each group of skipped tests, why, and the command that enables it."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    groups: dict[str, int] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        groups[reason] = groups.get(reason, 0) + 1
    terminalreporter.section(f"{len(skipped)} skipped, and how to run them", sep="-")
    for reason, count in sorted(groups.items(), key=lambda item: -item[1]):
        enable = next((cmd for pattern, cmd in ENABLE_SKIPPED if pattern in reason), None)
        terminalreporter.write_line(f"{count:>4}  {reason}")
        if enable:
            terminalreporter.write_line(f"      enable: {enable}")
    terminalreporter.write_line("      all of them at once (a fresh root machine or container, as CI does): "
                                "bash .ci/run")


# --- feedback store backends (tests/test_feedback_*.py) ---------------------------------------------

def _admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")


@contextmanager
def scratch_postgres() -> Iterator[tuple[str, str, str]]:
    """A PostgreSQL database of its own, created and dropped through TEST_DATABASE_URL -> (its URL, the admin
    URL, its name). Without a server the test is skipped (fails under CI=true)."""
    admin = _admin_url()
    if not admin:
        skip_or_fail("no PostgreSQL: set TEST_DATABASE_URL (deploy/ci/postgres.sh starts one)")
    psycopg = pytest.importorskip("psycopg")
    from psycopg.conninfo import make_conninfo
    name = f"handbook_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo(admin, dbname=name), admin, name
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def spec(request, tmp_path):
    """A feedback store backend to open (tests.support.feedback.open_backend): SQLite in a temporary folder,
    or a PostgreSQL database of its own, created and dropped through TEST_DATABASE_URL."""
    if request.param == "sqlite":
        yield {"backend": "sqlite", "path": str(tmp_path / "feedback.sqlite3")}
        return
    with scratch_postgres() as (url, admin, name):
        yield {"backend": "postgres", "url": url, "admin": admin, "db": name}
