"""Example questions per section (QnA Maker's "alternate questions"): ``knowledge/examples.toml``.

The DAPA team adds the ways employees ask for a section; the index matches a question against them
question to question, as a field of its own. The file::

    [[section]]
    url = "/data_publication_steps/review_and_get_approval"      # page path, optional #anchor
    examples = [
      "who has to sign off before my dataset is public",
      "does someone check my data before it goes live",
    ]

``url`` is a section's link as the bot shows it, or its path on the site (with the site's base path
or without it, trailing slash or not); a path without ``#anchor`` means the page's first section. An
FAQ entry is named by its page and its question: ``url = "/faq/"`` and ``faq = "What is open data?"``.
``optional = true`` marks an entry for a section only some builds hold (the bundled seed page's): where its
page is indexed without that section, it is skipped without a warning.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from indexer.errors import SourceError
from indexer.model import Section

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES_NAME = "examples.toml"
APPROVED_NAME = "examples.approved.toml"   # beside it: questions approved from use (`python -m bot report --approve`)
MAX_EXAMPLE_CHARS = 500
OUT_OF_SCOPE_NAME = "out_of_scope.toml"   # beside it: questions the handbook does not answer (``questions = [...]``)


@dataclass(frozen=True)
class Example:
    url: str
    text: str
    faq: str | None = None
    optional: bool = False       # a section only some builds hold: skipped silently where it is absent


def _read_toml(path: str | Path | None) -> dict:
    """A knowledge TOML file's content; a missing file is {}. Raises SourceError when it is not TOML."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid TOML ({exc})") from None


def load_examples(path: str | Path | None) -> list[Example]:
    """Read an examples file; a missing file is no examples. Raises SourceError on bad content."""
    entries = _read_toml(path).get("section", [])
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected [[section]] tables")
    out = []
    for n, entry in enumerate(entries, 1):
        url, texts, faq = entry.get("url"), entry.get("examples"), entry.get("faq")
        if not isinstance(url, str) or not url.strip():
            raise SourceError(f"{path}: section {n} has no url")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise SourceError(f"{path}: section {n} ({url}): examples must be a list of strings")
        if faq is not None and not isinstance(faq, str):
            raise SourceError(f"{path}: section {n} ({url}): faq must be a string")
        optional = entry.get("optional", False)
        if not isinstance(optional, bool):
            raise SourceError(f"{path}: section {n} ({url}): optional must be true or false")
        out.extend(Example(url.strip(), " ".join(t.split())[:MAX_EXAMPLE_CHARS], faq, optional)
                   for t in texts if t.strip())
    return out


def load_out_of_scope(path: str | Path | None) -> list[str]:
    """The team's out-of-scope example questions (``questions = ["...", ...]``); a missing file is none.
    Raises SourceError on bad content."""
    questions = _read_toml(path).get("questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise SourceError(f"{path}: questions must be a list of strings")
    return [" ".join(q.split())[:MAX_EXAMPLE_CHARS] for q in questions if q.strip()]


def load_example_files(path: str | Path | None) -> list[Example]:
    """The examples file and, beside it, the approved-from-use file (same format, written only by the
    approval command, bot/learning/): both are indexed alike."""
    if path is None:
        return []
    return load_examples(path) + load_examples(Path(path).with_name(APPROVED_NAME))


def _path_key(path: str) -> str:
    path = unquote(path).lower()
    for suffix in ("/index.html", "/index.htm", ".html", ".htm"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return path.rstrip("/")


class SectionResolver:
    """Finds the section an example names: full URL, or site path with or without the base path."""

    def __init__(self, sections: list[Section]):
        self.by_url = {s.url: i for i, s in enumerate(sections)}
        self.by_key: dict[tuple[str, str], int] = {}
        self.faq: dict[tuple[str, str], int] = {}
        for i, s in enumerate(sections):
            parts = urlsplit(s.url)
            full = _path_key(parts.path)
            page = _path_key(s.page_url)
            anchor = "" if s.kind == "faq" else (s.anchor or "")
            for key in {full, page}:
                self.by_key.setdefault((key, anchor), i)
                self.by_key.setdefault((key, ""), i)            # a page path alone: its first section
                if s.kind == "faq":
                    self.faq[(key, " ".join(s.heading.split()).casefold())] = i

    def has_page(self, example: Example) -> bool:
        return (_path_key(urlsplit(example.url).path), "") in self.by_key

    def resolve(self, example: Example) -> int | None:
        if example.faq is None and example.url in self.by_url:
            return self.by_url[example.url]
        parts = urlsplit(example.url)
        key = _path_key(parts.path)
        if example.faq is not None:
            return self.faq.get((key, " ".join(example.faq.split()).casefold()))
        return self.by_key.get((key, unquote(parts.fragment)))


def resolve_examples(sections: list[Section], examples: list[Example], name: str = EXAMPLES_NAME
                     ) -> tuple[list[tuple[int, str]], list[str]]:
    """-> ([(section row, example text)], problems). An example for an indexed page whose section is not
    there (a renamed heading, a changed FAQ question) is a problem, reported by the build, not fatal;
    examples for pages this index does not hold (another knowledge base) are skipped silently."""
    resolver = SectionResolver(sections)
    found, problems, missing = [], [], set()
    for ex in examples:
        row = resolver.resolve(ex)
        if row is None:
            if not ex.optional and resolver.has_page(ex) and (ex.url, ex.faq) not in missing:
                missing.add((ex.url, ex.faq))
                problems.append(f"{name}: no indexed section for {ex.url}"
                                + (f" (faq {ex.faq!r})" if ex.faq else "") + "; its examples are not used")
            continue
        found.append((row, ex.text))
    return found, problems
