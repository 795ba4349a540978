"""Default locations: the project folder with its ``knowledge/`` and ``var/`` (imports nothing heavy).

The project folder is the source checkout this package runs from when it has ``knowledge/``, and the
current directory otherwise (an installed package: its ``knowledge/`` and ``var/`` are where it runs,
never inside site-packages).
"""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "knowledge" / "sources.toml").is_file() else Path.cwd()


PROJECT_ROOT = project_root()
DEFAULT_SOURCES = PROJECT_ROOT / "knowledge" / "sources.toml"
DEFAULT_SYNONYMS = PROJECT_ROOT / "knowledge" / "synonyms.txt"
DEFAULT_INDEX = PROJECT_ROOT / "var" / "index"
DEFAULT_CACHE = PROJECT_ROOT / "var" / "sources"
DEFAULT_FEEDBACK_DB = PROJECT_ROOT / "var" / "feedback.sqlite3"
