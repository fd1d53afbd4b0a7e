"""A send log edited by hand: a whole last event that only lacks its newline is kept, so nobody is
mailed twice. (The other hand edits, and a provider's error naming a reader, are entries of the
hostile-input table in test_hostile_input_2.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import copies, issue_folder, log_events, write_audience


@pytest.fixture
def sent(cli, sendgrid, sendgrid_workspace: Path) -> tuple[Path, list[str]]:
    audience = write_audience(issue_folder(sendgrid_workspace) / "audience.csv", 4)
    assert cli("send", EXAMPLE_ISSUE, "--send", "--yes").code == 0
    return issue_folder(sendgrid_workspace) / "send-log.jsonl", audience


def test_a_whole_last_event_without_its_newline_is_kept(cli, sendgrid, sent) -> None:
    log, audience = sent
    log.write_bytes(log.read_bytes().rstrip(b"\n"))  # an editor saved it without the final newline
    audience_file = log.parent / "audience.csv"
    audience_file.write_text(audience_file.read_text() + "late.joiner@example.org,Late\n")
    result = cli("send", EXAMPLE_ISSUE, "--send", "--yes")
    assert result.code == 0, result.err
    assert copies(sendgrid.delivered) == {address: 1 for address in [*audience, "late.joiner@example.org"]}
    assert log.read_bytes().endswith(b"\n") and log_events(log.parent.parent.parent)[-1]["event"] == "run-end"
