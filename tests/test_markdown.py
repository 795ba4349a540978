"""Parsing one page: front matter, kramdown IALs, callouts, tables, images, HTML, mojibake, links."""

from __future__ import annotations

import re
from typing import NamedTuple

import pytest

from conftest import require_shared
from indexer.errors import SourceError
from indexer.markdown import decode_page, parse_markdown, split_front_matter


class Page(NamedTuple):
    front_matter: dict
    blocks: list


def parse_page(data: bytes, name: str) -> Page:
    """Bytes of a Markdown file -> front matter and blocks, the steps indexer/sections.py takes."""
    front, body = split_front_matter(decode_page(data, name), name)
    return Page(front, parse_markdown(body))


def _texts(markdown: str, resolve=None) -> list[str]:
    return [b.text for b in parse_markdown(markdown, resolve)]


# ----------------------------------------------------------------------------- front matter
def test_front_matter_keys_of_just_the_docs():
    page = (b"---\nlayout: page\ntitle: Data retirement\npermalink: /open_data_resources/data_retirement\n"
            b"parent: Open data resources\ngrand_parent: Home\nnav_order: 23\nnav_exclude: true\n"
            b"search_exclude: false\nredirect_to: https://example.org/x\n---\n# Data retirement\n\nBody.\n")
    doc = parse_page(page, "x.md")
    assert doc.front_matter == {
        "layout": "page", "title": "Data retirement", "permalink": "/open_data_resources/data_retirement",
        "parent": "Open data resources", "grand_parent": "Home", "nav_order": 23, "nav_exclude": True,
        "search_exclude": False, "redirect_to": "https://example.org/x"}
    assert [b.text for b in doc.blocks] == ["Data retirement", "Body."]


def test_front_matter_absent_toml_and_yaml_comments():
    assert split_front_matter("# Title\n\ntext") == ({}, "# Title\n\ntext")
    front, body = split_front_matter('+++\ntitle = "Hugo page"\nweight = 3\n+++\nBody\n')
    assert front == {"title": "Hugo page", "weight": 3} and body == "Body\n"
    front, body = split_front_matter("---\n# see all topics at /topics\ntitle: T # trailing\n---\n\nBody")
    assert front == {"title": "T"} and body.strip() == "Body"
    front, _ = split_front_matter("---\r\ntitle: CRLF\r\n---\r\nBody\r\n")
    assert front == {"title": "CRLF"}


@pytest.mark.parametrize("raw, line, reason", [
    ("---\ntitle: [unclosed\n---\nBody", 2, "invalid front matter"),
    ("---\n- a list\n- not a mapping\n---\nBody", 2, "not a mapping"),
    ('+++\ntitle = \n+++\nBody', 2, "invalid front matter"),
])
def test_bad_front_matter_is_one_line_naming_the_file_and_line(raw, line, reason):
    with pytest.raises(SourceError) as err:
        split_front_matter(raw, "handbook:docs/bad.md")
    message = str(err.value)
    assert message.startswith(f"handbook:docs/bad.md:{line}: ") and reason in message and "\n" not in message


# ----------------------------------------------------------------------------- kramdown syntax
def test_block_and_span_ials_are_removed():
    blocks = parse_markdown(
        "## Title {#custom-id}\n\n"
        "## Other\n{: #other-id .no_toc }\n\n"
        "A [link](https://data.ct.gov/){:target=\"_blank\"} and *em*{: .x} text.\n\n"
        "{: .note-title }\n> {: .opaque }\n> Body\n")
    assert [b.text for b in blocks] == ["Title", "Other", "A link and em text.", "Body"]
    assert blocks[0].explicit_id == "custom-id" and blocks[1].explicit_id == "other-id"
    assert "{:" not in blocks[2].md and "target" not in blocks[2].md
    assert blocks[2].md == "A [link](https://data.ct.gov/) and _em_ text."


def test_class_only_ial_keeps_the_auto_id():
    block = parse_markdown("# Table of contents\n{: .no_toc .text-delta }\n")[0]
    assert block.explicit_id is None and block.raw == "Table of contents"


