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


@pytest.mark.parametrize(("line", "date"), [
    ("Von Ann Example, 28. Januar 2022", dt.date(2022, 1, 28)),
    ("Donnerstag, 4. November 2021", dt.date(2021, 11, 4)),
    ("am 5. Okt. 2020 von Ann Example", dt.date(2020, 10, 5)),
    ("Publié le 1er mars 2021", dt.date(2021, 3, 1)),
    ("3 décembre 2020", dt.date(2020, 12, 3)),
    ("Publicado el 3 de marzo de 2021", dt.date(2021, 3, 3)),
    ("12 abr. 2021", dt.date(2021, 4, 12)),
    ("4 maggio 2019", dt.date(2019, 5, 4)),
    ("15 августа 2016, 13:43", dt.date(2016, 8, 15)),
    ("18. 05. 2014 22:38", dt.date(2014, 5, 18)),
    ("29 / Dezember / 2022", dt.date(2022, 12, 29)),  # set apart as a magazine's masthead does
    ("26 | 01 | 2022 Schweiz | Praxis", dt.date(2022, 1, 26)),
])
def test_a_date_with_its_month_named_in_another_language_is_read(line: str, date: dt.date) -> None:
    assert split_dump(dump(line)).published == date


def test_the_month_pattern_is_exactly_the_month_names() -> None:
    """The names as a tree of shared beginnings: each name is found whole, and nothing more (a name cut short or
    run on into a word)."""
    import re

    from newsletter.sources.dates import MONTH_NAMES, _word_alternation

    pattern = re.compile(_word_alternation(list(MONTH_NAMES)))
    near_misses = {name[:cut] for name in MONTH_NAMES for cut in range(len(name))} | {name + "x" for name in MONTH_NAMES}
    assert all(pattern.fullmatch(name) for name in MONTH_NAMES)
    assert not [text for text in near_misses - set(MONTH_NAMES) if pattern.fullmatch(text)]


def test_a_month_name_in_a_sentence_is_no_date() -> None:
    assert split_dump(dump("By Ann Example", "Ein Mai voller Blumen, 2021 Sorten")).published is None


def test_a_paragraph_opening_with_a_date_dates_the_article_and_stays_in_it() -> None:
    opening = "29.11.2022 – " + PARAGRAPHS[0]
    text = "\n".join(["Plot Notes", HEADLINE, opening, *PARAGRAPHS[1:]]) + "\n"
    parts = split_dump(text)
    assert parts.published == dt.date(2022, 11, 29)
    assert parts.blocks[0].text == opening


def test_a_date_just_under_the_text_dates_it_but_not_one_under_the_comments() -> None:
    assert split_dump(dump(tail=("Posted 11 April 2018 by Ann Example",))).published == dt.date(2018, 4, 11)
    assert split_dump(dump(tail=("3 Comments", "Bob, 11 April 2018"))).published is None


def test_a_date_far_under_the_text_dates_it_when_the_page_shows_no_other() -> None:
    gallery = [f"[IMG] Plot {number}" for number in range(12)]
    assert split_dump(dump(tail=(*gallery, "23.09.22"))).published == dt.date(2022, 9, 23)
    listing = (*gallery, "23.09.22", "More from the society", "Seed swap draws a record crowd", "14.08.22")
    assert split_dump(dump(tail=listing)).published is None  # which of the posts is this page?
    thread = (*gallery, "3 Comments", "Bob Example", "23.09.22")
    assert split_dump(dump(tail=thread)).published is None  # when a reader wrote, not the article


def test_a_page_that_gives_only_its_revision_date_is_dated_by_it() -> None:
    parts = split_dump(dump(tail=("Aktualisiert am 17.01.2021.",)))
    assert (parts.published, parts.updated) == (dt.date(2021, 1, 17), None)
    parts = split_dump(dump("4 March 2025", tail=("Last updated on 17 March 2025",)))
    assert (parts.published, parts.updated) == (dt.date(2025, 3, 4), dt.date(2025, 3, 17))


