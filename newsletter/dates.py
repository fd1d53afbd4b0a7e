"""Find and parse the dates that page dumps carry ("17-08-2023", "3 November 2026")."""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as date_parser

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_PATTERN = re.compile(
    r"(?:\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    r"|(?<![\d.])\d{2}([-/.])\d{2}\1\d{2}(?![\d.:-])"  # "11.03.17", "10/15/15": two-digit parts only
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})",
    re.IGNORECASE,
)
_UPDATED_PREFIX = re.compile(r"^(?:last\s+)?(?:updated|modified|revised)(?:\s+on)?\s*:?\s*", re.IGNORECASE)
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+", re.IGNORECASE)


def parse_date(text: str, day_first: bool = True) -> dt.date | None:
    """Parse one date string; None when it is not a real date."""
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        day_first = False
    try:
        return date_parser.parse(text, dayfirst=day_first, fuzzy=False).date()
    except (ValueError, OverflowError):
        return None


def _whole_line_date(text: str, day_first: bool) -> dt.date | None:
    text = _WEEKDAY.sub("", text.strip().rstrip("."))
    match = DATE_PATTERN.fullmatch(text)
    return parse_date(match.group(0), day_first) if match else None


def updated_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date when the line says "Last updated on <date>"."""
    match = _UPDATED_PREFIX.match(line.strip())
    return _whole_line_date(line.strip()[match.end():], day_first) if match else None


_REVISED = re.compile(r"(?:updated|modified|revised|mis\s+à\s+jour|aktualisiert|actualizado|atualizado)\W*"
                      r"(?:on|le|am)?\W*(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\W*)?$", re.IGNORECASE)
MAX_DATELINE_WORDS = 16


def dateline(line: str, day_first: bool = True) -> tuple[dt.date | None, dt.date | None]:
    """(published, updated) from a short line that carries dates among other words.

    "April 28, 2019 at 6:01 am Updated April 29, 2019" gives both; "by Jane Doe, 3 May 2024" the first.
    A date right after "updated" (or "modified", "mis à jour", ...) is the revision.
    """
    if len(line.split()) > MAX_DATELINE_WORDS:
        return None, None
    published = updated = None
    for match in DATE_PATTERN.finditer(line):
        date = parse_date(match.group(0), day_first)
        if date is None:
            continue
        if _REVISED.search(line[max(0, match.start() - 30):match.start()]):
            updated = updated or date
        else:
            published = published or date
    return published, updated
