"""Find and parse the dates that page dumps carry ("17-08-2023", "3 November 2026")."""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta

from newsletter.sources.monthnames import MONTH_NAMES
from newsletter.sources.shortlines import ShortLinePattern


def _word_alternation(words: list[str]) -> str:
    """A pattern for exactly these words, shaped as a tree of their shared beginnings ("jan(?:uar(?:i|y)?|v)?"): at
    each position the search tries a few letters instead of every word, which made finding a date the costliest
    step of reading a dump. Which word is tried first does not matter where a whole word is wanted: of two
    names that fit at one place, the shorter is followed by a letter."""
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _tree_pattern(tree)


def _tree_pattern(node: dict[str, dict]) -> str:
    branches = [re.escape(char) + _tree_pattern(child) for char, child in node.items() if char]
    if "" in node:
        return f"(?:{'|'.join(branches)})?" if branches else ""
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


# A whole word only, so that "januar" is not read as "jan" and a word ending after it.
_MONTH = "(?:" + _word_alternation(list(MONTH_NAMES)) + r")(?![^\W\d_])\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th|er|º|°|\.)?"  # "3rd", "1er", "31." as German writes it
# A line longer than this carries no date these readers look for (a dateline, a byline, "Retrieved …").
MAX_DATE_LINE = 1000
DATE_PATTERN = ShortLinePattern(re.compile(
    r"(?:\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    r"|\d{1,2}\.\s\d{1,2}\.\s\d{4}"  # "18. 05. 2014"
    r"|(?<![\d.])\d{2}([-/.])\d{2}\1\d{2}(?![\d.:-])"  # "11.03.17", "10/15/15": two-digit parts only
    r"|\d{1,2}\s+([/|])\s+\d{1,2}\s+\2\s+\d{4}"  # "26 | 01 | 2022", set apart as a magazine's masthead does
    rf"|{_DAY}\s*+(?:de\s+|[/|]\s+)?{_MONTH},?\s+(?:de\s+|[/|]\s+)?\d{{4}}"  # "3 November 2026", "3. März 2021",
    # "3 de marzo de 2021", "29 / Dezember / 2022"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}年\d{1,2}月\d{1,2}日)",  # Chinese and Japanese: "2024年5月3日"
    re.IGNORECASE,
), MAX_DATE_LINE, needs=re.compile(r"\d\d").search)  # every form has a year's or a day's two digits in a row:
# most lines have none, and are passed over
_CJK_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
# The parts of a date whose month is a name, in either order.
_NAMED_DATE = re.compile(rf"^(?:(?P<day>\d{{1,2}})\D*?(?P<month>{_MONTH})|(?P<month2>{_MONTH})\s+(?P<day2>\d{{1,2}}))"
                         r"\D*?(?P<year>\d{4})$", re.IGNORECASE)
_UPDATED_PREFIX = re.compile(r"^(?:last\s+)?(?:updated|modified|revised)(?:\s+on)?\s*:?\s*", re.IGNORECASE)
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+", re.IGNORECASE)


def parse_date(text: str, day_first: bool = True) -> dt.date | None:
    """Parse one date string; None when it is not a real date."""
    if cjk := _CJK_DATE.fullmatch(text.strip()):
        return _date(int(cjk[1]), int(cjk[2]), int(cjk[3]))
    if named := _NAMED_DATE.match(text.strip()):
        return _named_date(named)
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        day_first = False
    text = text.replace("|", "/")  # "26 | 01 | 2022"
    try:
        return date_parser.parse(text, dayfirst=day_first, fuzzy=False).date()
    except (ValueError, OverflowError):
        return None


def _named_date(match: re.Match) -> dt.date | None:
    month = MONTH_NAMES[(match["month"] or match["month2"]).lower().rstrip(".")]
    return _date(int(match["year"]), month, int(match["day"] or match["day2"]))


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _whole_line_date(text: str, day_first: bool) -> dt.date | None:
    text = _WEEKDAY.sub("", text.strip().rstrip("."))
    match = DATE_PATTERN.fullmatch(text)
    return parse_date(match.group(0), day_first) if match else None


LEADING_DATE_CHARS = 40  # a date that opens a paragraph ("Mon, 3 May 2024 – ...") stands within its first words


# What may stand before it: "(", a place or a desk ("Berlin –", "Red. /"), "Pressemitteilung vom".
_LEAD_IN = re.compile(r"[(\[]?(?:[^\W\d_]+\.?,?\s*(?:[/|–—-]\s*)?){0,2}")


