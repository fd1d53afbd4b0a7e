"""Suppressions come home: SendGrid's lists pulled (paginated, incremental, through a 429) with the
real client, CSV and RFC 3464 mbox imports, and a pulled bounce not mailed by the next send
(SendGrid and SMTP alike)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid, Fault
from tests.smtp_server import PASSWORD, USER, Mailbox, make_certificate, start_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
DAY = 86400
NOW = int(time.time())


def rows(workspace: Path) -> dict[str, dict[str, str]]:
    with (workspace / "suppressions.csv").open(encoding="utf-8", newline="") as file:
        return {row["email"].lower(): row for row in csv.DictReader(file)}


@pytest.fixture
def lists(sendgrid: FakeSendGrid, sendgrid_workspace: Path) -> FakeSendGrid:
    """1,203 bounces (three pages), one of each other list, a group of two, and room for a 429."""
    sendgrid.suppressions["bounces"] = [{"created": NOW - 10 * DAY - n, "email": f"gone{n:04d}@example.org",
                                         "reason": "550 5.1.1 The email account does not exist", "status": "5.1.1"}
                                        for n in range(1203)]
    sendgrid.suppressions["blocks"] = [{"created": NOW - 3 * DAY, "email": "blocked@example.net",
                                        "reason": "554 rejected by policy", "status": "5.7.1"}]
    sendgrid.suppressions["spam_reports"] = [{"created": NOW - 2 * DAY, "email": "Angry@Example.com", "ip": "1.2.3.4"}]
    sendgrid.suppressions["invalid_emails"] = [{"created": NOW - DAY, "email": "typo@exmaple.com",
                                                "reason": "Mail domain mentioned in email address is unknown"}]
    sendgrid.suppressions["unsubscribes"] = [{"created": NOW - DAY, "email": "bye+news@example.org"}]
    sendgrid.groups[42] = ["left.group@example.org", "bye+news@example.org"]
    set_send_settings(sendgrid_workspace, max_backoff=3, sendgrid={"unsubscribe_group": 42})
    return sendgrid


@pytest.mark.slow
def test_pull_reads_every_list_page_by_page_through_a_rate_limit(cli, lists: FakeSendGrid,
                                                                 sendgrid_workspace: Path) -> None:
    (sendgrid_workspace / "suppressions.csv").write_text("email,reason,note\nkept@example.org,manual,by hand\n"
                                                         "GONE0001@example.org,manual,already here\n")
    lists.faults = {2: Fault(429, {"X-RateLimit-Reset": str(int(time.time()) + 2)}, message="too many requests")}  # a whole second at least, wherever in the current second we are
    started = time.monotonic()
    result = cli("suppressions", "pull", "--json")
    assert result.code == 0, result.err
    assert time.monotonic() - started >= 0.5 and "429" in result.err  # waited for the reset
    report = json.loads(result.out)
    assert report["since"] is None and report["fetched"] == 1203 + 4 + 2
    bounce_reads = [r for r in lists.reads if r.startswith("/v3/suppression/bounces")]
    assert [r.split("offset=")[1] for r in bounce_reads] == ["0", "500", "500", "1000"]  # the 429 was retried
    assert all("limit=500" in r and "start_time" not in r for r in bounce_reads)
    assert "/v3/asm/groups/42/suppressions" in lists.reads
    merged = rows(sendgrid_workspace)
    assert len(merged) == 1203 + 4 + 1 + 1 and report["added"] == len(merged) - 2
    assert merged["kept@example.org"] == {"email": "kept@example.org", "reason": "manual", "note": "by hand",
                                          "date": "", "source": ""}  # never dropped, columns kept
    assert merged["gone0001@example.org"]["reason"] == "manual"  # the first reason stays
    assert merged["gone0002@example.org"]["reason"] == "bounce: 550 5.1.1 The email account does not exist"
    assert merged["gone0002@example.org"]["source"] == "sendgrid:bounces"
    expected_day = dt.datetime.fromtimestamp(NOW - 10 * DAY - 2, dt.timezone.utc).date().isoformat()
    assert merged["gone0002@example.org"]["date"] == expected_day
    assert merged["angry@example.com"]["reason"] == "spam report"
    assert merged["bye+news@example.org"]["source"] == "sendgrid:unsubscribes"
    assert merged["left.group@example.org"]["reason"] == "unsubscribe (group 42)"


def test_the_next_pull_asks_only_for_what_is_new(cli, lists: FakeSendGrid, sendgrid_workspace: Path) -> None:
    assert cli("suppressions", "pull").code == 0
    pulled_at = json.loads((sendgrid_workspace / ".suppressions.csv.pulled.json").read_text())["sendgrid"]["started"]
    lists.reads.clear()
    lists.suppressions["bounces"].append({"created": int(time.time()), "email": "new.bounce@example.org",
                                          "reason": "550 mailbox full"})
    again = cli("suppressions", "pull")
    assert again.code == 0, again.err
    assert "1 new in suppressions.csv" in again.out and "Next: newsletter send" in again.out
    expected = int(dt.datetime.fromisoformat(pulled_at).timestamp()) - 3600
    assert all(f"start_time={expected}" in r for r in lists.reads if r.startswith("/v3/suppression/"))
    assert "new.bounce@example.org" in rows(sendgrid_workspace) and len(rows(sendgrid_workspace)) == 1209


def test_a_pulled_bounce_is_not_mailed_by_the_next_sendgrid_send(cli, lists: FakeSendGrid,
                                                                 sendgrid_workspace: Path) -> None:
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 5,
                              "gone0007@example.org,Gone\nBye+News@example.org,Bye\n")
    assert cli("suppressions", "pull").code == 0
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert "2 suppressed" in result.out
    assert sorted(lists.delivered) == audience


def test_due_pulls_first_when_asked(cli, lists: FakeSendGrid, sendgrid_workspace: Path) -> None:
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 3, "blocked@example.net,B\n")
    path = issue_folder(sendgrid_workspace) / "issue.md"
    path.write_text(path.read_text().replace("date: 2026-11-27\n", "date: 2026-11-27\nsend_at: 2026-11-27T07:00:00Z\n"))
    set_send_settings(sendgrid_workspace, pull_suppressions=True)
    assert cli("approve", EXAMPLE_ISSUE).code == 0
    result = cli("send", "--due", "--send", "--yes")
    assert result.code == 0, result.err
    assert "Pulled 1,209 suppressions from sendgrid (first pull: everything)" in result.err
    assert sorted(lists.delivered) == audience


def dsn(recipient: str, action: str, status: str, diagnostic: str) -> str:
    """A bounce as Postfix writes it: multipart/report with a message/delivery-status part."""
    return f"""From: MAILER-DAEMON@mx.example.net
