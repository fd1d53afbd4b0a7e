"""The HTML reader's work around trafilatura: what it prepares for the extractor, and how it reads a page's
bylines and dates."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest
import trafilatura

from newsletter.sources.readers import read_source
from newsletter.sources.readers.html import extraction_options
from newsletter.sources.readers.htmlmeta import page_meta
from newsletter.sources.readers.htmltree import body_blocks, parse_html, strip_furniture
from newsletter.sources.source import Source
from tests.conftest import PROJECT

FIXTURE_PAGES = sorted((PROJECT / "tests" / "fixtures" / "html").glob("*.html"))
PROSE = ("<p>Cold air slides downhill on a still night and collects in the lowest corner of the plot, where it "
         "stays until the sun is well up and the frost has had its way with the tender seedlings.</p>")
# Everything trafilatura deletes or unwraps itself, around an article it must find all the same.
CLUTTERED = f"""<!DOCTYPE html><html><head><title>Frost pockets</title><style>p {{color: red}}</style></head><body>
<nav><a href="/">Home</a></nav>
<div class="wrap"><div></div><span></span>
<article><h1>Frost pockets</h1><p>Posted <time datetime="2026-01-05">5 January</time>
by <label>Ann</label> <img src="a.png"> <small>(gardener)</small></p>
{PROSE * 3}
<figure><table><tr><td>Lowest bed</td><td>-4 C</td></tr><tr><td>Highest bed</td><td>-1 C</td></tr></table></figure>
<figure><img src="b.png"><figcaption>The hollow at dawn</figcaption></figure>
<form><p>{"The long form holds the article's last paragraph, as some site builders do. " * 3}</p></form>
<p>Formula: <math alttext="x^2"><mi>x</mi></math> and <font>more</font><br>after a break.</p>
<div><i></i><b></b></div>
</article><aside>Related articles</aside></div><footer>All rights reserved</footer></body></html>"""


def extracted_blocks(html: str, prepared: bool) -> list:
    tree = parse_html(html)
    if prepared:
        strip_furniture(tree)
    return body_blocks(trafilatura.bare_extraction(tree, options=extraction_options(None)).body)


@pytest.mark.parametrize("html", [CLUTTERED, *(path.read_text(encoding="utf-8") for path in FIXTURE_PAGES)])
def test_stripping_furniture_first_changes_nothing_trafilatura_extracts(html: str) -> None:
    assert extracted_blocks(html, prepared=True) == extracted_blocks(html, prepared=False)


def test_stripping_furniture_keeps_forms_figures_with_tables_and_formulas() -> None:
    tree = parse_html(CLUTTERED)
    strip_furniture(tree)
    assert [len(tree.findall(f".//{tag}")) for tag in ("form", "table", "math", "time", "img", "small", "nav")] == \
        [1, 1, 1, 0, 0, 0, 0]
    # one pass, as trafilatura's own: a box left empty by it stays for trafilatura to judge
    assert not [element for element in tree.iter("span", "i", "b") if element.text is None and len(element) == 0]


def test_every_element_of_the_parsed_page_is_an_lxml_html_element() -> None:
    tree = parse_html(CLUTTERED)
    assert all(isinstance(element, lxml.html.HtmlElement) for element in tree.iter("*"))
    assert "Cold air slides downhill" in tree.find(".//article").text_content()


@pytest.mark.parametrize("attribute", ['class="entry-byline"', 'class="post-author"', 'id="ArticleAuthor"',
                                       'rel="author"', 'itemprop="author"'])
def test_a_byline_is_found_by_any_attribute_that_names_an_author(attribute: str) -> None:
    html = (f"<html><head><title>Frost pockets</title></head><body><span {attribute}>Jane Doe</span>"
            f"<h1>Frost pockets</h1><span {attribute}>Ann Lee</span>{PROSE}</body></html>")
    assert page_meta(parse_html(html)).byline == "Ann Lee"  # the one after the headline


def test_dates_come_from_itemprop_elements_when_the_head_has_none() -> None:
    html = ("<html><head><title>Frost pockets</title></head><body><h1>Frost pockets</h1>"
            '<time itemprop="datePublished" datetime="2026-01-05">5 January</time>'
            '<meta itemprop="dateModified" content="2026-02-01">'
            '<span itemprop="datePublished">no date attribute here</span>' + PROSE + "</body></html>")
    meta = page_meta(parse_html(html))
    assert (meta.published, meta.updated) == (dt.date(2026, 1, 5), dt.date(2026, 2, 1))


def read_page(html: str):
    return read_source(Source("page.html", None, html.encode("utf-8")))


@pytest.mark.parametrize("clue", [
    '<link rel="canonical" href="https://plot17.example/2024/03/05/frost-pockets">',  # a dated address
    '<meta property="og:pubdate" content="2024-03-05">',  # a name only htmldate knows
])
def test_a_date_the_page_metadata_misses_comes_from_htmldate(clue: str) -> None:
    html = f"<html><head><title>Frost pockets</title>{clue}</head><body><h1>Frost pockets</h1>{PROSE}</body></html>"
    assert read_page(html).published == dt.date(2024, 3, 5)


def test_the_page_metadata_date_wins_over_htmldate_and_an_earlier_update_is_dropped() -> None:
    head = ('<link rel="canonical" href="https://plot17.example/2024/03/05/frost-pockets">'
            '<meta property="article:published_time" content="2024-01-02T08:00:00Z">')
    html = f"<html><head><title>Frost pockets</title>{head}</head><body><h1>Frost pockets</h1>{PROSE}</body></html>"
    assert read_page(html).published == dt.date(2024, 1, 2)
    undated = html.replace('<meta property="article:published_time" content="2024-01-02T08:00:00Z">',
                           '<meta property="article:modified_time" content="2024-01-02">')
    assert (read_page(undated).published, read_page(undated).updated) == (dt.date(2024, 3, 5), None)


def dated_page(stated: str | None, *shown: str) -> str:
    head = f'<meta property="article:published_time" content="{stated}">' if stated else ""
    lines = "".join(f"<div>{line}</div>" for line in shown)
    return (f"<html><head><title>Frost pockets</title>{head}</head><body><nav>Home | Garden | Weather</nav>"
            f"<h1>Frost pockets</h1>{lines}{PROSE * 3}<footer>Comments</footer></body></html>")


def test_the_dateline_readers_see_dates_a_page_whose_metadata_states_a_later_date_it_does_not_show() -> None:
    assert read_page(dated_page("2024-05-20T09:00:00Z", "By Ann Example | 3 May 2024")).published \
        == dt.date(2024, 5, 3)  # the stated date is when the page was rebuilt
    assert read_page(dated_page(None, "Veröffentlicht am 3. Mai 2024")).published == dt.date(2024, 5, 3)


@pytest.mark.parametrize("shown", [
    ("By Ann Example | 20 May 2024", "Updated 21 May 2024"),  # the page shows the stated date
    ("By Ann Example | 22 May 2024",),  # a later dateline (a comment's, today's in the masthead)
    ("By Ann Example | 05/20/2024",),  # the stated date, written month first
])
def test_the_stated_date_stands_when_the_page_shows_it_or_only_later_ones(shown: tuple[str, ...]) -> None:
    assert read_page(dated_page("2024-05-20T09:00:00Z", *shown)).published == dt.date(2024, 5, 20)


@pytest.mark.parametrize(("stated", "title"), [
    ("Frost pockets - Plot17.de", "Frost pockets"),
    ("Garden notes: Frost pockets", "Frost pockets"),
    ("Frost pockets / Weather / Plot 17", "Frost pockets"),
    ("Frost pockets and how to beat them", "Frost pockets and how to beat them"),  # a longer headline, not a site
    ("Frost pocketsmith - Plot17.de", "Frost pocketsmith - Plot17.de"),  # the heading is no whole part of it
])
def test_a_stated_title_that_adds_a_site_or_section_name_to_the_headline_is_the_headline(stated: str, title: str) -> None:
    html = (f'<html><head><title>x</title><meta property="og:title" content="{stated}"></head>'
            f"<body><h1>Frost pockets</h1>{PROSE * 2}</body></html>")
    assert read_page(html).title == title


@pytest.mark.parametrize("box", ['<div class="comment">{}</div>', '<div id="sidebar"><p>{}</p></div>'])
def test_a_short_page_in_a_box_trafilatura_takes_for_furniture_is_still_an_article(box: str) -> None:
    html = f"<html><head><title>Frost pockets</title></head><body>{box.format(PROSE)}</body></html>"
    assert read_page(html).prose == [PROSE.removeprefix("<p>").removesuffix("</p>")]


def test_when_trafilatura_keeps_a_small_share_of_the_pages_paragraphs_they_are_read_instead() -> None:
    stray = "<p>Filed under winter.</p>"
    html = (f"<html><head><title>Frost pockets</title></head><body>{stray}"
            f'<div class="comment-body">{PROSE}{PROSE.replace("Cold", "Damp")}{PROSE.replace("Cold", "Still")}</div>'
            "</body></html>")
    assert [paragraph.split()[0] for paragraph in read_page(html).prose] == ["Filed", "Cold", "Damp", "Still"]


def test_the_paragraphs_trafilatura_rightly_leaves_out_stay_out() -> None:
    comments = '<div class="comments"><p>Great post, thanks for sharing this with all of us here.</p></div>'
    html = (f"<html><head><title>Frost pockets</title></head><body><article><h1>Frost pockets</h1>{PROSE * 2}"
            f"</article>{comments}</body></html>")
    assert "Great post" not in read_page(html).text
