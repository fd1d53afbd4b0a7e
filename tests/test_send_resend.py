"""Resend: batches of at most 100 under an idempotency key logged first, so a try of unknown fate
is simply tried again under the same key (in the same run or a resumed one within 24 hours) and
nobody gets two copies; after 24 hours such a batch is reported unknown, never resent."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.resend_server import FakeResend, Fault
from tests.send_helpers import copies, issue_folder, log_events, set_send_settings, write_audience

RESEND_KEY = "re_fake_key_0123456789_must_never_appear"


@pytest.fixture
def resend():
    server = FakeResend(RESEND_KEY)
    yield server
    server.stop()


@pytest.fixture
def resend_workspace(workspace: Path, resend: FakeResend, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example workspace sending through the stand-in, with short waits between retries."""
    monkeypatch.setenv("RESEND_API_KEY", RESEND_KEY)
    monkeypatch.delenv("RESEND_API_HOST", raising=False)
    set_send_settings(workspace, provider="resend", resend={"host": resend.url}, timeout=5, max_backoff=0.05,
                      max_retries=5)
    return workspace


def status(cli) -> dict:
    return json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)


def audience(workspace: Path, count: int) -> list[str]:
    return write_audience(issue_folder(workspace) / "audience.csv", count)


def batch_keys(resend: FakeResend) -> list[str]:
    return [attempt.key for attempt in resend.attempts]


def test_every_reader_gets_one_copy_in_batches_of_at_most_100(cli, resend, resend_workspace) -> None:
    readers = audience(resend_workspace, 250)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert resend.problems == []
    assert copies(resend.delivered) == {address: 1 for address in readers}
    assert sorted(len(body) for body in resend.accepted) == [50, 100, 100]  # two in flight: in any order
    message = next(body[0] for body in resend.accepted if body[0]["to"][0].endswith("<reader00000@example.org>"))
    assert message["to"] == ["Reader0 <reader00000@example.org>"]
    assert message["from"] == "Northwind Notes <news@northwind.example>"
    # Merge fields filled per message; the unsubscribe headers as they are, not RFC 2047-encoded.
    assert message["headers"]["List-Unsubscribe"].startswith(
        "<https://northwind.example/unsubscribe?email=reader00000@example.org>")
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "{{" not in message["html"] + message["text"] + message["subject"]
    assert {"name": "issue", "value": EXAMPLE_ISSUE} in message["tags"]
    # Every request carries its own key, logged on its batch before the request went out.
    keys = batch_keys(resend)
    assert len(set(keys)) == 3 and all(key and len(key) <= 256 for key in keys)
    starts = [event for event in log_events(resend_workspace) if event["event"] == "batch-start"]
    assert sorted(event["idempotency_key"] for event in starts) == sorted(keys)
    assert RESEND_KEY not in result.err + result.out and "@" not in result.err
    assert status(cli)["complete"]


def test_a_test_copy_is_tagged_apart_and_never_replays_an_earlier_one(cli, resend, resend_workspace) -> None:
    audience(resend_workspace, 3)
    for _ in range(2):
        assert cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--to", "editor@example.org").code == 0
    assert resend.delivered == ["editor@example.org", "editor@example.org"]  # each test send is a new request
    tags = resend.accepted[0][0]["tags"]
    assert {"name": "issue", "value": f"{EXAMPLE_ISSUE}-test"} in tags and {"name": "list", "value": "newsletter-test"} in tags
    assert len(set(batch_keys(resend))) == 2
    assert not issue_folder(resend_workspace).joinpath("send-log.jsonl").exists()


def test_a_slow_answer_is_tried_again_under_the_same_key_and_nobody_gets_two(cli, resend, resend_workspace) -> None:
    """Resend takes batch 1 but answers after the client's timeout: the retry under the same key
    meets the first request still running (409 concurrent), then its replayed answer."""
    set_send_settings(resend_workspace, timeout=0.5, max_retries=12, max_backoff=0.3, batch_size=3, concurrency=1)
    readers = audience(resend_workspace, 6)
    resend.faults = {1: Fault(delay=1.5)}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert copies(resend.delivered) == {address: 1 for address in readers}
    first = [attempt for attempt in resend.attempts if attempt.key == resend.attempts[0].key]
    assert len(first) >= 2 and first[-1].replayed and first[-1].status == 200
    assert "same idempotency key" in result.err
    assert status(cli)["complete"] and status(cli)["unknown_recipients"] == 0


