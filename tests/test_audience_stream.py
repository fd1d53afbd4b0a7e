"""The audience is read in one streaming pass: counts, order, duplicates, suppressions and bad
rows as before, recipients read back from the scan, and `check` during a send reusing it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.compose.audience import read_audience, scan_audience
from newsletter.errors import InputError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_one_pass_keeps_file_order_and_drops_duplicates_suppressed_and_bad_rows(tmp_path: Path) -> None:
    rows = ["email,first_name"] + [f"r{n}@example.org,R{n}" for n in range(2500)]
    rows[5] = "R3@EXAMPLE.ORG,again"  # a duplicate of line 5's address, in other case
    rows[7] = "not-an-address,X"
    source = write(tmp_path / "a.csv", "\n".join(rows) + "\n")
    scanned = scan_audience(source, skip_bad_rows=True, blocked={"r10@example.org"})
    assert (scanned.count, scanned.duplicates, scanned.suppressed) == (2497, 1, 1)
    assert [(row.line, row.message[:15]) for row in scanned.bad_rows] == [(8, "invalid email a")]
    people = list(scanned)
    assert len(people) == len(scanned) == 2497 and len({p.email for p in people}) == 2497
    assert [p.line for p in people] == sorted(p.line for p in people)  # across the stored chunks
    assert people[0].email == "r0@example.org" and people[0].fields == {"first_name": "R0"}
    assert "r10@example.org" not in {p.email for p in people}
    with pytest.raises(InputError) as error:
        scan_audience(source)  # strict: the bad row stops it, before anything could be sent
    assert error.value.line == 8


def test_check_reads_the_scan_a_send_just_made_until_the_file_changes(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "email,city\na@example.org,Leeds\nb@example.org,York\n")
    scan_audience(source, blocked={"b@example.org"})
    everyone = read_audience(source)
    assert [r.email for r in everyone] == ["a@example.org", "b@example.org"]  # suppressed ones included
    assert everyone[1].fields == {"city": "York"}
    write(source, "email,city\nc@example.org,Hull\n")
    os.utime(source, ns=(1, 1))  # another version, even within the file system's clock tick
    assert [r.email for r in read_audience(source)] == ["c@example.org"]


def test_bad_bytes_are_reported_at_their_line(tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_bytes(b"email,name\n" + b"".join(b"r%d@example.org,R\n" % n for n in range(3000))
                       + b"z@example.org,Ren\xe9\n")
    with pytest.raises(InputError) as error:
        scan_audience(source)
    assert error.value.line == 3002 and "not UTF-8" in error.value.message


@pytest.mark.parametrize("collector_on", [True, False])
def test_reading_an_audience_leaves_the_cycle_collector_as_it_found_it(tmp_path: Path, collector_on: bool) -> None:
    """The collector is paused while recipients are read (they form no cycles); the pause must not
    leak into the rest of the process, even when the read stops at a bad row."""
    import gc

    good = write(tmp_path / "good.csv", "email\na@example.org\n")
    bad = write(tmp_path / "bad.csv", "email\nnot-an-address\n")
    was = gc.isenabled()
    try:
        (gc.enable if collector_on else gc.disable)()
        assert list(read_audience(good))
        with pytest.raises(InputError):
            read_audience(bad)
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was else gc.disable)()
