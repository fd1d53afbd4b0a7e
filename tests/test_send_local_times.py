"""Local send times: ``send_at: 2027-01-05T07:00 local`` and an audience ``timezone`` column send
each reader at 07:00 in their own zone. The product's clock is set (newsletter/clock.py) to a day
before the send date, far from today, and the SendGrid stand-in's clock with it."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from newsletter import clock
from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_events, set_send_settings
from tests.sendgrid_server import FakeSendGrid

UTC = dt.timezone.utc
# Readers and their zones; the last has none and gets the issue's default zone.
READERS = {
    "ny1@example.org": "America/New_York", "ny2@example.org": "America/New_York",
    "berlin1@example.org": "Europe/Berlin", "berlin2@example.org": "Europe/Berlin",
    "tokyo1@example.org": "Asia/Tokyo", "tokyo2@example.org": "Asia/Tokyo",
    "nozone@example.org": "",
}
DEFAULT_ZONE = "America/Sao_Paulo"


def write_zoned_audience(workspace: Path, readers: dict[str, str] = READERS) -> None:
    rows = "".join(f"{email},Reader,{zone}\n" for email, zone in readers.items())
    (issue_folder(workspace) / "audience.csv").write_text(f"email,first_name,timezone\n{rows}", encoding="utf-8")


def schedule_local(workspace: Path, send_at: str) -> None:
    path = issue_folder(workspace) / "issue.md"
    text = re.sub(r"(?m)^send_at: .*\n", "", path.read_text(encoding="utf-8"))
    path.write_text(text.replace("audience: audience.csv\n", f"audience: audience.csv\nsend_at: {send_at}\n"),
                    encoding="utf-8")


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch, sendgrid: FakeSendGrid):
    """Moves the product's clock, and SendGrid's, to ``when``."""
    def move(when: dt.datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: when)
        sendgrid.clock = when.timestamp

    return move


def received_times(sendgrid: FakeSendGrid) -> dict[str, dt.datetime]:
    """Each delivered reader's send_at as the stand-in received it (UTC)."""
    return {person["to"][0]["email"]: dt.datetime.fromtimestamp(body["send_at"], UTC)
            for body in sendgrid.accepted if body.get("batch_id") not in sendgrid.cancelled
            for person in body["personalizations"]}


def test_each_reader_gets_it_at_seven_in_their_own_zone(cli, sendgrid, sendgrid_workspace: Path, set_clock) -> None:
    set_clock(dt.datetime(2027, 1, 3, 12, 0, tzinfo=UTC))
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert copies(sendgrid.delivered) == {email: 1 for email in READERS}
    received = received_times(sendgrid)
    assert len(set(received.values())) == 4, "New York, Berlin, Tokyo and the default zone: four send times"
    for email, zone in READERS.items():
        local = received[email].astimezone(ZoneInfo(zone or DEFAULT_ZONE))
        assert (local.date(), local.time()) == (dt.date(2027, 1, 5), dt.time(7, 0)), (email, local)
    # Batches are grouped by send time, each under its own SendGrid batch id, logged with its send_at.
    for body in sendgrid.accepted:
        assert len({received[p["to"][0]["email"]] for p in body["personalizations"]}) == 1
        assert body["batch_id"] in sendgrid.batch_ids
    logged = {e["send_at"] for e in log_events(sendgrid_workspace) if e["event"] == "batch-start"}
    assert logged == {when.strftime("%Y-%m-%dT%H:%M:%SZ") for when in received.values()}
    status = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert status["complete"] and status["send_at_local"] == f"2027-01-05T07:00 local {DEFAULT_ZONE}"
    assert {zone["zone"]: zone["send_at"] for zone in status["zones"]} == {
        "Asia/Tokyo": "2027-01-05T07:00:00+09:00", "Europe/Berlin": "2027-01-05T07:00:00+01:00",
        DEFAULT_ZONE: "2027-01-05T07:00:00-03:00", "America/New_York": "2027-01-05T07:00:00-05:00"}
    assert status["send_at"] == "2027-01-04T22:00:00+00:00", "the earliest reader: Tokyo"


@pytest.mark.parametrize("scheduled_on, send_at, zone, seven_utc", [
    # Europe: summer time from 2027-03-28. Handed over on the 26th (UTC+1), sent on the 29th (UTC+2).
    (dt.datetime(2027, 3, 26, 12, 0, tzinfo=UTC), "2027-03-29T07:00 local", "Europe/Berlin",
     dt.datetime(2027, 3, 29, 5, 0, tzinfo=UTC)),
    # America: summer time ends 2027-11-07. Handed over on the 5th (UTC-4), sent on the 8th (UTC-5).
    (dt.datetime(2027, 11, 5, 14, 0, tzinfo=UTC), "2027-11-08T07:00 local", "America/New_York",
     dt.datetime(2027, 11, 8, 12, 0, tzinfo=UTC)),
])
def test_a_dst_change_between_scheduling_and_sending_keeps_seven_local(
        cli, sendgrid, sendgrid_workspace: Path, set_clock, scheduled_on, send_at, zone, seven_utc) -> None:
    set_clock(scheduled_on)
    readers = {"changes@example.org": zone, "tokyo@example.org": "Asia/Tokyo"}
    write_zoned_audience(sendgrid_workspace, readers)
    schedule_local(sendgrid_workspace, send_at)
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    received = received_times(sendgrid)["changes@example.org"]
    assert received == seven_utc
    offset_when_scheduled = ZoneInfo(zone).utcoffset(scheduled_on.replace(tzinfo=None))
    assert offset_when_scheduled != received.astimezone(ZoneInfo(zone)).utcoffset(), "the test spans a change"
    assert received.astimezone(ZoneInfo(zone)).time() == dt.time(7, 0)