@pytest.mark.parametrize("taken", [True, False])
def test_a_dropped_connection_is_tried_again_under_the_same_key(cli, resend, resend_workspace, taken) -> None:
    """The connection drops before the answer, after Resend took the batch (or before it did)."""
    set_send_settings(resend_workspace, batch_size=3, concurrency=1)
    readers = audience(resend_workspace, 6)
    resend.faults = {2: Fault(deliver=taken, answer=False)}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert copies(resend.delivered) == {address: 1 for address in readers}
    assert resend.attempts[1].key == resend.attempts[2].key
    assert resend.attempts[2].replayed is taken
    assert status(cli)["complete"]


def test_retries_that_run_out_after_a_try_of_unknown_fate_leave_the_batch_unknown(cli, resend,
                                                                                 resend_workspace) -> None:
    """The first try times out, the retries meet it still running (409) until none are left: the
    batch may have gone out, so it is unknown, not refused; the next run settles it under its key."""
    set_send_settings(resend_workspace, timeout=0.3, max_retries=2, max_backoff=0.05)
    readers = audience(resend_workspace, 3)
    resend.faults = {1: Fault(delay=1.5)}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "may have been delivered" in result.err
    assert [attempt.status for attempt in resend.attempts[1:]] == [409, 409]
    assert status(cli)["unknown_recipients"] == 3, "never recorded as refused"
    time.sleep(1.5)
    set_send_settings(resend_workspace, timeout=5)
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    assert resend.attempts[-1].replayed and copies(resend.delivered) == {address: 1 for address in readers}
    assert status(cli)["complete"]


def test_a_server_error_is_tried_again_under_the_same_key(cli, resend, resend_workspace) -> None:
    readers = audience(resend_workspace, 3)
    resend.faults = {1: Fault(status=500, name="internal_server_error", message="Unexpected error.")}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert resend.attempts[0].key == resend.attempts[1].key
    assert copies(resend.delivered) == {address: 1 for address in readers}


def test_a_concurrent_request_answer_is_retried(cli, resend, resend_workspace) -> None:
    readers = audience(resend_workspace, 3)
    resend.faults = {1: Fault(status=409, name="concurrent_idempotent_requests",
                              message="Same idempotency key used while original request is still in progress.")}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert copies(resend.delivered) == {address: 1 for address in readers}
    assert "concurrent_idempotent_requests" in result.err and "retry 1 of" in result.err


def test_a_rate_limit_waits_as_long_as_retry_after_says(cli, resend, resend_workspace) -> None:
    set_send_settings(resend_workspace, max_backoff=5)
    readers = audience(resend_workspace, 3)
    resend.faults = {1: Fault(status=429, name="rate_limit_exceeded", headers={"retry-after": "1"},
                              message="Too many requests.")}
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    assert resend.attempts[1].at - resend.attempts[0].at >= 1.0
    assert copies(resend.delivered) == {address: 1 for address in readers}


def test_a_used_up_quota_is_an_error_not_a_wait(cli, resend, resend_workspace) -> None:
    audience(resend_workspace, 3)
    resend.every_request = Fault(status=429, name="daily_quota_exceeded", message="You have reached your daily quota.")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "daily_quota_exceeded" in result.err and len(resend.attempts) == 1
    assert status(cli)["unknown"] == [] and status(cli)["sent"] == 0


def unknown_after_a_timeout(cli, resend, workspace: Path, count: int = 3) -> list[str]:
    """A first run whose only batch Resend takes but answers too late, with no retries left: unknown."""
    set_send_settings(workspace, timeout=0.3, max_retries=0)
    readers = audience(workspace, count)
    resend.faults = {1: Fault(delay=0.8)}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "may have been delivered" in result.err
    time.sleep(0.8)  # Resend finishes taking it
    resend.faults = {}
    assert status(cli)["unknown_recipients"] == count
    set_send_settings(workspace, timeout=5, max_retries=3)
    return readers


