"""Page dumps as browsers and terminal browsers make them: every page gives a body and a title.

The dev-set dumps are generated here from ../shared (through ``shared_dir``) into a temporary cache,
with the same script as the benchmark (benchmarks/make_dumps.py); none is stored in the repository.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from newsletter.sources.readers import read_article
from newsletter.sources.readers.pagedump import classify, split_dump, unwrap
from tests.conftest import benchmark_module

make_dumps = benchmark_module("make_dumps")
evaluation = benchmark_module("evaluation")

PARAGRAPHS = [
    "The allotment society has finally agreed to build a shared tool shed beside the main gate, after three "
    "years of members carrying spades and forks back and forth on the bus.",
    "The shed will be built from larch boards donated by the sawmill in the village, and the roof will collect "
    "rain into two tanks so that the nearest plots can be watered without the long walk to the tap.",
    "Members who want a key should ask at the society's stall on Saturday mornings; the deposit is five pounds "
    "and is returned when the key comes back at the end of the season.",
]


def wrapped(paragraph: str, width: int = 66, indent: str = "   ") -> list[str]:
    """A paragraph as lynx lays it out: indented, wrapped at a fixed width."""
    lines, line = [], ""
    for word in paragraph.split():
        if line and len(indent + line + " " + word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [indent + line]


def lynx_page(*header: str) -> str:
    body = [line for paragraph in PARAGRAPHS for line in [*wrapped(paragraph), ""]]
    # a capital at the start of a wrapped line ("... at the society's stall on" / "Saturday mornings")
    assert any(line.strip()[:1].isupper() for p in PARAGRAPHS for line in wrapped(p)[1:])
    return "\n".join(["   #Plot Notes RSS feed", "", *header, "", *body]) + "\n"


def test_a_terminal_dump_is_unwrapped_and_its_headline_found() -> None:
    parts = split_dump(lynx_page("     * Home", "     * Events", "",
                                 "Shared tool shed for the allotment society", "",
                                 "   By Ann Example", "   Published 3 March 2025"))
    paragraphs = [block.text for block in parts.blocks if block.kind == "paragraph"]
    assert paragraphs == PARAGRAPHS  # each wrapped paragraph is one again, capitals after full lines included
    assert parts.title == "Shared tool shed for the allotment society"
    assert parts.byline == "Ann Example" and parts.published == dt.date(2025, 3, 3)


def test_a_dump_without_a_headline_still_gives_its_article(tmp_path: Path) -> None:
    (tmp_path / "shed.txt").write_text("\n\n".join(PARAGRAPHS) + "\n", encoding="utf-8")
    article = read_article("shed.txt", tmp_path)
    assert article.text.startswith("The allotment society has finally agreed")
    assert article.title == "The allotment society has finally agreed to build a shared tool shed…"


@pytest.mark.parametrize("line", ["jane@example.org", "1 hour ago", "Photo: Jane Example/Getty Images",
                                  "Call us at (555) 123-4567", "science & health",
                                  "Members at the shed © APA/APA (dpa)/Jane Example",
                                  "Larch boards before the build (c) Jane Example", "Über uns", "Mentions légales"])
def test_addresses_time_stamps_captions_and_labels_are_never_titles(line: str) -> None:
    parts = split_dump("\n".join(["Plot Notes", line, *PARAGRAPHS]) + "\n")
    assert parts.title != line
    assert parts.blocks[0].text == PARAGRAPHS[0]


def test_w3m_marks_and_a_related_run_above_the_article() -> None:
    dump = "\n".join([
        "Shared tool shed for the allotment society",
        "12 March 2025",
        "Related",
        "Seed swap draws a record crowd",
        "By Sam Other",
        "2 January 2024",
        "[INS:" + PARAGRAPHS[0] + ":INS]",
        *PARAGRAPHS[1:],
    ]) + "\n"
    parts = split_dump(dump)
    assert parts.title == "Shared tool shed for the allotment society"
    assert parts.published == dt.date(2025, 3, 12)  # not the related story's date, nor its byline
    assert parts.byline is None
    assert parts.blocks[0].text == PARAGRAPHS[0]


def test_a_live_ticker_and_a_closing_pitch_are_not_the_article() -> None:
    ticker = [f"{hour}:15 {news}" for hour, news in (
        (14, "Council approves the new bus lanes on Main Street after a long debate in the town hall"),
        (13, "Heavy rain is expected across the whole of the region tonight and into tomorrow"),
        (12, "The library opening hours change from next week, with later closing on Thursdays"))]
    dump = "\n".join(["Shared tool shed for the allotment society", *PARAGRAPHS, "Grow more with us",
                      "Discover our range of raised-bed kits and order yours today.",
                      "Join our members' club and get your first month of seed deliveries free with us.",
                      "Live", *ticker]) + "\n"
    body = "\n".join(block.text for block in split_dump(dump).blocks)
    assert PARAGRAPHS[-1] in body
    for furniture in ("Grow more", "Discover our", "Join our", "bus lanes", "library opening"):
        assert furniture not in body


@pytest.mark.parametrize("notice", [
    "We use cookies and similar technologies to improve your browsing experience, to personalise the content and "
    "offers you see, to measure how our pages are used and to understand where our readers come from, and by "
    "continuing to use this site you consent to the use of all of these cookies by us and by the partners who help "
    "us run the site and show you relevant offers.",
    "Wir verwenden Technologien wie Cookies, um Geräteinformationen zu speichern und/oder darauf zuzugreifen. Wenn "
    "Sie diesen Technologien zustimmen, können wir Daten wie das Surfverhalten oder eindeutige IDs auf dieser "
    "Website verarbeiten. Wenn Sie Ihre Zustimmung nicht erteilen oder zurückziehen, können bestimmte Merkmale und "
    "Funktionen beeinträchtigt werden.",
    "Nous utilisons des cookies pour mesurer l'audience de nos pages, vous proposer des contenus adaptés à vos "
    "centres d'intérêt et vous permettre de les partager sur les réseaux sociaux; en poursuivant votre navigation "
    "sur ce site, vous acceptez leur utilisation par nous et par nos partenaires.",
])
def test_a_long_cookie_notice_is_not_the_article(notice: str) -> None:
    # the whole article, so that the page's language is the article's, whatever the notice's
    parts = split_dump("\n".join(["Accept and continue", notice, "Manage settings", "Plot Notes", "Not a member yet?",
                                  "Shared tool shed for the allotment society", *PARAGRAPHS]) + "\n")
    assert notice not in [block.text for block in parts.blocks]
    assert parts.title == "Shared tool shed for the allotment society"
    assert [line.kind for line in classify([notice, *PARAGRAPHS])] == ["boilerplate", "prose", "prose", "prose"]


def test_a_comment_count_after_the_headline_is_not_part_of_it() -> None:
    parts = split_dump("\n".join(["Shared tool shed for the allotment society", "Events", "Recipes",
                                  "Shared tool shed for the allotment society 12", "By Ann Example", "3 March 2025",
                                  *PARAGRAPHS]) + "\n")
    assert parts.title == "Shared tool shed for the allotment society"


def test_formula_markup_of_terminal_dumps_is_dropped() -> None:
    formula = "[MATH: <semantics> <mi> A </mi> </semantics> :MATH]\n{\\displaystyle A^{\\mathsf {H}}=A}"
    parts = split_dump("\n".join(["Shared tool shed for the allotment society", PARAGRAPHS[0],
                                  "The tanks hold " + formula + " litres each.", *PARAGRAPHS[1:]]) + "\n")
    body = "\n".join(block.text for block in parts.blocks)
    assert "MATH" not in body and "displaystyle" not in body and "mathsf" not in body
    assert PARAGRAPHS[-1] in body


def test_a_w3m_formula_printed_on_both_sides_of_its_tex_goes_with_it() -> None:
    line = ("A square plot V {\\displaystyle V} V is level if and only if it drains into the ditch, so the\n"
            "committee checks every plot each spring before the new tenants arrive.")
    body = "\n".join(block.text for block in split_dump("\n".join([
        "Shared tool shed for the allotment society", PARAGRAPHS[0], line, *PARAGRAPHS[1:]]) + "\n").blocks)
    assert "A square plot is level" in body and "V V" not in body


def test_image_and_form_placeholders_of_terminal_dumps_are_dropped() -> None:
    placeholders = ["   [shed-plan-2025.jpg?w=640&amp;q=80]", "     * [thumb-01.png] +10",
                    "   [                    ] [Sign Up]", "   IFRAME: https://video.example/embed/42"]
    dump = lynx_page("Shared tool shed for the allotment society", "",
                     "   [Read: Seed swap draws a record crowd at the village hall]")
    dump = dump.replace("\n\n   The shed", "\n\n" + "\n".join(placeholders) + "\n\n   The shed")
    body = "\n".join(block.text for block in split_dump(dump).blocks)
    for placeholder in (".jpg", ".png", "Sign Up", "IFRAME"):
        assert placeholder not in body
    assert "[Read: Seed swap draws a record crowd at the village hall]" in body  # an editor's aside stays
    assert PARAGRAPHS[0] in body


def test_a_photos_alt_text_beside_its_caption_is_dropped() -> None:
    caption = "Members carry spades and forks to the plots at the main gate, where the shed will stand"
    parts = split_dump("\n".join([
        "Shared tool shed for the allotment society", "By Ann Example",
        "Shared tool shed for the allotment society Jane Photographer/Getty",  # alt text run into a credit
        PARAGRAPHS[0],
        "Members carrying spades and forks to the plots at the main gate where the shed",  # alt text, cut short
        "* " + caption, "Members carry spades",  # the same words again in the caption below it
        *PARAGRAPHS[1:]]) + "\n")
    body = "\n".join(block.text for block in parts.blocks)
    assert parts.title == "Shared tool shed for the allotment society"
    assert "Members carrying" not in body and caption in body
    assert PARAGRAPHS[-1] in body


def test_a_w3m_two_column_layout_is_read_column_by_column() -> None:
    items = [f"+ Added {thing}" for thing in ("larch boards for the shed walls", "two rain tanks by the roof",
                                              "a lock and five keys", "hooks for spades and forks", "a bench",
                                              "a noticeboard by the door", "shelves for seed trays",
                                              "a window facing the plots", "a path of bark chips")]
    sidebar = ["Official links:", "Society home", "Seed swap", "Bug tracker", "Contact the secretary",
               "Newsletter archive", "Plot waiting list", "Committee minutes", "Rules of the society"]
    dump = ["Shared tool shed for the allotment society", ""]
    dump += [f"{item:<50}{link}" for item, link in zip(items, sidebar)]
    dump += ["", *PARAGRAPHS]
    text = "\n".join(block.text for block in split_dump("\n".join(dump) + "\n").blocks)
    for item in items:
        assert item.lstrip("+ ") in text.replace("\n", " ")  # each item whole, with no sidebar link inside
    assert not any(link in line for line in text.splitlines() for link in sidebar if "Added" in line)


def test_a_repeated_one_word_picture_label_does_not_split_a_feature_list() -> None:
    dump = ["Mozilla", "Welcome to the allotment society", PARAGRAPHS[0]]
    features = [f"Members asked for the {name.lower()} at the spring meeting, and the committee agreed to pay "
                f"for it out of this year's fees."
                for name in ("Shed", "Tanks", "Keys", "Bench", "Paths", "Seeds")]
    for feature, name in zip(features, ("Shed", "Tanks", "Keys", "Bench", "Paths", "Seeds")):
        dump += ["* Screenshot", name, feature, f"Learn more about {name}"]
    body = "\n".join(block.text for block in split_dump("\n".join(dump) + "\n").blocks)
    assert all(feature in body for feature in features) and "Screenshot" not in body


def test_a_list_of_teasers_above_the_article_is_not_its_start() -> None:
    teasers = []
    for story in ("Seed swap draws a record crowd at the village hall this spring",
                  "Council to repair the footpath along the canal after the winter floods",
                  "Beekeepers warn of a late frost that could harm the early blossom"):
        teasers += ["• " + story, story.replace(" at the", " in the")]
    parts = split_dump("\n".join([*teasers, "Home", "Shared tool shed for the allotment society",
                                  "By Ann Example", *PARAGRAPHS]) + "\n")
    body = "\n".join(block.text for block in parts.blocks)
    assert parts.title == "Shared tool shed for the allotment society"
    assert "Seed swap" not in body and "Beekeepers" not in body


def test_counted_category_lists_weigh_against_the_body() -> None:
    categories = [f"* {name} ({count})" for name, count in (("Allotments", 53), ("Events", 12), ("Recipes", 31),
                                                          ("Wildlife", 8), ("Tools and equipment", 17))]
    parts = split_dump("\n".join(["Shared tool shed for the allotment society", *PARAGRAPHS, "Categories",
                                  *categories]) + "\n")
    assert not any("(53)" in block.text for block in parts.blocks)


@pytest.mark.parametrize("line, day_first, date", [
    ("10.15.15", True, dt.date(2015, 10, 15)),  # no 15th month: read month first whatever the order
    ("11.03.17 in Gadgets", False, dt.date(2017, 11, 3)),
    ("Mar 3, 2025 5:00 PM ET", True, dt.date(2025, 3, 3)),
    ("03-03-2025", True, dt.date(2025, 3, 3)),
])
def test_visible_date_formats(line: str, day_first: bool, date: dt.date) -> None:
    parts = split_dump("\n".join(["Shared tool shed for the allotment society", line, *PARAGRAPHS]) + "\n",
                       day_first)
    assert parts.published == date


# --- the dev set in every dump style, generated from ../shared ---

DEV_PAGES = ["001", "aclu", "cnn", "lemonde-1", "msn", "seattletimes-1", "toc-missing", "wikipedia-3"]


def _tools_present(style: str) -> None:
    needed = {"lynx": "lynx", "w3m": "w3m"}.get(style)
    if needed and not shutil.which(needed):
        pytest.fail(f"{needed} not found: `make test` installs it (apt-get install lynx w3m)")
    if style == "browser" and not Path(os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium")).is_file():
        pytest.fail("chromium not found: `make test` installs Debian's chromium")


@pytest.mark.slow
@pytest.mark.parametrize("style", [pytest.param(style, marks=[pytest.mark.browser] if style == "browser" else [])
                                   for style in make_dumps.STYLES])
def test_every_dump_style_gives_every_page_a_body_and_a_title(style: str, shared_dir: Path, tmp_path: Path) -> None:
    _tools_present(style)
    data = shared_dir / "eval" / "readability"
    dumps = make_dumps.cached_dumps(style, data, DEV_PAGES, tmp_path)
    pages = evaluation.load_pages(data, DEV_PAGES)
    suffix = make_dumps.SUFFIXES.get(style, ".txt")
    results = [evaluation.evaluate_page(page, dump=dumps[page.page_id], suffix=suffix) for page in pages]
    for result in results:
        assert result.dump.error is None, (style, result.page.page_id, result.dump.error)
        assert result.dump.title and result.dump.text.strip(), result.page.page_id
    scores = evaluation.average([result.dump_overlap for result in results])
    raw = evaluation.average([result.raw for result in results])
    assert scores.f1 > raw.f1 + 0.1 and scores.f1 > 0.85, (style, scores, raw)
    headlines = evaluation.headline_accuracy([(result.page, result.dump) for result in results])
    assert headlines.share >= 0.6, (style, headlines)


def test_a_formulas_text_beside_its_tex_goes_and_lynx_formulas_no_longer_split_sentences() -> None:
    w3m = ("The yield per plot is y i j ¯ {\\displaystyle {\\overline {y_{ij}}}} y_{ij} which the "
           "committee checks every spring before the new tenants arrive at the gate.")
    lynx = ("   Each plot\n   [MATH: <semantics> <mi> P </mi> <annotation encoding=\"application/x-tex\">\n"
            "   {\\displaystyle P} </annotation> </semantics> :MATH]\n"
            "   P is dug over in March by the tenants who share the shed and its tools.")
    for formula in (w3m, lynx):
        body = "\n".join(block.text for block in split_dump("\n".join([
            "Shared tool shed for the allotment society", PARAGRAPHS[0], formula, *PARAGRAPHS[1:]]) + "\n").blocks)
        assert "displaystyle" not in body and "semantics" not in body and "y_{ij}" not in body
        assert "The yield per plot is which the committee" in body or \
            "Each plot is dug over in March" in body  # one sentence again, the formula's text gone


MORE_PARAGRAPHS = [
    "Work on the foundations starts next month, and the committee hopes to have the walls and roof up before "
    "the first frosts, so that tools can be stored there over the winter.",
    "Anyone who can lend a hand with the building is asked to leave their name at the stall, since the society "
    "would rather spend its small budget on timber than on paid labour.",
]


def test_a_gallery_inside_the_article_is_crossed_and_left_out() -> None:
    slides = []
    for number, (caption, text) in enumerate([
            ("Record marrow", "A marrow weighing forty kilos won the village show, to the surprise of its grower."),
            ("Bees return", "The hives at the far end of the site are busy again after a quiet and cold spring."),
            ("Frost damage", "Early potatoes on the lower plots were lost to a late frost in the first week of May."),
            ("New pond", "Volunteers dug a wildlife pond by the hedge, and frogs had moved in within a fortnight.")], 1):
        slides += [f"   * {number}/4 {caption}", "", f"   {text}", "", "   Photo Agency", ""]
    dump = "\n".join(["Shared tool shed for the allotment society", "", *[f"   {p}\n" for p in PARAGRAPHS],
                      "Allotment news in pictures", "", *slides, *[f"   {p}\n" for p in MORE_PARAGRAPHS]]) + "\n"
    body = "\n".join(block.text for block in split_dump(dump).blocks)
    assert PARAGRAPHS[0] in body and MORE_PARAGRAPHS[-1] in body  # read across the gallery
    for slide in ("marrow", "hives", "potatoes", "wildlife pond", "1/4"):
        assert slide not in body


def test_a_bulleted_live_ticker_with_paragraphs_of_its_own_is_not_the_article() -> None:
    ticker = []
    for hour, headline, paragraph in (
            (14, "Bus lanes approved", "The council approved the new bus lanes on Main Street after a long debate in "
                                       "the town hall, and work is due to start in the autumn."),
            (13, "Rain warning", "Heavy rain is expected across the whole of the region tonight and into tomorrow, "
                                 "with flooding likely on the low roads by the river."),
            (12, "Library hours", "The library opening hours change from next week, with later closing on "
                                  "Thursdays and a new reading group that meets on Saturday mornings.")):
        ticker += [f"   * {hour}:15 {headline}", "", f"   {paragraph}", ""]
    dump = "\n".join(["Shared tool shed for the allotment society", "", *[f"   {p}\n" for p in PARAGRAPHS],
                      "Live", "", *ticker]) + "\n"
    body = "\n".join(block.text for block in split_dump(dump).blocks)
    assert PARAGRAPHS[-1] in body
    for entry in ("Bus lanes", "bus lanes", "Heavy rain", "library opening"):
        assert entry not in body


def test_a_menu_of_blurbs_above_the_article_is_not_its_start() -> None:
    menu = []
    for section, items, blurb in (
            ("Gardening", ["Seed swap dates", "Plot rules and fees", "Ask the growers"],
             "Everything the society offers its members, from seed swaps to the spring show, in one place."),
            ("Events", ["Talks this season", "Work days on site", "The spring show"],
             "Our volunteers run talks and work days on the site throughout the year for all the members."),
            ("About", ["Our committee members", "History of the site", "Join the society"],
             "For almost forty years the society has kept the village allotments open to anyone who asks.")):
        menu += [f"• {section}", *[f"□ {item}" for item in items], f"Go to {section}", blurb]
    dump = "\n".join(["Skip to content", *menu, "Shared tool shed for the allotment society", "By Ann Example",
                      "3 March 2025", *PARAGRAPHS, *MORE_PARAGRAPHS]) + "\n"
    parts = split_dump(dump)
    body = "\n".join(block.text for block in parts.blocks)
    assert parts.title == "Shared tool shed for the allotment society"
    assert parts.byline == "Ann Example" and parts.published == dt.date(2025, 3, 3)
    assert body.startswith(PARAGRAPHS[0]) and "seed swaps" not in body and "Work days" not in body


def test_a_review_opening_above_its_verdict_box_stays() -> None:
    opening = ("The new shed is the best thing the society has built in years. " * 6).strip()
    box = ["Verdict", "Pros", "Roomy and dry", "Cheap to build", "Cons", "No electricity", "Score", "8.5", "Buy now",
           "Key specs", "Floor area two by three", "Larch boards and felt roof", "Warranty", "Two years"]
    body = "\n".join(block.text for block in split_dump("\n".join(
        ["Shared tool shed for the allotment society", opening, *box, *PARAGRAPHS, *MORE_PARAGRAPHS]) + "\n").blocks)
    assert body.startswith(opening)


def test_a_syndication_credit_is_no_byline() -> None:
    parts = split_dump("\n".join(["Shared tool shed for the allotment society", "© Provided by Village Post",
                                  *PARAGRAPHS]) + "\n")
    assert parts.byline is None


def test_an_article_split_by_a_video_players_menus_is_read_whole() -> None:
    opening = [
        "The allotment society has finally agreed to build a shared tool shed beside the main gate of the site, "
        "after three years of members carrying spades, forks and heavy watering cans back and forth on the bus.",
        "The shed will be built from larch boards donated by the sawmill, and members of the society expect the "
        "tool shed to save them hours every week, since the spades and forks can stay at the allotment site.",
        "Members of the society voted for the shed at the spring meeting, with only two members against it, and "
        "the committee thanked the sawmill for the boards and the members who offered to help build it."]
    player = ["Play Video", "Play", "Mute", "Current Time 0:00", "Captions", "Fullscreen", "This is a modal window.",
              *[colour for _ in range(3) for colour in ("White", "Black", "Red", "Opaque")], "Font Size", "50%",
              "100%", "200%", "Defaults", "Done", "Close"]
    dump = "\n".join(["Home | Events | Recipes", "Shared tool shed for the allotment society", "By Ann Example",
                      *opening, *player, *PARAGRAPHS[1:], *MORE_PARAGRAPHS]) + "\n"
    parts = split_dump(dump)
    body = "\n".join(block.text for block in parts.blocks)
    assert body.startswith(opening[0]) and MORE_PARAGRAPHS[-1] in body
    assert "Opaque" not in body and parts.title == "Shared tool shed for the allotment society"


def test_a_photos_alt_text_run_into_the_paragraph_above_its_caption_is_dropped() -> None:
    paragraph = ("   The committee met at the gate on Sunday to mark out the ground, and agreed on a site that gets the\n"
                 "   morning sun. Members carry spades and forks to the plots at the main gate.\n")
    caption = "     * Members carry spades and forks to the plots at the main gate\n"
    dump = lynx_page("Shared tool shed for the allotment society").replace(
        "\n\n   The shed", "\n\n" + paragraph + "\n" + caption + "\n   The shed")
    body = "\n".join(block.text for block in split_dump(dump).blocks)
    assert "agreed on a site that gets the morning sun.\n" in body + "\n"
    assert body.count("Members carry spades and forks") == 1


def test_a_short_numbered_ranking_stays_in_the_article_and_doubled_teasers_do_not() -> None:
    ranking = [f"{rank}. {village}" for rank, village in enumerate(
        ["Ashby", "Brill", "Cholsey", "Didcot", "Ewelme", "Frilford", "Goring", "Harwell", "Ipsden", "Kidmore"], 1)]
    teasers = [f"* {headline} {headline}" for headline in (
        "Seed swap draws a record crowd", "Frost warning for the lower plots this weekend",
        "New beehives arrive at the far end of the site")]
    closing = "The society hopes to climb that table once the shed frees up room on the waiting list."
    dump = "\n".join(["Shared tool shed for the allotment society", *PARAGRAPHS,
                      "The villages with the most plots per head were as follows:", *ranking, closing,
                      *teasers, "About us", "Contact"]) + "\n"
    blocks = split_dump(dump).blocks
    body = "\n".join(block.text for block in blocks)
    assert "Kidmore" in body and closing in body  # read across the ranking
    assert "Seed swap" not in body and "beehives" not in body


@pytest.mark.parametrize("credited", [" - Jane Example/Plot Notes", ". Photo: Jane Example"])  # lynx: alt, caption
def test_a_caption_run_into_its_pictures_alt_text_is_said_once(credited: str) -> None:
    caption = "Members carry spades and forks to the plots at the main gate"
    dump = "\n".join(["Shared tool shed for the allotment society", PARAGRAPHS[0],
                      f"{caption} {caption}{credited}", *PARAGRAPHS[1:], *MORE_PARAGRAPHS]) + "\n"
    body = "\n".join(block.text for block in split_dump(dump).blocks)
    assert body.count("Members carry spades") == 1 and MORE_PARAGRAPHS[-1] in body


def test_a_short_article_is_not_outweighed_by_the_comment_thread_under_its_share_bar() -> None:
    comments = []
    for number in range(3):
        comments += [f"Reader{number} says:", f"{number + 3} May 2024 at 10:0{number}",
                     f"Comment {number}: I have kept an allotment on the other side of town for twenty years, and the "
                     "thing I would ask the committee about is whether the shed will be locked at night and who keeps "
                     "the key, because ours was broken into twice last winter and the mowers were taken.", "Reply"]
    dump = "\n".join(["Home | Events | Recipes", "Shared tool shed for the allotment society", "By Ann Example",
                      *PARAGRAPHS, "Share on Facebook", "Share on X", "Share on LinkedIn", "Print", "E-mail",
                      "Subscribe to our newsletter", "Tags: shed", "Follow us on Instagram", *comments]) + "\n"
    parts = split_dump(dump)
    body = "\n".join(block.text for block in parts.blocks)
    assert body.startswith(PARAGRAPHS[0]) and PARAGRAPHS[-1] in body
    assert "Comment 0" not in body and parts.title == "Shared tool shed for the allotment society"


def test_a_by_or_von_inside_a_headline_does_not_make_it_a_byline() -> None:
    headline = "Bushido antwortet auf einen Seitenhieb von Azad und erklärt den Streit"
    dump = "\n".join(["Home | Events | Recipes", headline, "Von Ann Example | 3. Mai 2024", *PARAGRAPHS]) + "\n"
    parts = split_dump(dump)
    assert (parts.title, parts.byline) == (headline, "Ann Example")
    dump = "\n".join(["Home | Events | Recipes", "Lessons from a summer spent by the sea", *PARAGRAPHS]) + "\n"
    assert split_dump(dump).title == "Lessons from a summer spent by the sea"


CHINESE_AFTERWORD = "这个消息在春季会议上宣布以后，很多成员都表示非常高兴，因为他们终于可以把工具留在花园里，不必再辛苦地搬来搬去。"
CHINESE_PARAGRAPHS = [sentence + CHINESE_AFTERWORD for sentence in (
    "社区花园的成员们终于决定在大门旁边建一个共用的工具棚，这样大家就不用每个星期都带着铁锹和水壶坐公交车来回跑了。",
    "工具棚将用锯木厂捐赠的木板建造，委员会希望在第一场霜冻之前完成墙壁和屋顶，让工具可以在冬天存放在那里。",
    "想要钥匙的成员可以在星期六上午到协会办公室登记，押金是五十元，在季节结束时归还钥匙后退还。",
    "委员会感谢所有愿意帮忙建造的成员，并请大家在摊位上留下名字和电话，以便安排每个周末的工作。",
)]


def test_a_chinese_article_without_spaces_is_read_by_its_sentences() -> None:
    """A browser's copy: a paragraph to a line, each longer than a terminal's line (no stoplist knows these
    words, so the paragraphs read as prose by their sentences)."""
    menu = ["首页", "新闻", "活动", "联系我们", "关于我们"]
    related = ["相关新闻", "种子交换会吸引了创纪录的人数", "春季会议的时间已经确定"]
    dump = "\n".join([*menu, "社区花园将在大门旁建共用工具棚", "2024年5月3日", *CHINESE_PARAGRAPHS, *related]) + "\n"
    parts = split_dump(dump)
    body = "\n".join(block.text for block in parts.blocks)
    assert body.startswith(CHINESE_PARAGRAPHS[0]) and CHINESE_PARAGRAPHS[-1] in body
    assert "首页" not in body and "种子交换会" not in body
    assert (parts.title, parts.published) == ("社区花园将在大门旁建共用工具棚", dt.date(2024, 5, 3))


# A site map's menus: they part the article from what stands over it.
SITE_MAP = ["Home | About us | Contact", "Events | Calendar | Work days", "Recipes | Preserves | Soups",
            "Plots | Waiting list | Rules", "Seeds | Swap | Catalogue", "Tools | Loans | Repairs", "News | Archive | Press",
            "Shop | Basket | Checkout", "Help | FAQ | Accessibility", "Imprint | Privacy | Terms",
            "Facebook | Instagram | Mastodon", "Map | Parking | Bus times", "Members | Login | Register",
            "Donate | Volunteer | Sponsors", "Weather | Frost | Rain"]


def test_a_list_of_the_sites_other_headlines_above_the_article_is_not_it() -> None:
    teasers = ["Frost warning for the lower plots this weekend as the cold air settles in the valley again",
               "Seed swap at the village hall draws a record crowd of gardeners from all over the county",
               "Council agrees to repair the allotment fence after the storms of last winter damaged it badly",
               "New members can now apply for a plot online instead of queuing at the stall on Saturdays",
               "Beekeepers on the north side of the site ask members to keep their sprays away from the hives",
               "The society's annual show returns to the big marquee with a new class for giant vegetables"]
    text = "\n".join(["Plot Notes", *teasers, *SITE_MAP, "Shared tool shed for the allotment society", *PARAGRAPHS])
    assert [block.text for block in split_dump(text + "\n").blocks] == PARAGRAPHS


def test_an_article_comes_before_a_heavier_run_of_prose_under_it() -> None:
    about = ["Our magazine is written by volunteers from the county's historical, musical and theatrical societies, "
             "who meet every month in the library to choose stories, photographs and puzzles for the next edition.",
             "Readers who would like to contribute poems, recipes, memories of village life or letters to the editor "
             "are warmly invited to send them by post, since the editors prefer handwritten pages to printed ones.",
             "Advertising space for local businesses, clubs and charities can be booked at the post office counter, "
             "where prices for the coming year are displayed next to the timetable of the county's buses.",
             "Back issues from the last twenty years are kept in the reading room and may be borrowed for a week by "
             "anyone with a library card, though the oldest volumes must be read on the premises under supervision."]
    text = "\n".join(["Plot Notes", "Shared tool shed for the allotment society", *PARAGRAPHS, *SITE_MAP, *about])
    assert [block.text for block in split_dump(text + "\n").blocks] == PARAGRAPHS


SHED_HEADLINE = "A shed for the allotment society"
SHED_DECK = "Three years of carrying spades and forks on the bus are over"  # shares more of the text's words


@pytest.mark.parametrize("above, below", [
    ([f"Home » News » {SHED_HEADLINE}"], []),  # a breadcrumb's last step
    ([], [f"2 thoughts on “{SHED_HEADLINE}”", "Jane says:", "Lovely news, well done everyone!"]),
])
def test_the_headline_another_line_ends_with_beats_its_deck(above: list[str], below: list[str]) -> None:
    dump = "\n".join([*above, "Home | Events | Recipes", SHED_HEADLINE, SHED_DECK, "By Ann Example", *PARAGRAPHS,
                      *below]) + "\n"
    assert split_dump(dump).title == SHED_HEADLINE


def test_a_headline_beats_the_deck_under_it_that_shares_more_of_the_texts_words() -> None:
    headline = "The society builds a tool shed"
    deck = "Members of the allotment society will build a shared tool shed beside the main gate"
    dump = "\n".join(["Home | Events | Recipes", headline, deck, *PARAGRAPHS]) + "\n"
    assert split_dump(dump).title == headline


def test_a_word_a_mail_client_wrapped_at_its_hyphen_is_whole_again() -> None:
    """Python's textwrap, as many mail clients, breaks "car-park" after its hyphen; "pre- and post-season" stays
    as it was."""
    headline = "Allotment society agrees to build a shared tool shed beside the car-park gate"
    work_days = ("Two volunteers from the allotment society are needed for both the pre- and post-season work days, "
                 "when the paths are weeded and the water tanks are cleaned out.")
    lines = ["Home | Events | Recipes", "", *textwrap.wrap(headline, 70), ""]
    for paragraph in [*PARAGRAPHS, work_days]:
        lines += [*textwrap.wrap(paragraph, 70), ""]
    parts = split_dump("\n".join(lines) + "\n")
    assert (parts.title, parts.blocks[-1].text) == (headline, work_days)



STANDFIRST = ("The allotment society has agreed to build a shared tool shed by the main gate after years of members "
              "carrying their spades back and forth on the bus to every work day of the wet season.")


@pytest.mark.parametrize("dateline", ["19.03.2025 12.09", "Published on 19 March 2025"])
def test_a_date_under_a_wrapped_standfirst_stays_its_own_line(dateline: str) -> None:
    """lynx sets the date straight under a standfirst; it is the page's date, not the standfirst's last words,
    however little room the standfirst's last line left."""
    standfirst = wrapped(STANDFIRST)
    assert len(standfirst[-1]) + 1 + len(dateline.split()[0]) > max(map(len, standfirst))  # no room left for it
    parts = split_dump(lynx_page("Shared tool shed for the allotment society", "", *standfirst, "   " + dateline))
    assert parts.published == dt.date(2025, 3, 19)
    assert not any("2025" in block.text for block in parts.blocks)


