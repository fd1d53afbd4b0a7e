"""An article costs at most 2.5 KB of HTML, so 35 articles stay under Gmail's 102 KB clip."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from newsletter.render.build import build_issue
from newsletter.workspace import find_workspace
from tests.conftest import PROJECT, benchmark_module

GMAIL_CLIP = 102 * 1024
ARTICLE_BUDGET = 2.5 * 1024


def issue_of(root: Path, size: int, theme: str) -> int:
    """Bytes of the HTML of a ``size``-article issue made of generated ~700-word page dumps."""
    generate = benchmark_module("build")
    rng, pool = random.Random(size), generate.sentence_pool()
    folder = root / "issues" / f"size-{size}-{theme}"
    (folder / "articles").mkdir(parents=True)
    listing = []
    for number in range(size):
        (folder / "articles" / f"a{number}.txt").write_text(generate.page_dump(rng, pool, number))
        listing.append(f"      - source: articles/a{number}.txt\n        url: https://example.org/a{number}")
    (folder / "issue.md").write_text(f"---\nsubject: Size {size}\npreheader: How big it gets\ntheme: {theme}\n"
                                     "sections:\n  - title: All\n    articles:\n" + "\n".join(listing)
                                     + "\n---\nHello {{first_name}}, here is the news.\n")
    build = build_issue(find_workspace(root), f"size-{size}-{theme}")
    assert len(build.issue.entries) == size
    return len(build.rendered.html.encode("utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("theme", ["digest", "letter"])
def test_thirty_five_articles_fit_under_the_gmail_clip(tmp_path: Path, theme: str) -> None:
    shutil.copy(PROJECT / "newsletter.toml", tmp_path / "newsletter.toml")
    small, large = issue_of(tmp_path, 5, theme), issue_of(tmp_path, 35, theme)
    per_article = (large - small) / 30
    assert per_article <= ARTICLE_BUDGET, f"{per_article:.0f} bytes an article"
    assert large < GMAIL_CLIP, f"{large / 1024:.1f} KB"


def test_inline_styles_are_trimmed_without_changing_what_they_say() -> None:
    from newsletter.render.email_html import trim_inline_styles

    html = ('<td style="border-collapse: collapse;mso-table-lspace: 0pt;mso-table-rspace: 0pt;padding: 0 24px">'
            '<table style="border-collapse: collapse; mso-table-lspace: 0pt"><div style="font-family: Georgia, '
            "'Times New Roman', serif; color: #666\">")
    assert trim_inline_styles(html) == ('<td style="padding:0 24px"><table style="border-collapse:collapse;'
                                        "mso-table-lspace:0pt\"><div style=\"font-family:Georgia, 'Times New Roman', "
                                        'serif;color:#666">')
