"""Relative dates on page dumps ("2 days ago", "yesterday"), read against when the dump was made."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from newsletter.sources.dates import relative_date
from newsletter.sources.readers import read_article
from newsletter.sources.readers.pagedump import split_dump
from tests.test_dump_styles import PARAGRAPHS

SEEN = dt.datetime(2025, 3, 10, 9, 30)
HEADLINE = "Shared tool shed for the allotment society"


def dump(*header: str, tail: tuple[str, ...] = ()) -> str:
    return "\n".join(["Plot Notes", "Home | Events | Recipes", HEADLINE, *header, *PARAGRAPHS, *tail]) + "\n"


@pytest.mark.parametrize(("line", "date"), [
    ("By Ann Example · 2 days ago", dt.date(2025, 3, 8)),
    ("Ann Example 52m ago", dt.date(2025, 3, 10)),
    ("10 hours ago", dt.date(2025, 3, 9)),  # before 09:30 the day before
    ("an hour ago", dt.date(2025, 3, 10)),
    ("Published yesterday at 5:01 pm", dt.date(2025, 3, 9)),
    ("3 weeks ago", dt.date(2025, 2, 17)),
    ("2 months ago", dt.date(2025, 1, 10)),
])
def test_a_relative_date_under_the_headline_counts_back_from_when_the_dump_was_made(line: str, date: dt.date) -> None:
    assert split_dump(dump(line), seen=SEEN).published == date
    assert split_dump(dump(line)).published is None  # when the dump was made is not known: no date


def test_a_printed_date_wins_over_a_relative_one_and_a_revision_is_an_update() -> None:
    parts = split_dump(dump("By Ann Example", "4 March 2025", "Updated 3 hours ago"), seen=SEEN)
    assert parts.published == dt.date(2025, 3, 4)
    parts = split_dump(dump("By Ann Example · 2 days ago", "Updated 3 hours ago"), seen=SEEN)
    assert (parts.published, parts.updated) == (dt.date(2025, 3, 8), dt.date(2025, 3, 10))


def test_the_dumps_own_retrieved_date_is_the_reference() -> None:
    text = dump("By Ann Example · 2 days ago", tail=("Retrieved 20 June 2024",))
    assert split_dump(text, seen=SEEN).published == dt.date(2024, 6, 18)
    assert split_dump(text).published == dt.date(2024, 6, 18)  # no reference needed from outside


def test_relative_dates_in_related_links_and_comments_are_not_the_articles() -> None:
    related = ["Related", "Seed swap draws a record crowd", "3 hours ago",
               "Frost warning for the lower plots this weekend", "5 hours ago"]
    comments = ["3 comments", "Bob Example · 1 hour ago", "Great news, I will bring my own padlock for it."]
    text = "\n".join(["Plot Notes", *related, "Home | Events | Recipes", HEADLINE, "By Ann Example",
                      *PARAGRAPHS, *comments]) + "\n"
    assert split_dump(text, seen=SEEN).published is None


def test_a_headline_that_mentions_yesterday_is_no_date() -> None:
    assert relative_date("What the committee decided yesterday about the shed", SEEN) == (None, False)
    assert split_dump(dump("What the committee decided yesterday about the shed"), seen=SEEN).published is None


def test_a_dump_file_without_its_own_date_line_reads_no_relative_date(tmp_path: Path) -> None:
    """A file's modification time is not when the page was copied: a fresh git checkout (CI) resets it,
    and the same issue would be dated differently on the editor's machine and in the scheduled send."""
    path = tmp_path / "shed.txt"
    path.write_text(dump("By Ann Example · 2 days ago"), encoding="utf-8")
    saved = dt.datetime(2025, 3, 10, 12, 0)
    os.utime(path, (saved.timestamp(), saved.timestamp()))
    assert read_article("shed.txt", tmp_path).published is None
    path.write_text(dump("By Ann Example · 2 days ago") + "\nRetrieved 10 March 2025\n", encoding="utf-8")
    assert read_article("shed.txt", tmp_path).published == dt.date(2025, 3, 8)
