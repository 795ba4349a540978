"""Template tags in Markdown pages (Liquid: Jekyll, Eleventy) -> what the published page shows.

Jekyll and Eleventy run Liquid over a page before Markdown. The indexer does not run templates; it
resolves the tags that name a page to that page's published URL and removes the others, so no
``{% ... %}`` or ``{{ ... }}`` reaches a passage:

- ``{% link _pages/x.md %}``, ``{% post_url 2020-01-02-name %}`` (Jekyll) and ``{% page "/x/" %}``
  (Eleventy shortcode) -> the absolute URL of that page when the source has it; otherwise, inside a
  link (``[text]({% link x.md %})``, ``href="…"``), the link is dropped and its text kept, elsewhere
  the tag is removed;
- ``{{ site.baseurl }}``, ``{{ site.url }}`` -> nothing (the rest of the link is site-relative);
  ``{{ "/x/" | relative_url }}`` (or ``absolute_url``) -> ``/x/``;
- ``{% raw %}…{% endraw %}`` -> its content, untouched (the site shows it as written: a page about
  templates); ``{% highlight lang %}…{% endhighlight %}`` -> a fenced code block;
  ``{% comment %}…{% endcomment %}``, ``{% capture %}…{% endcapture %}`` and ``{# … #}`` -> nothing;
- ``{% slack_channel "x" ["name"] %}`` (the TTS handbook's) -> the text its link shows: ``name`` or
  ``#x``;
- every other tag (``{% include … %}``, ``{% if %}``, ``{% assign %}``, other custom shortcodes) and
  output (``{{ page.title }}``) -> removed.

Hugo shortcodes (``{{< … >}}``, ``{{% … %}}``) are left to ``indexer.markdown``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

Resolve = Callable[[str], "str | None"]   # site path of a page (e.g. "/_pages/x.md", "/x/") -> absolute URL

_OPEN, _CLOSE = r"\{%-?\s*", r"\s*-?%\}"
_BLOCK = {name: re.compile(_OPEN + name + r"\b(?P<args>.*?)" + _CLOSE + r"(?P<body>.*?)" + _OPEN + "end" + name
                           + _CLOSE, re.S)
          for name in ("raw", "comment", "capture", "highlight")}
_TAG = re.compile(r"\{%-?\s*(?P<name>\w+)(?P<args>.*?)-?%\}|\{\{-?(?![<%])(?P<out>.*?)-?\}\}|\{#.*?#\}", re.S)
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\2[`~]*[ \t]*$|\Z)", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_LINK_CONTEXT = re.compile(r"(?:\]\(\s*<?|^\s*\[[^\]\n]+\]:\s*<?|\b(?:href|src)\s*=\s*[\"']?)\Z", re.I | re.M)
_URL_FILTER = re.compile(r"^\s*([\"'])(?P<path>[^\"']*)\1\s*\|\s*(?:relative_url|absolute_url|url)\s*$")
_SITE_URL = re.compile(r"^\s*site\.(?:baseurl|url|github\.url)\s*$")
_PLACEHOLDER = "\ue000{}\ue001"
_RESTORE = re.compile("\ue000(\\d+)\ue001")
URL_TAGS = ("link", "post_url", "page")


def _argument(args: str) -> str | None:
    """The page argument of a URL tag: first word or quoted string; None when it is a Liquid variable."""
    args = args.strip()
    match = re.match(r"([\"'])(.*?)\1|(\S+)", args)
    if not match:
        return None
    value = match.group(2) if match.group(1) else match.group(3)
    return None if "{{" in value or not value else value


def _candidates(name: str, arg: str) -> list[str]:
    arg = arg.strip()
    if name == "post_url":
        head, _, tail = arg.rpartition("/")
        found = [f"/_posts/{arg}"]
        if head:
            found.append(f"/{head}/_posts/{tail}")
        return found
    return ["/" + arg.lstrip("/")]


def render_templates(text: str, resolve: Resolve | None = None, in_code: bool = True) -> str:
    """Markdown with Liquid tags -> Markdown without them (see the module docstring).

    resolve: finds a page's absolute URL from its site path (``LinkResolver.for_page``); without it
    URL tags are treated as unresolvable. in_code: also replace tags inside code blocks and spans, as
    Jekyll does; False for sources whose generator does not run Liquid (their code shows tags as is).
    """
    if "{%" not in text and "{{" not in text and "{#" not in text:
        return text
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return _PLACEHOLDER.format(len(kept) - 1)

    if not in_code:
        text = _FENCE.sub(lambda m: keep(m.group(0)), text)
        text = _CODE_SPAN.sub(lambda m: keep(m.group(0)), text)
    text = _BLOCK["raw"].sub(lambda m: keep(m.group("body")), text)
    text = _BLOCK["comment"].sub("", text)
    text = _BLOCK["capture"].sub("", text)
    text = _BLOCK["highlight"].sub(   # Liquid still runs inside: tags in it are replaced below
        lambda m: f"```{(m.group('args').split() or [''])[0]}\n{m.group('body').strip(chr(10))}\n```", text)

    out: list[str] = []
    pos = 0
    for match in _TAG.finditer(text):
        out.append(text[pos:match.start()])
        pos = match.end()
        out.append(_replacement(match, "".join(out[-3:]), resolve))
    out.append(text[pos:])
    rendered = "".join(out)
    while _RESTORE.search(rendered):
        rendered = _RESTORE.sub(lambda m: kept[int(m.group(1))], rendered)
    return rendered


def _replacement(match: re.Match, before: str, resolve: Resolve | None) -> str:
    if match.group("out") is not None:
        expression = match.group("out")
        if _SITE_URL.match(expression):
            return ""
        url_filter = _URL_FILTER.match(expression)
        return quote(url_filter.group("path"), safe="/#:?&=%~.-_") if url_filter else ""
    name = match.group("name")
    if name == "slack_channel":
        words = re.findall(r"\"([^\"]*)\"|'([^']*)'", match.group("args") or "")
        values = [a or b for a, b in words]
        if len(values) >= 2 and values[1].strip():
            return values[1].strip()
        return "#" + values[0].lstrip("#") if values and values[0].strip() else ""
    if name not in URL_TAGS:
        return ""
    in_link = bool(_LINK_CONTEXT.search(before[-200:]))
    arg = _argument(match.group("args") or "")
    url = None
    if arg and resolve is not None:
        for candidate in _candidates(name, arg):
            url = resolve(candidate)
            if url:
                break
    if url:
        return url
    return "#" if in_link else ""
