"""An article that comes back: reported against the earlier issues in issues/ that featured it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.http_server import WEB_FIXTURES, url_issue

TEXT = "text/plain; charset=utf-8"
HEDGEHOG = (WEB_FIXTURES / "hedgehog-houses.txt").read_text()
# The same post a month later: an update line and one more paragraph.
HEDGEHOG_UPDATED = HEDGEHOG.replace(
    "Published 14 October 2026\n", "Published 14 October 2026\nUpdated 20 November 2026\n").replace(
    "Share this post\n", "Update: all three of this year's boxes are occupied, so we are building two more.\nShare this post\n")


def add_file(root: Path, slug: str, name: str, text: str) -> str:
    path = root / "issues" / slug / "articles" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return f"articles/{name}"


def articles(root: Path, slug: str) -> list[dict]:
    issue = json.loads((root / "build" / slug / "issue.json").read_text(encoding="utf-8"))
    return [article for section in issue["sections"] for article in section["articles"]]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_an_article_from_an_earlier_issue_is_reported_from_its_sources(site, cli) -> None:
    october = add_file(site, "2026-10", "hedgehog.txt", HEDGEHOG)
    url_issue(site, "2026-10", [october, add_file(site, "2026-10", "swap.txt", (WEB_FIXTURES / "seed-swap.txt").read_text())],
              date="2026-10-31")
    again = add_file(site, "2026-11", "hedgehog-houses.txt", HEDGEHOG_UPDATED)
    new = add_file(site, "2026-11", "water-butts.txt", (WEB_FIXTURES / "water-butts.txt").read_text())
    november = url_issue(site, "2026-11", [new, again], date="2026-11-30")

    result = cli("build", "2026-11")  # 2026-10 was never built: its issue.md and sources are enough
    assert result.code == 0, result.err
    assert result.err == (f"newsletter: warning: issues/2026-11/issue.md:{line_of(november, again)}: "
                          f"{again}: already featured in 2026-10\n")
    assert [(a["source"], a["featured_in"]) for a in articles(site, "2026-11")] == [(new, []), (again, ["2026-10"])]
    assert not (site / "build" / "2026-10").exists()


def test_later_issues_do_not_count(site, cli) -> None:
    url_issue(site, "2026-11", [add_file(site, "2026-11", "h.txt", HEDGEHOG)], date="2026-11-30")
    url_issue(site, "2026-12", [add_file(site, "2026-12", "h.txt", HEDGEHOG_UPDATED)], date="2026-12-28")
    result = cli("build", "2026-11")
    assert result.code == 0 and result.err == ""
    assert articles(site, "2026-11")[0]["featured_in"] == []
    assert "already featured in 2026-11" in cli("build", "2026-12").err


def test_every_earlier_issue_is_named(site, cli) -> None:
    for slug, date in (("2026-09", "2026-09-30"), ("2026-10", "2026-10-31")):
        url_issue(site, slug, [add_file(site, slug, "h.txt", HEDGEHOG)], date=date)
    url_issue(site, "2026-11", [add_file(site, "2026-11", "h.txt", HEDGEHOG_UPDATED)], date="2026-11-30")
    result = cli("build", "2026-11")
    assert result.code == 0 and "h.txt: already featured in 2026-09, 2026-10\n" in result.err
    assert articles(site, "2026-11")[0]["featured_in"] == ["2026-09", "2026-10"]


def test_earlier_url_sources_are_compared_from_the_cache_offline(site, web, cli) -> None:
    url = web.page("/blog/hedgehog-houses", HEDGEHOG)
    url_issue(site, "2026-10", [url], date="2026-10-31")
    assert cli("build", "2026-10").code == 0
    web.stop()
    url_issue(site, "2026-11", [add_file(site, "2026-11", "h.txt", HEDGEHOG_UPDATED)], date="2026-11-30")
    result = cli("build", "2026-11")
    assert result.code == 0 and "h.txt: already featured in 2026-10" in result.err
    assert web.hits["/blog/hedgehog-houses"] == 1


def test_an_earlier_url_not_in_the_cache_is_named_not_fetched(site, web, cli) -> None:
    url = web.page("/blog/hedgehog-houses", HEDGEHOG)
    url_issue(site, "2026-10", [url], date="2026-10-31")
    url_issue(site, "2026-11", [add_file(site, "2026-11", "h.txt", HEDGEHOG_UPDATED)], date="2026-11-30")
    result = cli("build", "2026-11")
    assert result.code == 0
    assert result.err == ("newsletter: warning: 2026-10: 1 source not compared for repeats (not in the cache or "
                          f"unreadable, e.g. {url}); build 2026-10 to fetch them\n")
    assert web.hits["/blog/hedgehog-houses"] == 0
    assert articles(site, "2026-11")[0]["featured_in"] == []


def test_earlier_texts_are_remembered_by_content(site, cli) -> None:
    october = site / "issues" / "2026-10"
    url_issue(site, "2026-10", [add_file(site, "2026-10", "h.txt", HEDGEHOG)], date="2026-10-31")
    url_issue(site, "2026-11", [add_file(site, "2026-11", "h.txt", HEDGEHOG_UPDATED)], date="2026-11-30")
    assert "already featured in 2026-10" in cli("build", "2026-11").err
    assert len(list((site / ".cache" / "featured").glob("*.bin"))) == 1

    (october / "articles" / "h.txt").write_text((WEB_FIXTURES / "seed-swap.txt").read_text())
    result = cli("build", "2026-11")
    assert result.code == 0 and result.err == ""
    assert articles(site, "2026-11")[0]["featured_in"] == []
