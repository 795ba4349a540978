"""Where a page is published, and where its relative links point.

Page URLs follow the site generator: Jekyll with ``permalink: pretty`` (the handbook), Hugo, or a
plain "path minus .md" rule. Front matter ``permalink`` (Jekyll) or ``url`` (Hugo) wins.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote

URL_STYLES = ("jekyll", "hugo", "plain")


def _strip_ext(path: str) -> str:
    return re.sub(r"\.(md|markdown|mdx|html?)$", "", path, flags=re.I)


def page_url(rel_path: str, front_matter: dict, style: str = "jekyll") -> str:
    """Site-relative URL path of a page (starts with ``/``), from its source path and front matter.

    rel_path: path of the file relative to the source root, with ``/`` separators.
    """
    explicit = front_matter.get("permalink") if style == "jekyll" else front_matter.get("url")
    if isinstance(explicit, str) and explicit.strip() and ":" not in explicit:
        url = explicit.strip()
        return url if url.startswith("/") else "/" + url
    path = _strip_ext(rel_path)
    parts = path.split("/")
    if style == "jekyll":
        # A document of collection `_c` (possibly under collections_dir) -> /c/<name>/
        for i, part in enumerate(parts[:-1]):
            if part.startswith("_") and len(part) > 1:
                parts = [part[1:], *parts[i + 1:]]
                break
    if style == "hugo":
        slug = front_matter.get("slug")
        if isinstance(slug, str) and slug.strip() and parts[-1] not in ("_index", "index"):
            parts[-1] = slug.strip()
    if parts[-1] in ("index", "_index", "README", "readme"):
        parts = parts[:-1]
    joined = "/".join(p for p in parts if p)
    if not joined:
        return "/"
    return "/" + joined + ("" if style == "plain" else "/")


def absolute(site: str, url_path: str, fragment: str | None = None) -> str:
    """site + page path (+ ``#fragment``), fragment percent-encoded where needed."""
    url = site.rstrip("/") + quote(url_path, safe="/%:@!$&'()*+,;=-._~")
    if fragment:
        url += "#" + quote(fragment, safe="-._~!$&'()*+,;=:@/?%")
    return url


def text_fragment(text: str) -> str:
    """``:~:text=`` directive for ``text`` (text-fragment spec: also escape - , &)."""
    encoded = quote(" ".join(text.split()), safe="")
    return ":~:text=" + encoded.replace("-", "%2D")


def _loose_key(path: str) -> str:
    """Key for tolerant matching: lowercase, ``-``->``_``, numeric prefixes like ``1_`` dropped."""
    segments = [re.sub(r"^\d+[_-]", "", s) for s in path.lower().replace("-", "_").split("/") if s]
    return "/".join(segments)


class LinkResolver:
    """Resolves relative links between pages of one source to absolute published URLs.

    Knows every page by its source path (without extension) and its URL. A link that matches no
    page, even tolerantly (``data-resources\\data_stories`` after pages moved), resolves to None.
    """

    def __init__(self, site: str, pages: dict[str, str]):
        """pages: source-relative file path -> page URL path."""
        self.site = site
        self._exact: dict[str, str] = {}
        self._loose: dict[str, set[str]] = {}
        for rel_path, url in pages.items():
            for key in (_strip_ext(rel_path), url.strip("/")):
                self._exact.setdefault(key.lower(), url)
                self._loose.setdefault(_loose_key(key), set()).add(url)

    def resolve(self, href: str, from_path: str, from_url: str) -> str | None:
        target, _, fragment = href.replace("\\", "/").partition("#")
        target = target.split("?")[0]
        if not target:
            return None
        base_dirs = [posixpath.dirname(from_path), from_url.strip("/"), posixpath.dirname(from_url.strip("/")), ""]
        candidates = []
        for base in base_dirs:
            joined = posixpath.normpath(posixpath.join("/" + base, target)).strip("/")
            candidates.append(_strip_ext(re.sub(r"/index(\.html?|\.md)?$", "", joined)))
        if target.startswith("/"):
            candidates.insert(0, _strip_ext(target.strip("/")))
        for cand in candidates:
            url = self._exact.get(cand.lower())
            if url is not None:
                return absolute(self.site, url, fragment or None)
        for cand in candidates:
            urls = self._loose.get(_loose_key(cand))
            if urls and len(urls) == 1:
                return absolute(self.site, next(iter(urls)), fragment or None)
        return None

    def for_page(self, from_path: str, from_url: str):
        """A one-argument resolver bound to a page, for ``markdown.parse_markdown``."""
        return lambda href: self.resolve(href, from_path, from_url)
