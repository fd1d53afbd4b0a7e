"""The built HTML: compiled MJML, inlined CSS, responsive rules kept, small, and escaped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE, write_issue

GMAIL_CLIP_BYTES = 102 * 1024


@pytest.fixture
def built(workspace: Path, cli) -> Path:
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    return workspace / "build" / EXAMPLE_ISSUE


def test_html_is_compiled_inlined_and_responsive(built: Path) -> None:
    html = (built / "index.html").read_text()
    assert html.lower().startswith("<!doctype html>")
    assert "<mj-" not in html
    assert len(re.findall(r'<(?:td|div|a|table)[^>]* style="[^"]+"', html)) > 20
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
    assert any("@media" in style for style in styles)
    assert "@import" not in html
    assert len(html.encode()) < GMAIL_CLIP_BYTES


def test_build_writes_the_composed_issue(built: Path) -> None:
    issue = json.loads((built / "issue.json").read_text())
    entries = [a for s in issue["sections"] for a in s["articles"]]
    assert [s["title"] for s in issue["sections"]] == ["On the plot", "Community"]
    assert len(entries) == 4, "the two pruning versions merge into one"
    pruning = entries[0]
    assert pruning["source"] == "articles/winter-pruning.txt"
    assert pruning["updated"] == "2026-11-02"
    assert pruning["also_from"] == ["articles/winter-pruning-v1.txt"]
    for entry in entries:
        assert {"title", "byline", "published", "updated", "url", "summary"} <= entry.keys()
        assert entry["title"] and entry["summary"] and entry["byline"] and entry["published"]
    volunteer = entries[2]
    assert volunteer["summary_by"] == "editor"
    assert volunteer["summary"].startswith("Our last big work day of the year")


def test_article_links_and_summaries_reach_both_parts(built: Path) -> None:
    html = (built / "index.html").read_text()
    text = (built / "index.txt").read_text()
    issue = json.loads((built / "issue.json").read_text())
    for number, entry in enumerate((a for s in issue["sections"] for a in s["articles"]), start=1):
        assert entry["url"] in html.replace("&amp;", "&")
        assert f"[{number}] {entry['url']}" in text
        assert f"{entry['title']} [{number}]" in text
        assert " ".join(entry["summary"].split()[:8]) in " ".join(text.split())


def test_text_from_articles_is_escaped(workspace: Path, cli) -> None:
    folder = workspace / "issues" / "escape"
    (folder / "articles").mkdir(parents=True)
    (folder / "articles" / "evil.txt").write_text(
        "<script>alert(1)</script> & co\nBy Eve Mallory\n3 May 2026\n"
        "This paragraph says that 3 < 4 & 5 > 2 are \"true\" and 'quoted' claims that must stay text in the email.\n"
        "A second paragraph holds <b>markup</b> that must not turn bold in any email client at all today.\n",
        encoding="utf-8",
    )
    write_issue(folder, "subject: Escaping\nsections:\n  - title: Test\n    articles:\n      - source: articles/evil.txt\n"
                        "        url: \"javascript:alert(1)\"")
    result = cli("build", "escape")
    assert result.code == 0, result.err
    html = (workspace / "build" / "escape" / "index.html").read_text()
    assert "<script>" not in html and "<b>markup</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "3 &lt; 4 &amp; 5 &gt; 2" in html
    assert "javascript:" not in html
    text = (workspace / "build" / "escape" / "index.txt").read_text()
    assert "<script>alert(1)</script> & co" in text


def test_markdown_intro_cannot_inject_html(workspace: Path, cli) -> None:
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(issue.read_text() + "\n<img src=x onerror=alert(1)> and **bold**\n")
    assert cli("build", EXAMPLE_ISSUE).code == 0
    html = (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<strong>bold</strong>" in html


def test_missing_theme_names_the_template(workspace: Path, cli) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace('theme = "digest"', 'theme = "nope"'))
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 2
    assert "templates/nope/issue.mjml.j2" in result.err and "digest" in result.err and "letter" in result.err
    assert not (workspace / "build").exists()


def test_workspace_template_overrides_a_partial(workspace: Path, cli) -> None:
    partial = workspace / "templates" / "_shared" / "footer.mjml.j2"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text('<mj-section><mj-column><mj-text>Custom footer {{ settings.postal_address }}</mj-text></mj-column></mj-section>\n')
    assert cli("build", EXAMPLE_ISSUE).code == 0
    assert "Custom footer Northwind Community Gardens" in (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text()


def test_broken_template_names_file_and_line(workspace: Path, cli) -> None:
    partial = workspace / "templates" / "_shared" / "footer.mjml.j2"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("<mj-section>\n{% if %}\n</mj-section>\n")
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 2
    assert re.fullmatch(r"newsletter: \S*templates/_shared/footer\.mjml\.j2:2: template error: .+\n", result.err)


@pytest.mark.slow
def test_compiled_templates_are_kept_per_user_and_recompiled_when_edited(workspace: Path, user_cache: Path) -> None:
    def build() -> str:
        subprocess.run([sys.executable, "-m", "newsletter", "build", EXAMPLE_ISSUE], cwd=workspace, check=True,
                       capture_output=True, timeout=120)
        return (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text()

    partial = workspace / "templates" / "_shared" / "footer.mjml.j2"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("<mj-section><mj-column><mj-text>First footer</mj-text></mj-column></mj-section>\n")
    assert "First footer" in build()
    compiled = user_cache / "newsletter" / "templates"
    assert any(compiled.glob("__jinja2_*.cache"))  # Jinja's bytecode files, outside the workspace
    assert not (workspace / ".cache" / "templates").exists()
    partial.write_text("<mj-section><mj-column><mj-text>Edited footer</mj-text></mj-column></mj-section>\n")
    html = build()
    assert "Edited footer" in html and "First footer" not in html