def leading_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date a paragraph opens with, as a news agency's dateline does ("29.11.2022 – The industry ...",
    "(21. November 2022) Consumers ...", "Red. / 31.10.2023 The former colony ...")."""
    opening = _WEEKDAY.sub("", line[:LEADING_DATE_CHARS].strip())
    match = DATE_PATTERN.match(opening, _LEAD_IN.match(opening).end()) or DATE_PATTERN.match(opening)
    if not match or _REVISED.search(opening[:match.start()]):  # "Update vom 3. Mai 2020: ..." is a later note
        return None
    return parse_date(match.group(0), day_first)


def opening_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date a line starts with ("19.10.2019 12.09", "Mon, 3 May 2024 | Jane Doe"), with nothing before it."""
    match = _opening_match(line.strip())
    return parse_date(match.group(0), day_first) if match else None


def _opening_match(text: str) -> re.Match | None:
    """The date ``text`` opens with, after a weekday's name perhaps; its ``string`` is ``text`` less that name."""
    return DATE_PATTERN.match(_WEEKDAY.sub("", text))


# A wiki's footer (MediaWiki's in its languages): "This page was last edited on 29 January 2020, at 13:22."
_PAGE_EDITED = re.compile(r"^\W*(?:this\s+page\s+was\s+last\s+(?:edited|modified)\s+on|diese\s+seite\s+wurde\s+zuletzt\s+am"
                          r"|(?:la\s+)?dernière\s+modification\s+de\s+cette\s+page\s+a\s+été\s+faite\s+le"
                          r"|esta\s+página\s+se\s+editó\s+por\s+última\s+vez\s+el)\s+", re.IGNORECASE)


def updated_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date when the line says "Last updated on <date>", or as a wiki's footer says when it was last edited."""
    line = line.strip()
    if match := _UPDATED_PREFIX.match(line):
        return _whole_line_date(line[match.end():], day_first)
    if (edited := _PAGE_EDITED.match(line)) and (date := DATE_PATTERN.match(line, edited.end())):
        return parse_date(date.group(0), day_first)
    return None


# "Video verfügbar bis 28.02.2021", "Offer valid until 3 May", "Termin: 21.02.2020": a deadline, an event, a
# validity, not when the page was written.
_NOT_WRITTEN_ON = re.compile(r"\b(?:bis|until|till|through|expires?|ablauf|jusqu'au|hasta|fino\s+al|termin|event\s+date"
                             r"|(?:gültig|valid)\s+(?:seit|from))\W*(?:zum|am|on|le|el)?\W*$", re.IGNORECASE)
# "Published: 3 May 2024", "Veröffentlicht am 23. Februar 2020", "Pubblicato il 19 Febbraio 2020": the line says
# which of the page's dates is the article's.
_BY = r"^\W*(?:(?:verfasst|geschrieben|written|posted)\s+)?(?:by|von|par|por|door)\s*:?\s+"
_PUBLISHED_LABEL = re.compile(
    r"(?:(?:^|[|•·–—-]\s*)(?:published|posted|post\s+date|publication\s+date|date|datum|veröffentlicht|erschienen"
    r"|erstellt|gepostet|publié|publicado|publicada|pubblicato)(?:\s+(?:on|am|le|el|il|em|op))?"
    rf"|{_BY}\D{{1,30}}?\s(?:on|am|le|el|em|op)"  # "von Jane Doe am 29. Mai 2017", "Geschrieben von Jane Doe am"
    rf"|{_BY}[^\d|•·–—]{{1,30}}?\s[|•·–—]"  # "Verfasst von: Jane Doe | 29. Mai 2017"
    r"|\b(?:beitrag|artikel)\s+wurde\s+am)"  # "Dieser Beitrag wurde am ... veröffentlicht"
    r"\s*:?\s*(?:[^\W\d_]+,\s+(?:den\s+)?)?$",  # "Posted on Wednesday, 27 November 2019"
    re.IGNORECASE)
LABEL_CHARS = 40  # how far before a date its label stands


def labelled_date(line: str, day_first: bool = True) -> dt.date | None:
    """The date a line labels as the publication's ("Published: 3 May 2024 | Updated: 4 May 2024" gives 3 May),
    however long the line: the label says what the date is."""
    for match in DATE_PATTERN.finditer(line):
        if _PUBLISHED_LABEL.search(line[max(0, match.start() - LABEL_CHARS):match.start()]):
            return parse_date(match.group(0), day_first)
    return None


_REVISED = re.compile(r"(?:updated?|modified|revised|mis\s+à\s+jour|aktualisiert|actualizado|atualizado)\W*"
                      r"(?:on|le|am|vom)?\W*(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\W*)?$", re.IGNORECASE)
MAX_DATELINE_WORDS = 16