def test_a_wrapped_sentence_that_goes_on_with_a_date_stays_whole() -> None:
    lines = ["   The society meets at the shed to agree on a rota: and on the 21.",
             "   and 22. March 2025 its members weed the paths."]
    assert len(lines[0]) + 1 + len("and") > max(len(line) for line in lynx_page().splitlines())
    sentence = " ".join(line.strip() for line in lines)
    parts = split_dump(lynx_page("Shared tool shed for the allotment society", "", *lines))
    assert sentence in [block.text for block in parts.blocks]


LONG_HEADLINE = "Why the allotment society needed a shared tool shed beside its main gate at last"


@pytest.mark.parametrize("line", [f"Sie sind hier: > {LONG_HEADLINE}", f"You are here: Garden » {LONG_HEADLINE}",
                                  f"1 Comment on “{LONG_HEADLINE}”"])
def test_a_breadcrumb_or_a_thread_heading_read_as_the_headline_gives_the_headline_alone(line: str) -> None:
    dump = "\n".join(["Plot Notes", "Home | Events | Recipes", line, *PARAGRAPHS]) + "\n"
    assert split_dump(dump).title == LONG_HEADLINE


def test_a_terminal_dump_of_a_page_mostly_menus_is_unwrapped_too() -> None:
    """Most lines of a news page's lynx dump are one-word menu entries: its few wrapped lines still tell that
    lynx wrapped it, and its headline, wrapped before a capital, is whole again."""
    headline = "So the allotment society finally builds a shared tool shed by the Hill Lane Orchard"
    menus = [f"     * {name} {number}" for number in range(1, 9)
             for name in ("Home", "Events", "Recipes", "Members", "Plots", "Shop", "Contact", "Map")]
    lines = ["", *menus, "", *wrapped(headline, indent=""), ""]
    for paragraph in PARAGRAPHS:
        lines += [*wrapped(paragraph), ""]
    assert len(wrapped(headline, indent="")) == 2 and wrapped(headline, indent="")[1][0].isupper()
    parts = split_dump("\n".join(lines) + "\n")
    assert parts.title == headline
    assert [block.text for block in parts.blocks if block.kind == "paragraph"] == PARAGRAPHS


