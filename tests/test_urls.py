"""Page URLs per site generator, deep-link building, and relative-link resolution."""

from __future__ import annotations

import pytest

from indexer.urls import LinkResolver, absolute, jekyll_suffix, page_url, text_fragment

SITE = "https://ctopendata.github.io/open-data-handbook"
PRETTY = {"permalink": "pretty"}


@pytest.mark.parametrize("rel_path, front, config, url", [
    ("getting_started.md", {}, PRETTY, "/getting_started/"),
    ("index.md", {}, PRETTY, "/"),
    ("data-resources/index.md", {}, PRETTY, "/data-resources/"),
    ("docs/_open_data_resources/gateway.md", {}, PRETTY, "/open_data_resources/gateway/"),
    ("_c/x.md", {}, PRETTY, "/c/x/"),
    ("docs/_open_data_resources/gateway.md", {"permalink": "/open_data_resources/automation_guidance/gateway"},
     PRETTY, "/open_data_resources/automation_guidance/gateway"),
    ("other.md", {"permalink": "other_resources/"}, PRETTY, "/other_resources/"),
    ("x.md", {"permalink": "/:path/:basename/"}, PRETTY, "/x/"),  # a template is not a literal URL
    # a site whose _config.yml does not ask for pretty permalinks (the 2023-01 handbook): Jekyll's
    # default style "date" gives pages /:path/:basename.html
    ("data-resources/data_sync.md", {}, {"title": "x"}, "/data-resources/data_sync.html"),
    ("index.md", {}, {"title": "x"}, "/"),
    ("faq.md", {}, {}, "/faq/"),  # no _config.yml at all (knowledge/): the pretty handbook site
])
def test_jekyll_page_urls(rel_path, front, config, url):
    assert page_url(rel_path, front, "jekyll", config) == url


@pytest.mark.parametrize("style, suffix", [
    ("pretty", "/"), ("date", ".html"), ("none", ".html"), ("/:categories/:title/", "/"),
    ("/:title:output_ext", ".html"), ("/:title", ""),
])
def test_jekyll_permalink_styles(style, suffix):
    assert jekyll_suffix({"permalink": style}) == suffix


HUGO = {"permalinks": {"news": ":year/:month/:day/:slug/", "events": "event/:year/:month/:day/:slug/"}}


@pytest.mark.parametrize("rel_path, front, url", [
    # SOURCE.md's example: front matter date and slug decide, not the folder or file name
    ("news/2021/12/2021-12-01-the-opportunity-project-2021-summit-open-innovation-for-all.md",
     {"date": "2021-12-01 09:00:00 -0500", "slug": "the-opportunity-project-2021-summit-open-innovation-for-all"},
     "/2021/12/01/the-opportunity-project-2021-summit-open-innovation-for-all/"),
    ("content/news/2019/12/2019-12-04-typography.md", {"date": "2019-12-31", "slug": "typography"},
     "/2019/12/31/typography/"),
    ("events/2020/01/x.md", {"date": "2020-01-02 10:00:00 -0500", "slug": "An Event"},
     "/event/2020/01/02/an-event/"),
    ("news/undated.md", {"slug": "no-date"}, "/news/no-date/"),  # no date: Hugo's default rule
    ("news/_index.md", {"title": "News"}, "/news/"),
    ("services/service_data-gov.md", {"url": "/services/data-gov/"}, "/services/data-gov/"),
    ("guides/hcd/Intro Page.md", {}, "/guides/hcd/intro-page/"),
    ("resources/x.md", {"slug": "better-slug"}, "/resources/better-slug/"),
    ("_index.md", {}, "/"),
])
def test_hugo_page_urls(rel_path, front, url):
    assert page_url(rel_path, front, "hugo", HUGO) == url


@pytest.mark.parametrize("rel_path, url", [
    ("content/company-info-and-process/communication/zoom.md", "/company-info-and-process/communication/zoom"),
    ("company-info-and-process/communication/zoom.md", "/company-info-and-process/communication/zoom"),
    ("content/departments/engineering/index.md", "/departments/engineering"),
    ("content/index.md", "/"),
    ("index.md", "/"),
    ("departments/marketing/comms/field marketing.md", "/departments/marketing/comms/field marketing"),
])
def test_plain_page_urls_like_the_sourcegraph_handbook(rel_path, url):
    assert page_url(rel_path, {}, "plain") == url