def test_a_menus_latest_over_the_headline_does_not_hide_the_articles_own_header() -> None:
    text = "\n".join(["Skip to content", "Latest Newsletter Podcast", "example.org", HEADLINE,
                      "by Ann Example on January 20, 2020", *PARAGRAPHS]) + "\n"
    parts = split_dump(text)
    assert (parts.title, parts.published) == (HEADLINE, dt.date(2020, 1, 20))


def test_a_date_far_above_the_text_dates_it_when_none_stands_nearer() -> None:
    gallery = [f"Photo {number} of the new shed" for number in range(1, 25)]
    text = "\n".join(["Plot Notes", HEADLINE, "Ann Example, 02.01.2023, 11:08", *gallery, *PARAGRAPHS]) + "\n"
    assert split_dump(text).published == dt.date(2023, 1, 2)
    near = "\n".join(["Plot Notes", "Ann Example, 02.01.2023", HEADLINE, "4 March 2025", *gallery, *PARAGRAPHS])
    assert split_dump(near + "\n").published == dt.date(2025, 3, 4)


def test_a_sentence_mentioning_a_date_or_a_quoted_posts_signature_does_not_date_the_article() -> None:
    standfirst = "Ann Example takes over the shed with effect from 1.9.2015, the committee says"
    text = "\n".join(["Plot Notes", HEADLINE, "Written by Cooper on 25.08.2015", standfirst, *PARAGRAPHS]) + "\n"
    assert split_dump(text).published == dt.date(2015, 8, 25)
    quoted = "— Ann Example (@annexample) November 3, 2023"
    text = "\n".join(["Plot Notes", HEADLINE, "Jane Doe | 06.11.23", quoted, *PARAGRAPHS]) + "\n"
    assert split_dump(text).published == dt.date(2023, 11, 6)


@pytest.mark.parametrize("lead_in", ["29.11.2022 – ", "(29. November 2022) ", "Red. / 29.11.2022 ",
                                     "Pressemitteilung vom 29. November 2022 | Berlin – "])
def test_one_of_the_first_paragraphs_opening_with_a_date_dates_the_article_and_stays_in_it(lead_in: str) -> None:
    opening = lead_in + PARAGRAPHS[1]
    text = "\n".join(["Plot Notes", HEADLINE, PARAGRAPHS[0], opening, PARAGRAPHS[2]]) + "\n"
    parts = split_dump(text)
    assert parts.published == dt.date(2022, 11, 29)
    assert [block.text for block in parts.blocks] == [PARAGRAPHS[0], opening, PARAGRAPHS[2]]


def test_a_date_deep_inside_a_later_paragraph_does_not_date_the_article() -> None:
    later = "The society first asked for a shed on 29.11.2022 and was told to wait. " + PARAGRAPHS[2]
    text = "\n".join(["Plot Notes", HEADLINE, *PARAGRAPHS[:2], later]) + "\n"
    assert split_dump(text).published is None


@pytest.mark.parametrize("line", [
    "PUBLISHED: November 8, 2023 at 4:56 p.m. | UPDATED: November 9, 2023 at 12:21 a.m.",
    "Pubblicato il 8 Novembre 2023 Ultima modifica 9 Novembre 2023 12:02",
    "von Ann Example am 8. November 2023, 14:14 Uhr",
    "Dieser Beitrag wurde am Mittwoch, den 8. November 2023 um 15:21 Uhr von Ann Example veröffentlicht und wurde "
    "unter Allgemein, Garten und Vereinsleben abgelegt.",
])
def test_a_line_that_labels_its_date_as_the_publication_dates_the_article_however_long(line: str) -> None:
    assert split_dump(dump(tail=(line,))).published == dt.date(2023, 11, 8)
    menus = [f"Plot {number} | Map | Rules | Contact" for number in range(1, 20)]
    assert split_dump(dump(tail=(*menus, line))).published == dt.date(2023, 11, 8)  # well under the text
    header = "\n".join(["Plot Notes", "Thursday, November 9th 2023", "Home | Events", HEADLINE, line, *PARAGRAPHS])
    assert split_dump(header + "\n").published == dt.date(2023, 11, 8)  # not the site's date of today