def test_status_shows_who_is_pending_per_zone_and_later_zones_go_out_in_a_later_run(
        cli, sendgrid, sendgrid_workspace: Path, set_clock) -> None:
    # 2027-01-02 07:30 UTC: Tokyo (62.5 h ahead) and Berlin (70.5 h) are within SendGrid's 72 hours;
    # Sao Paulo (74.5 h) and New York (76.5 h) are not yet.
    set_clock(dt.datetime(2027, 1, 2, 7, 30, tzinfo=UTC))
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    before = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert before["due"] is True, "due: the earliest zone (Tokyo) is within the window"
    first = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert first.code == 0, first.err
    assert "3 wait until their send time is within the provider's reach" in first.out
    assert set(sendgrid.delivered) == {e for e, z in READERS.items() if z in ("Asia/Tokyo", "Europe/Berlin")}
    status = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    pending = {(zone["zone"], zone["default"]): (zone["sent"], zone["left"]) for zone in status["zones"]}
    assert pending == {("Asia/Tokyo", False): (2, 0), ("Europe/Berlin", False): (2, 0),
                       (DEFAULT_ZONE, True): (0, 1), ("America/New_York", False): (0, 2)}
    assert not status["complete"] and status["due"]
    assert [d["recipients"] for d in status["deliveries"]] == [2, 2], "handed over, delivered at their times"
    text = cli("status", EXAMPLE_ISSUE).out
    assert re.search(r"America/New_York\s+2027-01-05T07:00:00-05:00\s+2 readers: 0 handed over, 2 pending", text)
    assert re.search(r"Asia/Tokyo\s+2027-01-05T07:00:00\+09:00\s+2 readers: 2 handed over, 0 pending", text)
    assert f"{DEFAULT_ZONE} (default)" in text
    assert "delivers   2 recipients at 2027-01-04T22:00:00Z" in text

    set_clock(dt.datetime(2027, 1, 2, 13, 0, tzinfo=UTC))  # the next run: everyone within reach
    second = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert second.code == 0, second.err
    assert copies(sendgrid.delivered) == {email: 1 for email in READERS}
    status = json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)
    assert status["complete"] and all(zone["left"] == 0 for zone in status["zones"])


@pytest.mark.parametrize("provider", ["smtp", "resend"])
def test_a_provider_that_cannot_send_each_batch_at_its_own_time_refuses(
        cli, sendgrid, sendgrid_workspace: Path, set_clock, monkeypatch, provider) -> None:
    set_clock(dt.datetime(2027, 1, 3, 12, 0, tzinfo=UTC))
    monkeypatch.setenv("SMTP_PASSWORD", "not-used")
    monkeypatch.setenv("RESEND_API_KEY", "re_not_used")
    set_send_settings(sendgrid_workspace, smtp={"host": "127.0.0.1", "port": 9}, resend={"host": sendgrid.url})
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    for args in (["--send", "--yes", "--provider", provider], ["--provider", provider]):  # the dry run rehearses it
        result = cli("send", EXAMPLE_ISSUE, *args)
        assert result.code == 2 and result.err.count("\n") == 1, result.err
        assert "issue.md:" in result.err and f"which {provider} cannot schedule" in result.err
        assert "through sendgrid" in result.err
    assert sendgrid.attempts == [] and not (issue_folder(sendgrid_workspace) / "send-log.jsonl").exists()
    assert not (sendgrid_workspace / "outbox").exists()


def test_the_dry_run_writes_each_readers_own_send_time(cli, sendgrid, sendgrid_workspace: Path, set_clock) -> None:
    set_clock(dt.datetime(2027, 1, 3, 12, 0, tzinfo=UTC))
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    run = next((sendgrid_workspace / "outbox" / EXAMPLE_ISSUE).iterdir())
    lines = [json.loads(line) for line in (run / "recipients.jsonl").read_text().splitlines()]
    for line in lines:
        local = dt.datetime.fromisoformat(line["send_at"]).astimezone(ZoneInfo(READERS[line["email"]] or DEFAULT_ZONE))
        assert local.replace(tzinfo=None) == dt.datetime(2027, 1, 5, 7, 0)
    manifest = json.loads((run / "manifest.json").read_text())
    assert sum(manifest["send_times"].values()) == len(READERS) and len(manifest["send_times"]) == 4
    assert sendgrid.attempts == []


