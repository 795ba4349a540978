"""``knowledge/examples.approved.toml``: example questions approved from the question log.

Same format as the team's hand-written ``knowledge/examples.toml`` (``[[section]]`` tables with ``url``
and ``examples``), kept in a file of its own so the two never conflict. Only the approval step writes it
(``python -m bot report --approve`` / ``--export-approved``, or "Add the question as an example" on DAPA's
triage card): a question enters ``knowledge/`` through a person's approval and the pull request that
commits this file. Writes are atomic (temporary file + rename) and sorted by section
URL, so a diff shows exactly what was approved.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APPROVED_NAME = "examples.approved.toml"
HEADER = """\
# Example questions approved from the question log (issue 13: the bot learns from use).
#
# Written only by an approval (`python -m bot report --approve ID ...` / `--export-approved`, or "Add the
# question as an example" on DAPA's triage card in Teams): each entry is a question employees asked that
# DAPA approved as a way of asking for that section (a reply voted helpful, or a hand-off DAPA resolved
# by pointing to the section). Indexed like knowledge/examples.toml at the next build. To withdraw one,
# delete its line here (and `--reject` it, so it is not proposed again).
"""


def read_approved(path: str | Path) -> dict[str, list[str]]:
    """{section url: examples} of an approved-examples file (missing file: empty)."""
    path = Path(path)
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for entry in data.get("section", []):
        out.setdefault(str(entry["url"]), []).extend(str(t) for t in entry.get("examples", []))
    return out


def format_approved(examples: dict[str, list[str]]) -> str:
    parts = [HEADER]
    for url in sorted(examples):
        texts = examples[url]
        if not texts:
            continue
        lines = "".join(f"  {json.dumps(t, ensure_ascii=False)},\n" for t in texts)
        parts.append(f"\n[[section]]\nurl = {json.dumps(url, ensure_ascii=False)}\nexamples = [\n{lines}]\n")
    return "".join(parts)


def add_approved(path: str | Path, additions: dict[str, list[str]]) -> int:
    """Add examples to the file (a phrasing already there for its section is not repeated); -> how many
    were added."""
    from bot.learning.suggest import phrasing_key

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _folder_lock(path.parent):   # bot workers and the CLI: read, merge and replace one at a time
        current = read_approved(path)
        added = 0
        for url, texts in additions.items():
            have = current.setdefault(url, [])
            keys = {phrasing_key(t) for t in have}
            for text in texts:
                text = " ".join(text.split())
                if phrasing_key(text) not in keys:
                    have.append(text)
                    keys.add(phrasing_key(text))
                    added += 1
        if added:
            write_atomic(path, format_approved(current))
    return added


@contextmanager
def _folder_lock(folder: Path):
    """An exclusive lock on ``folder`` (flock on its descriptor: nothing is created in it) across processes."""
    try:
        import fcntl
    except ImportError:   # pragma: no cover  (not POSIX: no lock)
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)   # closing releases the lock


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