@pytest.mark.parametrize("heading", [
    "Explore further", "Keep reading", "Das könnte Sie auch interessieren", "Ähnliche Beiträge", "Über den Autor",
    "Kommentare", "Kommentar verfassen", "Articles liés", "Otras noticias", "Saiba mais",
    "Articoli correlati", "Lees ook", "Czytaj także",
])
def test_a_section_heading_in_any_of_the_sets_languages_ends_the_article(heading: str) -> None:
    after = ("Kathrin has written about gardens, allotments and the people who keep them for the county paper "
             "since she retired from teaching, and she still grows her own beans every summer.")
    text = "\n".join(["Plot Notes", "Shared tool shed for the allotment society", *PARAGRAPHS, heading, after])
    assert [block.text for block in split_dump(text + "\n").blocks] == PARAGRAPHS


def test_a_german_photo_credit_share_and_newsletter_lines_are_furniture() -> None:
    paragraphs = ["Der Kleingartenverein hat sich nach drei Jahren endlich auf einen gemeinsamen Geräteschuppen am "
                  "Haupttor geeinigt, und die Mitglieder müssen ihre Spaten nicht mehr mit dem Bus hin und her tragen.",
                  "Foto: Anna Beispiel",
                  "Der Schuppen wird aus Lärchenholz gebaut, das das Sägewerk im Dorf gespendet hat, und das Dach "
                  "sammelt den Regen in zwei Tonnen, damit die nächsten Beete ohne den langen Weg gegossen werden."]
    text = "\n".join(["Startseite | Verein | Termine", "Ein Schuppen für den Kleingartenverein", "3. März 2025",
                      "Bild: Jahr Media", *paragraphs, "Beitrag teilen", "Newsletter abonnieren", "Weiterlesen:"])
    parts = split_dump(text + "\n")
    assert [block.text for block in parts.blocks] == [paragraphs[0], paragraphs[2]]
    assert parts.published == dt.date(2025, 3, 3)


