"""Change report between two builds: pages and sections added, removed, changed.

Sections are matched by their published URL (the deep link), not by their id: an id includes the
source's name, so renaming a source in sources.toml, or moving a page from the bundled copy to the
handbook repository, changes no URL and reports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.model import Section


@dataclass
class ChangeReport:
    pages_added: list[str] = field(default_factory=list)
    pages_removed: list[str] = field(default_factory=list)
    pages_changed: list[str] = field(default_factory=list)
    sections_added: list[str] = field(default_factory=list)
    sections_removed: list[str] = field(default_factory=list)
    sections_changed: list[str] = field(default_factory=list)
    first_build: bool = False

    @property
    def unchanged(self) -> bool:
        return not any((self.pages_added, self.pages_removed, self.pages_changed,
                        self.sections_added, self.sections_removed, self.sections_changed))

    def lines(self, limit: int = 20) -> list[str]:
        if self.first_build:
            return ["change report: first build (no previous index)"]
        if self.unchanged:
            return ["change report: no changes"]
        out = [f"change report: pages +{len(self.pages_added)} -{len(self.pages_removed)} "
               f"~{len(self.pages_changed)}; sections +{len(self.sections_added)} "
               f"-{len(self.sections_removed)} ~{len(self.sections_changed)}"]
        for label, items in (("page added", self.pages_added), ("page removed", self.pages_removed),
                             ("page changed", self.pages_changed), ("section added", self.sections_added),
                             ("section removed", self.sections_removed),
                             ("section changed", self.sections_changed)):
            out.extend(f"  {label}: {item}" for item in items[:limit])
            if len(items) > limit:
                out.append(f"  … and {len(items) - limit} more {label.split()[0]}s {label.split()[1]}")
        return out


def _label(s: Section) -> str:
    return f"{s.url}  ({' › '.join(s.breadcrumb)})"


def _by_url(sections: list[Section]) -> dict[tuple[str, int], Section]:
    """(url, how many earlier sections share it) -> section: a URL published twice stays two keys."""
    seen: dict[str, int] = {}
    out = {}
    for s in sections:
        n = seen[s.url] = seen.get(s.url, -1) + 1
        out[(s.url, n)] = s
    return out


def compare(old: list[Section] | None, new: list[Section]) -> ChangeReport:
    """Compare the sections of the previous index (None = none) with the new ones."""
    if old is None:
        return ChangeReport(first_build=True)
    old_by_url, new_by_url = _by_url(old), _by_url(new)
    report = ChangeReport()
    report.sections_added = sorted(_label(s) for key, s in new_by_url.items() if key not in old_by_url)
    report.sections_removed = sorted(_label(s) for key, s in old_by_url.items() if key not in new_by_url)
    report.sections_changed = sorted(
        _label(s) for key, s in new_by_url.items()
        if key in old_by_url and (old_by_url[key].lines, old_by_url[key].breadcrumb) != (s.lines, s.breadcrumb))

    def pages(sections: list[Section]) -> dict[str, list]:
        out: dict[str, list] = {}
        for s in sections:
            out.setdefault(s.site_page, []).append((s.url, s.lines, s.heading))
        return out

    old_pages, new_pages = pages(old), pages(new)
    report.pages_added = sorted(p for p in new_pages if p not in old_pages)
    report.pages_removed = sorted(p for p in old_pages if p not in new_pages)
    report.pages_changed = sorted(p for p in new_pages if p in old_pages and new_pages[p] != old_pages[p])
    return report
