"""Where a page is published, and where its relative links point.

Page URLs follow the site generator: Jekyll with ``permalink: pretty`` (the handbook), Hugo, or a
plain "path minus .md" rule. Front matter ``permalink`` (Jekyll) or ``url`` (Hugo) wins.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote, urlsplit

URL_STYLES = ("jekyll", "hugo", "plain")


def _strip_ext(path: str) -> str:
    return re.sub(r"\.(md|markdown|mdx|html?)$", "", path, flags=re.I)


def jekyll_suffix(site_config: dict | None) -> str:
    """What Jekyll appends to a page's ``/:path/:basename``: ``/`` (pretty) or ``.html``.

    From the site's ``permalink`` setting (Jekyll's ``Utils.add_permalink_suffix``): ``pretty`` or a
    template ending in ``/`` -> ``/``; ``date`` (Jekyll's default), ``none``, ``ordinal``, a template
    ending in ``:output_ext`` -> ``.html``. A source without a ``_config.yml`` (the bundled pages)
    is taken to be published by the pretty-permalink handbook site.
    """
    if not site_config:
        return "/"
    style = site_config.get("permalink", "date")
    if not isinstance(style, str) or style in ("date", "none", "ordinal", "weekdate"):
        return ".html"
    if style == "pretty" or style.endswith("/"):
        return "/"
    return ".html" if style.endswith(":output_ext") else ""


_HUGO_UNSAFE = re.compile(r"[^\w./~%+#-]")


def _hugo_path(path: str) -> str:
    """Hugo's ``MakePath``/``urlize`` in short: spaces -> ``-``, other punctuation dropped, lowercase."""
    return _HUGO_UNSAFE.sub("", path.replace(" ", "-")).lower()


def _hugo_permalink(pattern: str, parts: list[str], front_matter: dict) -> str | None:
    """A Hugo ``permalinks`` pattern (``:year/:month/:day/:slug/``) filled from front matter."""
    date = re.match(r"(\d{4})-(\d{2})-(\d{2})", str(front_matter.get("date") or ""))
    slug = front_matter.get("slug") or front_matter.get("title") or parts[-1]
    values = {"slug": str(slug), "title": str(front_matter.get("title") or parts[-1]),
              "filename": parts[-1], "section": parts[0], "sections": "/".join(parts[:-1])}
    if date:
        values.update(year=date.group(1), month=date.group(2), day=date.group(3))

    def fill(match: re.Match) -> str:
        value = values.get(match.group(1))
        if value is None:
            raise KeyError(match.group(1))
        return value

    try:
        url = re.sub(r":(year|month|day|slug|title|filename|sections|section)\b", fill, pattern)
    except KeyError:
        return None  # e.g. no date: fall back to the default rule
    return "/" + _hugo_path(url.strip("/")) + "/"


def page_url(rel_path: str, front_matter: dict, style: str = "jekyll", site_config: dict | None = None) -> str:
    """Site-relative URL path of a page (starts with ``/``), from its source path and front matter.

    rel_path: path of the file relative to the source root, with ``/`` separators.
    site_config: the site's configuration (Jekyll ``_config.yml``: ``permalink``; Hugo ``config.yml``:
    ``permalinks``), or None.
    - jekyll: front matter ``permalink``; else ``foo.md`` -> ``/foo/`` (or ``/foo.html`` when the
      site does not use pretty permalinks), ``index.md`` -> ``/``, collection ``_c/x.md`` -> ``/c/x/``.
    - hugo: front matter ``url``; else the ``permalinks`` pattern of the page's section; else
      ``/<section>/<dirs>/<slug or file name>/``; ``_index.md``/``index.md`` -> its folder. Lowercased.
      A leading ``content/`` (Hugo's content dir) is dropped.
    - plain: path minus ``.md``, ``X/index.md`` -> ``/X``, no trailing slash; a leading
      ``content/`` is dropped.
    """
    explicit = front_matter.get("permalink") if style == "jekyll" else front_matter.get("url")
    if isinstance(explicit, str) and explicit.strip() and ":" not in explicit:
        url = explicit.strip()
        return url if url.startswith("/") else "/" + url
    path = _strip_ext(rel_path)
    parts = path.split("/")
    if style in ("hugo", "plain") and len(parts) > 1 and parts[0] == "content":
        parts = parts[1:]
    suffix = "/" if style == "hugo" else ""
    if style == "jekyll":
        suffix = jekyll_suffix(site_config)
        # A document of collection `_c` (possibly under collections_dir) -> /c/<name>/
        for i, part in enumerate(parts[:-1]):
            if part.startswith("_") and len(part) > 1:
                parts = [part[1:], *parts[i + 1:]]
                break
    if style == "hugo":
        permalinks = (site_config or {}).get("permalinks") or {}
        pattern = permalinks.get(parts[0]) if len(parts) > 1 and isinstance(permalinks, dict) else None
        if isinstance(pattern, str) and parts[-1] not in ("_index", "index"):
            url = _hugo_permalink(pattern, parts, front_matter)
            if url:
                return url
        slug = front_matter.get("slug")
        if isinstance(slug, str) and slug.strip() and parts[-1] not in ("_index", "index"):
            parts[-1] = slug.strip()
    if parts[-1] in ("index", "_index") or (style != "plain" and parts[-1] in ("README", "readme")):
        parts = parts[:-1]
        suffix = "" if style == "plain" else "/"
    joined = "/".join(p for p in parts if p)
    if style == "hugo":
        joined = _hugo_path(joined)
    if not joined:
        return "/"
    return "/" + joined + suffix


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

    def __init__(self, site: str, pages: dict[str, str], other_urls=()):
        """pages: source-relative file path -> page URL path. other_urls: URL paths of pages that
        other sources publish on the same site (links to them resolve by URL only)."""
        self.site = site
        self._base = urlsplit(site).path.rstrip("/")  # "/open-data-handbook"
        self._exact: dict[str, str] = {}
        self._loose: dict[str, set[str]] = {}
        keyed = [(key, url) for rel_path, url in pages.items() for key in (_strip_ext(rel_path), url)]
        for key, url in keyed + [(url, url) for url in other_urls]:
            key = _strip_ext(key.strip("/"))
            self._exact.setdefault(key.lower(), url)
            self._loose.setdefault(_loose_key(key), set()).add(url)

    def resolve(self, href: str, from_path: str, from_url: str) -> str | None:
        target, _, fragment = href.replace("\\", "/").partition("#")
        target = target.split("?")[0]
        if not target:
            return None
        if self._base and target.startswith("/") and (target + "/").startswith(self._base + "/"):
            target = target[len(self._base):] or "/"  # root-relative link that includes the base path
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
