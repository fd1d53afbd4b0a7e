"""Accessibility: the themes' structure (one h1, article headings under section headings, links
naming their article, the language), and `check --a11y` running the real axe-core in chromium,
light and dark, at 375 and 600 px. Browser tests need chromium (make test installs it) and
axe-playwright-python (a test extra): without them they fail, never skip."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import lxml.html
import pytest

from tests.conftest import EXAMPLE_ISSUE

THEMES = ["digest", "letter"]
CHROMIUM = os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium")


def built(cli, workspace: Path, theme: str) -> lxml.html.HtmlElement:
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    text = issue.read_text()
    issue.write_text(re.sub(r"(?m)^theme: .*\n", "", text).replace("subject:", f"theme: {theme}\nsubject:", 1))
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    return lxml.html.document_fromstring((workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text())


@pytest.mark.parametrize("theme", THEMES)
def test_one_h1_and_each_article_title_a_heading_under_its_section(cli, workspace: Path, theme: str) -> None:
    document = built(cli, workspace, theme)
    headings = [(h.tag, " ".join(h.text_content().split())) for h in document.iter("h1", "h2", "h3", "h4")]
    assert headings[0] == ("h1", "Northwind Notes") and [tag for tag, _ in headings].count("h1") == 1
    issue = json.loads((workspace / "build" / EXAMPLE_ISSUE / "issue.json").read_text())
    expected = []
    for section in issue["sections"]:
        expected.append(("h2", section["title"]))
        expected += [("h3", article["title"]) for article in section["articles"]]
    assert headings[1:] == expected
    assert document.get("lang") == "en"
    body = document.find("body")[0]
    assert (body.get("role"), body.get("aria-roledescription")) == ("article", "email")


def test_every_digest_link_names_its_article(cli, workspace: Path) -> None:
    document = built(cli, workspace, "digest")
    issue = json.loads((workspace / "build" / EXAMPLE_ISSUE / "issue.json").read_text())
    titles = [a["title"] for s in issue["sections"] for a in s["articles"]]
    buttons = [a for a in document.iter("a") if a.text_content().strip() == "Read the article"]
    assert len(buttons) == len(titles)
    assert [a.get("aria-label") for a in buttons] == [f"Read the article: {title}" for title in titles]
    names = [a.get("aria-label") or " ".join(a.text_content().split()) or a.find(".//img").get("alt")
             for a in document.iter("a")]
    assert all(names) and len(set(names)) == len(names), f"two links share a name: {names}"


def check_a11y(cli, theme: str) -> tuple[int, list[dict]]:
    result = cli("check", EXAMPLE_ISSUE, "--a11y", "--theme", theme, "--json")
    findings = [f for f in json.loads(result.out)["findings"] if f["code"].startswith("a11y")]
    assert any(f["code"] == "a11y-score" for f in findings), f"axe-core did not run: {findings}"
    return result.code, findings


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_nothing_in_either_scheme(cli, workspace: Path, theme: str) -> None:
    code, findings = check_a11y(cli, theme)
    violations = [f for f in findings if f["severity"] != "info"]
    assert violations == [] and code == 0
    notes = {f["code"]: f["message"] for f in findings if f["severity"] == "info"}
    assert 'role="article" aria-roledescription="email"' in notes["a11y-landmark-one-main"]
    assert "not applied to email" in notes["a11y-region"]
    assert re.match(r"axe-core 4\.\d+\.\d+ in chromium, light and dark at 375 and 600 px: 0 violations$",
                    notes["a11y-score"])


@pytest.mark.browser
@pytest.mark.slow
def test_dark_mode_text_too_faint_is_a_contrast_error_in_dark_only(cli, workspace: Path) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[brand]\n", '[brand]\ndark_muted_color = "#3a3a3a"\n'))
    code, findings = check_a11y(cli, "digest")
    contrast = [f for f in findings if f["code"] == "a11y-color-contrast"]
    assert code == 1 and contrast and all(f["severity"] == "error" for f in contrast)
    assert all("(serious, dark 375 px, dark 600 px)" in f["message"] for f in contrast), contrast
    assert any("Tomasz Wierzbicki" in f["message"] for f in contrast)  # the element is named


@pytest.mark.browser
@pytest.mark.parametrize("theme", THEMES)
def test_dark_mode_keeps_bylines_dimmer_than_the_text(cli, workspace: Path, theme: str) -> None:
    from playwright.sync_api import sync_playwright

    from newsletter.check.a11y import CHROMIUM_ARGS

    built(cli, workspace, theme)
    page_file = workspace / "build" / EXAMPLE_ISSUE / "index.html"
    script = """() => {
        const meta = document.querySelector('.nl-meta div, em.nl-meta');
        const text = [...document.querySelectorAll('.nl-card div')].find(d => d.textContent.includes('Pruning an'));
        return [getComputedStyle(meta).color, getComputedStyle(text).color];
    }"""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            colours = {}
            for scheme in ("light", "dark"):
                page = browser.new_page(color_scheme=scheme)
                page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                           else route.continue_())
                page.goto(page_file.as_uri())
                colours[scheme] = [_luminance(c) for c in page.evaluate(script)]
        finally:
            browser.close()
    light_meta, light_text = colours["light"]
    dark_meta, dark_text = colours["dark"]
    assert light_meta > light_text  # dark text on light: the byline is lighter, so dimmer
    assert dark_text > dark_meta > 0.2, colours  # light text on dark: the byline is darker, still readable


def _luminance(css: str) -> float:
    channels = [int(part) / 255 for part in re.findall(r"\d+", css)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_without_chromium_the_check_says_how_to_install_it(cli, workspace: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(workspace / "no-chromium-here"))
    result = cli("check", EXAMPLE_ISSUE, "--a11y")
    assert result.code == 0
    assert "warning a11y-check-skipped: no chromium found" in result.out and "apt-get install chromium" in result.out


def test_with_a_logo_the_h1_is_the_logo_named_by_its_alt_text(cli, workspace: Path) -> None:
    from PIL import Image

    Image.new("RGB", (320, 80), (47, 107, 58)).save(workspace / "logo.png")
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace(
        "[brand]\n", '[brand]\nlogo = "logo.png"\nlogo_alt = "Northwind Notes logo"\n'))
    document = built(cli, workspace, "digest")
    (h1,) = list(document.iter("h1"))
    image = h1.find(".//img")
    assert image.get("alt") == "Northwind Notes logo" and image.get("src").endswith(".png")
    assert h1.find(".//a").get("href").startswith("https://northwind.example")
