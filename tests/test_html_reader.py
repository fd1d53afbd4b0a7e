"""Saved and fetched web pages: the article, its metadata, and pages in awkward encodings."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from pathlib import Path

import pytest

from newsletter.errors import SourceError
from newsletter.sources.readers import read_article, read_source
from newsletter.sources.source import Source
from tests.conftest import PROJECT

PAGES = PROJECT / "tests" / "fixtures" / "html"
BODY = ("<p>Cold air slides downhill on a still night and collects in the lowest corner of the plot, "
        "where it stays until the sun is well up.</p>")


def page(title: str = "Frost pockets", body: str = BODY, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


def fetched(data: bytes, media_type: str = "", charset: str | None = None) -> Source:
    """A page as the URL fetcher hands it on: bytes, no path."""
    return Source("https://plot17.example/frost", None, data, True, media_type, charset)


def test_metadata_comes_from_the_page_head() -> None:
    article = read_article("beehive.html", PAGES)
    assert article.title == "Our first beehive: a year of lessons & honey"
    assert article.byline == "Marta Kowalczyk, Idris Bello"
    assert (article.published, article.updated) == (dt.date(2026, 9, 14), dt.date(2026, 10, 2))
    assert article.site == "Northwind Community Gardens"
    assert article.description.startswith("What a year with two colonies")
    assert article.url == "https://northwind.example/blog/first-beehive"
    assert article.image == "https://northwind.example/media/hive-frame.jpg"
    assert article.image_alt == "A frame of capped honey held up to the light"
    assert article.language == "en-GB"


def test_body_keeps_headings_paragraphs_and_items_and_nothing_around_them() -> None:
    article = read_article("beehive.html", PAGES)
    kinds = [(block.kind, block.text) for block in article.blocks]
    assert ("heading", "What surprised us") in kinds
    assert ("item", "Phacelia sown as a green manure between the potato beds.") in kinds
    assert kinds[0][0] == "paragraph" and kinds[0][1].startswith("When two colonies of bees arrived")
    assert article.prose[-1].startswith("If you would like to join the beekeeping rota")
    for furniture in ("cookies", "Donate", "Share this", "Related articles", "Grace Hollis", "courgette",
                      "Registered charity", "All rights reserved", "tracking code", "Our first beehive"):
        assert furniture not in article.text, furniture


def test_title_without_metadata_is_the_page_title_less_its_site_name() -> None:
    article = read_article("plain-page.html", PAGES)
    assert article.title == "Frost pockets and where to plant"
    assert (article.byline, article.published, article.site, article.language) == (None, None, None, None)
    assert "Lowest bed:  -4 C at dawn".replace("  ", " ") + "\nHighest bed: -1 C at dawn" in article.prose
    assert "Archive" not in article.text


def test_entities_are_text_and_markup_is_not() -> None:
    body = ("<p>Three &lt; four &amp; &quot;five&quot; &gt; two, and &lt;script&gt;alert(1)&lt;/script&gt; "
            "is only words in this paragraph about frost.</p><script>stolen = document.cookie</script>"
            "<p>A second paragraph <b>in bold</b> keeps its words but not its tags, as any reader would expect.</p>")
    article = read_source(fetched(page("Tom &amp; Jerry&#8217;s plot", body).encode()))
    assert article.title == "Tom & Jerry’s plot"
    assert 'Three < four & "five" > two, and <script>alert(1)</script> is only words' in article.text
    assert "A second paragraph in bold keeps its words" in article.text
    assert "stolen" not in article.text and "<b>" not in article.text


@pytest.mark.parametrize("data, media_type, charset", [
    (page("Café “frost” notes", head='<meta charset="windows-1252">').encode("cp1252"), "", None),
    # pages labelled latin-1 are read as windows-1252, as browsers do, or the curly quotes break
    (page("Café “frost” notes", head='<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">')
     .encode("cp1252"), "", None),
    (page("Café “frost” notes").encode("cp1252"), "text/html", "windows-1252"),
    (codecs.BOM_UTF8 + page("Café “frost” notes").encode("utf-8"), "", None),
    (codecs.BOM_UTF16_LE + page("Café “frost” notes").encode("utf-16-le"), "", None),
    # declared UTF-8 but saved as windows-1252: the bytes win over the label
    (page("Café “frost” notes", head='<meta charset="utf-8">').encode("cp1252"), "", None),
    # no declaration at all and not UTF-8: the encoding is guessed
    (page("Café “frost” notes", body=BODY * 3).encode("cp1252"), "", None),
])
def test_character_encodings(data: bytes, media_type: str, charset: str | None) -> None:
    assert read_source(fetched(data, media_type, charset)).title == "Café “frost” notes"


def test_xhtml_with_an_xml_declaration() -> None:
    xhtml = page("Frost pockets").replace("<html>", '<html xmlns="http://www.w3.org/1999/xhtml">')
    xhtml = '<?xml version="1.0" encoding="utf-8"?>\n' + xhtml
    article = read_source(fetched(xhtml.encode(), "application/xhtml+xml"))
    assert article.title == "Frost pockets" and article.prose[0].startswith("Cold air slides downhill")


@pytest.mark.parametrize("data, message", [
    (b"\x00\x01\x02<html><body>" + b"\xff\xfe\x00" * 50, "binary data, not an HTML page"),
    (page("Frost", body="").encode(), "no article text found in the page"),
    (b"<!DOCTYPE html><html><head></head><body><p>" + b"Text without any title at all, only words. " * 5
     + b"</p></body></html>", "no title found in the page"),
    (b"<!DOCTYPE html>\n   \n", "no article text found|not an HTML page"),
])
def test_unreadable_pages_say_why_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message) as raised:
        read_source(fetched(data, "text/html"))
    assert "\n" not in str(raised.value) and str(raised.value).startswith("https://plot17.example/frost: ")


def test_html_is_recognised_by_its_bytes_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "saved-page").write_text(page("Frost pockets on the lower beds"), encoding="utf-8")
    (tmp_path / "dump.txt").write_text("Frost pockets on the lower beds\nBy Ann Example\n" + BODY[3:-4] + "\n")
    assert read_article("saved-page", tmp_path).title == "Frost pockets on the lower beds"
    assert read_article("dump.txt", tmp_path).byline == "Ann Example"
    assert read_source(fetched(page("Frost pockets on the lower beds").encode())).url == "https://plot17.example/frost"


def test_relative_links_resolve_against_the_fetched_url() -> None:
    head = '<meta property="og:image" content="img/frost.jpg"><link rel="canonical" href="/frost-pockets">'
    article = read_source(fetched(page("Frost pockets", head=head).encode(), "text/html"))
    assert article.url == "https://plot17.example/frost-pockets"
    assert article.image == "https://plot17.example/img/frost.jpg"


def test_extract_command_reads_a_saved_page(cli) -> None:
    result = cli("extract", PAGES / "beehive.html", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["title"] == "Our first beehive: a year of lessons & honey"
    assert (data["published"], data["updated"], data["language"]) == ("2026-09-14", "2026-10-02", "en-GB")
    assert data["summary"] and data["summary"].split()[0] in data["text"]


def test_json_ld_text_keeps_no_html_character_references() -> None:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle",
          "headline": "&#8216;Frost pockets&#8217; &amp; cold corners of the plot",
          "author": {"@type": "Person", "name": "Ren&eacute;e Ortiz"},
          "description": "Where cold air settles &ndash; and what to plant there."}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    article = read_source(Source("frost.html", Path("frost.html"), page(head=head).encode()))
    assert article.title == "‘Frost pockets’ & cold corners of the plot"
    assert article.byline == "Renée Ortiz"
    assert article.description == "Where cold air settles – and what to plant there."


@pytest.mark.parametrize("byline", ["<p><time>12 March 2025</time> · By Ann Example</p>", "<p>By Ann Example</p>"])
def test_a_byline_or_dateline_at_the_head_of_the_text_is_no_part_of_it(byline: str) -> None:
    second = ("<p>Frost pockets are easy to find: walk the plot at dawn after a clear night and look where the "
              "white lingers longest on the grass and on the leaves of the lowest beds.</p>")
    article = read_source(Source("frost.html", Path("frost.html"), page(body=byline + BODY + second).encode()))
    assert article.blocks[0].text.startswith("Cold air slides downhill")
    assert "Ann Example" not in article.text


def test_a_short_recipes_lists_are_read_though_trafilaturas_quick_reading_drops_them() -> None:
    ingredients = ["200 g self-raising flour", "200 g caster sugar", "200 g soft butter", "4 eggs", "Zest of 2 lemons"]
    steps = ["Heat the oven to 180C and line a loaf tin with baking paper.",
             "Beat the butter and sugar until pale, then beat in the eggs one at a time.",
             "Fold in the flour and the zest, then spoon the batter into the tin."]
    body = ("<p>This lemon cake is the one my grandmother baked for every village fete, and it has never once come "
            "home with a slice left on the plate.</p><h2>Ingredients</h2><ul>"
            + "".join(f"<li>{item}</li>" for item in ingredients) + "</ul><h2>Method</h2><ol>"
            + "".join(f"<li>{step}</li>" for step in steps) + "</ol>")
    article = read_source(Source("cake.html", Path("cake.html"), page("Lemon cake", body).encode()))
    assert [block.text for block in article.blocks if block.kind == "item"] == [*ingredients, *steps]