To: news@northwind.example
Subject: Undelivered Mail Returned to Sender
Date: Fri, 27 Nov 2026 07:05:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain

This is the mail system at host mx.example.net.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Fri, 27 Nov 2026 07:04:59 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; {diagnostic}

--B1--
"""


def write_mbox(path: Path, messages: list[str]) -> None:
    import mailbox

    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.flush()
    box.close()


def test_import_reads_permanent_failures_from_an_mbox_and_rows_from_a_csv(cli, workspace: Path,
                                                                          tmp_path: Path) -> None:
    mbox = tmp_path / "bounces.mbox"
    write_mbox(mbox, [dsn("Reader00002@example.org", "failed", "5.1.1", "550 5.1.1 <reader00002@example.org>: "
                          "Recipient address rejected: User unknown"),
                      dsn("slow@example.org", "delayed", "4.4.1", "451 try again later")])
    result = cli("suppressions", "import", mbox, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["added"] == 1
    row = rows(workspace)["reader00002@example.org"]
    assert row["reason"].startswith("bounce: 5.1.1 550 5.1.1") and row["date"] == "2026-11-27"
    assert row["source"] == "mbox:bounces.mbox"
    export = tmp_path / "export.csv"
    export.write_text("Email,Created,Reason\nreader00003@example.org,1764227100,hard bounce\n"
                      "READER00002@example.org,1764227100,dup\n")
    result = cli("suppressions", "import", export)
    assert result.code == 0, result.err
    assert "Imported 1 new suppression" in result.out and "1 were listed already" in result.out
    assert rows(workspace)["reader00003@example.org"]["date"] == "2025-11-27"
    bad = tmp_path / "bad.csv"
    bad.write_text("address\nx@example.org\n")
    refused = cli("suppressions", "import", bad)
    assert refused.code == 2 and "bad.csv:1: the first row must be a header with an 'email' column" in refused.err


def test_a_bounce_pulled_from_sendgrid_or_imported_is_not_mailed_over_smtp(
        cli, lists: FakeSendGrid, sendgrid_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = sendgrid_workspace
    assert cli("suppressions", "pull").code == 0  # e.g. before moving from SendGrid to the team's own server
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    mailbox = Mailbox()
    controller = start_server(mailbox, cert, key, security="starttls")
    try:
        set_send_settings(workspace, provider="smtp", max_backoff=0.01, batch_size=4, timeout=5,
                          smtp={"host": "127.0.0.1", "port": controller.port, "security": "starttls", "user": USER})
        audience = write_audience(issue_folder(workspace) / "audience.csv", 6, "gone0042@example.org,G\n")
        mbox = tmp_path / "bounces.mbox"
        write_mbox(mbox, [dsn(audience[2], "failed", "5.1.1", "550 no such user")])
        assert cli("suppressions", "import", mbox).code == 0
        result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
        assert result.code == 0, result.err
        assert "2 suppressed" in result.out
        assert copies(mailbox.addresses()) == {a: 1 for a in audience if a != audience[2]}
    finally:
        controller.stop()