def test_the_labelled_date_wins_over_a_nearer_bare_one() -> None:
    assert split_dump(dump("Veröffentlicht: 05.01.2020 | Autor: Ann Example", "12.01.2020 um 12:49")).published \
        == dt.date(2020, 1, 5)
    assert split_dump(dump("05.01.2020 | Autor: Ann Example", "12.01.2020 um 12:49")).published == dt.date(2020, 1, 12)


def test_a_deadline_is_no_publication_date() -> None:
    assert split_dump(dump("Video verfügbar bis 28.02.2021")).published is None
    assert split_dump(dump("Offer valid until 3 May 2024", "Ann Example, 2 May 2024")).published == dt.date(2024, 5, 2)


@pytest.mark.parametrize("line", ["Termin: 21.02.2020, 19 Uhr", "Event date: 21 February 2020",
                                  "(Unverändert gültig seit: 21.02.2020)"])
def test_an_events_date_or_a_validity_is_no_publication_date(line: str) -> None:
    assert split_dump(dump(line)).published is None
    assert split_dump(dump("Ann Example, 2 May 2019", line)).published == dt.date(2019, 5, 2)


def test_a_paragraph_opening_with_an_update_note_does_not_date_the_article() -> None:
    update = "Update vom 3. Mai 2020, 16:05 Uhr: " + PARAGRAPHS[0]
    text = "\n".join(["Plot Notes", HEADLINE, update, *PARAGRAPHS[1:]]) + "\n"
    assert split_dump(text).published is None
    assert split_dump(dump("Ann Example | 2. Mai 2020", tail=())).published == dt.date(2020, 5, 2)


@pytest.mark.parametrize("line", ["Veröffentlicht: 05.01.2020 | Autor: Ann Example | Abgelegt unter: Garten",
                                  "von Ann Example | 5. Januar 2020 | Garten | 0 Kommentare",
                                  "Verfasst von: Ann Example | 5. Januar 2020"])
def test_a_labelled_date_far_above_the_text_dates_it_when_the_page_labels_no_other(line: str) -> None:
    menu = [f"{crop} {topic}" for crop in ("Beans", "Peas", "Leeks", "Kale", "Chard", "Onions", "Garlic", "Carrots")
            for topic in ("sowing", "harvest", "pests", "storage", "recipes", "varieties", "prices", "seeds")]
    text = "\n".join(["Plot Notes", line, *menu, HEADLINE, *PARAGRAPHS]) + "\n"
    assert split_dump(text).published == dt.date(2020, 1, 5)
    other = "von Bob Example | 9. Januar 2020 | Garten"  # a list of posts: which one is this page's?
    listing = "\n".join(["Plot Notes", line, other, *menu, HEADLINE, *PARAGRAPHS]) + "\n"
    assert split_dump(listing).published is None


def _analysed_dates(text: str, day_first: bool) -> tuple[dt.date | None, dt.date | None]:
    parts = split_dump(text, day_first)
    return parts.published, parts.updated


def _count_agreeing_dated(texts: list[str]) -> int:
    """Asserts that ``shown_dates`` (which skips the headline, byline and body: the HTML reader asks a page's
    visible text for its date alone) gives the whole reading's dates, day first and month first; how many of
    those readings found a date."""
    from newsletter.sources.readers.pagedump import shown_dates

    dated = 0
    for text in texts:
        for day_first in (True, False):
            dates = shown_dates(text, day_first)
            assert dates == _analysed_dates(text, day_first), text[:200]
            dated += any(dates)
    return dated


