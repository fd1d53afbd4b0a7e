"""Every theme: escaped article text, UTM-tagged links, dark mode, compliance footer, init."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from newsletter.render.links import tag_url
from tests.conftest import EXAMPLE_ISSUE, PROJECT, write_issue

THEMES = ["digest", "letter"]


def build(cli, workspace: Path, slug: str, theme: str) -> tuple[str, str]:
    issue = workspace / "issues" / slug / "issue.md"
    text = issue.read_text()
    issue.write_text(text.replace("\nsections:", f"\ntheme: {theme}\nsections:", 1))
    result = cli("build", slug)
    assert result.code == 0, result.err
    out = workspace / "build" / slug
    return (out / "index.html").read_text(), (out / "index.txt").read_text()


def hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]


@pytest.mark.parametrize("theme", THEMES)
def test_article_text_cannot_inject_markup(workspace: Path, cli, theme: str) -> None:
    folder = workspace / "issues" / "evil"
    (folder / "articles").mkdir(parents=True)
    (folder / "articles" / "evil.txt").write_text(
        "<script>alert(1)</script> & \"co\" <b>\nBy Eve Mallory\n3 May 2026\n"
        "This paragraph claims that 3 < 4 & 5 > 2 are \"true\" statements that must stay plain text here.\n")
    write_issue(folder, "subject: '<i>Evil</i> & co'\npreheader: '\"quoted\" <preheader> & more text here'\n"
                        "sections:\n  - title: '<Section>'\n    articles:\n      - source: articles/evil.txt\n"
                        "        url: 'javascript:alert(1)'\n        title: '<script>x</script> & \"q\"'")
    html, text = build(cli, workspace, "evil", theme)
    assert "<script" not in html and "<b>" not in html and "<i>Evil" not in html and "<Section>" not in html
    assert "javascript:" not in html and "javascript:" not in text
    assert "&lt;script&gt;x&lt;/script&gt; &amp;" in html
    assert "&lt;Section&gt;" in html
    assert "3 &lt; 4 &amp; 5 &gt; 2" in html


@pytest.mark.parametrize("theme", THEMES)
def test_article_links_carry_utm_in_both_parts(workspace: Path, cli, theme: str) -> None:
    html, text = build(cli, workspace, EXAMPLE_ISSUE, theme)
    issue = json.loads((workspace / "build" / EXAMPLE_ISSUE / "issue.json").read_text())
    for section in issue["sections"]:
        for entry in section["articles"]:
            tagged = [h for h in hrefs(html) if h.startswith(entry["url"].split("?")[0])]
            assert tagged, entry["url"]
            for href in tagged:
                query = parse_qs(urlsplit(href).query)
                assert query["utm_source"] == ["newsletter"] and query["utm_medium"] == ["email"]
                assert query["utm_campaign"] == [EXAMPLE_ISSUE]
                assert query["utm_content"] == [section["title"].lower().replace(" ", "-")]
                assert href in text
    leaf = next(h for h in hrefs(html) if "leaf-mould" in h)
    assert parse_qs(urlsplit(leaf).query)["ref"] == ["notes"], "existing query strings are kept"


def test_tag_url_keeps_merge_fields_fragments_and_own_utm() -> None:
    params = {"utm_source": "newsletter", "utm_medium": "email"}
    assert tag_url("https://x.example/a?u={{email}}#top", params) == \
        "https://x.example/a?u={{email}}&utm_source=newsletter&utm_medium=email#top"
    assert tag_url("https://x.example/?utm_source=own", params) == "https://x.example/?utm_source=own&utm_medium=email"
    assert tag_url("mailto:a@x.example", params) == "mailto:a@x.example"


@pytest.mark.parametrize("theme", THEMES)
def test_compliance_and_client_features(workspace: Path, cli, theme: str) -> None:
    html, text = build(cli, workspace, EXAMPLE_ISSUE, theme)
    assert re.search(r'<a href="https://northwind.example/unsubscribe\?email=\{\{email\}\}"[^>]*>Unsubscribe</a>', html)
    assert "14 Eastfield Lane" in html and "14 Eastfield Lane" in text
    web = f"https://northwind.example/newsletter/{EXAMPLE_ISSUE}/"
    assert f'href="{web}"' in html and f"View in your browser: {web}" in text
    assert 'name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    # Hidden the way spam filters accept: not coloured like the background (HTML_FONT_LOW_CONTRAST).
    preheader = re.search(r'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">(.*?)</div>',
                          html, re.DOTALL).group(1)
    assert preheader.startswith("Plus our December work day") and preheader.count("\u200c") >= 50
    assert 'href="https://instagram.com/northwindgardens"' in html
    assert all(' alt="' in img for img in re.findall(r"<img[^>]*>", html))
    assert "[1] https://northwind.example/blog/winter-pruning?" in text


def test_init_scaffolds_a_workspace_that_builds_and_checks_only_its_placeholders(tmp_path: Path, monkeypatch, cli) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "team-news", "--tool-spec", "newsletter @ git+https://git.example.org/t/n@1")
    assert result.code == 0, result.err
    root = tmp_path / "team-news"
    for name in ("newsletter.toml", ".env.example", "templates/digest/issue.mjml.j2", "templates/letter/issue.mjml.j2",
                 "templates/_shared/footer.mjml.j2"):
        assert (root / name).is_file(), name
    workflow = ".github/workflows/send-scheduled.yml"
    assert (root / workflow).read_text() == (PROJECT / workflow).read_text()
    issue = next((root / "issues").glob("*/issue.md"))
    monkeypatch.chdir(root)
    assert cli("build", issue.parent.name).code == 0
    check = cli("check", issue.parent.name, "--json")
    assert check.code == 1, "the starter's stand-ins are errors until replaced"
    assert {f["code"] for f in json.loads(check.out)["findings"] if f["severity"] == "error"} == {"placeholder"}
    assert cli("init", str(root)).code == 2, "never writes into a folder with files"


@pytest.mark.parametrize("replacement, message", [
    ("{{ entry.summary | nosuchfilter }}", r"templates/digest/partials/article\.mjml\.j2:\d+: template error: No filter named 'nosuchfilter'\."),
    ("{{ entry.nothing.deeper }}", r"templates/digest/partials/article\.mjml\.j2:\d+: template error: .*has no attribute 'nothing'"),
    ("<mj-bogus>", r"templates/digest/issue\.mjml\.j2:1: MJML compile failed: .+"),
])
def test_broken_theme_is_one_line_naming_the_template(workspace: Path, cli, replacement: str, message: str) -> None:
    from newsletter.render.email_html import PACKAGE_THEMES

    partial = workspace / "templates" / "digest" / "partials" / "article.mjml.j2"
    partial.parent.mkdir(parents=True)
    original = (PACKAGE_THEMES / "digest" / "partials" / "article.mjml.j2").read_text()
    assert "{{ entry.summary }}" in original
    partial.write_text(original.replace("{{ entry.summary }}", replacement))
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 2
    assert re.fullmatch(rf"newsletter: {message}\n", result.err), result.err
    if r"\d+" in message:
        line = int(re.search(r"\.j2:(\d+):", result.err).group(1))
        assert replacement in partial.read_text().splitlines()[line - 1]
    assert not (workspace / "build").exists()


@pytest.mark.parametrize("theme", THEMES)
def test_each_message_has_headers_parts_and_tagged_links(workspace: Path, theme: str) -> None:
    from email import message_from_bytes, policy

    from newsletter.compose.audience import Recipient
    from newsletter.deliver.send import campaign_for
    from newsletter.render.build import build_issue
    from newsletter.render.message import build_message
    from newsletter.workspace import find_workspace

    ws = find_workspace(workspace)
    build = build_issue(ws, EXAMPLE_ISSUE, theme=theme)
    raw = bytes(build_message(campaign_for(build, ws), Recipient("ann@example.org", {"first_name": "Ann"})))
    message = message_from_bytes(raw, policy=policy.default)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert message[header], header
    assert message["Message-ID"].endswith("@northwind.example>")
    assert "<https://northwind.example/unsubscribe?email=ann@example.org>" in message["List-Unsubscribe"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert html.count("utm_campaign=2026-11-garden-notes") >= 4 and text.count("utm_campaign=2026-11-garden-notes") == 4
    assert "Hello Ann," in html and "Hello Ann," in text
    assert len(build.rendered.html.encode()) < 102 * 1024
