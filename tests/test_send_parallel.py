"""Batches in parallel through the real ``sendgrid`` client against the loopback v3 server:
they overlap, each is logged before and after, a 429 holds every worker, and the first refusal
stops new batches while those in flight finish and are logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_events, set_send_settings, write_audience
from tests.sendgrid_server import FakeSendGrid, Fault


def send(cli):
    return cli("send", EXAMPLE_ISSUE, "--send", "--yes")


def status(cli) -> dict:
    return json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)


def test_batches_overlap_and_each_is_logged_before_and_after(cli, sendgrid: FakeSendGrid,
                                                              sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, batch_size=5, concurrency=4)
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 40)
    sendgrid.delay = 0.3
    result = send(cli)
    assert result.code == 0, result.err
    assert len(sendgrid.attempts) == 8 and sendgrid.peak_in_flight == 4, "four requests were in flight together"
    assert copies(sendgrid.delivered) == {address: 1 for address in audience}
    events = log_events(sendgrid_workspace)
    order = [(e["event"], e.get("batch")) for e in events if e["event"].startswith("batch-")]
    batches = [f"1.{n}" for n in range(1, 9)]
    assert sorted(batch for kind, batch in order if kind == "batch-sent") == sorted(batches)
    assert all(order.index(("batch-start", b)) < order.index(("batch-sent", b)) for b in batches)
    assert status(cli)["complete"] and result.err.count("sent (202") == 8  # progress stays per batch


@pytest.mark.slow
def test_a_429_holds_every_worker_until_the_reset(cli, sendgrid: FakeSendGrid, sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, batch_size=5, concurrency=4, max_backoff=5)
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 40)
    sendgrid.delay = 0.3
    # The first request is answered at once with a 429; the other three in flight finish normally.
    sendgrid.faults = {1: Fault(status=429, headers={"Retry-After": "1"}, delay=0)}
    result = send(cli)
    assert result.code == 0, result.err
    first = sendgrid.attempts[0].at
    later = [attempt.at for attempt in sendgrid.attempts[4:]]
    # Without the shared gate the three workers would start their next batches 0.3 s in.
    assert len(later) == 5 and min(later) >= first + 0.95
    assert copies(sendgrid.delivered) == {address: 1 for address in audience}


def test_a_refusal_stops_new_batches_and_those_in_flight_are_logged(cli, sendgrid: FakeSendGrid,
                                                                    sendgrid_workspace: Path) -> None:
    set_send_settings(sendgrid_workspace, batch_size=5, concurrency=4)
    write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 50)
    sendgrid.delay = 0.3
    sendgrid.faults = {1: Fault(status=400, message="bad request", delay=0)}
    result = send(cli)
    assert result.code == 1 and "bad request" in result.err and "Sent to 15 of 50" in result.err
    assert len(sendgrid.attempts) == 4 and len(sendgrid.delivered) == 15
    kinds = [e["event"] for e in log_events(sendgrid_workspace)]
    assert (kinds.count("batch-start"), kinds.count("batch-sent"), kinds.count("batch-failed")) == (4, 3, 1)
    assert kinds[-1] == "run-end"
    report = status(cli)
    assert (report["sent"], report["left"], report["unknown"]) == (15, 35, [])