def test_the_dates_only_reading_finds_the_dates_the_whole_reading_does() -> None:
    """Dumps dated every way the header is read: above the text, relative to a printed capture date, revised
    under the headline or the text, labelled in a page section under the text, revised only."""
    texts = [dump("By Ann Example", "04/03/2025", "Updated 3 hours ago", tail=("Retrieved 20 June 2024",)),
             dump("By Ann Example · 2 days ago", tail=("Retrieved 20 June 2024", "Last updated on 21 June 2024")),
             dump("Ann Example", tail=("Comments", "Published: 3 May 2024 | Updated: 4 May 2024")),
             dump("Aktualisiert am 17.01.2021"), dump("By Ann Example")]
    assert _count_agreeing_dated(texts) == 2 * (len(texts) - 1)


@pytest.mark.slow
def test_the_dates_only_reading_of_real_pages_finds_the_dates_the_whole_reading_does(shared_dir: Path) -> None:
    """The visible text of every readability development page, as the HTML reader reads it."""
    from newsletter.sources.readers.html import decode_html
    from newsletter.sources.readers.htmlmeta import visible_text
    from newsletter.sources.readers.htmltree import parse_html
    from newsletter.sources.source import Source
    from tests.conftest import benchmark_module

    evaluation = benchmark_module("evaluation")
    data = shared_dir / "eval" / "readability"
    pages = evaluation.load_pages(data, evaluation.split_pages(data, "development"))
    texts = [visible_text(parse_html(decode_html(Source(page.page_id, None, page.html)))) for page in pages]
    assert _count_agreeing_dated(texts) > len(texts)  # most are dated: not two readings that find nothing


@pytest.mark.parametrize("footer", ["This page was last edited on 29 January 2020, at 13:22 (UTC).",
                                    "* Diese Seite wurde zuletzt am 29. Januar 2020 um 13:22 Uhr geändert."])
def test_a_wikis_last_edit_footer_dates_a_page_that_shows_no_other_date(footer: str) -> None:
    assert split_dump(dump(tail=(footer, "Privacy policy | About | Disclaimers"))).published == dt.date(2020, 1, 29)
    parts = split_dump(dump("4 January 2020", tail=(footer,)))
    assert (parts.published, parts.updated) == (dt.date(2020, 1, 4), dt.date(2020, 1, 29))


@pytest.mark.parametrize("fields", [
    "28.04.2021 - 07:18 | Quelle: dpa-afx | Lesedauer etwa 4 min. | Text vorlesen Stop Pause Fortsetzen | Drucken "
    "| Teilen auf Facebook und Twitter",
    "⋅ April 28, 2021 ⋅ Email this post Email this post ⋅ Print this page Print this page ⋅ Comment on this post",
])
def test_a_long_line_of_header_fields_opening_with_the_date_dates_the_article(fields: str) -> None:
    assert len(fields.split()) > 16  # longer than a dateline
    assert split_dump(dump(fields)).published == dt.date(2021, 4, 28)
    sentence = ("28.04.2021 – The society met at the shed and agreed a rota for the whole season, so that every "
                "member waters the plots")
    assert split_dump(dump(tail=("Menu | Map | Rules", sentence))).published is None  # a sentence under the text


def test_a_comment_count_in_the_articles_header_starts_no_related_box_over_its_date() -> None:
    header = ["* 5 Kommentare", "*", "*", "*", "* Weitere schließen", "04.05.20 14:50", "Garden"]
    below = ("Seed swap draws a record crowd", "12.01.2020")  # a date just under the text, read when none is above
    text = "\n".join(["Plot Notes", "Home | Events | Recipes", *header, HEADLINE, *PARAGRAPHS, *below]) + "\n"
    assert split_dump(text).published == dt.date(2020, 5, 4)
    thread = ["Comments", *header[1:]]  # a thread's heading: the dates under it are its readers'
    text = "\n".join(["Plot Notes", "Home | Events | Recipes", *thread, HEADLINE, *PARAGRAPHS, *below]) + "\n"
    assert split_dump(text).published == dt.date(2020, 1, 12)
