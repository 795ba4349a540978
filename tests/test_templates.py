"""Liquid template tags (Jekyll, Eleventy) resolve to the page they name or disappear; none reaches a
passage. Small sites written here: a Jekyll one (like the CT handbook) and an Eleventy one (like the
TTS handbook: ``{% page "/travel/…" %}``, ``{% slack_channel "…" %}``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO
from indexer.build import build
from indexer.templates import render_templates

SITE = "https://example.gov/handbook"
SYNONYMS = REPO / "knowledge" / "synonyms.txt"
TAG = re.compile(r"\{%|%\}|\{\{|\}\}|\{#|#\}")

JEKYLL = {
    "_config.yml": "permalink: pretty\nbaseurl: /handbook\n",
    "retire.md": "---\ntitle: Retiring data\n---\n# Retiring data\n\n## How to retire\n\nMark the dataset as "
                 "retired, then archive it.\n",
    "_posts/2024-03-01-portal-upgrade.md": "---\ntitle: Portal upgrade\n---\nThe portal moved to a new version.\n",
    "guide.md": (
        "---\ntitle: Publishing guide\n---\n# Publishing guide\n\n"
        "## Before you publish\n\n"
        "Read [retiring data]({% link retire.md %}#how-to-retire) and the "
        "[upgrade note]({% post_url 2024-03-01-portal-upgrade %}) first.\n"
        "See also [the retire page]({{ site.baseurl }}/retire/) and "
        "<a href=\"{{ '/retire/' | relative_url }}\">retiring, again</a>.\n\n"
        "{% include callout.html content=\"Ask DAPA when unsure.\" %}\n\n"
        "A [missing page]({% link no-such-page.md %}) keeps its words.\n"
        "{% if site.show_tips %}Tip: publish on Mondays.{% endif %}\n"
        "{% comment %}internal note: do not index{% endcomment %}\n\n"
        "## Example\n\n"
        "{% highlight yaml %}\ntitle: {{ page.title }}\nlayout: page\n{% endhighlight %}\n\n"
        "## Writing layouts\n\n"
        "{% raw %}Write {{ page.title }} in a layout.{% endraw %}\n"
    ),
}

ELEVENTY = {
    "travel/index.md": "---\ntitle: Travel\npermalink: /travel/\n---\n# Travel\n\nBook travel in the travel "
                       "system at least two weeks ahead.\n",
    "travel/local.md": "---\ntitle: Local travel\npermalink: /travel/local/\n---\n# Local travel\n\nLocal "
                       "trips under 50 miles need no authorization.\n",
    "expenses.md": (
        "---\ntitle: Expenses\npermalink: /expenses/\n---\n# Expenses\n\n"
        "## Reimbursement\n\n"
        "File a voucher within five days of returning from [travel]({% page \"/travel/\" %}); for trips "
        "near the office see [local travel]({% page '/travel/local/' %}#top).\n"
        "Questions? Ask in {% slack_channel \"travel\" %} or {% slack_channel \"g-finance\" \"the finance guild\" %}.\n"
        "{%- assign x = 1 -%}{# a Nunjucks comment #}\n"
    ),
}


def _site(root: Path, name: str, files: dict[str, str], style: str = "jekyll") -> str:
    for rel, text in files.items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return f'[[source]]\nname = "{name}"\npath = "{name}"\nsite = "{SITE}"\nurl_style = "{style}"\n\n'


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("templates")
    (root / "sources.toml").write_text(_site(root, "jekyll", JEKYLL), encoding="utf-8")
    result = build(root / "sources.toml", root / "index", root / "cache", synonyms_file=SYNONYMS)
    assert result.ok, result.problems
    return result.index


@pytest.fixture(scope="module")
def eleventy_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("eleventy")
    (root / "sources.toml").write_text(_site(root, "tts", ELEVENTY), encoding="utf-8")
    result = build(root / "sources.toml", root / "index", root / "cache", synonyms_file=SYNONYMS)
    assert result.ok, result.problems
    return result.index


def _section(index, heading: str):
    return next(s for s in index.sections if s.heading == heading)


@pytest.mark.parametrize("which", ["index", "eleventy_index"])
def test_no_template_tag_in_any_section_or_passage(which, request):
    index = request.getfixturevalue(which)
    for s in index.sections:
        if s.heading == "Writing layouts":
            continue   # {% raw %}: the published page shows the tag itself (see below)
        for text in (*s.lines, *s.display, s.heading, *s.breadcrumb):
            assert not TAG.search(text), (s.url, text)
    for question in ("how do I retire a dataset", "publishing guide before you publish", "reimbursement voucher",
                     "ask in slack", "example layout title"):
        for hit in index.search(question, 5).hits:
            if hit.section.heading == "Writing layouts":
                continue
            assert not TAG.search(hit.passage) and not TAG.search(hit.passage_text), (question, hit.passage)


def test_jekyll_link_tags_become_links_to_the_page(index):
    display = " ".join(_section(index, "Before you publish").display)
    assert f"[retiring data]({SITE}/retire/#how-to-retire)" in display
    assert f"[upgrade note]({SITE}/posts/2024-03-01-portal-upgrade/)" in display
    assert f"[the retire page]({SITE}/retire/)" in display
    assert "retiring, again" in display
    text = _section(index, "Before you publish").text
    assert "A missing page keeps its words." in text and "no-such-page" not in display
    assert "Ask DAPA" not in text and "internal note" not in text
    assert "Tip: publish on Mondays." in text   # the content of an {% if %} is kept, its tags are not


def test_highlight_becomes_code_and_raw_stays_as_written(index):
    example = _section(index, "Example")
    assert example.display == ("```\ntitle: \nlayout: page\n```",), example.display
    assert _section(index, "Writing layouts").text == "Write {{ page.title }} in a layout."


def test_eleventy_page_shortcodes_resolve_and_custom_shortcodes_go(eleventy_index):
    section = _section(eleventy_index, "Reimbursement")
    display = " ".join(section.display)
    assert f"[travel]({SITE}/travel/)" in display
    assert f"[local travel]({SITE}/travel/local/#top)" in display
    assert "Questions? Ask in #travel or the finance guild." in section.text


def test_render_templates_on_plain_text():
    resolve = {"/a.md": f"{SITE}/a/"}.get
    assert render_templates("[x]({% link a.md %})", resolve) == f"[x]({SITE}/a/)"
    assert render_templates("go to {% link a.md %} now", resolve) == f"go to {SITE}/a/ now"
    assert render_templates("go to {% link b.md %} now", resolve) == "go to  now"
    assert render_templates("[x]({% link b.md %})", resolve) == "[x](#)"   # link dropped, text kept
    assert render_templates("no tags at all {not liquid}", resolve) == "no tags at all {not liquid}"
    # A generator without Liquid: code keeps what it shows; prose still loses the tags.
    code = "```yaml\nrun: ${{ github.run_id }}\n```\nUse `{{ x }}` and {{ site.baseurl }}/a/."
    expected = "```yaml\nrun: ${{ github.run_id }}\n```\nUse `{{ x }}` and /a/."
    assert render_templates(code, resolve, in_code=False) == expected