def test_an_unknown_zone_names_the_audience_line(cli, sendgrid, sendgrid_workspace: Path, set_clock) -> None:
    set_clock(dt.datetime(2027, 1, 3, 12, 0, tzinfo=UTC))
    write_zoned_audience(sendgrid_workspace, {"a@example.org": "Europe/Berlin", "b@example.org": "Europe/Berln"})
    schedule_local(sendgrid_workspace, "2027-01-05T07:00 local")
    for command in (["check", EXAMPLE_ISSUE], ["send", EXAMPLE_ISSUE, "--send", "--yes"]):
        result = cli(*command)
        assert result.code == 2, result.err
        assert "audience.csv:3:" in result.err and "'Europe/Berln'" in result.err
        assert "did you mean 'Europe/Berlin'" in result.err
    assert sendgrid.attempts == []


def test_a_reader_without_a_zone_needs_the_issue_to_name_one(cli, sendgrid, sendgrid_workspace: Path,
                                                             set_clock) -> None:
    set_clock(dt.datetime(2027, 1, 3, 12, 0, tzinfo=UTC))
    write_zoned_audience(sendgrid_workspace, {"a@example.org": "Europe/Berlin", "b@example.org": ""})
    schedule_local(sendgrid_workspace, "2027-01-05T07:00 local")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "audience.csv:3:" in result.err and "2027-01-05T07:00 local Europe/Berlin" in result.err
    assert sendgrid.attempts == []


def test_a_cancel_follows_each_batchs_own_send_time(cli, sendgrid, sendgrid_workspace: Path, set_clock) -> None:
    set_clock(dt.datetime(2027, 1, 3, 12, 0, tzinfo=UTC))
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    # Five minutes before Tokyo's 07:00: too late for Tokyo's batch, in time for the others.
    set_clock(dt.datetime(2027, 1, 4, 21, 55, tzinfo=UTC))
    result = cli("cancel", EXAMPLE_ISSUE, "--yes", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert len(report["cancelled"]) == 3 and len(report["too_late_batches"]) == 1
    assert set(sendgrid.delivered) == {e for e, z in READERS.items() if z == "Asia/Tokyo"}


def test_a_local_time_issue_is_due_once_its_earliest_readers_time_is_within_the_window(
        cli, sendgrid, sendgrid_workspace: Path, set_clock) -> None:
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    set_send_settings(sendgrid_workspace, schedule_ahead=60)  # hand over an hour before the first reader's time
    set_clock(dt.datetime(2027, 1, 4, 20, 30, tzinfo=UTC))  # Tokyo's 07:00 is 22:00 UTC: 90 minutes ahead
    assert json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)["due"] is False
    assert "No scheduled issue is due." in cli("send", "--due").out
    set_clock(dt.datetime(2027, 1, 4, 21, 30, tzinfo=UTC))  # 30 minutes ahead: due, though Berlin's is hours away
    assert json.loads(cli("status", EXAMPLE_ISSUE, "--json").out)["due"] is True
    rehearsal = cli("send", "--due", "--json")
    assert rehearsal.code == 0, rehearsal.err
    assert json.loads(rehearsal.out)[0]["recipients"] == len(READERS)


def test_a_send_with_no_reader_within_sendgrids_72_hours_is_refused(cli, sendgrid, sendgrid_workspace: Path,
                                                                     set_clock) -> None:
    set_clock(dt.datetime(2026, 12, 29, 12, 0, tzinfo=UTC))  # a week early
    write_zoned_audience(sendgrid_workspace)
    schedule_local(sendgrid_workspace, f"2027-01-05T07:00 local {DEFAULT_ZONE}")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert "issue.md:" in result.err and "no reader's send time is before 2027-01-01 12:00 UTC" in result.err
    assert sendgrid.attempts == []
    rehearsal = cli("send", EXAMPLE_ISSUE)  # the dry run shows the same: nobody yet, everyone waits
    assert rehearsal.code == 0 and f"{len(READERS)} wait until their send time" in rehearsal.out


def test_a_local_send_at_survives_the_front_matter_memo(tmp_path: Path) -> None:
    from newsletter.compose.issuefile import read_issue

    folder = tmp_path / "issue"
    folder.mkdir()
    (folder / "issue.md").write_text("---\nsubject: Hi\nsend_at: 2027-01-05 07:00 local Asia/Tokyo\n"
                                     "sections:\n  - articles: [a.md]\n---\nHello.\n", encoding="utf-8")
    first = read_issue(folder / "issue.md", tmp_path / "cache")
    assert any((tmp_path / "cache").rglob("*.json")), "the front matter was remembered on disk"
    read_issue.__globals__["_front_matter_spec"].cache_clear()  # the next read comes from the memo on disk
    again = read_issue(folder / "issue.md", tmp_path / "cache")
    assert first.send_local == again.send_local and again.send_at is None
    assert again.schedule_text == "2027-01-05T07:00 local Asia/Tokyo"
    assert again.send_local.in_zone("Asia/Tokyo") == dt.datetime(2027, 1, 4, 22, 0, tzinfo=UTC)
