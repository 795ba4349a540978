"""Pages -> sections: H1-H3 split, anchors, stable ids, breadcrumbs, FAQ questions, skipped pages."""

from __future__ import annotations

from indexer.sections import rendered_text, source_sections
from indexer.sources import LoadedSource, SourceFile, SourceSpec

SITE = "https://ctopendata.github.io/open-data-handbook"
CONFIG = {"permalink": "pretty", "just_the_docs": {"collections": {"open_data_resources": {
    "name": "Open data resources"}}}}


def _sections(files: dict[str, str], config: dict | None = None, name: str = "hb"):
    source = LoadedSource(SourceSpec(name=name, site=SITE),
                          [SourceFile(path, text.encode("utf-8")) for path, text in files.items()],
                          site_config=CONFIG if config is None else config)
    return source_sections(source)


PAGE = """---
title: Data retirement
parent: Open data resources
permalink: /open_data_resources/data_retirement
---
Intro before any heading.

# Data retirement

Retiring means removing data from the portal.

## Criteria for retiring data

Data is retired when it is out of date.

#### A detail at H4

Stays inside its H3 parent? No: inside this H2.

### Process **for** `assets`

Steps.

## Criteria for retiring data

Duplicate heading text.

##### Deep

Deep text.
"""


def test_split_at_h1_to_h3_with_h4_and_deeper_inside_the_parent():
    out = _sections({"docs/_open_data_resources/data_retirement.md": PAGE})
    assert out.problems == [] and out.skipped == []
    got = [(s.level, s.heading, s.anchor, s.url.removeprefix(SITE)) for s in out.sections]
    page = "/open_data_resources/data_retirement"
    assert got == [
        (0, "Data retirement", None, page),  # text before the first heading: a page-top link
        (1, "Data retirement", "data-retirement", page + "#data-retirement"),
        (2, "Criteria for retiring data", "criteria-for-retiring-data", page + "#criteria-for-retiring-data"),
        (3, "Process for assets", "process-for-assets", page + "#process-for-assets"),
        (2, "Criteria for retiring data", "criteria-for-retiring-data-1", page + "#criteria-for-retiring-data-1"),
    ]
    criteria = out.sections[2]
    assert criteria.lines == ("Data is retired when it is out of date.", "A detail at H4",
                              "Stays inside its H3 parent? No: inside this H2.")
    assert out.sections[4].lines == ("Duplicate heading text.", "Deep", "Deep text.")
    assert out.pages == {page: "docs/_open_data_resources/data_retirement.md"}


def test_h4_ids_still_count_for_duplicates():
    out = _sections({"p.md": "---\ntitle: P\n---\n#### Notes\n\nx\n\n## Notes\n\ny\n"})
    assert [s.anchor for s in out.sections] == [None, "notes-1"]


def test_explicit_ids_win():
    out = _sections({"p.md": "---\ntitle: P\n---\n## Title {#custom}\n\nx\n\n## Other\n{: #other }\n\ny\n"})
    assert [s.url.rsplit("#", 1)[1] for s in out.sections] == ["custom", "other"]


def test_breadcrumb_parent_page_heading():
    out = _sections({"docs/_open_data_resources/data_retirement.md": PAGE})
    assert out.sections[2].breadcrumb == ("Open data resources", "Data retirement", "Criteria for retiring data")
    # the H1 repeats the page title: not twice
    assert out.sections[1].breadcrumb == ("Open data resources", "Data retirement")
    assert out.sections[1].page_title == "Data retirement"


def test_breadcrumb_from_grand_parent_and_collection_name():
    out = _sections({
        "a.md": "---\ntitle: DataSync\nparent: Automation guidance\ngrand_parent: Open data resources\n---\n"
                "## What it is\n\nx\n",
        "docs/_open_data_resources/other.md": "---\ntitle: Open data resources\n---\n# Other\n\ny\n"})
    crumbs = {s.heading: s.breadcrumb for s in out.sections}
    assert crumbs["What it is"] == ("Open data resources", "Automation guidance", "DataSync", "What it is")
    # collection name as parent, and a crumb equal to the one before it is not repeated
    assert crumbs["Other"] == ("Open data resources", "Other")


def test_title_falls_back_to_first_h1_then_file_name():
    out = _sections({"team/zoom.md": "# Using Zoom {#zoom}\n\nx\n", "notes.md": "Just text.\n"}, config={})
    titles = {s.path: s.page_title for s in out.sections}
    assert titles == {"team/zoom.md": "Using Zoom", "notes.md": "notes"}


