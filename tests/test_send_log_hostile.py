"""A send log edited by hand, and provider errors that name a reader: one line naming the file
and line, nobody mailed twice, no address on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_events, write_audience
from tests.sendgrid_server import Fault


@pytest.fixture
def sent(cli, sendgrid, sendgrid_workspace: Path) -> tuple[Path, list[str]]:
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 4)
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    return issue_folder(sendgrid_workspace) / "send-log.jsonl", audience


@pytest.mark.parametrize("edit", [
    lambda event: {**event, "to": "abc"},
    lambda event: {**event, "to": 5},
    lambda event: {**event, "batch": ["1.1"]},
])
def test_a_wrongly_shaped_event_is_one_line_naming_its_line(cli, sendgrid, sent, edit) -> None:
    log, audience = sent
    lines = log.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if json.loads(line)["event"] == "batch-start")
    lines[number] = json.dumps(edit(json.loads(lines[number])))
    log.write_text("\n".join(lines) + "\n")
    before = len(sendgrid.delivered)
    for args in (["send", EXAMPLE_ISSUE, "--send", "--yes"], ["status", EXAMPLE_ISSUE]):
        result = cli(*args)
        assert result.code == 2 and result.err.count("\n") == 1, result.err
        assert f"send-log.jsonl:{number + 1}: not a send-log event" in result.err
    assert len(sendgrid.delivered) == before, "nobody is sent the issue again"


def test_invalid_utf8_names_its_line(cli, sent) -> None:
    log, _ = sent
    data = log.read_bytes().split(b"\n")
    data[1] = data[1].replace(b'"event"', b'"ev\xffent"')
    log.write_bytes(b"\n".join(data))
    result = cli("status", EXAMPLE_ISSUE)
    assert result.code == 2 and "send-log.jsonl:2: not UTF-8" in result.err and "Traceback" not in result.err


def test_a_whole_last_event_without_its_newline_is_kept(cli, sendgrid, sent) -> None:
    log, audience = sent
    log.write_bytes(log.read_bytes().rstrip(b"\n"))  # an editor saved it without the final newline
    audience_file = log.parent / "audience.csv"
    audience_file.write_text(audience_file.read_text() + "late.joiner@example.org,Late\n")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert copies(sendgrid.delivered) == {address: 1 for address in [*audience, "late.joiner@example.org"]}
    assert log.read_bytes().endswith(b"\n") and log_events(log.parent.parent.parent)[-1]["event"] == "run-end"


def test_a_provider_error_naming_a_reader_shows_no_address(cli, sendgrid, sendgrid_workspace: Path) -> None:
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 3)
    sendgrid.faults = {1: Fault(400, message=f"Does not contain a valid address: {audience[1]}")}
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 1 and "Does not contain a valid address: <#" in result.err
    assert "@" not in result.err
