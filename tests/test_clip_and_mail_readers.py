"""Markdown clips (.md) and mail (.eml, pasted forwards) are read as the article they carry.

The articles here are written for the tests."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from newsletter.sources.readers import read_source
from newsletter.sources.source import Source

HEADLINE = "Volunteers rebuild the orchard wall at Hill Lane"
PARAGRAPHS = [
    "The old stone wall along the orchard at Hill Lane had been falling down for years, and last weekend "
    "twenty volunteers spent two days putting it back together stone by stone.",
    "They were guided by a retired mason who lives in the village and who showed them how to set each stone "
    "so that the wall leans slightly inwards and sheds the rain.",
    "The work was paid for by the parish council and by a grant from the county's heritage fund, which "
    "covered the lime mortar, the hire of a small digger and lunch for everyone who came.",
    "Next spring the orchard group plans to plant six new apple trees along the wall, choosing old local "
    "varieties that were grown in the village a hundred years ago.",
]


def _read(name: str, text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_source(Source(name, Path(name), data))


CLIP = f"""[Skip to content](#main)

* [Home](https://example.org/)
* [News](https://example.org/news)
* [Events](https://example.org/events)

[![Village logo](https://example.org/logo.png)](https://example.org/)

# {HEADLINE}

Published 14 October 2025 by **Ann Baker**

![The rebuilt wall](https://example.org/wall.jpg)

{PARAGRAPHS[0]}

{PARAGRAPHS[1].replace("a retired mason", "[a retired mason](https://example.org/mason)")}

> {PARAGRAPHS[2].replace("heritage fund", "*heritage fund*")}

{PARAGRAPHS[3]}

## Share this

* [Facebook](https://facebook.com/share)
* [Twitter](https://twitter.com/share)

© 2025 Hill Lane Village Society. All rights reserved.
"""


def test_a_markdown_clip_is_read_without_its_format_layer() -> None:
    article = _read("wall.md", CLIP)
    assert article.title == HEADLINE
    text = article.text
    for paragraph in PARAGRAPHS:
        assert paragraph in text  # link text kept, emphasis and quote marks dropped
    for markup in ("](", "![", "**", "> ", "# ", "https://"):
        assert markup not in text, markup
    assert "Facebook" not in text and "All rights reserved" not in text and "Skip to content" not in text
    assert article.published == dt.date(2025, 10, 14)


def test_a_clippers_front_matter_names_the_title_and_date() -> None:
    clip = (f"---\ntitle: \"{HEADLINE}\"\nsource: https://example.org/news/wall\npublished: 2025-10-14\n---\n\n"
            + "\n\n".join(PARAGRAPHS) + "\n")
    article = _read("clip.md", clip)
    assert article.title == HEADLINE and article.published == dt.date(2025, 10, 14)
    assert article.url == "https://example.org/news/wall"
    assert "title:" not in article.text and PARAGRAPHS[0] in article.text


def _forwarded_body(quoted: bool) -> str:
    article = "\n\n".join([HEADLINE, "Published 14 October 2025", *PARAGRAPHS])
    if quoted:
        import textwrap

        lines = [("> " + part) if part else ">" for line in article.splitlines()
                 for part in (textwrap.wrap(line, 70) or [""])]
        return "On Sun, 6 Dec 2026 at 18:30, Alex Kim <alex@example.com> wrote:\n" + "\n".join(lines)
    return ("---------- Forwarded message ---------\nFrom: Alex Kim <alex@example.com>\n"
            "Date: Sun, 6 Dec 2026 at 18:30\nSubject: the wall\nTo: Sam <sam@example.org>\n\n" + article)


def _mail(body: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Sam Reed <sam@example.org>"
    message["To"] = "team@example.org"
    message["Subject"] = "Fwd: for the next issue"
    message["Date"] = format_datetime(dt.datetime(2026, 12, 7, 9, 15, tzinfo=dt.timezone.utc))
    message.set_content("Could this go in the next issue?\n\n" + body + "\n\n-- \nSam Reed\nSent from my phone\n")
    return bytes(message)


def test_an_eml_forward_is_read_as_the_forwarded_article_never_the_mails_dates() -> None:
    for quoted in (False, True):
        article = _read("forward.eml", _mail(_forwarded_body(quoted)))
        assert article.title == HEADLINE, quoted
        assert article.published == dt.date(2025, 10, 14), quoted  # not 7 or 6 December 2026
        text = article.text
        assert all(paragraph in text for paragraph in PARAGRAPHS), quoted  # quotes off, wrapped lines joined
        assert "Sent from my phone" not in text and "Sam Reed" not in text and "next issue" not in text
        assert "From:" not in text and ">" not in text


def test_a_pasted_forward_without_a_date_is_undated() -> None:
    body = _forwarded_body(quoted=True).replace("> Published 14 October 2025\n", "")
    pasted = ("From: Sam Reed <sam@example.org>\nDate: Mon, 7 Dec 2026 09:15:00 +0100\nSubject: Fwd: the wall\n\n"
              + body + "\n\n-- \nSam\n")
    article = _read("pasted.txt", pasted)
    assert article.published is None and article.title == HEADLINE
    assert PARAGRAPHS[3] in article.text and "Sam" not in article.text.split(PARAGRAPHS[3])[-1]


def test_a_bullets_trailing_spaces_are_a_hard_break_and_html_goes_after_code_spans() -> None:
    from newsletter.sources.readers.markdown import inline_text, plain_lines

    # markdownify's empty bullet over its wrapped link: two spaces end a markdown line, whatever the marker.
    assert plain_lines(["  *   ", '[DBSCAN](/wiki/DBSCAN "DBSCAN")', "", "  * [OPTICS](/wiki/OPTICS)"])[0] == [
        "-", "DBSCAN", "", "- OPTICS"]
    assert inline_text("Use `<div>` here") == "Use  here"  # a tag once its backticks are gone, as ever


def test_a_list_items_heading_marks_are_dropped_so_a_gallerys_slides_read_as_one() -> None:
    from newsletter.sources.readers.markdown import plain_lines

    assert plain_lines(["- ## 1/50 United goin down", "  * ### 2/50 Star Wars boosts economy"])[0] == [
        "- 1/50 United goin down", "- 2/50 Star Wars boosts economy"]
    slides = "\n".join(f"- ## {n}/6 Slide {n} of the wall's rebuilding\n\nA caption of the slide, telling what "
                       f"the volunteers did on day {n} of the rebuilding of the old wall in the lane."
                       for n in range(1, 7))
    clip = CLIP.replace(f"{PARAGRAPHS[3]}\n", f"{slides}\n\n{PARAGRAPHS[3]}\n")
    assert "Slide" not in _read("wall.md", clip).text


def test_a_teaser_card_that_is_one_link_keeps_no_heading_marks() -> None:
    """A clipper wraps a card that is one link over its lines: the link's text goes on one line, and the
    heading inside it loses its marks."""
    card = ("[![](https://example.org/card.jpg)\n\n  ##### More from the orchard group\n\n"
            "  Read how the group chose the six apple varieties for the new row of trees.](https://example.org/more)")
    article = _read("wall.md", CLIP.replace("## Share this", card + "\n\n## Share this"))
    assert "#" not in article.text
    assert [paragraph in article.text for paragraph in PARAGRAPHS] == [True] * 4


def test_a_clips_numbered_steps_are_items_and_a_number_that_wraps_into_a_line_is_not() -> None:
    steps = ["1. Mark out the line of the wall with pegs and string.",
             "2. Lay the largest stones along the bottom, leaning them slightly inwards so the wall\n   sheds the rain.",
             "3. Fill the gaps with lime mortar."]
    wrapped = ("The wall was first built in the year\n2019. The volunteers found the date scratched into one of the "
               "stones, beside the initials of the mason who set it.")
    clip = CLIP.replace(f"{PARAGRAPHS[3]}\n", f"{PARAGRAPHS[3]}\n\n{wrapped}\n\n" + "\n".join(steps) + "\n")
    items = [block.text for block in _read("wall.md", clip).blocks if block.kind == "item"]
    assert items == [" ".join(step.split()) for step in steps]
    assert " ".join(wrapped.split()) in _read("wall.md", clip).text
