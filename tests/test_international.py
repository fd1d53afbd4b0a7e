"""Addresses beyond ASCII: an international domain is sent punycoded; a name before the @ that
needs SMTPUTF8 is refused with its line before anything is sent, or skipped with the bad rows."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import EXAMPLE_ISSUE
from tests.send_helpers import issue_folder

ROWS = "email,first_name\nann@example.org,Ann\nbob@bücher.example,Bob\n"


def test_an_international_domain_goes_out_punycoded(workspace: Path, cli) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(re.sub(r"(?m)^sender = .*$", 'sender = "Bücher News <news@bücher.example>"', settings.read_text()))
    (issue_folder(workspace) / "audience.csv").write_text(ROWS, encoding="utf-8")
    result = cli("send", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    raw = b"".join(path.read_bytes() for path in (workspace / "outbox").rglob("*.eml"))
    assert b"<news@xn--bcher-kva.example>" in raw and b"<bob@xn--bcher-kva.example>" in raw
    assert all(byte < 128 for byte in raw), "every byte of the message is ASCII"


def test_a_name_needing_smtputf8_is_refused_with_its_line_or_skipped(workspace: Path, cli) -> None:
    audience = issue_folder(workspace) / "audience.csv"
    audience.write_text(ROWS + "пётр@пример.рф,Pyotr\ncid@example.org,Cid\n", encoding="utf-8")
    for command in (["check", EXAMPLE_ISSUE], ["send", EXAMPLE_ISSUE]):
        result = cli(*command)
        assert result.code == 2 and "audience.csv:4:" in result.err and "SMTPUTF8" in result.err, result.err
    assert not (workspace / "outbox").exists()
    skipped = cli("send", EXAMPLE_ISSUE, "--skip-bad-rows")
    assert skipped.code == 0 and "3 recipients" in skipped.out, skipped.err