def dateline(line: str, day_first: bool = True) -> tuple[dt.date | None, dt.date | None]:
    """(published, updated) from a short line that carries dates among other words, or a line of any length that
    labels its publication date.

    "April 28, 2019 at 6:01 am Updated April 29, 2019" gives both; "by Jane Doe, 3 May 2024" the first.
    A date right after "updated" (or "modified", "mis à jour", ...) is the revision.
    """
    if len(line.split()) > MAX_DATELINE_WORDS:
        return labelled_date(line, day_first) or _date_of_fields(line, day_first), None
    published = updated = None
    for match in DATE_PATTERN.finditer(line):
        date = parse_date(match.group(0), day_first)
        before = line[max(0, match.start() - LABEL_CHARS):match.start()]
        if date is None or _NOT_WRITTEN_ON.search(before):
            continue
        if _REVISED.search(before):
            updated = updated or date
        elif _PUBLISHED_LABEL.search(before):
            published = date
        else:
            published = published or date
    return published, updated


# What parts a header's fields after its date, a time perhaps before it: "28.04.2021 - 07:18 | Quelle: dpa-afx | ...".
FIELD_SEPARATORS = "|•·⋅"
# Bounded repeats: searched along a long line (as tests/test_dump_linear_time.py does), "[\s,-]*...\s*" is quadratic.
_FIELD_AFTER_DATE = re.compile(rf"[\s,–—-]{{0,5}}(?:\d{{1,2}}[:.]\d{{2}}(?:\s{{0,3}}(?:uhr|h|[ap]\.?m\.?))?)?\s{{0,5}}"
                               rf"[{FIELD_SEPARATORS}]", re.IGNORECASE)


def _date_of_fields(line: str, day_first: bool) -> dt.date | None:
    """The date a long line of header fields opens with ("28.04.2021 - 07:18 | Quelle: dpa-afx | Lesedauer 4 min.
    | Text vorlesen ..."): however long the line, the date is its first field."""
    match = _opening_match(line.strip().lstrip(FIELD_SEPARATORS + " "))  # "⋅ November 22, 2011 ⋅ Email ..."
    return parse_date(match.group(0), day_first) if match and _FIELD_AFTER_DATE.match(match.string, match.end()) else None


# "3 days ago", "1 hour ago", "52m ago", "an hour ago": counted back from when the page was seen.
_AGO = re.compile(r"\b(\d{1,3}|an?|one)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?"
                  r"|mo|mos|months?|y|yrs?|years?)\s+ago\b", re.IGNORECASE)
# "Yesterday", "Published today at 5:01 pm", "Jane Doe · Yesterday": only as a line's whole date, never in a
# headline ("What happened yesterday").
_DAY_WORD = re.compile(r"(?:^|^(?:published|posted|updated|last\s+updated|modified)\s*:?\s*|[|•·–—-]\s*)"
                       r"(yesterday|today)(?:,?\s+(?:at\s+)?\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?)?\W*$",
                       re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks", "y": "years"}  # by first letter
# When the dump was made, printed on it: "Retrieved 3 March 2025", "Accessed on 2025-03-03", a print header.
CAPTURED = re.compile(r"^(?:retrieved|accessed|saved|printed|copied|captured|downloaded|archived)(?:\s+(?:on|at))?"
                      r"\s*:?\s*(.{6,40})$", re.IGNORECASE)


def relative_date(line: str, reference: dt.datetime) -> tuple[dt.date | None, bool]:
    """The date a short line gives relative to ``reference`` ("2 days ago", "yesterday"), and whether it is a
    revision ("Updated 3 hours ago"); (None, False) when it gives none."""
    if len(line.split()) > MAX_DATELINE_WORDS:
        return None, False
    if match := _AGO.search(line):
        amount = 1 if match[1].lower() in ("a", "an", "one") else int(match[1])
        unit = match[2].lower()
        unit = "months" if unit.startswith("mo") else _UNITS[unit[0]]  # "m" alone is minutes
        back = reference - relativedelta(**{unit: amount})
    elif match := _DAY_WORD.search(line.strip()):
        back = reference - dt.timedelta(days=1 if match[1].lower() == "yesterday" else 0)
    else:
        return None, False
    return back.date(), bool(_REVISED.search(line[:match.start()]) or _UPDATED_PREFIX.match(line))


def captured_date(lines: list[str], day_first: bool = True) -> dt.datetime | None:
    """When the dump was made, if a line at its top or foot says so ("Retrieved 3 March 2025")."""
    for line in lines:
        match = CAPTURED.match(line.strip())
        if match and (found := DATE_PATTERN.search(match[1])) and (date := parse_date(found[0], day_first)):
            return dt.datetime.combine(date, dt.time(12))  # the hour unknown: noon, so "3 hours ago" keeps the day
    return None
