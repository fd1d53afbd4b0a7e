"""URL sources: fetched from a real server on 127.0.0.1, limited, cached, and refetched on --refresh."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newsletter.errors import SourceError
from newsletter.sources.fetch import FetchOptions, cache_key, fetch_page
from tests.http_server import LOOPBACK, WEB_FIXTURES, Response, url_issue

TEXT = "text/plain; charset=utf-8"
HEDGEHOG_TITLE = "Building a hedgehog house from scrap timber"
BAD_LINE = re.compile(r"^newsletter: (?P<file>[^:\n]+):(?P<line>\d+): (?P<url>http://[^ \n]+): (?P<what>[^\n]+)\n$")


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def issue_json(root: Path, slug: str) -> dict:
    return json.loads((root / "build" / slug / "issue.json").read_text(encoding="utf-8"))


def test_build_fetches_once_then_rebuilds_offline_from_the_cache(site, web, cli) -> None:
    hedgehog = web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    butts = web.fixture("water-butts.txt", TEXT, "/blog/water-butts")
    url_issue(site, "2026-11", [hedgehog, butts])

    first = cli("build", "2026-11")
    assert first.code == 0, first.err
    built = issue_json(site, "2026-11")
    assert [a["title"] for a in built["sections"][0]["articles"]] == [
        HEDGEHOG_TITLE, "Catching rainwater: a beginner's guide to water butts"]
    record = json.loads((site / ".cache" / "sources" / f"{cache_key(hedgehog)}.json").read_text())
    assert record["url"] == record["final_url"] == hedgehog and record["status"] == 200
    assert record["media_type"] == "text/plain" and record["charset"] == "utf-8" and record["fetched_at"]
    assert (site / ".cache" / "sources" / f"{cache_key(hedgehog)}.body").read_bytes() == \
        (WEB_FIXTURES / "hedgehog-houses.txt").read_bytes()

    web.stop()
    second = cli("build", "2026-11")
    assert second.code == 0, second.err
    assert issue_json(site, "2026-11") == built


def test_refresh_refetches_and_picks_up_changes(site, web, cli) -> None:
    text = (WEB_FIXTURES / "hedgehog-houses.txt").read_text()
    url = web.page("/blog/hedgehog-houses", text)
    url_issue(site, "2026-11", [url])
    assert cli("build", "2026-11").code == 0
    assert cli("build", "2026-11").code == 0
    assert web.hits["/blog/hedgehog-houses"] == 1

    web.page("/blog/hedgehog-houses", text.replace(HEDGEHOG_TITLE, "A hedgehog house in an afternoon"))
    assert cli("build", "2026-11").code == 0
    assert "A hedgehog house in an afternoon" not in (site / "build" / "2026-11" / "index.txt").read_text()
    refreshed = cli("build", "2026-11", "--refresh")
    assert refreshed.code == 0, refreshed.err
    assert web.hits["/blog/hedgehog-houses"] == 2
    assert "A hedgehog house in an afternoon" in (site / "build" / "2026-11" / "index.txt").read_text()


def test_redirects_are_followed_and_the_final_url_is_the_article_link(site, web, cli) -> None:
    final = web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    web.redirect("/p/123", "/go/hedgehog", 301)
    old = web.redirect("/go/hedgehog", "/blog/hedgehog-houses", 302)
    first_hop = web.url("/p/123")
    url_issue(site, "2026-11", [first_hop])
    assert old and cli("build", "2026-11").code == 0
    article = issue_json(site, "2026-11")["sections"][0]["articles"][0]
    assert article["url"] == final and article["source"] == first_hop


def test_the_issue_url_wins_over_the_fetched_one(site, web, cli) -> None:
    url = web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    path = url_issue(site, "2026-11", [url])
    path.write_text(path.read_text().replace(f"source: {url}\n", f"source: {url}\n        url: https://plot.example/h\n"))
    assert cli("build", "2026-11").code == 0
    assert issue_json(site, "2026-11")["sections"][0]["articles"][0]["url"] == "https://plot.example/h"


BAD_PAGES = [
    pytest.param(Response(body=b"%PDF-1.7 ...", headers={"Content-Type": "application/pdf"}),
                 "content type application/pdf", id="wrong-content-type"),
    pytest.param(Response(body=b"<rss version='2.0'></rss>", headers={"Content-Type": "application/rss+xml"}),
                 "this is a feed", id="feed-as-article"),
    pytest.param(Response(body=b"Title\n\nText.", headers={}), "content type missing", id="no-content-type"),
    pytest.param(Response(body=b"x" * 150_000, headers={"Content-Type": TEXT}),
                 "larger than 0.1 MB", id="over-size-cap-declared"),
    pytest.param(Response(body=b"word " * 60_000, headers={"Content-Type": TEXT}, chunked=True),
                 "larger than 0.1 MB", id="over-size-cap-streamed"),
    pytest.param(Response(404, b"gone", {"Content-Type": TEXT}), "HTTP 404 Not Found", id="http-404"),
    pytest.param(Response(503, b"busy", {"Content-Type": TEXT}), "HTTP 503 Service Unavailable", id="http-503"),
    pytest.param(Response(body=b"Title\n\nText.", headers={"Content-Type": TEXT}, delay=6),
                 "timed out: no data for 2 s", id="timeout"),
    pytest.param(Response(body="Caf\xe9 cr\xe8me\n\nFor everyone.".encode("latin-1"), headers={"Content-Type": TEXT}),
                 "not UTF-8 text (byte 3); the server declared charset=utf-8", id="undecodable-bytes"),
    pytest.param(Response(body=b"Title\n\nText.", headers={"Content-Type": "text/plain; charset=klingon"}),
                 "unknown charset 'klingon'", id="unknown-charset"),
    pytest.param(Response(302, headers={"Location": "/bad"}), "too many redirects (the limit is 5)", id="redirect-loop"),
]


@pytest.mark.parametrize(("response", "what"), BAD_PAGES)
def test_a_bad_url_fails_the_build_with_one_line_naming_it(site, web, cli, response: Response, what: str) -> None:
    good = web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    bad = web.route("/bad", response)
    path = url_issue(site, "2026-11", [good, bad])
    result = cli("build", "2026-11")
    assert result.code == 2 and result.out == ""
    match = BAD_LINE.match(result.err)
    assert match, result.err
    assert match["file"] == "issues/2026-11/issue.md" and int(match["line"]) == line_of(path, bad)
    assert match["url"] == bad and what in match["what"]
    assert not (site / "build").exists()


def test_connection_refused_names_the_url(site, web, cli) -> None:
    url = web.url("/blog/hedgehog-houses")
    web.stop()
    url_issue(site, "2026-11", [url])
    result = cli("build", "2026-11")
    assert result.code == 2
    assert result.err == f"newsletter: issues/2026-11/issue.md:6: {url}: cannot connect: connection refused\n"


def test_skip_broken_drops_the_article_with_a_warning(site, web, cli) -> None:
    good = web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    gone = web.url("/blog/gone")
    path = url_issue(site, "2026-11", [gone, good], extra="skip_broken: true\n")
    result = cli("build", "2026-11", "--json")
    assert result.code == 0, result.err
    warning = f"issues/2026-11/issue.md:{line_of(path, gone)}: {gone}: HTTP 404 Not Found (skipped: skip_broken is on)"
    assert result.err == f"newsletter: warning: {warning}\n"
    assert json.loads(result.out)["warnings"] == [warning]
    articles = issue_json(site, "2026-11")["sections"][0]["articles"]
    assert [a["source"] for a in articles] == [good]


def test_skip_broken_still_fails_when_nothing_is_left(site, web, cli) -> None:
    url_issue(site, "2026-11", [web.url("/blog/gone")], extra="skip_broken: true\n")
    result = cli("build", "2026-11")
    assert result.code == 2
    assert "issues/2026-11/issue.md: no article could be read" in result.err
    assert not (site / "build").exists()


def test_skip_broken_must_be_true_or_false(site, web, cli) -> None:
    url_issue(site, "2026-11", [web.url("/a")], extra="skip_broken: sometimes\n")
    result = cli("build", "2026-11")
    assert result.code == 2
    assert result.err == "newsletter: issues/2026-11/issue.md:3: skip_broken must be true or false, not str 'sometimes'\n"


def test_extract_a_url_uses_the_cache_until_refresh(site, web, cli) -> None:
    url = web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    first = cli("extract", url, "--json")
    assert first.code == 0, first.err
    data = json.loads(first.out)
    assert (data["title"], data["byline"], data["published"], data["url"]) == (
        HEDGEHOG_TITLE, "Priya Raman", "2026-10-14", url)
    assert "Skip to content" not in data["text"] and "forty centimetres" in data["text"]
    assert cli("extract", url).code == 0 and web.hits["/blog/hedgehog-houses"] == 1
    assert cli("extract", url, "--refresh").code == 0 and web.hits["/blog/hedgehog-houses"] == 2


def test_extract_a_bad_url_is_one_line(site, web, cli) -> None:
    url = web.url("/nothing-here")
    result = cli("extract", url)
    assert result.code == 2 and result.err == f"newsletter: {url}: HTTP 404 Not Found\n"


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="only http:// and https:// URLs"):
        fetch_page("file:///etc/hostname", FetchOptions(cache_dir=tmp_path))


def test_offline_fetch_reads_only_the_cache(tmp_path: Path, web) -> None:
    url = web.fixture("water-butts.txt", TEXT, "/blog/water-butts")
    offline = FetchOptions(cache_dir=tmp_path, offline=True, allow_hosts=LOOPBACK)
    with pytest.raises(SourceError, match="not in the cache"):
        fetch_page(url, offline)
    assert web.hits["/blog/water-butts"] == 0
    fetch_page(url, FetchOptions(cache_dir=tmp_path, allow_hosts=LOOPBACK))
    assert fetch_page(url, offline).body == (WEB_FIXTURES / "water-butts.txt").read_bytes()
    assert web.hits["/blog/water-butts"] == 1


def test_user_agent_and_limits_come_from_newsletter_toml(site, web, cli) -> None:
    (site / "newsletter.toml").write_text('[fetch]\nuser_agent = "PlotNotesBot/2"\nmax_redirects = 1\n'
                                          'allow_private_hosts = ["127.0.0.1"]\n')
    web.fixture("hedgehog-houses.txt", TEXT, "/blog/hedgehog-houses")
    web.redirect("/a", "/b")
    web.redirect("/b", "/blog/hedgehog-houses")
    url_issue(site, "2026-11", [web.url("/a")])
    result = cli("build", "2026-11")
    assert result.code == 2 and "too many redirects (the limit is 1)" in result.err
    assert web.agents == {"PlotNotesBot/2"}


def test_an_html_page_goes_to_the_html_reader_with_its_canonical_link(site, web, cli) -> None:
    url = web.fixture("water-butts.html", "text/html; charset=utf-8", "/blog/water-butts")
    result = cli("extract", url, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["title"], data["byline"], data["published"], data["url"]) == (
        "Catching rainwater: a beginner's guide to water butts", "Tomasz Nowak", "2026-11-02",
        "https://plot.example/blog/water-butts")
    assert "diverter kit" in data["text"] and "<p>" not in data["text"] and "cookies" not in data["text"]


def test_without_a_canonical_link_the_final_url_is_the_article_link(site, web, cli) -> None:
    page = (WEB_FIXTURES / "water-butts.html").read_text()
    final = web.page("/blog/water-butts", re.sub(r'<link rel="canonical"[^>]*>', "", page), "application/xhtml+xml")
    web.redirect("/latest", "/blog/water-butts")
    url_issue(site, "2026-11", [web.url("/latest")])
    assert cli("build", "2026-11").code == 0
    article = issue_json(site, "2026-11")["sections"][0]["articles"][0]
    assert article["url"] == final and article["title"] == "Catching rainwater: a beginner's guide to water butts"


@pytest.mark.slow
def test_a_server_trickling_a_byte_at_a_time_meets_the_deadline(web, site: Path, cli) -> None:
    """A 1 byte/s page once held `extract` for 139 s; the whole page now has [fetch] deadline."""
    import time

    from tests.http_server import Response

    with (site / "newsletter.toml").open("a") as settings:
        settings.write("deadline = 1.5\n")
    url = web.route("/slow", Response(200, b"x" * 1000, {"Content-Type": "text/plain"}, drip=0.1))
    start = time.monotonic()
    result = cli("extract", url)
    elapsed = time.monotonic() - start
    assert result.code == 2 and "took longer than 1.5 s" in result.err
    assert elapsed < 4, elapsed


@pytest.mark.slow
def test_slow_headers_meet_the_deadline_too(tmp_path: Path) -> None:
    import socket
    import threading
    import time

    from newsletter.errors import SourceError
    from newsletter.sources.fetch import FetchOptions, fetch_page

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def drip_headers() -> None:
        connection, _ = server.accept()
        connection.recv(4096)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: " + b"a" * 200:
            try:
                connection.send(bytes([byte]))
            except OSError:
                return
            time.sleep(0.1)

    threading.Thread(target=drip_headers, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(SourceError, match="took longer than 1 s"):
        fetch_page(f"http://127.0.0.1:{server.getsockname()[1]}/", FetchOptions(read_timeout=5, deadline=1,
                                                                                   allow_hosts=LOOPBACK))
    assert time.monotonic() - start < 3
    server.close()


def test_only_global_addresses_are_public() -> None:
    from newsletter.sources.netguard import is_public_address

    for public in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"):
        assert is_public_address(public), public
    for private in ("127.0.0.1", "127.1.2.3", "10.0.0.5", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                    "100.100.100.200", "0.0.0.0", "::1", "::", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1",
                    "::ffff:169.254.169.254", "2002:7f00:1::", "224.0.0.1", "255.255.255.255", "not an address"):
        assert not is_public_address(private), private


def test_redirect_guard_keeps_to_http(tmp_path: Path) -> None:
    import httpx

    from newsletter.sources.fetch import RedirectGuard

    guard = RedirectGuard("http://93.184.215.14/a")
    guard.check(httpx.Request("GET", "http://93.184.215.14/a"))
    with pytest.raises(SourceError, match="only http"):
        guard.check(httpx.Request("GET", "ftp://93.184.215.14/"))