@pytest.mark.parametrize("link", [
    "Read more: Council approves a new cycle path to the station after years of debate",
    "Lesen Sie auch: Stadtrat beschließt neuen Radweg zum Bahnhof nach jahrelangem Streit",
    "Lea también: El concejo aprueba una nueva ciclovía hacia la estación",
    "Lesen Sie auch: Radweg kommt",  # as short as a section heading, but a link: the article goes on
])
def test_a_labelled_link_to_another_article_inside_the_text_is_left_out(link: str) -> None:
    text = "\n".join(["Plot Notes", "Shared tool shed for the allotment society", PARAGRAPHS[0], link, *PARAGRAPHS[1:]])
    assert [block.text for block in split_dump(text + "\n").blocks] == PARAGRAPHS


def test_a_numbered_steps_number_stays_and_a_bullet_goes() -> None:
    steps = ["1. Dig the trench for the shed's footings a spade deep.", "2. Lay the larch boards on the footings."]
    text = "\n".join(["Plot Notes", "Shared tool shed for the allotment society", *PARAGRAPHS, *steps,
                      "• Ask at the stall on Saturday mornings for a key."])
    items = [block for block in split_dump(text + "\n").blocks if block.kind == "item"]
    assert [item.text for item in items] == [*steps, "Ask at the stall on Saturday mornings for a key."]