def test_a_resumed_run_sends_a_batch_of_unknown_fate_again_under_its_key(cli, resend, resend_workspace) -> None:
    readers = unknown_after_a_timeout(cli, resend, resend_workspace)
    [batch] = status(cli)["unknown"]
    first_try = dt.datetime.fromisoformat(batch["started"])
    assert dt.datetime.fromisoformat(batch["resent_until"]) - first_try == dt.timedelta(hours=23, minutes=45)
    assert "sent again under its idempotency key" in cli("status", EXAMPLE_ISSUE).out
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert "Held back" not in result.err and "under its idempotency key" in result.err
    assert resend.attempts[-1].key == resend.attempts[0].key and resend.attempts[-1].replayed
    assert copies(resend.delivered) == {address: 1 for address in readers}
    assert status(cli)["complete"] and status(cli)["unknown_recipients"] == 0


def test_a_batch_of_unknown_fate_whose_reader_was_suppressed_since_stays_unknown(cli, resend,
                                                                                resend_workspace) -> None:
    """Sent again without that reader it would be another request under the same key; with them, a
    copy to someone who unsubscribed. It stays unknown, for a person to check."""
    readers = unknown_after_a_timeout(cli, resend, resend_workspace)
    (resend_workspace / "suppressions.csv").write_text(f"email,reason,note\n{readers[1]},unsubscribe,\n")
    tries = len(resend.attempts)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert "cannot be sent again as it was" in result.err and len(resend.attempts) == tries
    assert status(cli)["unknown_recipients"] == 3 and not status(cli)["complete"]