def test_just_the_docs_callouts_kept_as_text_with_their_title():
    blocks = parse_markdown(
        "{: .note-title }\n> {: .opaque }\n>💡 **What is open data?**\n>\n>Open data is data that is:\n>\n"
        ">* Freely available;\n>* Machine-readable.\n\n"
        "{: .warning }\n> Never publish PII.\n")
    assert [(b.kind, b.text) for b in blocks] == [
        ("text", "💡 What is open data?"), ("text", "Open data is data that is:"),
        ("item", "Freely available;"), ("item", "Machine-readable."), ("text", "Never publish PII.")]
    assert blocks[0].md == "💡 **What is open data?**"


def test_github_alerts_become_notes():
    assert _texts("> [!WARNING]\n> Data must be public.\n") == ["Note: Data must be public."]


# ----------------------------------------------------------------------------- tables
def test_table_rows_become_sentences_with_header_and_row_group_label():
    blocks = parse_markdown(
        "|   | Field | Definition | Permitted values |\n|---|---|---|---|\n"
        "| Publishing Details | Update Frequency | How often it is updated. | Drop down menu |\n"
        "|   | Last Updated | Most recent change. | Auto-generated |\n"
        "| Other | License |  | Drop down |\n")
    assert [b.kind for b in blocks] == ["row"] * 3
    assert [b.text for b in blocks] == [
        "Publishing Details — Update Frequency — Definition: How often it is updated.; "
        "Permitted values: Drop down menu",
        "Publishing Details — Last Updated — Definition: Most recent change.; Permitted values: Auto-generated",
        "Other — License — Permitted values: Drop down",  # empty cells are left out
    ]
    assert blocks[0].md.startswith("Publishing Details — **Update Frequency** — **Definition:** How often")


def test_table_without_label_column():
    assert _texts("| Tool | Complexity |\n|---|---|\n| Gateway | High |\n| URL link | Low |\n") == [
        "Gateway — Complexity: High", "URL link — Complexity: Low"]


def test_real_metadata_standards_table():
    path = require_shared("handbook", "2025-07", "docs", "_open_data_resources", "metadata_standards.md")
    rows = [b.text for b in parse_page(path.read_bytes(), path.name).blocks if b.kind == "row"]
    update = [r for r in rows if "— Update Frequency —" in r]
    assert update == ["Publishing Details — Update Frequency — Definition: Frequency with which dataset is "
                      "updated.; Permitted values: Drop down menu: Not updated (historical only), As needed, "
                      "Annually, Bi-annually, Quarterly, Bi-monthly, Monthly, Bi-weekly, Weekly, Every weekday, "
                      "Daily, Other"]
    # the row-group label carries down to the rows below it, and every row keeps its headers
    assert any(r.startswith("Basic Descriptive — Agency — Definition: ") for r in rows)
    assert all("Definition: " in r or "Permitted values: " in r for r in rows)
    assert not any("|" in r or "---" in r for r in rows)


# ----------------------------------------------------------------------------- images, HTML
def test_images_become_alt_text_and_html_is_stripped():
    blocks = parse_markdown(
        "Look: ![Chart of suppressed rows](../assets/chart.png) here.\n\n"
        'Some <span class="x">inline <b>bold</b></span> and a <a href="https://x.org" target=_blank>link</a>.\n\n'
        '<div class="deck"><p>Block <em>html</em> &amp; more</p><script>var x = 1;</script>'
        "<style>.a{}</style></div>\n\n"
        "<!-- a hidden comment -->\n")
    assert [b.text for b in blocks] == ["Look: Chart of suppressed rows here.", "Some inline bold and a link.",
                                        "Block html & more"]
    assert all("<" not in b.md and "chart.png" not in b.md for b in blocks)


def test_hugo_shortcodes_and_generator_tokens_are_dropped():
    assert _texts('Hi {{< legacy-img src="a.png" >}} there {{generator:team_members_list}}.\n\n'
                  "{{< note >}}\nKeep this.\n{{< /note >}}\n") == ["Hi there .", "Keep this."]