def test_absolute_urls_and_fragments():
    assert absolute(SITE, "/faq/") == SITE + "/faq/"
    assert absolute(SITE + "/", "/x", "1-colors") == SITE + "/x#1-colors"
    assert absolute("https://h.example", "/a/field marketing", "ü-x") == "https://h.example/a/field%20marketing#%C3%BC-x"


def test_text_fragment_escapes_dash_comma_ampersand():
    assert text_fragment("What is open data?") == ":~:text=What%20is%20open%20data%3F"
    assert text_fragment("Pre-checks, A & B") == ":~:text=Pre%2Dchecks%2C%20A%20%26%20B"
    assert text_fragment("  spaced\n out ") == ":~:text=spaced%20out"


# ----------------------------------------------------------------------------- LinkResolver
PAGES_2025 = {
    "index.md": "/",
    "getting_started.md": "/getting_started/",
    "docs/_data_publication_steps/identify_data_to_publish.md": "/data_publication_steps/identify_data_to_publish",
    "docs/_open_data_resources/data_sync.md": "/open_data_resources/automation_guidance/datasync",
    "docs/_open_data_resources/data_stories.md": "/open_data_resources/data_stories",
}


@pytest.fixture
def resolver():
    return LinkResolver(SITE, PAGES_2025)


@pytest.mark.parametrize("href, from_path, from_url, expected", [
    # index.md of 2025-07: backslash links relative to the site root
    ("data_publication_steps\\identify_data_to_publish", "index.md", "/",
     "/data_publication_steps/identify_data_to_publish"),
    # root-relative with the site's base path (18 links in 2025-07)
    ("/open-data-handbook/data_publication_steps/identify_data_to_publish",
     "docs/_open_data_resources/data_stories.md", "/open_data_resources/data_stories",
     "/data_publication_steps/identify_data_to_publish"),
    ("/open-data-handbook/open_data_resources/automation_guidance/datasync#what-it-is",
     "docs/_open_data_resources/data_stories.md", "/open_data_resources/data_stories",
     "/open_data_resources/automation_guidance/datasync#what-it-is"),
    # by source file, relative to the linking file
    ("data_sync.md", "docs/_open_data_resources/data_stories.md", "/open_data_resources/data_stories",
     "/open_data_resources/automation_guidance/datasync"),
    ("../getting_started", "docs/_open_data_resources/data_stories.md", "/open_data_resources/data_stories",
     "/getting_started/"),
    ("/", "getting_started.md", "/getting_started/", "/"),
    # a 2023-01-style link after pages moved and lost their number prefix: tolerant match
    ("data-publication-steps\\1_identify_data_to_publish", "faq.md", "/faq/",
     "/data_publication_steps/identify_data_to_publish"),
])
def test_links_resolve_to_published_pages(resolver, href, from_path, from_url, expected):
    assert resolver.resolve(href, from_path, from_url) == SITE + expected


@pytest.mark.parametrize("href", [
    "no_such_page", "../assets/data_aggregation_chart.png", "/open-data-handbook/assets/automation_1.png",
    "open-data-resources\\missing", "#local-only",
])
def test_links_to_no_page_are_dropped(resolver, href):
    assert resolver.resolve(href, "index.md", "/") is None


def test_links_to_pages_of_other_sources_on_the_same_site():
    faq_only = LinkResolver(SITE, {"faq.md": "/faq/"})
    assert faq_only.resolve("open-data-resources\\data_stories", "faq.md", "/faq/") is None
    with_site = LinkResolver(SITE, {"faq.md": "/faq/"}, other_urls=PAGES_2025.values())
    assert with_site.resolve("open-data-resources\\data_stories", "faq.md", "/faq/") == (
        SITE + "/open_data_resources/data_stories")


def test_ambiguous_tolerant_match_is_dropped():
    resolver = LinkResolver(SITE, {"a/1_steps.md": "/a/1_steps/", "a/2_steps.md": "/a/2_steps/"})
    assert resolver.resolve("a/steps", "index.md", "/") is None
    assert resolver.resolve("a/2_steps", "index.md", "/") == SITE + "/a/2_steps/"