def test_a_short_wrapped_dump_is_unwrapped_and_a_headline_its_paragraph_opens_with_stays() -> None:
    """A page of a headline and two paragraphs, as w3m wraps it: nine lines are enough to see the wrapping, and
    a headline is no picture's alt text because the paragraph under it opens with the same words."""
    headline = "Shared tool shed for the allotment society"
    opening = f"{headline}, agreed at last: {PARAGRAPHS[0]}"
    lines = ["Home About Blog", "", headline, ""]
    for paragraph in (opening, PARAGRAPHS[1]):
        lines += [*wrapped(paragraph, width=80, indent=""), ""]
    assert len([line for line in lines if line]) < 10
    parts = split_dump("\n".join(lines) + "\n")
    assert parts.title == headline
    assert [block.text for block in parts.blocks] == [opening, PARAGRAPHS[1]]


def test_a_one_paragraph_page_as_w3m_wraps_it_is_one_paragraph_and_a_headline_keeps_its_byline_apart() -> None:
    lines = wrapped(PARAGRAPHS[1], width=80, indent="")
    assert 2 <= len(lines) < 4
    assert [block.text for block in split_dump("\n".join(lines) + "\n").blocks] == [PARAGRAPHS[1]]
    # two short lines, the first the longer: a headline over its byline, not one wrapped line
    assert unwrap(["Shared tool shed for the allotment society", "By Ann Example"]) == [
        "Shared tool shed for the allotment society", "By Ann Example"]


def test_an_article_opening_with_a_short_sentence_keeps_it() -> None:
    text = "\n".join(["Home | News | Events", "Shared tool shed for the allotment society", "12 March 2025 · By Ann Example",
                      "Share on Facebook", "It was a quiet Tuesday.", *PARAGRAPHS, "© 2025 Plot Notes"])
    parts = split_dump(text + "\n")
    assert [block.text for block in parts.blocks] == ["It was a quiet Tuesday.", *PARAGRAPHS]
    assert (parts.title, parts.byline, parts.published) == ("Shared tool shed for the allotment society", "Ann Example",
                                                           dt.date(2025, 3, 12))
