"""Reading page dumps, merging versions and summarising, on the project's own example articles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsletter.compose.dedupe import group_versions, newest
from newsletter.compose.issuefile import Budget
from newsletter.compose.summarize import split_sentences, summarize
from newsletter.errors import SourceError
from newsletter.sources.article import Article, Block
from newsletter.sources.readers import read_article
from newsletter.sources.readers.pagedump import split_dump
from tests.conftest import EXAMPLE_ISSUE, PROJECT

ARTICLES = PROJECT / "issues" / EXAMPLE_ISSUE / "articles"
FURNITURE = ["basket", "Skip to content", "cookies", "Share this", "Related articles",
             "About Northwind Community Gardens", "Contact us", "Fill in the form", "Sign up to our newsletter", "©", "Photo by"]


def read(name: str) -> Article:
    return read_article(name, ARTICLES)


@pytest.mark.parametrize("name, title, byline, published", [
    ("winter-pruning.txt", "Winter pruning without fear: a beginner's guide to apples and pears",
     "Tomasz Wierzbicki", dt.date(2026, 10, 12)),
    ("compost.txt", 'Leaves & "brown gold": making leaf mould that works', "Dr Eleanor Whitfield", dt.date(2026, 11, 3)),
    ("volunteer-day.txt", "Join our December work day at the Eastfield allotments", "Priya Natarajan", dt.date(2026, 10, 21)),
    ("seed-library.txt", "Borrow a seed, grow a plant, return the favour: our new seed library",
     "Samuel Adeyemi-Clarke", dt.date(2026, 11, 2)),
])
def test_metadata_from_each_dump(name: str, title: str, byline: str, published: dt.date) -> None:
    article = read(name)
    assert (article.title, article.byline, article.published) == (title, byline, published)


@pytest.mark.parametrize("name", sorted(p.name for p in ARTICLES.glob("*.txt")))
def test_body_has_no_furniture_and_keeps_the_article(name: str) -> None:
    article = read(name)
    raw = (ARTICLES / name).read_text()
    for phrase in FURNITURE:
        assert phrase.lower() not in article.text.lower(), f"{phrase!r} in {name}"
    last_paragraph = article.prose[-1]
    assert last_paragraph in raw and len(last_paragraph.split()) > 15
    assert sum(len(p.split()) for p in article.prose) > 400


def test_last_updated_line_is_metadata_not_text() -> None:
    article = read("winter-pruning.txt")
    assert article.updated == dt.date(2026, 11, 2)
    assert "Last updated" not in article.text


def test_list_items_and_headings_are_kept_apart() -> None:
    blocks = read("compost.txt").blocks
    assert ("heading", "Which leaves to use") in [(b.kind, b.text) for b in blocks]
    items = [b.text for b in blocks if b.kind == "item"]
    assert items and all(not item.startswith("- ") for item in items)


def test_date_order_setting_reads_ambiguous_dates() -> None:
    dump = "Title of a test article here\nBy Ann Example\n03-04-2026\n" + "A sentence of body text that is long enough to count. " * 4
    assert split_dump(dump, day_first=True).published == dt.date(2026, 4, 3)
    assert split_dump(dump, day_first=False).published == dt.date(2026, 3, 4)


def test_newer_version_wins_by_updated_then_published() -> None:
    old, new = read("winter-pruning-v1.txt"), read("winter-pruning.txt")
    others = [read("compost.txt"), read("seed-library.txt")]
    assert group_versions([old, others[0], new, others[1]]) == [[0, 2], [1], [3]]
    assert newest([new, old]) is new and newest([old, new]) is new


@pytest.mark.parametrize("budget", [Budget(3, 80), Budget(2, 60), Budget(1, 40), Budget(5, 120)])
def test_summary_is_whole_sentences_within_budget(budget: Budget) -> None:
    for path in sorted(ARTICLES.glob("*.txt")):
        article = read(path.name)
        summary = summarize(article, budget)
        sentences = split_sentences(summary)
        assert 1 <= len(sentences) <= budget.sentences
        assert len(summary.split()) <= budget.words
        for sentence in sentences:
            assert any(sentence in paragraph for paragraph in article.prose), sentence


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"Caf\xe9 title\nBy Ann Example\n", "not UTF-8"),
    (b"Menu\nSkip to content\n", "no article text found"),
])
def test_unreadable_sources_say_why(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "bad.txt").write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_article("bad.txt", tmp_path)


def test_indexed_grouping_matches_comparing_every_pair() -> None:
    """The shingle index only skips pairs that share no text: the groups are those of the plain definition."""
    import random

    from newsletter.compose.dedupe import SAME_ARTICLE, containment, shingles

    rng = random.Random(7)
    words = [f"w{n}" for n in range(300)]
    bases = [" ".join(rng.choices(words, k=120)) for _ in range(12)]
    texts = []
    for _ in range(60):  # versions of the bases: cut, extended, or mixed with another base
        base = rng.choice(bases).split()
        cut = rng.randint(30, 120)
        extra = rng.choice(bases).split()[: rng.randint(0, 90)]
        texts.append(" ".join(base[:cut] + extra))
    articles = [Article(f"a{n}.txt", f"A{n}", (Block("paragraph", text),)) for n, text in enumerate(texts)]

    expected: list[list[int]] = []
    for index, text in enumerate(texts):
        group = next((g for g in expected if containment(shingles(texts[g[0]]), shingles(text)) >= SAME_ARTICLE), None)
        if group is None:
            expected.append([index])
        else:
            group.append(index)
    assert group_versions(articles) == expected
    assert 1 < len(expected) < len(texts)  # the data really has both merges and distinct articles


def test_version_groups_are_remembered_by_the_articles_keys(tmp_path: Path) -> None:
    from newsletter.compose.cache import ArticleCache
    from newsletter.compose.dedupe import versions_of

    text = "the hedge was planted along the north side of the garden in the rain " * 3
    same = [Article("a.txt", "A", (Block("paragraph", text),)), Article("b.txt", "B", (Block("paragraph", text + "More."),))]
    other = Article("c.txt", "C", (Block("paragraph", "seed library opens on saturday with soup " * 3),))
    cache, made = ArticleCache(tmp_path, day_first=True), []

    def groups(keys: list[str], articles: list[Article]) -> list[list[int]]:
        return cache.groups(keys, lambda: made.append(keys) or versions_of(keys, articles))

    assert groups(["key-a", "key-b"], same) == [[0, 1]]
    assert groups(["key-a", "key-b"], same) == [[0, 1]] and len(made) == 1  # the second time from .cache
    assert groups(["key-a", "key-c"], [same[0], other]) == [[0], [1]] and len(made) == 2  # new keys: grouped again
    assert ArticleCache(tmp_path, day_first=True, refresh=True).groups(["key-a", "key-b"], lambda: [[9]]) == [[9]]


@pytest.mark.parametrize("name, content", [
    ("note.txt", b"Plot 12 is free\nAsk at the shed on Saturday\n"),
    ("note.md", b"# Plot 12 is free\n\nAsk at the shed on Saturday\n"),
    ("note.eml", b"From: Ann <ann@example.org>\nSubject: Fwd: plot\nDate: Mon, 2 Mar 2026 09:00:00 +0000\n\n"
                 b"---------- Forwarded message ---------\nFrom: Club <club@example.org>\nSubject: Plot 12\n\n"
                 b"Plot 12 is free\nAsk at the shed on Saturday\n"),
])
def test_a_short_page_without_a_full_sentence_is_still_an_article(tmp_path: Path, name: str, content: bytes) -> None:
    """No line reads as a paragraph (no full stop, under ten words): the headline and its one line of text are an
    article, not headings that leave nothing to read (the readers refused such pages)."""
    (tmp_path / name).write_bytes(content)
    article = read_article(name, tmp_path)
    assert article.title == "Plot 12 is free"
    assert article.prose == ["Ask at the shed on Saturday"]


def test_a_page_of_nothing_but_its_headline_or_furniture_is_still_refused(tmp_path: Path) -> None:
    for content in (b"Plot 12 is free\n", b"Menu\nSkip to content\nCookie settings\n"):
        (tmp_path / "bare.txt").write_bytes(content)
        with pytest.raises(SourceError, match="no article text found"):
            read_article("bare.txt", tmp_path)
