"""Feeds: parse RSS and Atom, and `add --feed` lists the items newer than the previous issue."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from newsletter.errors import SourceError
from newsletter.sources.feeds import parse_feed, read_feed
from newsletter.sources.fetch import FetchOptions
from tests.conftest import write_issue
from tests.http_server import LOOPBACK, WEB_FIXTURES, url_issue

TEXT = "text/plain; charset=utf-8"
RSS = "application/rss+xml"

# The November issue as an editor left it: comments that `add` must keep.
NOVEMBER = """\
# November digest: items come from the blog's feed.
subject: "Plot Notes: November"
date: 2026-11-30   # the last Monday
sections:
  - title: From the blog
    articles:
      # Our own note first.
      - source: articles/welcome.txt
"""


def serve_blog(web) -> str:
    """The blog's four posts and its feed; returns the feed's URL."""
    for name in ("hedgehog-houses", "water-butts", "lasagne-pots", "seed-swap"):
        web.fixture(f"{name}.txt", TEXT, f"/blog/{name}")
    feed = (WEB_FIXTURES / "plot-notes.rss").read_text().replace("{base}", web.url(""))
    return web.page("/feed.xml", feed, RSS)


def listed_sources(issue_md: Path) -> list[str]:
    lines = issue_md.read_text().splitlines()
    return [line.split("source: ", 1)[1] for line in lines if "source: " in line and not line.lstrip().startswith("#")]


def test_rss_items_have_titles_links_and_dates(web) -> None:
    feed = read_feed(serve_blog(web), Path.cwd(), FetchOptions(allow_hosts=LOOPBACK))
    assert feed.title == "Plot Notes"
    assert [(item.title, item.link.removeprefix(web.url("")), item.date) for item in feed.items] == [
        ("Planting spring bulbs in lasagne pots", "/blog/lasagne-pots", dt.date(2026, 11, 9)),
        ("Catching rainwater: a beginner's guide to water butts", "/blog/water-butts", dt.date(2026, 11, 2)),
        ("Building a hedgehog house from scrap timber", "/blog/hedgehog-houses", dt.date(2026, 10, 14)),
        ("Our first seed swap of the winter", "/blog/seed-swap", dt.date(2026, 9, 20)),
        ("Notice board (no date on this one)", "/notices", None),
    ]


def test_atom_from_a_file_dates_items_by_first_publication(tmp_path: Path) -> None:
    feed = read_feed("plot-notes.atom", WEB_FIXTURES, FetchOptions(cache_dir=tmp_path))
    hedgehog = feed.items[1]
    assert hedgehog.updated == dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.timezone.utc)
    assert hedgehog.date == dt.date(2026, 10, 14)
    assert [item.title for item in feed.items_since(dt.date(2026, 11, 1))] == ["Planting spring bulbs in lasagne pots"]


@pytest.mark.parametrize(("data", "message"), [
    pytest.param((WEB_FIXTURES / "broken.rss").read_bytes(), "feed does not parse: <unknown>:8:0: no element found",
                 id="truncated-rss"),
    pytest.param(b"<!doctype html><html><body><p>Our blog</p></body></html>", "not an RSS or Atom feed",
                 id="html-page"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "not an RSS or Atom feed", id="binary"),
])
def test_feeds_that_do_not_parse_are_errors(data: bytes, message: str) -> None:
    with pytest.raises(SourceError) as raised:
        parse_feed("https://plot.example/feed.xml", data)
    assert str(raised.value).startswith(f"https://plot.example/feed.xml: {message}")


def test_add_feed_adds_only_items_newer_than_the_previous_issue(site, web, cli) -> None:
    feed = serve_blog(web)
    url_issue(site, "2026-10", ["articles/october.txt"], date="2026-10-31")
    november = write_issue(site / "issues" / "2026-11", NOVEMBER)

    result = cli("add", "2026-11", "--feed", feed)
    assert result.code == 0, result.err
    assert result.out == ('Added 2 articles to issues/2026-11/issue.md from "Plot Notes": items dated 2026-11-01 '
                          "or later, after issue 2026-10; 1 item without a date left out\n"
                          "Next: newsletter build 2026-11\n")
    base = web.url("")
    assert listed_sources(november) == ["articles/welcome.txt", f"{base}/blog/water-butts", f"{base}/blog/lasagne-pots"]
    text = november.read_text()
    for comment in ("# November digest: items come from the blog's feed.", "# the last Monday", "# Our own note first."):
        assert comment in text
    assert f"      - source: {base}/blog/lasagne-pots\n        url: {base}/blog/lasagne-pots\n" in text

    again = cli("add", "2026-11", "--feed", feed)
    assert again.code == 0 and "Added 0 articles" in again.out and "2 already listed" in again.out
    assert listed_sources(november)[1:] == [f"{base}/blog/water-butts", f"{base}/blog/lasagne-pots"]


def test_add_feed_then_build_is_the_whole_digest(site, web, cli) -> None:
    feed = serve_blog(web)
    url_issue(site, "2026-10", ["articles/october.txt"], date="2026-10-31")
    assert cli("new", "2026-11").code == 0
    november = site / "issues" / "2026-11" / "issue.md"
    november.write_text(re.sub(r"(?m)^date: .*$", "date: 2026-11-30", november.read_text(), count=1))
    assert cli("add", "2026-11", "--feed", feed).code == 0
    built = cli("build", "2026-11", "--json")
    assert built.code == 0, built.err
    issue = json.loads((site / "build" / "2026-11" / "issue.json").read_text())
    assert [a["title"] for a in issue["sections"][0]["articles"]] == [
        "Catching rainwater: a beginner's guide to water butts", "Planting spring bulbs in lasagne pots"]


def test_since_overrides_the_previous_issue(site, web, cli) -> None:
    feed = serve_blog(web)
    url_issue(site, "2026-10", ["articles/october.txt"], date="2026-10-31")
    november = write_issue(site / "issues" / "2026-11", NOVEMBER)
    result = cli("add", "2026-11", "--feed", feed, "--since", "2026-10-14")
    assert result.code == 0 and "items dated 2026-10-14 or later" in result.out
    assert [s.rsplit("/", 1)[1] for s in listed_sources(november)[1:]] == ["hedgehog-houses", "water-butts", "lasagne-pots"]


def test_the_previous_issue_is_the_latest_earlier_one_by_date(site, web, cli) -> None:
    feed = serve_blog(web)
    # Folder names alone would put "autumn" last; its date puts it before 2026-10.
    url_issue(site, "autumn", ["articles/a.txt"], date="2026-09-30")
    url_issue(site, "2026-10", ["articles/b.txt"], date="2026-11-05")
    url_issue(site, "2027-01", ["articles/c.txt"], date="2027-01-29")
    write_issue(site / "issues" / "2026-11", NOVEMBER)
    result = cli("add", "2026-11", "--feed", feed)
    assert result.code == 0 and "items dated 2026-11-06 or later, after issue 2026-10" in result.out
    assert "Added 1 article" in result.out


def test_first_issue_takes_every_dated_item(site, web, cli) -> None:
    feed = serve_blog(web)
    november = write_issue(site / "issues" / "2026-11", NOVEMBER)
    result = cli("add", "2026-11", "--feed", feed)
    assert result.code == 0 and "Added 4 articles" in result.out and "no earlier issue" in result.out
    assert len(listed_sources(november)) == 5


def test_an_undated_previous_issue_asks_for_since(site, web, cli) -> None:
    feed = serve_blog(web)
    url_issue(site, "2026-10", ["articles/october.txt"])
    write_issue(site / "issues" / "2026-11", NOVEMBER.replace("date: 2026-11-30   # the last Monday\n", ""))
    result = cli("add", "2026-11", "--feed", feed)
    assert result.code == 2
    assert result.err == ("newsletter: issues/2026-10/issue.md: the previous issue has no date: to add feed items, "
                          "give it a 'date:' or pass --since DATE\n")


def test_a_broken_feed_url_is_one_line_and_changes_nothing(site, web, cli) -> None:
    broken = web.fixture("broken.rss", RSS)
    november = write_issue(site / "issues" / "2026-11", NOVEMBER)
    before = november.read_text()
    result = cli("add", "2026-11", "--feed", broken)
    assert result.code == 2
    assert result.err == f"newsletter: {broken}: feed does not parse: <unknown>:8:0: no element found\n"
    assert november.read_text() == before


@pytest.mark.parametrize(("args", "message"), [
    pytest.param((), "nothing to add: give SOURCE paths or URLs, or --feed URL", id="nothing"),
    pytest.param(("articles/a.txt", "--since", "2026-10-01"), "--since only applies to --feed", id="since-alone"),
])
def test_add_usage_errors(site, cli, args: tuple[str, ...], message: str) -> None:
    write_issue(site / "issues" / "2026-11", NOVEMBER)
    result = cli("add", "2026-11", *args)
    assert result.code == 2 and result.err == f"newsletter: {message}\n"


def test_add_urls_directly(site, cli) -> None:
    november = write_issue(site / "issues" / "2026-11", NOVEMBER)
    (november.parent / "articles").mkdir(exist_ok=True)
    (november.parent / "articles" / "welcome.txt").write_text("Welcome.\n")
    result = cli("add", "2026-11", "https://plot.example/blog/a", "articles/welcome.txt")
    assert result.code == 0 and result.out == ("Added 1 article to issues/2026-11/issue.md (1 already listed)\n"
                                               "Next: newsletter build 2026-11\n")
    assert listed_sources(november) == ["articles/welcome.txt", "https://plot.example/blog/a"]