def test_section_ids_are_stable_across_rebuilds_and_edits():
    first = _sections({"docs/_open_data_resources/data_retirement.md": PAGE}).sections
    again = _sections({"docs/_open_data_resources/data_retirement.md": PAGE}).sections
    assert [s.id for s in first] == [s.id for s in again]
    assert len({s.id for s in first}) == len(first)
    edited = PAGE.replace("out of date.", "out of date or wrong.").replace("Steps.", "Three steps.")
    edited_ids = {s.heading + str(s.anchor): s.id for s in _sections(
        {"docs/_open_data_resources/data_retirement.md": edited}).sections}
    assert edited_ids == {s.heading + str(s.anchor): s.id for s in first}  # text edits keep ids
    other_source = _sections({"docs/_open_data_resources/data_retirement.md": PAGE}, name="other").sections
    assert not {s.id for s in other_source} & {s.id for s in first}


FAQ = """---
title: FAQ
---

# Frequently asked questions

**What is open data?**

Open data is data that can be freely used.

**What's the "right" format -- CSV?**\x20

Use CSV.

* a list item

**Who can I contact for more information?**

Email [dapa@ct.gov](mailto:dapa@ct.gov).
"""


def test_faq_page_one_section_per_bold_question_with_text_fragment():
    out = _sections({"faq.md": FAQ})
    faq = [s for s in out.sections if s.kind == "faq"]
    assert [s.heading for s in faq] == ["What is open data?", "What's the \"right\" format -- CSV?",
                                        "Who can I contact for more information?"]
    assert faq[0].url == SITE + "/faq/#:~:text=What%20is%20open%20data%3F"
    assert faq[0].lines == ("Open data is data that can be freely used.",)
    assert faq[1].lines == ("Use CSV.", "a list item")
    # the fragment matches the text as the site renders it (kramdown smart quotes and dashes)
    assert faq[1].url.endswith("#:~:text=What%E2%80%99s%20the%20%E2%80%9Cright%E2%80%9D%20format%20%E2%80%93%20CSV%3F")
    assert faq[2].display == ("Email [dapa@ct.gov](mailto:dapa@ct.gov).",)
    assert faq[2].breadcrumb == ("FAQ", "Who can I contact for more information?")
    # the H1 has no text of its own: no empty section for it
    assert all(s.kind == "faq" for s in out.sections)


def test_faq_detected_by_h1_when_title_says_nothing():
    out = _sections({"help.md": "---\ntitle: Help\n---\n# Frequently Asked Questions\n\n**Why?**\n\nBecause.\n"})
    assert [s.kind for s in out.sections] == ["faq"]


def test_bold_lines_on_other_pages_are_not_split():
    page = "---\ntitle: Steps\n---\n# Steps\n\n**Data steward**\n\nThe person who knows the data.\n\n" \
           "**What is open data?**\n\nData for all.\n"
    out = _sections({"steps.md": page})
    assert [s.heading for s in out.sections] == ["Steps"]
    assert out.sections[0].lines == ("Data steward", "The person who knows the data.", "What is open data?",
                                     "Data for all.")


def test_rendered_text_applies_kramdown_typography():
    assert rendered_text("What's \"new\" -- and --- more...") == "What’s “new” – and — more…"
    assert rendered_text("it's 'quoted' (\"here\")") == "it’s ‘quoted’ (“here”)"


def test_unpublished_pages_skipped_nav_exclude_indexed():
    out = _sections({
        "a.md": "---\ntitle: A\nredirect_to: https://x.org\n---\n# A\n\nx\n",
        "b.md": "---\ntitle: B\nsearch_exclude: true\n---\n# B\n\nx\n",
        "c.md": "---\ntitle: C\ndraft: true\n---\n# C\n\nx\n",
        "d.md": "---\ntitle: D\npublished: false\n---\n# D\n\nx\n",
        "e.md": "---\ntitle: E\n---\n",
        "f.md": "---\ntitle: F\nnav_exclude: true\n---\n# F\n\nIndexed although not in the navigation.\n",
    })
    assert [s.page_title for s in out.sections] == ["F"]
    assert out.skipped == ["hb:a.md: skipped (redirect page)", "hb:b.md: skipped (search_exclude)",
                           "hb:c.md: skipped (not published)", "hb:d.md: skipped (not published)",
                           "hb:e.md: skipped (empty page)"]


def test_pages_with_the_same_url_are_reported():
    out = _sections({"a/index.md": "# A\n\nx\n", "a.md": "---\npermalink: /a/\n---\n# A2\n\ny\n"})
    assert len(out.problems) == 1 and "published at /a/" in out.problems[0]
    assert len(out.sections) == 2
