"""Find the article in a plain-text page dump: title, byline, dates and body.

A dump is what staff get from select-all and paste: one block per line, with the
page's furniture (shop banners, menus, share bars, "About us" blocks repeated,
contact forms) around the article. The header zone, before the first real
paragraph, holds the metadata; the body runs from there to the first block that
only ever starts page furniture ("Related articles", "About the author", ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from .article import Block
from .dates import published_date, updated_date

# Whole lines that are page furniture wherever they stand.
FURNITURE = re.compile(
    r"""^(?:
        .*\b(?:shopping\s+)?(?:basket|cart|bag)\b.*\b(?:empty|no\s+items)\b.*
      | you\s+have\s+no\s+items\b.*
      | .*\bcookies?\b.*\b(?:accept|agree|consent|experience|settings)\b.*
      | skip\s+to\s+(?:main\s+)?content | menu | search | home | close | print
      | (?:main\s+)?navigation | toggle\s+navigation | back\s+to\s+top
      | (?:image|photo|picture|illustration)(?:\s+credit)?\s*(?:by|:)\s.{0,80}
      | .{0,80}\bvia\s+(?:envato(?:\s+elements)?|unsplash|shutterstock|getty\s+images|pexels|istock)
      | share(?:\s+this(?:\s+\w+)?)?\s*:?.{0,60}
      | (?:follow\s+us|sign\s+up|subscribe)\b.{0,80}
      | click\s+here\b.*
      | (?:read|view|see)\s+(?:more|all)\b.{0,40}
      | (?:fill\s+in|complete)\s+the\s+form\b.*
      | ©.* | copyright\b.* | .*\ball\s+rights\s+reserved\b.*
      | (?:previous|next)\s+(?:post|article)\b.*
      | tags?\s*:.* | categor(?:y|ies)\s*:.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

# Headings after which the rest of the page is furniture.
TAIL_START = re.compile(
    r"""^(?:
        related(?:\s+\w+){0,2} | you\s+(?:may|might)\s+also\s+like.* | more\s+from\b.{0,40}
      | about\s+the\s+authors? | about\s+(?:us|(?-i:[A-Z])[\w&'.-]*(?:\s+[\w&'.-]+){0,5})
      | contact(?:\s+us)? | get\s+in\s+touch | leave\s+a\s+(?:reply|comment)
      | \d*\s*comments? | share\s+this(?:\s+\w+)?\s*:?.* | sign\s+up\b.* | newsletter
      | view\s+all.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

NAVIGATION = re.compile(r"\S(?: {2,}|\s*[|•·]\s*)\S")
BYLINE_PREFIX = re.compile(r"^by\s+(.+)$", re.IGNORECASE)
HONORIFIC = r"(?:Dr|Prof|Professor|Mr|Mrs|Ms|Mx|Miss|Sir|Dame|Rev)\.?"
NAME = re.compile(rf"^(?:{HONORIFIC}\s+)?[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|van|von|de|da|del|der|bin|al)){{1,3}}$")
BULLET = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")
SENTENCE_END = re.compile(r"[.!?…]['\"’”)]?$")
PROSE_WORDS = 15


@dataclass(frozen=True)
class DumpParts:
    """What the cleaner found in a dump."""

    title: str | None
    byline: str | None
    published: dt.date | None
    updated: dt.date | None
    description: str | None
    blocks: tuple[Block, ...]


def words(line: str) -> int:
    return len(line.split())


def is_navigation(raw_line: str) -> bool:
    """Menu bars survive a paste as short items separated by runs of spaces or bars."""
    return bool(NAVIGATION.search(raw_line.strip())) and words(raw_line) <= 12


def is_furniture(line: str) -> bool:
    return bool(FURNITURE.match(line))


def is_prose(line: str) -> bool:
    return words(line) >= PROSE_WORDS and not is_furniture(line)


def byline_name(line: str) -> str | None:
    """The author's name when the line is a byline ("By Jane Doe", "Dr Jane Doe")."""
    match = BYLINE_PREFIX.match(line)
    candidate = match.group(1).strip() if match else line
    candidate = re.split(r"\s*[,|]\s*|\s+(?:and|&)\s+(?=[a-z])", candidate)[0].strip()
    if match and 1 <= words(candidate) <= 6:
        return candidate
    if NAME.match(candidate) and not SENTENCE_END.search(candidate):
        return candidate
    return None


def split_dump(text: str, day_first: bool = True) -> DumpParts:
    lines = [" ".join(line.split()) for line in text.splitlines() if not is_navigation(line)]
    lines = [line for line in lines if line]
    header_end = next((i for i, line in enumerate(lines) if is_prose(line)), len(lines))
    header = _read_header(lines[:header_end], day_first)
    body_lines, updated = _body_lines(lines[header.body_start:], day_first)
    description = body_lines[0] if body_lines and is_prose(body_lines[0]) else None
    return DumpParts(
        title=header.title,
        byline=header.byline,
        published=header.published,
        updated=updated,
        description=description,
        blocks=tuple(_to_block(line) for line in body_lines),
    )


@dataclass
class _Header:
    title: str | None = None
    byline: str | None = None
    published: dt.date | None = None
    body_start: int = 0


def _read_header(lines: list[str], day_first: bool) -> _Header:
    """Metadata from the lines before the first paragraph; the body starts after the last of it."""
    header = _Header()
    date_rows = {i for i, line in enumerate(lines) if published_date(line, day_first)}
    candidates: list[int] = []
    last_metadata = -1
    for i, line in enumerate(lines):
        if i in date_rows:
            header.published = header.published or published_date(line, day_first)
            last_metadata = i
        elif is_furniture(line) or updated_date(line, day_first):
            last_metadata = max(last_metadata, i) if header.title else last_metadata
        else:
            candidates.append(i)
    bylines = {i for i in candidates if byline_name(lines[i]) and _is_byline_row(lines[i], i, date_rows)}
    titles = [i for i in candidates if i not in bylines and 2 <= words(lines[i]) <= 30]
    if titles:
        header.title = lines[titles[0]].strip()
        last_metadata = max(last_metadata, titles[0])
    if bylines:
        first = min(bylines)
        header.byline = byline_name(lines[first])
        last_metadata = max(last_metadata, first)
    header.body_start = last_metadata + 1
    return header


def _is_byline_row(line: str, row: int, date_rows: set[int]) -> bool:
    """A bare name is a byline only next to the date; "By ..." always is."""
    return bool(BYLINE_PREFIX.match(line)) or bool(date_rows & {row - 1, row + 1})


def _body_lines(lines: list[str], day_first: bool) -> tuple[list[str], dt.date | None]:
    updated = None
    repeated = _repeated_lines(lines)
    body: list[str] = []
    for line in lines:
        revised = updated_date(line, day_first)
        if revised:
            updated = max(updated, revised) if updated else revised
            continue
        if body and TAIL_START.match(line) and not SENTENCE_END.search(line):
            break
        if is_furniture(line) or line in repeated:
            continue
        body.append(line)
    return body, updated


def _repeated_lines(lines: list[str]) -> set[str]:
    """Blocks that appear more than once are templates ("About us"), not the article."""
    counts = Counter(line for line in lines if words(line) >= 4)
    return {line for line, count in counts.items() if count > 1}


def _to_block(line: str) -> Block:
    if BULLET.match(line):
        return Block("item", BULLET.sub("", line))
    if not SENTENCE_END.search(line) and words(line) <= 14:
        return Block("heading", line)
    return Block("paragraph", line)
