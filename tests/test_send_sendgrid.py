"""The sendgrid provider: the real ``sendgrid`` client against a loopback v3 server."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from newsletter.deliver.retry import RetryPolicy, backoff_delay, requested_wait
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_events, log_key, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid, Fault


@pytest.fixture
def audience(sendgrid_workspace: Path) -> list[str]:
    # One request at a time: these tests inject faults by request number (test_send_parallel.py has more).
    set_send_settings(sendgrid_workspace, batch_size=10, concurrency=1)
    return write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 25)


def send(cli, *options: str):
    return cli("send", EXAMPLE_ISSUE, "--send", "--yes", *options)


def status(cli) -> dict:
    result = cli("status", EXAMPLE_ISSUE, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_every_recipient_gets_one_copy_in_valid_v3_requests(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                            sendgrid_workspace: Path) -> None:
    result = send(cli)
    assert result.code == 0, result.err
    assert "Sent to 25 recipients" in result.out and "in 3 batches via sendgrid" in result.out
    assert sendgrid.problems == []
    assert sorted(sendgrid.delivered) == sorted(audience)
    assert [len(r["personalizations"]) for r in sendgrid.accepted] == [10, 10, 5]
    htmls = {r["content"][1]["value"] for r in sendgrid.accepted}
    assert len(htmls) == 1 and "Hello {{first_name}}," in htmls.pop()  # rendered once, personalised by SendGrid
    first = sendgrid.accepted[0]
    assert first["custom_args"] == {"issue": EXAMPLE_ISSUE, "batch": "1.1"}
    assert first["categories"] == ["newsletter", EXAMPLE_ISSUE]
    assert first["personalizations"][0]["substitutions"] == {"{{first_name}}": "Reader0",
                                                             "{{email:url}}": audience[0]}  # only in links
    report = status(cli)
    assert (report["sent"], report["left"], report["unknown"], report["complete"]) == (25, 0, [], True)
    events = log_events(sendgrid_workspace)
    assert [e["event"] for e in events] == ["run-start"] + ["batch-start", "batch-sent"] * 3 + ["run-end"]
    key = log_key(sendgrid_workspace)
    assert events[0]["key"] == key.fingerprint
    assert events[1]["to"] == [key.id(a) for a in audience[:10]] and events[1]["first_line"] == 2
    assert events[2]["receipt"] == "202 X-Message-Id msg-1"


def test_a_second_run_sends_nobody_again(cli, sendgrid: FakeSendGrid, audience: list[str]) -> None:
    assert send(cli).code == 0
    again = send(cli)
    assert again.code == 0, again.err
    assert "Nothing to send" in again.out and "25 recipients already had it" in again.out
    assert sorted(sendgrid.delivered) == sorted(audience)


def test_new_subscribers_get_only_their_copy(cli, sendgrid: FakeSendGrid, audience: list[str],
                                             sendgrid_workspace: Path) -> None:
    assert send(cli, "--limit", "7").code == 0
    assert copies(sendgrid.delivered) == {a: 1 for a in audience[:7]}
    csv = issue_folder(sendgrid_workspace) / "audience.csv"
    csv.write_text(csv.read_text() + "late.subscriber@example.net,Late\n")
    result = send(cli, "--json")
    assert json.loads(result.out)["recipients"] == 19 and json.loads(result.out)["already_sent"] == 7
    assert copies(sendgrid.delivered) == {a: 1 for a in audience + ["late.subscriber@example.net"]}


def test_requests_never_exceed_1000_recipients(cli, sendgrid: FakeSendGrid, sendgrid_workspace: Path) -> None:
    emails = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 2345)
    set_send_settings(sendgrid_workspace, batch_size=5000)  # the provider caps it
    result = send(cli)
    assert result.code == 0, result.err
    # Batches go out in parallel, so they may arrive in any order.
    assert sorted((len(r["personalizations"]) for r in sendgrid.accepted), reverse=True) == [1000, 1000, 345]
    assert sendgrid.problems == [] and len(sendgrid.delivered) == len(set(sendgrid.delivered)) == len(emails)


@pytest.mark.slow
def test_500_and_429_are_retried_honouring_retry_after(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                       sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, max_backoff=3)
    sendgrid.faults = {1: Fault(500, message="internal error"), 2: Fault(429, {"Retry-After": "1"}),
                       4: Fault(503)}
    result = send(cli)
    assert result.code == 0, result.err
    assert copies(sendgrid.delivered) == {a: 1 for a in audience}
    assert [a.status for a in sendgrid.attempts] == [500, 429, 202, 503, 202, 202]
    waited = sendgrid.attempts[2].at - sendgrid.attempts[1].at
    assert waited >= 1.0  # Retry-After: 1
    assert "batch 1.1: SendGrid answered 429" in result.err and "retry 2 of 3" in result.err


def test_a_hang_past_the_timeout_is_held_back_never_sent_twice(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                                sendgrid_workspace: Path) -> None:
    """SendGrid took the request and answered too late: sending it again would be a second copy."""
    set_send_settings(sendgrid_workspace, timeout=0.3, max_retries=2)
    sendgrid.faults = {2: Fault(delay=1.5)}  # taken, then answered after the client gave up
    result = send(cli)
    assert result.code == 1 and "did not answer" in result.err and "not tried again" in result.err
    time.sleep(1.5)  # the stand-in finishes taking the request the client gave up on
    assert len([a for a in sendgrid.attempts if "personalizations" in a.body]) == 2, "no retry"
    assert max(copies(sendgrid.delivered).values()) == 1
    assert [b["batch"] for b in status(cli)["unknown"]] == ["1.2"]


def test_other_4xx_stops_with_sendgrid_message_and_the_rest_is_sent_later(
        cli, sendgrid: FakeSendGrid, audience: list[str], sendgrid_workspace: Path) -> None:
    refusal = "The from address does not match a verified Sender Identity"
    sendgrid.faults = {2: Fault(403, message=refusal)}
    result = send(cli)
    assert result.code == 1
    assert refusal in result.err and "batch 1.2 not sent" in result.err and "Sent to 10 of 25" in result.err
    assert len(sendgrid.attempts) == 2  # no retry for a 4xx
    report = status(cli)
    assert (report["sent"], report["left"], report["unknown"], report["complete"]) == (10, 15, [], False)
    assert [e["event"] for e in log_events(sendgrid_workspace)][-3:] == ["batch-start", "batch-failed", "run-end"]
    sendgrid.faults = {}
    again = send(cli)
    assert again.code == 0, again.err
    assert copies(sendgrid.delivered) == {a: 1 for a in audience}


def test_retries_are_bounded(cli, sendgrid: FakeSendGrid, audience: list[str]) -> None:
    sendgrid.every_request = Fault(502)
    result = send(cli)
    assert result.code == 1 and "gave up after 4 attempts" in result.err
    assert len(sendgrid.attempts) == 4  # max_retries = 3
    assert status(cli)["unknown"] == [] and status(cli)["left"] == 25


@pytest.mark.slow
def test_timeouts_that_never_end_leave_the_batch_unknown(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                         sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, timeout=0.2, max_retries=1)
    sendgrid.faults = {1: Fault(hang=1, deliver=False)}
    result = send(cli)
    assert result.code == 1 and "held back" in result.err
    unknown = status(cli)["unknown"]
    first = f"#{log_key(sendgrid_workspace).id(audience[0])[:8]}, audience line 2"
    assert [(b["batch"], b["count"], b["first"]) for b in unknown] == [("1.1", 10, first)]
    held = send(cli)
    assert held.code == 0, held.err
    assert "Held back batch 1.1" in held.err and "--resend-unknown" in held.err
    assert copies(sendgrid.delivered) == {a: 1 for a in audience[10:]}
    resent = send(cli, "--resend-unknown")
    assert resent.code == 0, resent.err
    assert copies(sendgrid.delivered) == {a: 1 for a in audience}
    assert status(cli)["unknown"] == []


def test_sandbox_mode_delivers_nothing_and_logs_nothing(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                        sendgrid_workspace: Path) -> None:
    result = cli("send", EXAMPLE_ISSUE, "--sandbox")
    assert result.code == 0, result.err
    assert "Sandbox: sendgrid accepted 25 recipients in 3 requests; nothing was delivered." in result.out
    assert all(a.body["mail_settings"] == {"sandbox_mode": {"enable": True}} for a in sendgrid.attempts)
    assert sendgrid.delivered == [] and sendgrid.problems == []
    assert not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()


def test_a_test_send_goes_to_the_given_address_only_and_is_not_logged(
        cli, sendgrid: FakeSendGrid, audience: list[str], sendgrid_workspace: Path) -> None:
    result = cli("send", EXAMPLE_ISSUE, "--send", "--to", "editor@example.com")
    assert result.code == 0, result.err  # no confirmation needed for your own address
    assert sendgrid.delivered == ["editor@example.com"]
    assert sendgrid.accepted[0]["subject"].startswith("[TEST] ")
    assert not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()


def test_send_at_within_72_hours_is_passed_on(cli, sendgrid: FakeSendGrid, audience: list[str],
                                              sendgrid_workspace: Path) -> None:
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=5)).replace(microsecond=0)
    schedule(sendgrid_workspace, when)
    result = send(cli)
    assert result.code == 0, result.err
    assert {r["send_at"] for r in sendgrid.accepted} == {int(when.timestamp())}
    later = when + dt.timedelta(hours=100)
    schedule(sendgrid_workspace, later)
    refused = send(cli)
    assert refused.code == 2
    assert "issue.md:" in refused.err and "holds mail at most 72 h" in refused.err


def schedule(workspace: Path, when: dt.datetime) -> None:
    path = issue_folder(workspace) / "issue.md"
    lines = [line for line in path.read_text().splitlines(keepends=True) if not line.startswith("send_at:")]
    lines.insert(1, f"send_at: {when.isoformat()}\n")
    path.write_text("".join(lines))


def test_api_host_from_settings_is_overridden_by_the_environment(
        cli, sendgrid: FakeSendGrid, audience: list[str], sendgrid_workspace: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    set_send_settings(sendgrid_workspace, sendgrid={"host": "http://127.0.0.1:9/"}, max_retries=0)
    assert send(cli).code == 1  # nothing listens on port 9
    monkeypatch.setenv("SENDGRID_API_HOST", sendgrid.url + "/v3")
    result = send(cli)
    assert result.code == 0, result.err
    assert len(sendgrid.delivered) == 25


def test_names_with_commas_are_quoted_and_values_escaped_only_in_html(
        cli, sendgrid: FakeSendGrid, sendgrid_workspace: Path) -> None:
    csv = issue_folder(sendgrid_workspace) / "audience.csv"
    csv.write_text('email,first_name,last_name\nann@example.org,"Ann, Jr.",Lee\ntom@example.org,Tom & Jerry,\n')
    result = send(cli)
    assert result.code == 0, result.err
    assert sendgrid.problems == []
    request = sendgrid.accepted[0]
    ann, tom = request["personalizations"]
    assert ann["to"] == [{"email": "ann@example.org", "name": '"Ann, Jr. Lee"'}]
    assert tom["substitutions"]["{{first_name}}"] == "Tom &amp; Jerry"
    assert tom["substitutions"]["{{first_name:text}}"] == "Tom & Jerry"
    assert "Hello {{first_name:text}}," in request["content"][0]["value"]
    assert "Hello {{first_name}}," in request["content"][1]["value"]


def test_missing_key_is_a_one_line_error(cli, audience: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY")
    result = send(cli)
    assert result.code == 2
    assert result.err == "newsletter: SENDGRID_API_KEY is not set: the sendgrid provider needs it in the " \
                         "environment or in .env (see .env.example)\n"


def test_requested_wait_reads_retry_after_and_rate_limit_reset() -> None:
    now = dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.timezone.utc)
    assert requested_wait({"Retry-After": "7"}, now) == 7
    assert requested_wait({"Retry-After": "Fri, 27 Nov 2026 07:00:30 GMT"}, now) == 30
    assert requested_wait({"X-RateLimit-Reset": str(int(now.timestamp()) + 12)}, now) == 12
    assert requested_wait({}, now) is None


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=8, base_delay=0.5, max_delay=3)
    assert [backoff_delay(n, policy, None, rng=lambda: 1.0) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert backoff_delay(4, policy, None, rng=lambda: 0.25) == 0.75  # a random share of the ceiling
    assert backoff_delay(1, policy, 2.0, rng=lambda: 0.0) == 2.0  # never sooner than asked
