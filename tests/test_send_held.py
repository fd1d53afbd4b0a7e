"""`[send.sendgrid] hold`: an immediate SendGrid send goes out held for a few minutes under batch
ids logged first, so a try of unknown fate is cancelled and sent again: exactly once."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
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
    from newsletter.compose.sendlog import read_log
    from tests.send_helpers import FAKE_KEY, log_key
    from tests.sendgrid_server import Fault
    from tests.test_send_crash import arm_log_kill, check_invariants, kill, start_process
    from tests.test_send_resend import chaos

    # A hold long enough that batches of unknown fate from the first kills can still be cancelled at the end.
    set_send_settings(workspace, provider="sendgrid", sendgrid={"host": sendgrid.url, "hold": "30m"}, timeout=0.5,
                      max_retries=8, max_backoff=0.2, batch_size=CRASH_BATCH)
    readers = write_audience(issue_folder(workspace) / "audience.csv", CRASH_READERS)
    log = issue_folder(workspace) / "send-log.jsonl"
    sendgrid.keep_bodies = False
    sendgrid.delay = 0.03  # a real API's answer time
    rng = random.Random(11)
    sendgrid.chaos = chaos(random.Random(2027), slow=0.9, make=Fault)
    env = {"SENDGRID_API_KEY": FAKE_KEY}
    modes = ["request-taken", "request-lost", "after-batch", "timer"] * (KILLS // 4)
    rng.shuffle(modes)
    killed = []
    started = time.monotonic()
    for mode in modes:
        process = start_process(workspace, env)
        if mode in ("request-taken", "request-lost"):
            # Dies while a request is out (a batch id, a send or a cancel): SendGrid took it, or never got it.
            sendgrid.faults = {sendgrid.counter + rng.randint(1, 12): Fault(before=lambda p=process: kill(p),
                                                                            deliver=mode == "request-taken",
                                                                            answer=False)}
        elif mode == "after-batch":
            arm_log_kill(process, log, rng.randint(1, 12))
        else:
            first, delay = sendgrid.counter + 1, rng.uniform(0.0, 0.5)

            def kill_later(process=process, first=first, delay=delay) -> None:
                while process.poll() is None and sendgrid.counter < first:
                    time.sleep(0.001)
                time.sleep(delay)
                kill(process)

            threading.Thread(target=kill_later, daemon=True).start()
        process.communicate(timeout=120)
        sendgrid.faults = {}
        if process.returncode == -signal.SIGKILL:
            killed.append(mode)
        check_invariants(read_log(log, log_key(workspace)), sendgrid.delivered, readers)
    assert len(killed) >= KILLS * 3 // 4, killed  # the kills landed mid-send, not after it had finished

    for _ in range(4):  # resumed until done: the stand-in is still slow and dropping at random
        final = start_process(workspace, env)
        out, err = final.communicate(timeout=300)
        state = read_log(log, log_key(workspace))
        check_invariants(state, sendgrid.delivered, readers)
        if final.returncode == 0 and state.complete:
            break
    assert final.returncode == 0, err
    assert copies(sendgrid.delivered) == {address: 1 for address in readers}
    assert sendgrid.cancelled, "some try of unknown fate was settled by cancelling its batch id"
    assert sendgrid.problems == []
    status = subprocess.run([sys.executable, "-m", "newsletter", "status", EXAMPLE_ISSUE, "--json"], cwd=workspace,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    report = json.loads(status.stdout)
    assert report["complete"] and report["unknown_recipients"] == 0 and report["left"] == 0
    assert sum(d["recipients"] for d in report["deliveries"]) == CRASH_READERS, "all held, each until its run's time"
    assert time.monotonic() - started < 600
