"""`[send.sendgrid] hold`: an immediate SendGrid send goes out held for a few minutes under batch
ids logged first, so a try of unknown fate is cancelled and sent again: exactly once."""

from __future__ import annotations

import json
import time
from pathlib import Path

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