def age_the_log(workspace: Path, hours: float) -> None:
    """Move every time in the send log back: as if the send had started ``hours`` ago."""
    path = issue_folder(workspace) / "send-log.jsonl"

    def older(match: re.Match) -> str:
        when = dt.datetime.fromisoformat(match.group(1)) - dt.timedelta(hours=hours)
        return f'"{when.strftime("%Y-%m-%dT%H:%M:%SZ")}"'

    path.write_text(re.sub(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"', older, path.read_text()))


def test_after_24_hours_a_batch_of_unknown_fate_is_reported_unknown_not_resent(cli, resend, resend_workspace) -> None:
    unknown_after_a_timeout(cli, resend, resend_workspace)
    age_the_log(resend_workspace, 24.5)
    resend.forget_keys()  # as Resend has by now: the same key would send the batch again
    tries = len(resend.attempts)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert len(resend.attempts) == tries, "not sent again"
    assert "Held back batch 1.1" in result.err and "--resend-unknown" in result.err
    assert status(cli)["unknown_recipients"] == 3 and not status(cli)["complete"]
    assert status(cli)["unknown"][0]["resent_until"] is None
    assert "--resend-unknown" in cli("status", EXAMPLE_ISSUE).out
    assert copies(resend.delivered) == {address: 1 for address in resend.delivered}


def test_a_changed_issue_under_the_same_key_is_one_line_and_stays_unknown(cli, resend, resend_workspace) -> None:
    """409 invalid_idempotent_request: Resend has another body under this batch's key."""
    readers = unknown_after_a_timeout(cli, resend, resend_workspace)
    issue = issue_folder(resend_workspace) / "issue.md"
    issue.write_text(issue.read_text().replace("Winter pruning, leaf mould", "Winter pruning and leaf mould", 1))
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and resend.attempts[-1].status == 409
    line = result.err.strip().splitlines()[-1]
    assert "invalid_idempotent_request" in line and "changed since it was first tried" in line
    assert "Traceback" not in result.err and RESEND_KEY not in result.err
    assert copies(resend.delivered) == {address: 1 for address in readers}
    assert status(cli)["unknown_recipients"] == 3, "it may have gone out: never free to send again"


def test_a_future_send_at_is_refused_before_anything_goes(cli, resend, resend_workspace) -> None:
    audience(resend_workspace, 3)
    issue = issue_folder(resend_workspace) / "issue.md"
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).replace(microsecond=0)
    issue.write_text(issue.read_text().replace("audience: audience.csv\n",
                                               f"audience: audience.csv\nsend_at: {when.isoformat()}\n", 1))
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "resend cannot hold mail for later" in result.err and resend.attempts == []


def test_a_redirect_is_an_error_and_the_key_goes_nowhere_else(cli, resend, resend_workspace) -> None:
    seen: list[dict] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen.append(dict(self.headers))
            if self.path == "/emails/batch" and "Location" not in self.headers:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(307 if not seen[1:] else 200)
            self.send_header("Location", f"http://localhost:{other.server_address[1]}/emails/batch")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        set_send_settings(resend_workspace, resend={"host": f"http://127.0.0.1:{other.server_address[1]}"})
        audience(resend_workspace, 3)
        result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    finally:
        other.shutdown()
    assert result.code == 1 and "307" in result.err and "redirects are not followed" in result.err
    assert len(seen) == 1, "the redirect was not followed"
    assert RESEND_KEY not in result.err
    assert status(cli)["sent"] == 0 and status(cli)["unknown"] == []


def test_a_refused_key_is_named_without_showing_it(cli, resend, resend_workspace, monkeypatch) -> None:
    audience(resend_workspace, 3)
    monkeypatch.setenv("RESEND_API_KEY", "re_wrong_key_also_secret")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "401" in result.err and "RESEND_API_KEY" in result.err
    assert "re_wrong_key_also_secret" not in result.err and result.err.count("\n") <= 3


# Kill -9 at random points of an immediate send, the stand-in slow or dropping at random: after
# resuming, every reader has exactly one copy and `status` says complete.

CRASH_READERS = 5000
CRASH_BATCH = 20  # 250 batches: work left for every kill to land in
KILLS = 20


@pytest.mark.slow
def test_killed_at_random_points_every_reader_gets_exactly_one_copy(resend, workspace: Path) -> None:
    import random

    from tests.test_send_crash import chaos, kill_at_random_points, resume_until_done

    set_send_settings(workspace, provider="resend", resend={"host": resend.url}, timeout=0.5, max_retries=8,
                      max_backoff=0.2, batch_size=CRASH_BATCH)
    readers = write_audience(issue_folder(workspace) / "audience.csv", CRASH_READERS)
    resend.keep_bodies = False
    resend.delay = 0.03  # a real API's answer time: two requests in flight, ~15 batches a second
    resend.chaos = chaos(random.Random(2024), slow=0.9, make=Fault)
    env = {"RESEND_API_KEY": RESEND_KEY}
    started = time.monotonic()
    killed = kill_at_random_points(resend, workspace, env, readers, KILLS, random.Random(24), fault=Fault,
                                   requests=12, batches=12, delay=0.5)
    assert len(killed) >= KILLS * 3 // 4, killed  # the kills landed mid-send, not after it had finished

    # Resumed until done: the stand-in is still slow and dropping at random.
    returncode, err, state = resume_until_done(resend, workspace, env, readers, tries=3)
    assert returncode == 0, err
    assert "Held back" not in err
    assert copies(resend.delivered) == {address: 1 for address in readers}
    assert state.complete and not state.unknown
    assert resend.problems == []
    assert time.monotonic() - started < 600


def test_the_key_comes_from_the_issue_the_readers_and_the_log_key() -> None:
    from newsletter.deliver.send import batch_key

    key = batch_key(EXAMPLE_ISSUE, ["a1", "b2"], "f00d")
    assert key == batch_key(EXAMPLE_ISSUE, ["a1", "b2"], "f00d"), "a resumed run that sends the same readers reproduces it"
    others = {batch_key("other-issue", ["a1", "b2"], "f00d"), batch_key(EXAMPLE_ISSUE, ["a1"], "f00d"),
              batch_key(EXAMPLE_ISSUE, ["b2", "a1"], "f00d"), batch_key(EXAMPLE_ISSUE, ["a1", "b2"], "beef")}
    assert key not in others and len(others) == 4
    assert len(batch_key("x" * 500, ["a"] * 100, "f00d")) <= 256 and key.isascii()


def test_resend_api_host_overrides_the_setting(cli, resend, resend_workspace, monkeypatch) -> None:
    readers = audience(resend_workspace, 2)
    set_send_settings(resend_workspace, resend={"host": "http://127.0.0.1:9"})
    monkeypatch.setenv("RESEND_API_HOST", resend.url)
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    assert copies(resend.delivered) == {address: 1 for address in readers}


def test_a_refused_batch_is_one_line_and_refused_not_unknown(cli, resend, resend_workspace) -> None:
    audience(resend_workspace, 3)
    resend.faults = {1: Fault(status=422, name="validation_error", message="Invalid `to` field: reader00001@example.org")}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "validation_error" in result.err and "Traceback" not in result.err
    assert "reader00001@example.org" not in result.err, "no address on stderr"
    assert status(cli)["unknown"] == [] and status(cli)["sent"] == 0
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0, "fixed, the same readers go under the same key"
    assert sorted(resend.delivered) == sorted(audience(resend_workspace, 3))