# ----------------------------------------------------------------------------- decoding
def test_mojibake_repaired_curly_quotes_and_entities_kept():
    text = decode_page("Let us know what youâ€™d like &amp; what you’d want — “soon”.".encode(), "p.md")
    assert text == "Let us know what you’d like &amp; what you’d want — “soon”."


def test_curly_quote_in_quoted_yaml_survives_decoding():
    raw = "---\ntitle: 'Findings From 10x’s Recent Round'\n---\nBody\n".encode()
    doc = parse_page(raw, "news.md")
    assert doc.front_matter["title"] == "Findings From 10x’s Recent Round"


def test_seed_index_mojibake_is_repaired():
    path = require_shared("seeds", "index.md")
    text = decode_page(path.read_bytes(), "index.md")
    assert "youâ€™d" not in text and "you’d like to see included" in text


def test_bom_crlf_and_stray_controls():
    assert decode_page(b"\xef\xbb\xbf# T\r\n\r\nA\x03b\r\n", "p.md") == "# T\n\nAb\n"


@pytest.mark.parametrize("data, where, words", [
    (b"# title\n\n# caf\xe9\n", "handbook:docs/x.md:3: ", "not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "handbook:docs/x.md: ", "binary"),
])
def test_undecodable_files_raise_one_line_naming_the_file(data, where, words):
    with pytest.raises(SourceError) as err:
        decode_page(data, "handbook:docs/x.md")
    assert str(err.value).startswith(where) and words in str(err.value)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- links
def test_links_relative_resolved_unknown_dropped_external_kept_as_written():
    seen = []

    def resolve(href):  # the page-bound LinkResolver; it normalises backslashes itself
        seen.append(href)
        return "https://site.example/pages/a/" if href == "data-resources\\data_stories" else None

    block = parse_markdown(
        "See [stories](data-resources\\data_stories), [gone](missing_page), [frag](#local), [ftp](ftp://x.org/f), "
        "[mail](mailto:dapa@ct.gov) and [ext](https://teams.microsoft.com/l/channel/19%3aab%40thread?q=a%26b).",
        resolve)[0]
    assert block.md == (
        "See [stories](https://site.example/pages/a/), gone, frag, ftp, [mail](mailto:dapa@ct.gov) and "
        "[ext](https://teams.microsoft.com/l/channel/19%3aab%40thread?q=a%26b).")
    assert block.text == "See stories, gone, frag, ftp, mail and ext."
    assert seen == ["data-resources\\data_stories", "missing_page"]


def test_javascript_links_never_become_links():
    block = parse_markdown("[js](javascript:alert(1)) and <a href=\"javascript:x()\">y</a>")[0]
    assert not re.search(r"(?<!\\)\]\(javascript", block.md)  # at most escaped literal text
    assert "href" not in block.md


def test_links_without_resolver_are_dropped_but_text_kept():
    block = parse_markdown("Read [the steps](steps.md) now.")[0]
    assert block.md == "Read the steps now." and block.text == "Read the steps now."


def test_url_with_parentheses_does_not_break_markdown():
    block = parse_markdown("[wiki](https://en.wikipedia.org/wiki/Data_(computing))")[0]
    assert block.md == "[wiki](https://en.wikipedia.org/wiki/Data_%28computing%29)"


def test_front_matter_after_blank_lines_and_empty_front_matter():
    assert split_front_matter("\n---\ntitle: X\n---\nBody") == ({"title": "X"}, "Body")
    assert split_front_matter("---\n---\nBody") == ({}, "Body")
    # thematic breaks later in a page are not front matter
    assert split_front_matter("Intro\n\n---\n\nmore\n")[0] == {}


def test_indented_raw_html_is_text_not_code():
    blocks = parse_markdown('<div id="node">\n\n    <p>\n      Hold an <a href="{{< ref "x.md" >}}">awards</a>'
                            " ceremony.\n    </p>\n\n```html\n<p>fenced stays code</p>\n```\n")
    assert [(b.kind, b.text) for b in blocks] == [("text", "Hold an awards ceremony."),
                                                  ("code", "<p>fenced stays code</p>")]
