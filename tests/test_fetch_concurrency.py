"""URL sources download together: bounded, at most two at once per site, with a progress count."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from newsletter.cli.console import fetch_progress
from newsletter.sources.fetch import FetchOptions, prefetch
from tests.conftest import benchmark_module
from tests.http_server import LOOPBACK


def test_prefetch_reports_progress_and_failures_and_fills_the_cache(web, tmp_path: Path) -> None:
    urls = [web.page(f"/p{n}", f"Page {n}.") for n in range(3)] + [web.url("/missing")]
    seen = []
    options = FetchOptions(cache_dir=tmp_path / "cache", refresh=True, allow_hosts=LOOPBACK,
                           progress=lambda done, total, url: seen.append((done, total)))
    read_with, failures = prefetch(urls + urls[:1], options)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)], "each URL once, counted as it finishes"
    assert list(failures) == [web.url("/missing")] and "404" in failures[web.url("/missing")].message
    assert not read_with.refresh, "what was just fetched is read from the cache, not fetched again"
    assert len(list((tmp_path / "cache").glob("*.body"))) == 3


@pytest.mark.slow
def test_slow_pages_download_together_but_two_at_a_time_per_site() -> None:
    bench = benchmark_module("fetch")
    elapsed, stats = bench.timed_build(pages=6, delay=1.0, sites=3)
    assert elapsed < 4.0, f"6 pages of 1 s each took {elapsed:.1f} s: not fetched together"
    assert set(stats.peak.values()) == {2}, stats.peak
    elapsed, stats = bench.timed_build(pages=4, delay=0.3, sites=1)
    assert max(stats.peak.values()) == 2, "never more than two requests at once to one site"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert fetch_progress() is None, "piped: quiet"
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert fetch_progress(quiet=True) is None, "--json: quiet"
    show = fetch_progress()
    show(1, 2, "https://a.example/1")
    show(2, 2, "https://a.example/2")
    assert "Fetching pages 1/2" in terminal.getvalue() and terminal.getvalue().endswith("2/2: https://a.example/2\n")
