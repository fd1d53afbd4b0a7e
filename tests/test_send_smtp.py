"""The smtp provider against a real SMTP server (aiosmtpd) on 127.0.0.1, over STARTTLS or TLS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_events, set_send_settings, write_audience
from tests.smtp_server import PASSWORD, USER, Mailbox, make_certificate, start_server

# In "ssl" mode the whole connection is TLS, which aiosmtpd's AUTH-over-TLS check cannot see.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(params=["starttls", "ssl"])
def smtp(request, workspace: Path, certificate, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    mailbox = Mailbox()
    controller = start_server(mailbox, *certificate, security=request.param)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    set_send_settings(workspace, provider="smtp", max_backoff=0.01, max_retries=3, batch_size=4, timeout=5,
                      smtp={"host": "127.0.0.1", "port": controller.port, "security": request.param, "user": USER})
    yield mailbox
    controller.stop()


@pytest.fixture
def audience(workspace: Path) -> list[str]:
    return write_audience(issue_folder(workspace) / "audience.csv", 10)


def send(cli, *options: str):
    return cli("send", EXAMPLE_ISSUE, "--send", "--yes", *options)


@pytest.mark.slow
def test_each_recipient_gets_one_personal_message_after_login(cli, smtp: Mailbox, audience: list[str],
                                                              workspace: Path) -> None:
    result = send(cli)
    assert result.code == 0, result.err
    assert "Sent to 10 recipients" in result.out and "in 3 batches via smtp" in result.out
    assert smtp.logins and set(smtp.logins) == {(USER, PASSWORD)}
    assert copies(smtp.addresses()) == {address: 1 for address in audience}
    first = smtp.received[0]
    assert first.sender == "news@northwind.example"
    assert first.message["To"].addresses[0].addr_spec == audience[0]
    assert first.message["Subject"] == "Winter pruning, leaf mould & a seed library"
    assert f"email={audience[0]}" in first.message["List-Unsubscribe"]
    assert "Hello Reader0," in first.message.get_body(("plain",)).get_content()
    assert "Hello Reader0," in first.message.get_body(("html",)).get_content()
    assert [e["event"] for e in log_events(workspace)].count("batch-sent") == 3


@pytest.mark.slow
def test_a_temporary_refusal_is_retried_without_resending_the_batch(cli, smtp: Mailbox, audience: list[str]) -> None:
    smtp.temporary_failures = {3, 4}  # the third message twice: inside the first batch of four
    result = send(cli)
    assert result.code == 0, result.err
    assert "451" in result.err and "retry 2 of 3" in result.err
    assert copies(smtp.addresses()) == {address: 1 for address in audience}


@pytest.mark.slow
def test_a_permanent_refusal_stops_and_the_log_keeps_who_got_it(cli, smtp: Mailbox, audience: list[str],
                                                                workspace: Path) -> None:
    smtp.refused = {audience[5]}  # in the second batch, after one of its messages went out
    result = send(cli)
    assert result.code == 1
    assert "SMTP server answered 550 5.1.1 No such mailbox here for the reader on audience line 7" in result.err
    assert audience[5] not in result.err, "no address on stderr (a CI log)"
    report = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert (report["sent"], report["left"], report["unknown"]) == (5, 5, [])
    (workspace / "suppressions.csv").write_text(f"email\n{audience[5].upper()}\n")
    set_send_settings(workspace, suppressions="suppressions.csv")
    again = send(cli)
    assert again.code == 0, again.err
    assert "1 suppressed" in again.out
    assert copies(smtp.addresses()) == {address: 1 for address in audience if address != audience[5]}


def test_a_wrong_password_stops_before_anything_is_sent(cli, smtp: Mailbox, audience: list[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password-1234")
    result = send(cli)
    assert result.code == 1 and "SMTP login refused: 535" in result.err
    assert "wrong-password-1234" not in result.err + result.out
    assert smtp.received == []
    assert json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)["left"] == 10


@pytest.mark.slow
def test_the_rate_limit_spaces_messages_out(cli, smtp: Mailbox, audience: list[str], workspace: Path) -> None:
    set_send_settings(workspace, smtp={"rate_limit": 20})
    assert send(cli).code == 0
    times = [item.at for item in smtp.received]
    assert len(times) == 10 and times[-1] - times[0] >= 9 / 20 - 0.02  # 20 a second: 9 gaps of 50 ms


def test_plain_smtp_with_a_password_is_refused(cli, audience: list[str], workspace: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    set_send_settings(workspace, provider="smtp", smtp={"host": "127.0.0.1", "security": "none", "user": USER})
    result = send(cli)
    assert result.code == 2 and "would send the SMTP password unencrypted" in result.err


def test_smtp_cannot_send_a_scheduled_issue_early(cli, smtp: Mailbox, audience: list[str], workspace: Path) -> None:
    path = issue_folder(workspace) / "issue.md"
    path.write_text(path.read_text().replace("date: 2026-11-27\n", "date: 2026-11-27\nsend_at: 2999-01-01T07:00:00Z\n"))
    result = send(cli)
    assert result.code == 2 and "smtp cannot hold mail for later" in result.err
    assert smtp.received == []


def test_an_untrusted_certificate_is_refused(cli, smtp: Mailbox, audience: list[str],
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    other, _ = make_certificate(folder)
    monkeypatch.setenv("SSL_CERT_FILE", str(other))  # trusts a different certificate than the server's
    result = send(cli)
    assert result.code == 1 and "certificate verify failed" in result.err
    assert smtp.logins == [] and smtp.received == []


@pytest.mark.slow
def test_a_message_stored_before_the_connection_dropped_is_not_sent_again(cli, smtp: Mailbox, audience: list[str]) -> None:
    """Issue 24 row 2: the server kept the message and cut the line before its 250; a retry used to
    deliver it twice and call the send complete."""
    smtp.dropped = {3}
    result = send(cli)
    assert result.code == 1 and "may have been delivered, so it is not tried again" in result.err
    assert max(copies(smtp.addresses()).values()) == 1
    report = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert report["unknown_recipients"] == 1 and not report["complete"]
    held = send(cli)  # the next run sends the rest, and holds back the one in doubt
    assert held.code == 0 and "Held back batch" in held.err
    assert copies(smtp.addresses()) == {address: 1 for address in audience}
