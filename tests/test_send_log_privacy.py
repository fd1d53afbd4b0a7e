"""The committed send log holds no address: recipient ids under NEWSLETTER_LOG_KEY, the key in .env,
a log under another key refused, a plain log migrated, and a git tree scanned after a real send."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from newsletter.compose.audience import Batch, Recipient
from newsletter.compose.sendlog import SendLog, read_log
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_key, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid, Fault


def send(cli, *options: str):
    return cli("send", EXAMPLE_ISSUE, "--send", "--yes", *options)


@pytest.fixture
def audience(sendgrid_workspace: Path) -> list[str]:
    set_send_settings(sendgrid_workspace, batch_size=4)
    return write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 10)


def test_the_first_send_creates_the_key_in_env_without_showing_it(
        cli, sendgrid: FakeSendGrid, audience: list[str], sendgrid_workspace: Path) -> None:
    env = sendgrid_workspace / ".env"
    env.write_text("SMTP_PASSWORD=unrelated")  # no newline at the end: the key goes on a line of its own
    result = send(cli)
    assert result.code == 0, result.err
    key_line = env.read_text().splitlines()[-1]
    assert env.read_text().startswith("SMTP_PASSWORD=unrelated\n") and key_line.startswith("NEWSLETTER_LOG_KEY=")
    value = key_line.partition("=")[2]
    assert len(value) >= 40 and value not in result.out + result.err
    assert "Created NEWSLETTER_LOG_KEY in .env" in result.err and "CI secret" in result.err
    assert env.stat().st_mode & 0o077 == 0
    log = (issue_folder(sendgrid_workspace) / "send-log.jsonl").read_text()
    assert "@" not in log and log_key(sendgrid_workspace).fingerprint in log
    again = send(cli)  # reads the key from .env: nobody is new
    assert again.code == 0 and "10 recipients already had it" in again.out and "Created" not in again.err
    assert copies(sendgrid.delivered) == {a: 1 for a in audience}


def test_a_log_written_under_another_key_is_refused(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                    sendgrid_workspace: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert send(cli, "--limit", "3").code == 0
    monkeypatch.setenv("NEWSLETTER_LOG_KEY", "a-different-key-from-somewhere-else")
    for command in (send(cli), cli("status", EXAMPLE_ISSUE)):
        assert command.code == 2
        assert "send-log.jsonl: this send log was written under another NEWSLETTER_LOG_KEY" in command.err
    assert len(sendgrid.delivered) == 3  # nobody was sent it again
    (sendgrid_workspace / ".env").unlink()
    monkeypatch.delenv("NEWSLETTER_LOG_KEY")
    refused = send(cli)
    assert refused.code == 2 and "NEWSLETTER_LOG_KEY is not set" in refused.err
    assert len(sendgrid.delivered) == 3


def test_a_plain_log_is_migrated_without_losing_state(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                      sendgrid_workspace: Path) -> None:
    path = issue_folder(sendgrid_workspace) / "send-log.jsonl"
    with SendLog.locked(path) as log:  # what a send before hashing wrote
        log.run_started(1, "sendgrid", "audience.csv", 10, 3)
        log.batch_started(Batch("1.1", [Recipient(a) for a in audience[:4]]), "sendgrid")
        log.batch_sent(Batch("1.1", [Recipient(a) for a in audience[:4]]), "202")
        log.batch_started(Batch("1.2", [Recipient(a.upper()) for a in audience[4:6]]), "sendgrid")
        log.batch_unknown(Batch("1.2", []), f"timed out sending to {audience[4]}")
        log.run_ended(1, "failed", 4)
    before = cli("status", EXAMPLE_ISSUE, "--json")
    assert json.loads(before.out)["sent"] == 4 and json.loads(before.out)["left"] == 4
    result = send(cli)
    assert result.code == 0, result.err
    assert "Held back batch 1.2" in result.err
    assert sorted(sendgrid.delivered) == audience[6:]  # neither the sent nor the unknown batch again
    text = path.read_text()
    assert "@" not in text and "EXAMPLE.ORG" not in text
    state = read_log(path, log_key(sendgrid_workspace))
    assert state.sent == {state.id(a) for a in audience[:4] + audience[6:]}
    assert state.unknown_addresses == {state.id(a) for a in audience[4:6]} and not state.plain
    assert [e.get("key") for e in map(json.loads, text.splitlines()) if e["event"] == "run-start"] == \
        [log_key(sendgrid_workspace).fingerprint] * 2


def test_no_address_is_committed_after_a_send(cli, sendgrid: FakeSendGrid, sendgrid_workspace: Path,
                                              tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    audience = write_audience(private / "subscribers.csv", 9, "Plus+Tag@Example.org,Plus\n")
    set_send_settings(sendgrid_workspace, batch_size=3, max_retries=0)
    (sendgrid_workspace / ".gitignore").write_text(".env\nbuild/\noutbox/\n.cache/\nsuppressions.csv\n.newsletter/\n")
    git = lambda *args: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],  # noqa: E731
                                       cwd=sendgrid_workspace, check=True, capture_output=True, text=True).stdout
    git("init", "-q")
    # The provider names a refused recipient in its error: the log must not copy that.
    sendgrid.faults = {2: Fault(400, message=f"invalid recipient {audience[4]}")}
    assert send(cli, "--audience", private / "subscribers.csv").code == 1
    sendgrid.faults = {}
    assert send(cli, "--audience", private / "subscribers.csv").code == 0
    status = cli("status", EXAMPLE_ISSUE, "--audience", private / "subscribers.csv")
    assert status.code == 0 and "sent       10" in status.out
    git("add", "-A")
    git("commit", "-qm", "send")
    committed = git("ls-files").split()
    assert "issues/2026-11-garden-notes/send-log.jsonl" in committed and ".env" not in committed
    contents = "\n".join((sendgrid_workspace / name).read_text(encoding="utf-8", errors="replace").lower()
                         for name in committed)
    leaked = [a for a in audience + ["plus+tag@example.org"] if a.lower() in contents]
    assert leaked == []
    assert "invalid recipient <" in contents  # the error is kept, with an id in place of the address
