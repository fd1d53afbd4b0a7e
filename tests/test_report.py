"""`newsletter report`: SendGrid's category stats for the issue, summed since the first send, as a
table, JSON and a chart on the preview page; the real client against the loopback server."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import issue_folder, log_events, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid, Fault


def day(date: dt.date, **metrics: int) -> dict:
    return {"date": date.isoformat(), "stats": [{"type": "category", "name": EXAMPLE_ISSUE, "metrics": metrics}]}


@pytest.fixture
def stats(sendgrid: FakeSendGrid, sendgrid_workspace: Path, cli) -> FakeSendGrid:
    write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 4)
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0  # the log says when it went out
    sent_on = dt.date.fromisoformat(log_events(sendgrid_workspace)[0]["at"][:10])  # not today's date: the log's
    sendgrid.sent_on = sent_on
    sendgrid.stats[EXAMPLE_ISSUE] = [
        day(sent_on - dt.timedelta(days=3), requests=999, delivered=999),  # before the send: not this issue's
        day(sent_on, requests=1200, delivered=1150, bounces=30, spam_reports=2, unsubscribes=9, unique_opens=700,
            unique_clicks=120, opens=1400),
        day(sent_on + dt.timedelta(days=1), delivered=20, bounces=1, unique_opens=50, unique_clicks=10),
    ]
    set_send_settings(sendgrid_workspace, max_backoff=3)
    return sendgrid


def test_report_sums_the_days_since_the_first_send(cli, stats: FakeSendGrid) -> None:
    stats.faults = {stats.counter + 1: Fault(429, {"X-RateLimit-Reset": str(int(time.time()) + 1)})}
    result = cli("report", EXAMPLE_ISSUE, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["since"] == stats.sent_on.isoformat()
    assert report["figures"] == {"requests": 1200, "delivered": 1170, "bounces": 31, "spam_reports": 2,
                                 "unsubscribes": 9, "unique_opens": 750, "unique_clicks": 130}
    assert report["shares"]["unique_clicks"] == round(130 / 1170, 4)
    assert "Apple Mail Privacy Protection" in report["opens_caveat"]
    reads = [r for r in stats.reads if r.startswith("/v3/categories/stats")]
    assert len(reads) == 2 and f"categories={EXAMPLE_ISSUE}" in reads[1]  # the 429 was retried
    assert f"start_date={stats.sent_on.isoformat()}" in reads[1]


def test_report_prints_a_table_and_says_opens_are_unreliable(cli, stats: FakeSendGrid) -> None:
    result = cli("report", EXAMPLE_ISSUE, "--since", (stats.sent_on - dt.timedelta(days=7)).isoformat())
    assert result.code == 0, result.err
    assert "  requests           2,199" in result.out
    assert "  unique clicks        130    6.0%" in result.out  # of 2,169 delivered
    assert "Apple Mail Privacy Protection" in result.out and result.out.rstrip().splitlines()[-1].startswith("Next: ")


def test_the_preview_page_shows_the_figures_as_a_chart(stats: FakeSendGrid, sendgrid_workspace: Path) -> None:
    from newsletter.deliver.report import results_fragment
    from newsletter.preview.server import PreviewServer
    from newsletter.workspace import find_workspace

    server = PreviewServer(find_workspace(sendgrid_workspace), EXAMPLE_ISSUE, results=results_fragment)
    server.start()
    try:
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        assert 'data-view="results"' in page and "/results.html" in page
        before = len(stats.reads)
        fragment = urllib.request.urlopen(server.url + "results.html", timeout=10).read().decode()
        again = urllib.request.urlopen(server.url + "results.html", timeout=10).read().decode()
    finally:
        server.stop()
    assert "<svg" in fragment and ">unique clicks</text>" in fragment and "130 (11.1%)" in fragment
    assert "Apple Mail Privacy Protection" in fragment
    assert again == fragment and len(stats.reads) == before + 1  # cached, not fetched on every look


def test_without_sendgrid_there_are_no_figures(cli, workspace: Path) -> None:
    result = cli("report", EXAMPLE_ISSUE)
    assert result.code == 2 and "reports no figures" in result.err


def test_the_private_archive_shows_each_sent_issues_chart(cli, stats: FakeSendGrid, sendgrid_workspace: Path) -> None:
    result = cli("archive", "--private", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["issues"] == [EXAMPLE_ISSUE]
    page = (Path(report["out"]) / "index.html").read_text()
    assert f"<h2>{EXAMPLE_ISSUE}</h2>" in page and "<svg" in page and "130 (11.1%)" in page
    assert "never published" in page and "Apple Mail Privacy Protection" in page
    # The public archive is a different folder and holds no figures.
    assert cli("archive").code == 0
    public = (sendgrid_workspace / "build" / "archive" / "index.html").read_text()
    assert "<svg" not in public and "unique clicks" not in public
