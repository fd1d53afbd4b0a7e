"""The page-dump cleaner on pages rendered to text, and the extraction metric that measures it."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from newsletter.sources.readers.pagedump import split_dump, words_of
from newsletter.sources.stoplists import all_stoplists, language_stopwords
from tests.conftest import PROJECT, benchmark_module

evaluation = benchmark_module("evaluation")
average, evaluate_page, load_pages, overlap, page_text = (
    evaluation.average, evaluation.evaluate_page, evaluation.load_pages, evaluation.overlap, evaluation.page_text)

PAGES = PROJECT / "tests" / "fixtures" / "html"
# A spread of layouts: long comment thread, German teaser lists, French footer, a code-heavy post, a
# changelog of list items, a wiki page, news pages with menus of hundreds of links.
READABILITY_PAGES = ["aclu", "heise", "lemonde-1", "medicalnewstoday", "nytimes-2", "toc-missing", "tumblr",
                     "wikipedia-3"]

PARAGRAPH = ("The lower beds flood every February, so this year we raised them with oak boards and "
             "filled them with a mix of compost, leaf mould and the sandy soil from the old path.")
MORE = ["Oak costs more than softwood, but it lasts for decades without any treatment, and the offcuts from "
        "the sawmill in the village were cheaper than new boards from the builders' merchant.",
        "Next winter we will see whether the raised beds stay above the water line; if they do, the two "
        "beds by the shed will be next on the list for the same treatment in the spring."]


def dump(*parts: str) -> str:
    return "\n".join(parts) + "\n"


def test_overlap_counts_shared_word_4_grams() -> None:
    same = overlap("one two three four five", "one two three four five")
    assert (same.precision, same.recall, same.f1) == (1.0, 1.0, 1.0)
    half = overlap("one two three four five", "one two three four six seven eight nine")
    assert half.true_positive == pytest.approx(1 / 6)  # one shared 4-gram, one missed, four extra
    assert (half.precision, half.recall) == (pytest.approx(1 / 5), pytest.approx(1 / 2))
    assert overlap("one two three four", "").recall == 0.0


def test_scores_average_pages_not_words() -> None:
    long_perfect = overlap("word " * 500 + "end", "word " * 500 + "end")
    short_missed = overlap("alpha beta gamma delta", "")
    scores = average([long_perfect, short_missed])
    assert scores.precision == 1.0  # a page that extracted nothing has no precision to average
    assert scores.recall == 0.5 and scores.f1 == pytest.approx(2 / 3)


def test_page_text_is_what_select_all_copies() -> None:
    html = ("<html><head><title>Not shown</title><style>p {}</style></head><body>"
            "<nav><a>Plots</a> <a>Events</a></nav><script>track()</script>"
            "<p>First <b>bold</b> paragraph.</p><div hidden>Hidden offer</div><p style='display: none'>Gone</p>"
            "<ul><li>One item</li><li>Two items</li></ul><pre>a  = 1\nb  = 2</pre>"
            "<table><tr><td>cell 1</td><td>cell 2</td></tr></table></body></html>")
    lines = [line for line in page_text(html).splitlines() if line]
    assert lines == ["Plots Events", "First bold paragraph.", "One item", "Two items", "a  = 1", "b  = 2",
                     "cell 1\tcell 2"]


def test_rendered_page_cleans_down_to_the_article() -> None:
    text = page_text((PAGES / "beehive.html").read_text(encoding="utf-8"))
    parts = split_dump(text)
    body = "\n".join(block.text for block in parts.blocks)
    assert parts.title == "Our first beehive: a year of lessons & honey"
    assert parts.byline == "Marta Kowalczyk and Idris Bello"
    assert body.startswith("When two colonies of bees arrived")
    assert "come along to an open inspection" in body
    assert ("heading", "Plants the bees loved") in [(block.kind, block.text) for block in parts.blocks]
    for furniture in ("cookies", "Donate", "Share this", "Related articles", "3 comments", "Grace Hollis",
                      "courgette", "Registered charity", "All rights reserved"):
        assert furniture not in body, furniture


def test_comment_thread_after_the_article_is_dropped() -> None:
    comments = ["12 comments", "Jo Bloggs", "3 hours ago", PARAGRAPH.replace("this year we raised", "you raised"),
                "Reply", "Sam Reader", "2 hours ago", "I tried the same with larch boards and they rotted within "
                "four winters, so oak is money well spent if you can find it second hand.", "Reply"]
    parts = split_dump(dump("Raised beds for the wet corner", "By Ann Example", "3 March 2026",
                            PARAGRAPH, PARAGRAPH.replace("oak", "larch"), *comments))
    body = "\n".join(block.text for block in parts.blocks)
    assert "oak boards" in body and "larch boards" in body
    assert "Jo Bloggs" not in body and "you raised" not in body and "rotted" not in body


def test_a_timetable_inside_the_article_is_kept() -> None:
    timetable = ["10:30 Welcome and safety briefing at the main gate", "11:00 Hedge planting along the north "
                 "boundary", "12:30 Soup and bread in the pavilion"]
    parts = split_dump(dump("Our December work day", "By Ann Example", PARAGRAPH, *timetable, *MORE))
    assert [block.text for block in parts.blocks] == [PARAGRAPH, *timetable, *MORE]


@pytest.mark.parametrize("width", [60, 72])
def test_text_wrapped_by_a_mail_client_reads_like_the_original(width: int) -> None:
    original = (PROJECT / "issues" / "2026-11-garden-notes" / "articles" / "compost.txt").read_text()
    wrapped = "\n".join(part for line in original.splitlines() for part in textwrap.wrap(line, width) or [""])
    unwrapped, expected = split_dump(wrapped), split_dump(original)
    assert (unwrapped.title, unwrapped.byline, unwrapped.published) == (
        expected.title, expected.byline, expected.published)
    assert " ".join(b.text for b in unwrapped.blocks).split() == " ".join(b.text for b in expected.blocks).split()


def test_code_listing_inside_the_article_is_kept() -> None:
    listing = ["SELECT", "plot,", "count(*) AS visits", "FROM", "visits", "GROUP BY", "plot;"]
    parts = split_dump(dump("Counting visits per plot", "By Ann Example", PARAGRAPH, *listing, PARAGRAPH.upper()))
    texts = [block.text for block in parts.blocks]
    assert texts[0] == PARAGRAPH and texts[-1] == PARAGRAPH.upper()
    assert all(line in texts for line in listing)


def test_related_teasers_after_the_article_are_dropped() -> None:
    teasers = ["Related stories", "Why we stopped digging",
               "No-dig beds have changed how we think about the soil on the whole site, and here is why.",
               "A guide to our compost bays",
               "Everything you wanted to know about the three compost bays by the gate and how to use them."]
    parts = split_dump(dump("Raised beds for the wet corner", PARAGRAPH, *MORE, *teasers))
    assert [block.text for block in parts.blocks] == [PARAGRAPH, *MORE]


@pytest.mark.parametrize("line, name", [
    ("By ANN EXAMPLE | Staff writer", "Ann Example"),
    ("by Laura June Topolsky July 10, 2026", "Laura June Topolsky"),
    ("Dan Example - Apr 16, 2026 8:02 pm UTC", "Dan Example"),
    ("Tuesday 15 October 2026 by Bo M. Sample", "Bo M. Sample"),
    ("By Alissa Example@alissa Updated Jul 24, 2026, 2:15pm EDT", "Alissa Example"),
    ("Reviewed by Dr Ann Example", None),
    ("Published on: June 25, 2026", None),
    ("By submitting your email you agree to our terms", None),
])
def test_bylines_in_busy_lines(line: str, name: str | None) -> None:
    parts = split_dump(dump("Raised beds for the wet corner", line, PARAGRAPH, *MORE))
    assert parts.byline == name


def test_dateline_gives_published_and_updated() -> None:
    parts = split_dump(dump("Raised beds for the wet corner", "By Ann Example",
                            "April 28, 2026 at 6:01 am Updated April 29, 2026 at 3:33 pm", PARAGRAPH, *MORE))
    assert (parts.published, parts.updated) == (dt.date(2026, 4, 28), dt.date(2026, 4, 29))
    assert "April 28" not in "\n".join(block.text for block in parts.blocks)


def test_function_words_of_other_languages_count() -> None:
    french = ("Les parcelles du bas sont inondées chaque hiver, alors nous avons surélevé les planches avec "
              "du chêne et nous les avons remplies de compost et de terreau de feuilles.")
    parts = split_dump(dump("Accueil", "Jardins", "Des planches surélevées pour le coin humide", "Par Anne Exemple",
                            french, french.replace("chêne", "mélèze"), "Partager", "À lire aussi", "Le compost"))
    assert parts.title == "Des planches surélevées pour le coin humide"
    assert [block.text for block in parts.blocks] == [french, french.replace("chêne", "mélèze")]


def test_readability_pages_beat_the_raw_text(shared_dir: Path) -> None:
    """A regression guard on real pages: both readers well above the page text taken as it is."""
    results = [evaluate_page(page) for page in load_pages(shared_dir / "eval" / "readability", READABILITY_PAGES)]
    raw = average([result.raw for result in results]).f1
    html = average([result.html_overlap for result in results]).f1
    dumped = average([result.dump_overlap for result in results]).f1
    assert raw < 0.85
    assert html >= 0.95
    assert dumped >= 0.92 and dumped >= raw + 0.1


BLURB = ("Hill Lane Allotments is run by its members: we meet on the first Saturday of the month and everyone "
         "is welcome to join the work party.")


def test_a_blurb_the_template_repeats_around_the_article_is_dropped() -> None:
    parts = split_dump(dump("Menu", BLURB, "Raised beds for the wet corner", PARAGRAPH, *MORE, "About us", BLURB))
    texts = [block.text for block in parts.blocks]
    assert PARAGRAPH in texts and MORE[1] in texts
    assert BLURB not in texts


def test_paragraphs_a_page_says_twice_are_its_article_not_its_template() -> None:
    """When the repeated paragraphs hold most of the page's prose, repetition is the text itself (a sample page
    that says its paragraphs twice), not a template's blurb: the body keeps them rather than finding none."""
    parts = split_dump(dump("Raised beds for the wet corner", "Home", PARAGRAPH, MORE[0], "More on this",
                            PARAGRAPH, MORE[0], "Footer links"))
    texts = [block.text for block in parts.blocks]
    assert texts.count(PARAGRAPH) == 2 and texts.count(MORE[0]) == 2
    assert "Footer links" not in texts


def test_the_line_right_above_a_text_it_shares_no_words_with_is_its_headline_not_a_subheading() -> None:
    """A short headline that shares none of the text's words scores below the bar; the line right above the text
    is still the headline, not the first subheading inside the text."""
    parts = split_dump(dump("Work day report", PARAGRAPH, MORE[0], "Next steps", MORE[1]))
    assert parts.title == "Work day report"
    assert "Next steps" in [block.text for block in parts.blocks]


def test_lynx_list_marks_do_not_choose_the_language() -> None:
    """lynx marks nested list items with "o", a function word of Polish and Spanish: a German page with a long
    nested menu is still read with German's function words."""
    german = ("Die Beete im unteren Teil des Gartens stehen jeden Winter unter Wasser, deshalb haben wir sie mit "
              "Eichenbrettern erhöht und mit Kompost und Lauberde gefüllt.")
    counts = Counter(words_of(german.lower()) * 2 + ["o"] * 150)
    assert language_stopwords(counts) == all_stoplists()[0]["German"]
