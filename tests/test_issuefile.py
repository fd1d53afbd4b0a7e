"""Unit tests of newsletter.compose.issuefile: reading, scaffolding and editing issue.md files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsletter.compose.issueedit import add_articles, new_issue
from newsletter.compose.issuefile import ArticleRef, Budget, read_issue
from newsletter.errors import InputError
from tests.conftest import EXAMPLE_ISSUE, write_issue

TODAY = dt.date(2026, 12, 1)
VOLUNTEER_SUMMARY = ("Our last big work day of the year is on Saturday 12 December at Eastfield. "
                     "Come for an hour or the whole day: we provide tools, gloves and soup.")


@pytest.fixture
def issue_path(workspace: Path) -> Path:
    return workspace / "issues" / EXAMPLE_ISSUE / "issue.md"


def lines_starting(path: Path, prefix: str) -> list[int]:
    return [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if line.lstrip().startswith(prefix)]


def comment_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("#")]


def intro(path: Path) -> str:
    """Everything after the closing '---' line, byte for byte."""
    return path.read_text(encoding="utf-8").split("\n---\n", 1)[1]


def listing(path: Path) -> dict[str, list[str]]:
    """Section title -> article sources, in file order (read back with read_issue)."""
    return {section.title: [ref.source for ref in section.articles] for section in read_issue(path).sections}


# read_issue


def test_reads_the_example_header(issue_path):
    spec = read_issue(issue_path)
    assert spec.subject == "Winter pruning, leaf mould & a seed library"
    assert spec.preheader == "Plus our December work day: tools, soup and a new hedge"
    assert type(spec.date) is dt.date and spec.date == dt.date(2026, 11, 27)
    assert spec.audience == "audience.csv"
    assert spec.budget == Budget(sentences=3, words=60)
    assert spec.slug == EXAMPLE_ISSUE


def test_reads_sections_with_the_real_line_of_each_article(issue_path):
    spec = read_issue(issue_path)
    assert [section.title for section in spec.sections] == ["On the plot", "Community"]
    assert [section.line for section in spec.sections] == lines_starting(issue_path, "- title:")
    assert listing(issue_path) == {
        "On the plot": ["articles/winter-pruning-v1.txt", "articles/winter-pruning.txt", "articles/compost.txt"],
        "Community": ["articles/volunteer-day.txt", "articles/seed-library.txt"],
    }
    assert [ref.line for ref in spec.articles] == lines_starting(issue_path, "- source:")
    assert all(isinstance(ref, ArticleRef) for ref in spec.articles)


def test_editor_summary_overrides_only_the_volunteer_day(issue_path):
    summaries = {ref.source: ref.summary for ref in read_issue(issue_path).articles}
    assert summaries.pop("articles/volunteer-day.txt") == VOLUNTEER_SUMMARY
    assert set(summaries.values()) == {None}


def test_intro_is_the_markdown_after_the_front_matter(issue_path):
    spec = read_issue(issue_path)
    assert spec.intro == intro(issue_path).strip("\n")
    assert spec.intro.startswith("Hello {{first_name}},\n\nNovember is the month to **tidy, mulch and plan**.")


def test_bare_string_articles_are_sources(issue_path, cli):
    write_issue(issue_path.parent, """
subject: Bare
sections:
  - title: Plot
    articles:
      - articles/compost.txt
      - source: articles/seed-library.txt
""")
    lines = lines_starting(issue_path, "- articles/") + lines_starting(issue_path, "- source:")
    assert read_issue(issue_path).articles == [ArticleRef("articles/compost.txt", line=lines[0]),
                                               ArticleRef("articles/seed-library.txt", line=lines[1])]
    assert cli("build", EXAMPLE_ISSUE).code == 0


@pytest.mark.parametrize("lengths, budget", [
    ("sentences: 1\n        words: 30", Budget(1, 30)),
    ("words: 40", Budget(0, 40)),
    ("sentences: 2", Budget(2, 0)),
])
def test_per_article_lengths_give_a_budget(issue_path, lengths, budget):
    write_issue(issue_path.parent, f"""
