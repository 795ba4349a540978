"""Settings are the one source of configuration: env-overridable, cheap to import, and the defaults
never point into site-packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bot.decision.decide import Decision
from bot.decision.kinds import Kind
from bot.replies import Replies
from bot.settings import DAPA_EMAIL, HANDBOOK_URL, Settings

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("sklearn", "scipy", "numpy", "markdown_it", "ftfy", "yaml", "botbuilder", "msrest", "aiohttp")


def test_importing_the_settings_loads_no_scikit_learn():
    code = ("import sys, bot.settings; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=REPO).stdout.split())
    assert "bot" in loaded and not loaded & set(HEAVY), loaded & set(HEAVY)


def test_defaults_and_environment_overrides(tmp_path):
    default = Settings.from_env({})
    assert default.dapa_email == DAPA_EMAIL == "dapa@ct.gov" and default.handbook_url == HANDBOOK_URL
    assert default.index_dir == REPO / "var" / "index" and default.sources_file == REPO / "knowledge" / "sources.toml"
    assert default.feedback_db == REPO / "var" / "feedback.sqlite3"
    env = {"DAPA_EMAIL": "opendata@example.gov", "HANDBOOK_URL": "https://handbook.example.gov/docs/",
           "INDEX_DIR": str(tmp_path / "i"), "SOURCES_FILE": str(tmp_path / "s.toml"), "FEEDBACK_DB": "f.db"}
    s = Settings.from_env(env)
    assert (s.dapa_email, s.handbook_url) == ("opendata@example.gov", "https://handbook.example.gov/docs")
    assert (s.index_dir, s.sources_file, s.feedback_db) == (tmp_path / "i", tmp_path / "s.toml", Path("f.db"))


def test_the_replies_use_the_configured_mailbox_and_site():
    replies = Replies.from_settings(Settings.from_env({"DAPA_EMAIL": "opendata@example.gov",
                                                       "HANDBOOK_URL": "https://handbook.example.gov"}))
    escalation = replies.reply_for(Decision(Kind.HANDOFF, "where are the budget files?"))
    assert "opendata@example.gov" in escalation.summary and "dapa@ct.gov" not in str(escalation)
    assert escalation.card["actions"][0]["url"].startswith("mailto:opendata@example.gov?")
    assert "https://handbook.example.gov" in replies.welcome().summary
    assert "opendata@example.gov" in replies.turn_failed()


def test_the_mailbox_and_site_are_written_down_once():
    """Only bot/settings.py names them; every other module reads Settings."""
    for path in (REPO / "bot").rglob("*.py"):
        if path.name != "settings.py":
            text = path.read_text(encoding="utf-8")
            assert DAPA_EMAIL not in text and HANDBOOK_URL not in text, path


def test_an_installed_package_keeps_its_data_in_the_working_directory(tmp_path):
    """Outside a source checkout (e.g. site-packages) the default paths are relative to where the bot runs."""
    site = tmp_path / "site-packages" / "indexer"
    site.mkdir(parents=True)
    shutil.copy(REPO / "indexer" / "paths.py", site / "paths.py")
    work = tmp_path / "work"
    work.mkdir()
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('p', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); print(m.DEFAULT_INDEX)")
    out = subprocess.run([sys.executable, "-c", code, str(site / "paths.py")], capture_output=True, text=True,
                         check=True, cwd=work).stdout.strip()
    assert Path(out) == work.resolve() / "var" / "index"
