"""Sending safely: dry run by default, a confirmation, audiences that are checked and
suppressed, secrets that never leave the environment, scheduled issues sent once from CI."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.compose.sendlog import SendLog
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import FAKE_KEY, copies, issue_folder, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid


@pytest.fixture
def audience(sendgrid_workspace: Path) -> list[str]:
    return write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 25)


def run_cli(workspace: Path, *args: str, stdin=subprocess.DEVNULL,
            env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=workspace, stdin=stdin,
                          capture_output=True, text=True, timeout=60, env=env or os.environ.copy())


def test_without_send_nothing_goes_out(cli, sendgrid: FakeSendGrid, audience: list[str],
                                       sendgrid_workspace: Path) -> None:
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    assert result.out.startswith("Dry run: nothing was sent. 25 recipients")
    assert sendgrid.attempts == []
    assert not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()


def test_no_terminal_to_confirm_on_means_no_send(cli, sendgrid: FakeSendGrid, audience: list[str],
                                                 sendgrid_workspace: Path) -> None:
    result = cli("send", EXAMPLE_ISSUE, "--send")
    assert result.code == 2
    assert "refusing to send without a confirmation" in result.err and "--yes" in result.err
    assert sendgrid.attempts == [] and not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()


@pytest.mark.slow
@pytest.mark.parametrize("answer, sent", [(b"n\n", 0), (b"y\n", 25)])
def test_the_confirmation_shows_the_count_and_waits_for_yes(sendgrid: FakeSendGrid, audience: list[str],
                                                            sendgrid_workspace: Path, answer: bytes,
                                                            sent: int) -> None:
    terminal, their_end = pty.openpty()
    try:
        os.write(terminal, answer)  # typed ahead; the terminal holds it until the question is asked
        result = run_cli(sendgrid_workspace, "send", EXAMPLE_ISSUE, "--send", stdin=their_end)
    finally:
        os.close(their_end)
        os.close(terminal)
    assert 'Send "Winter pruning, leaf mould & a seed library" to 25 recipients via sendgrid? [y/N]' in result.stderr
    assert result.returncode == (0 if sent else 1), result.stderr
    assert len(sendgrid.delivered) == sent
    if not sent:
        assert "not confirmed: nothing was sent" in result.stderr


def test_a_running_send_locks_out_another(cli, sendgrid: FakeSendGrid, audience: list[str],
                                          sendgrid_workspace: Path) -> None:
    with SendLog.locked(issue_folder(sendgrid_workspace) / "send-log.jsonl"):
        result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "another 'newsletter send' is sending this issue" in result.err
    assert sendgrid.attempts == []


def test_suppressed_addresses_are_never_sent_to(cli, workspace: Path) -> None:
    (workspace / "suppressions.csv").write_text("email,reason\nRUTH.OBI@example.net,bounce\nnot an address,?\n")
    set_send_settings(workspace, suppressions="suppressions.csv")
    report = json.loads(cli("send", EXAMPLE_ISSUE, "--json").out)
    assert report["recipients"] == 5 and report["suppressed"] == 1
    record = (Path(report["outbox"]) / "recipients.jsonl").read_text()
    assert "ruth.obi@example.net" not in record and "maya.hollis@example.org" in record
    set_send_settings(workspace, suppressions="missing.csv")
    missing = cli("send", EXAMPLE_ISSUE)
    assert missing.code == 2 and "missing.csv: suppression list not found" in missing.err


def test_a_bad_row_stops_the_send_naming_its_line(cli, workspace: Path) -> None:
    csv = issue_folder(workspace) / "audience.csv"
    csv.write_text(csv.read_text() + "someone@@example.org,Bad\n")
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 2
    assert result.err.startswith("newsletter: issues/2026-11-garden-notes/audience.csv:8: invalid email address")
    assert not (workspace / "outbox").exists()


def test_bad_rows_can_be_skipped_into_a_report(cli, workspace: Path) -> None:
    csv = issue_folder(workspace) / "audience.csv"
    csv.write_text(csv.read_text() + "someone@@example.org,Bad\nextra@example.org,Too,Many\n")
    result = cli("send", EXAMPLE_ISSUE, "--skip-bad-rows", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["recipients"] == 6 and report["skipped_rows"] == 2
    assert "Skipped 2 bad rows" in result.err
    rows = (issue_folder(workspace) / "skipped-rows.csv").read_text().splitlines()
    assert rows[0] == "file,line,error,row"
    assert rows[1].split(",")[1] == "8" and "invalid email address" in rows[1] and "someone@@example.org" in rows[1]
    assert rows[2].split(",")[1] == "9" and "expected 2 columns" in rows[2]


def written_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and path.name != ".env"]


@pytest.mark.slow
def test_the_api_key_is_never_printed_logged_or_written(sendgrid: FakeSendGrid, audience: list[str],
                                                        sendgrid_workspace: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SENDGRID")}
    (sendgrid_workspace / ".env").write_text(f"SENDGRID_API_KEY={FAKE_KEY}\n")  # read from .env this time
    outputs = [run_cli(sendgrid_workspace, "send", EXAMPLE_ISSUE, env=env),
               run_cli(sendgrid_workspace, "send", EXAMPLE_ISSUE, "--sandbox", env=env),
               run_cli(sendgrid_workspace, "send", EXAMPLE_ISSUE, "--send", "--yes", "--limit", "3", env=env),
               run_cli(sendgrid_workspace, "status", EXAMPLE_ISSUE, "--json", env=env)]
    sendgrid.api_key = "SG.another-key"  # now SendGrid refuses it, quoting the Authorization header back
    outputs.append(run_cli(sendgrid_workspace, "--debug", "send", EXAMPLE_ISSUE, "--send", "--yes", env=env))
    assert [o.returncode for o in outputs] == [0, 0, 0, 0, 1]
    assert FAKE_KEY in sendgrid.attempts[-1].headers["Authorization"]  # the key was really used
    assert "[redacted]" in outputs[-1].stderr and "401" in outputs[-1].stderr
    for output in outputs:
        assert FAKE_KEY not in output.stdout + output.stderr
    files = written_files(sendgrid_workspace)
    assert any(path.name == "send-log.jsonl" for path in files) and any(path.name == "recipients.jsonl" for path in files)
    for path in files:
        assert FAKE_KEY.encode() not in path.read_bytes(), path


def schedule(folder: Path, subject: str, send_at: dt.datetime | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder.parent / EXAMPLE_ISSUE
    (folder / "articles").mkdir(exist_ok=True)
    (folder / "articles" / "compost.txt").write_text((source / "articles" / "compost.txt").read_text())
    when = f"send_at: {send_at.isoformat()}\n" if send_at else ""
    (folder / "issue.md").write_text(f'---\nsubject: "{subject}"\n{when}audience: ../{EXAMPLE_ISSUE}/audience.csv\n'
                                     "sections:\n  - title: News\n    articles: [articles/compost.txt]\n---\nHello.\n")


def test_due_sends_every_due_unsent_issue_once(cli, sendgrid: FakeSendGrid, audience: list[str],
                                               sendgrid_workspace: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    issues = sendgrid_workspace / "issues"
    # Subjects of their own: one that merely repeats the folder name is a starter placeholder, a check error.
    schedule(issues / "due-a", "Autumn A", now - dt.timedelta(minutes=20))
    schedule(issues / "due-b", "Autumn B", now - dt.timedelta(days=1))
    # Beyond [send] schedule_ahead (71 hours): not handed to SendGrid yet.
    schedule(issues / "later", "Later", now + dt.timedelta(days=4))
    schedule(issues / "unscheduled", "Unscheduled", None)
    dry = cli("send", "--due")
    assert dry.code == 0 and dry.out.count("Dry run: nothing was sent. 25 recipients") == 2
    planned = json.loads(cli("send", "--due", "--json").out)
    assert [(report["issue"], report["recipients"], report["dry_run"]) for report in planned] == \
        [("due-b", 25, True), ("due-a", 25, True)]
    assert sendgrid.attempts == []
    for slug in ("due-a", "due-b", "later", "unscheduled"):
        assert cli("approve", slug).code == 0
    result = cli("send", "--due", "--send", "--yes")
    assert result.code == 0, result.err
    subjects = [request["subject"] for request in sendgrid.accepted]
    assert subjects == ["Autumn B", "Autumn A"]  # oldest first
    assert copies(sendgrid.delivered) == {address: 2 for address in audience}  # one copy of each issue
    again = cli("send", "--due", "--send", "--yes")
    assert again.code == 0 and again.out == "No scheduled issue is due.\n"
    assert len(sendgrid.accepted) == 2
    status = cli("status", "due-a")
    assert "  sent       25 in 1 run" in status.out and "(sent)" in status.out


def test_send_at_needs_a_time_zone(cli, workspace: Path) -> None:
    path = issue_folder(workspace) / "issue.md"
    path.write_text(path.read_text().replace("date: 2026-11-27\n", "date: 2026-11-27\nsend_at: 2026-11-27 07:00\n"))
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 2
    assert "issue.md:7: send_at must be a date and time with a time zone" in result.err


def test_status_tells_what_was_sent_and_what_is_left(cli, sendgrid: FakeSendGrid, audience: list[str]) -> None:
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes", "--limit", "20").code == 0
    result = cli("status", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == '2026-11-garden-notes: "Winter pruning, leaf mould & a seed library"'
    assert lines[1] == "  audience   25 recipients in issues/2026-11-garden-notes/audience.csv"
    assert lines[2].startswith("  sent       20 in 1 run, last batch 20")
    assert lines[3:5] == ["  left       5", "  unknown    0 batches"]


def test_the_example_workflow_runs_a_command_that_works(workspace: Path) -> None:
    from ruamel.yaml import YAML

    from newsletter.compose.sendlog import LOG_NAME

    workflow_file = Path(__file__).parent.parent / ".github" / "workflows" / "send-scheduled.yml"
    workflow = YAML(typ="safe").load(workflow_file.read_text())
    assert workflow["on"]["schedule"] == [{"cron": "17 6 * * *"}]  # SendGrid holds issues: daily is enough
    assert workflow["concurrency"] == {"group": "newsletter-send", "cancel-in-progress": False}
    steps = {step.get("name"): step for step in workflow["jobs"]["send"]["steps"]}
    sending = steps["Send the issues that are due"]
    job_env = workflow["jobs"]["send"]["env"]
    assert job_env["SENDGRID_API_KEY"] == "${{ secrets.SENDGRID_API_KEY }}"
    assert job_env["NEWSLETTER_LOG_KEY"] == "${{ secrets.NEWSLETTER_LOG_KEY }}"  # or CI refuses its own log
    assert f"find issues -name {LOG_NAME} -exec git add" in steps["Commit the send logs"]["run"]
    command = sending["run"].split()
    assert command[0] == "newsletter"
    result = run_cli(workspace, *command[1:])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "No scheduled issue is due.\n"


def test_audience_from_the_option_else_the_issue_else_the_settings(cli, workspace: Path) -> None:
    path = issue_folder(workspace) / "issue.md"
    path.write_text(path.read_text().replace("audience: audience.csv\n", ""))
    write_audience(workspace / "subscribers.csv", 4)
    write_audience(workspace / "other.csv", 2)
    set_send_settings(workspace, audience="subscribers.csv")
    assert json.loads(cli("send", EXAMPLE_ISSUE, "--json").out)["recipients"] == 4
    assert json.loads(cli("send", EXAMPLE_ISSUE, "--audience", "other.csv", "--json").out)["recipients"] == 2
    set_send_settings(workspace, audience="")
    missing = cli("send", EXAMPLE_ISSUE)
    assert missing.code == 2 and "no audience" in missing.err