subject: Budgets
sections:
  - title: Plot
    articles:
      - source: articles/compost.txt
        {lengths}
      - source: articles/seed-library.txt
""")
    assert [ref.budget for ref in read_issue(issue_path).articles] == [budget, None]


# new_issue


def test_new_issue_fails_to_build_only_for_lack_of_articles(workspace, cli):
    path = new_issue(workspace / "issues", "2026-12", TODAY)
    assert path == workspace / "issues" / "2026-12" / "issue.md"
    result = cli("build", "2026-12")
    featured = lines_starting(path, "- title: Featured")[0]
    assert result.code == 2
    assert result.err.startswith(f"newsletter: issues/2026-12/issue.md:{featured}: section has no articles")

    article = workspace / "issues" / EXAMPLE_ISSUE / "articles" / "compost.txt"
    (path.parent / "articles" / "compost.txt").write_bytes(article.read_bytes())
    add_articles(path, ["articles/compost.txt"])
    spec = read_issue(path)
    assert (spec.subject, spec.date, spec.budget) == ("2026 12", TODAY, Budget(3, 60))
    assert cli("build", "2026-12").code == 0


def test_new_issue_refuses_to_overwrite(workspace):
    path = new_issue(workspace / "issues", "2026-12", TODAY)
    path.write_text("---\nsubject: mine\n---\n", encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        new_issue(workspace / "issues", "2026-12", TODAY)
    assert path.read_text(encoding="utf-8") == "---\nsubject: mine\n---\n"


# add_articles and `newsletter add`


@pytest.mark.parametrize("section, title", [(None, "Community"), ("On the plot", "On the plot"),
                                            ("Events", "Events")], ids=["last", "named", "created"])
def test_add_articles_appends_and_keeps_comments_and_intro(issue_path, section, title):
    text = issue_path.read_text(encoding="utf-8")
    text = text.replace("  - title: Community", "  # Between sections.\n  - title: Community")
    issue_path.write_text(text.replace("seed-library\n---", "seed-library\n      # Last line.\n---"), encoding="utf-8")
    before, comments, body = listing(issue_path), comment_lines(issue_path), intro(issue_path)
    assert add_articles(issue_path, ["articles/new.txt"], section) == 1
    expected = before | {title: before.get(title, []) + ["articles/new.txt"]}
    assert list(listing(issue_path).items()) == list(expected.items())
    assert comment_lines(issue_path) == comments
    assert intro(issue_path) == body


@pytest.mark.parametrize("section", [None, "On the plot", "Events"], ids=["last", "named", "created"])
def test_add_articles_skips_sources_already_listed(issue_path, section):
    before = listing(issue_path)
    assert add_articles(issue_path, ["articles/compost.txt"], section) == 0
    assert listing(issue_path) == before


def test_add_to_the_starter_keeps_its_comments(workspace):
    path = new_issue(workspace / "issues", "2026-12", TODAY)
    comments, body = comment_lines(path), intro(path)
    add_articles(path, ["articles/a.txt", "articles/b.txt"])
    assert listing(path) == {"Featured": ["articles/a.txt", "articles/b.txt"]}
    assert comment_lines(path) == comments and len(comments) == 7
    assert intro(path) == body


def test_cli_add_reports_added_and_already_listed(issue_path, cli):
    comments = comment_lines(issue_path)
    (issue_path.parent / "articles" / "new.txt").write_text("A new article.\n")
    result = cli("add", EXAMPLE_ISSUE, "articles/new.txt", "articles/compost.txt", "--section", "On the plot")
    assert result.code == 0
    assert "Added 1 article to" in result.out and "(1 already listed)" in result.out
    assert listing(issue_path)["On the plot"][-2:] == ["articles/compost.txt", "articles/new.txt"]
    assert comment_lines(issue_path) == comments
