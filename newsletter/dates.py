"""Find and parse the dates that page dumps carry ("17-08-2023", "3 November 2026")."""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as date_parser

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_PATTERN = re.compile(
    r"(?:\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})",
    re.IGNORECASE,
)
_PUBLISHED_PREFIX = re.compile(r"^(?:published|posted|date|written)(?:\s+on)?\s*:?\s*", re.IGNORECASE)
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


def published_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date when the whole line is a (publication) date, e.g. "Posted on 3 May 2024"."""
    if _UPDATED_PREFIX.match(line):
        return None
    return _whole_line_date(_PUBLISHED_PREFIX.sub("", line.strip()), day_first)


def updated_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date when the line says "Last updated on <date>"."""
    match = _UPDATED_PREFIX.match(line.strip())
    return _whole_line_date(line.strip()[match.end():], day_first) if match else None
