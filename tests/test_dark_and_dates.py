"""Dark mode reaches the whole page; an article's "updated" date shows under its title."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import write_issue

HTML = Path(__file__).parent / "fixtures" / "html"


@pytest.fixture
def updated_issue(workspace: Path) -> Path:
    folder = workspace / "issues" / "2026-12"
    write_issue(folder, 'subject: "Bees"\nsections:\n  - title: Bees\n    articles:\n      - beehive.html\n')
    shutil.copy(HTML / "beehive.html", folder / "beehive.html")  # published 14 Sep 2026, updated 2 Oct 2026
    return folder


@pytest.mark.parametrize("theme", ["digest", "letter"])
def test_an_updated_article_says_when(cli, workspace: Path, updated_issue: Path, theme: str) -> None:
    issue = updated_issue / "issue.md"
    issue.write_text(issue.read_text().replace("subject:", f"theme: {theme}\nsubject:"))
    assert cli("build", "2026-12").code == 0
    html = (workspace / "build" / "2026-12" / "index.html").read_text()
    text = (workspace / "build" / "2026-12" / "index.txt").read_text()
    assert "Updated 2 October 2026" in html and "Updated 2 October 2026" in text
    if theme == "digest":
        assert "14 September 2026 · Updated 2 October 2026" in html


def test_updated_shows_only_for_articles_changed_after_publication(cli, workspace: Path) -> None:
    assert cli("build", "2026-11-garden-notes").code == 0
    build = workspace / "build" / "2026-11-garden-notes"
    articles = [a for s in json.loads((build / "issue.json").read_text())["sections"] for a in s["articles"]]
    changed = [a for a in articles if a["updated"] and a["updated"] != a["published"]]
    assert 0 < len(changed) < len(articles), "the example issue has both kinds"
    assert (build / "index.txt").read_text().count("Updated ") == len(changed)


@pytest.mark.browser
def test_dark_mode_colours_the_whole_page_not_only_the_email(cli, workspace: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_preview import CHROMIUM, CHROMIUM_ARGS

    assert cli("build", "2026-11-garden-notes").code == 0
    page_file = workspace / "build" / "2026-11-garden-notes" / "index.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("NEWSLETTER_CHROMIUM", CHROMIUM),
                                             args=CHROMIUM_ARGS)
        try:
            colours = {}
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": 640, "height": 3000}, color_scheme=scheme)
                page.goto(page_file.as_uri())
                colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        finally:
            browser.close()
    assert colours["light"] != colours["dark"], colours
    red, green, blue = (int(part) for part in colours["dark"].strip("rgb()").split(","))
    assert max(red, green, blue) < 80, f"the page below the email is still light in dark mode: {colours['dark']}"
