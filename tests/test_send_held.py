"""`[send.sendgrid] hold`: an immediate SendGrid send goes out held for a few minutes under batch
ids logged first, so a try of unknown fate is cancelled and sent again: exactly once."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, set_send_settings, write_audience
from tests.sendgrid_server import Fault


def test_a_held_send_cancels_and_resends_a_try_of_unknown_fate(cli, sendgrid, sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, batch_size=3, concurrency=1, timeout=0.5,
                      sendgrid={"hold": "11m"})
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 6)
    sendgrid.faults = {4: Fault(delay=1.0)}  # batch 2's send: taken, answered after the client gave up
    started = time.time()
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert "held until" in result.out
    time.sleep(1.0)  # the stand-in finishes taking the request the client gave up on
    sends = [a.body for a in sendgrid.attempts if "personalizations" in a.body]
    assert len(sends) == 3 and all(body["batch_id"] in sendgrid.batch_ids for body in sends)
    assert all(started + 600 <= body["send_at"] <= time.time() + 660 for body in sends)
    assert len(sendgrid.cancelled) == 1
    assert copies(sendgrid.delivered) == {address: 1 for address in audience}
    status = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert status["complete"] and status["unknown_recipients"] == 0


@pytest.mark.parametrize("lost", ["after SendGrid took it", "before SendGrid took it"])
def test_a_cancel_whose_answer_is_lost_is_tried_again_until_sendgrid_confirms_it(
        cli, sendgrid, sendgrid_workspace: Path, lost: str) -> None:
    set_send_settings(sendgrid_workspace, batch_size=3, concurrency=1, timeout=0.5, max_backoff=0.1,
                      sendgrid={"hold": "11m"})
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 6)
    # Batch 2's send is answered too late; then the cancel of its batch id loses its answer.
    cut_off = Fault(answer=False) if lost == "after SendGrid took it" else Fault(deliver=False, answer=False)
    sendgrid.faults = {4: Fault(delay=1.0), 5: cut_off}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    time.sleep(1.0)  # the stand-in finishes taking the send the client gave up on
    assert len(sendgrid.cancelled) == 1 and copies(sendgrid.delivered) == {address: 1 for address in audience}
    asked = [path for path in sendgrid.reads if path.startswith("/v3/user/scheduled_sends/")]
    # Taken: the second cancel is refused (the batch already has one) and the kept status settles it.
    assert asked == ([f"/v3/user/scheduled_sends/{sendgrid.batch_ids[1]}"] if lost == "after SendGrid took it"
                     else [])
    assert json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)["complete"]


def test_a_run_killed_while_its_cancel_was_out_is_settled_by_the_next(sendgrid, sendgrid_workspace: Path) -> None:
    from tests.send_helpers import FAKE_KEY
    from tests.test_send_crash import kill, start_process

    set_send_settings(sendgrid_workspace, batch_size=3, concurrency=1, timeout=0.5, sendgrid={"hold": "11m"})
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 6)
    first = start_process(sendgrid_workspace, {"SENDGRID_API_KEY": FAKE_KEY})
    # Batch 2's send is answered too late; SendGrid takes the cancel, and the run dies before its answer.
    sendgrid.faults = {4: Fault(delay=1.0), 5: Fault(before=lambda: kill(first), answer=False)}
    first.communicate(timeout=60)
    assert first.returncode == -9 and len(sendgrid.cancelled) == 1
    sendgrid.faults = {}
    second = start_process(sendgrid_workspace, {"SENDGRID_API_KEY": FAKE_KEY})
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "fate was unknown; cancelled its scheduled batch, sending it again" in err
    assert copies(sendgrid.delivered) == {address: 1 for address in audience}


def test_a_refused_cancel_is_not_taken_for_done(cli, sendgrid, sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, batch_size=3, concurrency=1, timeout=0.5, max_backoff=0.1,
                      sendgrid={"hold": "11m"})
    write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 6)
    # The cancel is lost before SendGrid takes it, and its second try is refused (SendGrid's limit).
    sendgrid.faults = {4: Fault(delay=1.0), 5: Fault(deliver=False, answer=False),
                       6: Fault(status=400, message="You cannot have more than 10 batches cancelled at a time")}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "--resend-unknown" in result.err
    assert sendgrid.cancelled == set() and any(p.startswith("/v3/user/scheduled_sends/") for p in sendgrid.reads)
    status = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert not status["complete"] and status["unknown_recipients"] == 3


def test_a_hold_sendgrid_cannot_cancel_in_time_is_refused(cli, sendgrid, sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, sendgrid={"hold": "5m"})
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 2 and result.err.count("\n") == 1 and "newsletter.toml:" in result.err
    assert "[send.sendgrid] hold = '5m'" in result.err and sendgrid.attempts == []


def test_status_says_when_a_held_send_will_be_delivered(cli, sendgrid, sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, batch_size=2, sendgrid={"hold": "15m"})
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 5)
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    send_at = {a.body["send_at"] for a in sendgrid.attempts if "personalizations" in a.body}
    assert len(send_at) == 1, "one hold for the whole run"
    held_until = dt.datetime.fromtimestamp(send_at.pop(), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert status["deliveries"] == [{"send_at": held_until, "recipients": len(audience)}]
    assert f"delivers   5 recipients at {held_until} (the provider holds them until then)" in \
        cli("status", EXAMPLE_ISSUE).out


# Kill -9 at random points of held sends, the stand-in slow or dropping at random: after resuming,
# every reader has exactly one copy (what went out in doubt was cancelled and sent again) and
# `status` says complete.

CRASH_READERS = 5000
CRASH_BATCH = 20  # 250 batches: work left for every kill to land in
KILLS = 20


@pytest.mark.slow
def test_held_sends_killed_at_random_points_reach_every_reader_exactly_once(sendgrid, workspace: Path) -> None:
    from tests.send_helpers import FAKE_KEY
    from tests.sendgrid_server import Fault
    from tests.test_send_crash import chaos, kill_at_random_points, resume_until_done

    # A hold long enough that batches of unknown fate from the first kills can still be cancelled at the end.
    set_send_settings(workspace, provider="sendgrid", sendgrid={"host": sendgrid.url, "hold": "30m"}, timeout=0.5,
                      max_retries=8, max_backoff=0.2, batch_size=CRASH_BATCH)
    readers = write_audience(issue_folder(workspace) / "audience.csv", CRASH_READERS)
    sendgrid.keep_bodies = False
    sendgrid.delay = 0.03  # a real API's answer time
    sendgrid.chaos = chaos(random.Random(2027), slow=0.9, make=Fault)
    env = {"SENDGRID_API_KEY": FAKE_KEY}
    started = time.monotonic()
    # Dies while a request is out (a batch id, a send or a cancel), after a logged batch, or anywhere.
    killed = kill_at_random_points(sendgrid, workspace, env, readers, KILLS, random.Random(11), fault=Fault,
                                   requests=12, batches=12, delay=0.5)
    assert len(killed) >= KILLS * 3 // 4, killed  # the kills landed mid-send, not after it had finished

    # Resumed until done: the stand-in is still slow and dropping at random.
    returncode, err, _ = resume_until_done(sendgrid, workspace, env, readers, tries=4)
    assert returncode == 0, err
    assert copies(sendgrid.delivered) == {address: 1 for address in readers}
    assert sendgrid.cancelled, "some try of unknown fate was settled by cancelling its batch id"
    assert sendgrid.problems == []
    status = subprocess.run([sys.executable, "-m", "newsletter", "status", EXAMPLE_ISSUE, "--json"], cwd=workspace,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    report = json.loads(status.stdout)
    assert report["complete"] and report["unknown_recipients"] == 0 and report["left"] == 0
    assert sum(d["recipients"] for d in report["deliveries"]) == CRASH_READERS, "all held, each until its run's time"
    assert time.monotonic() - started < 600
