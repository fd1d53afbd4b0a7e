"""`newsletter check`: findings with a code, a severity and a place; errors exit 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newsletter.render.email_html import themes
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE

ISSUE_FILE = Path("issues") / EXAMPLE_ISSUE / "issue.md"


def findings(cli, *args: str) -> tuple[int, dict]:
    result = cli("check", EXAMPLE_ISSUE, "--json", *args)
    return result.code, json.loads(result.out)


def codes(report: dict, severity: str | None = None) -> set[str]:
    return {f["code"] for f in report["findings"] if severity in (None, f["severity"])}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def override_partial(workspace: Path, name: str, content: str) -> None:
    path = workspace / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def test_example_issue_passes_on_every_theme(workspace: Path, cli) -> None:
    available = themes(find_workspace(workspace))
    assert {"digest", "letter"} <= set(available)
    for theme in available:
        code, report = findings(cli, "--theme", theme)
        assert code == 0 and report["errors"] == 0, (theme, report["findings"])
        assert report["theme"] == theme


def test_human_output_summarises(workspace: Path, cli) -> None:
    result = cli("check", EXAMPLE_ISSUE)
    assert result.code == 0
    assert re.search(r"2026-11-garden-notes \(digest\): 0 errors, 0 warnings", result.out)


def test_missing_unsubscribe_and_postal_address_are_errors(workspace: Path, cli) -> None:
    settings = workspace / "newsletter.toml"
    edit(settings, 'unsubscribe_url = "https://northwind.example/unsubscribe?email={{email}}"', 'unsubscribe_url = ""')
    edit(settings, 'unsubscribe_mailto = "unsubscribe@northwind.example"', 'unsubscribe_mailto = ""')
    edit(settings, 'postal_address = "Northwind', 'postal_address = "" # "')
    code, report = findings(cli)
    assert code == 1
    assert {"no-list-unsubscribe", "no-unsubscribe-link", "no-postal-address"} <= codes(report, "error")
    human = cli("check", EXAMPLE_ISSUE)
    assert human.code == 1 and "newsletter.toml: error no-postal-address" in human.out


def test_theme_that_drops_the_footer_is_caught(workspace: Path, cli) -> None:
    override_partial(workspace, "_shared/footer.mjml.j2", "<mj-section><mj-column><mj-text>Bye</mj-text></mj-column></mj-section>\n")
    code, report = findings(cli)
    assert code == 1
    assert {"no-unsubscribe-link", "no-postal-address"} <= codes(report, "error")


def test_subject_preheader_and_merge_fields(workspace: Path, cli) -> None:
    issue = workspace / ISSUE_FILE
    edit(issue, 'subject: "Winter pruning, leaf mould & a seed library"',
         'subject: "Winter pruning, leaf mould, a seed library, a work day and much, much more inside"')
    edit(issue, 'preheader: "Plus our December work day: tools, soup and a new hedge"', 'preheader: "Hi"')
    edit(issue, "Hello {{first_name}},", "Hello {{nickname}},")
    code, report = findings(cli)
    assert code == 1
    by_code = {f["code"]: f for f in report["findings"]}
    text = issue.read_text().splitlines()
    assert by_code["subject-length"]["place"].endswith(f"issue.md:{next(i for i, line in enumerate(text, 1) if line.startswith('subject:'))}")
    assert by_code["preheader-length"]["severity"] == "warning"
    assert by_code["unknown-merge-field"]["severity"] == "error"
    assert "{{nickname}}" in by_code["unknown-merge-field"]["message"]
    hello = next(i for i, line in enumerate(text, 1) if "{{nickname}}" in line)
    assert by_code["unknown-merge-field"]["place"].endswith(f"issue.md:{hello}")


def test_links_and_images(workspace: Path, cli) -> None:
    edit(workspace / ISSUE_FILE, "url: https://northwind.example/blog/seed-library", "url: http://northwind.example/blog/seed-library")
    override_partial(workspace, "_shared/masthead.mjml.j2",
                     '<mj-section><mj-column><mj-text><a href="">Nowhere</a></mj-text>'
                     '<mj-raw><img src="https://northwind.example/x.png"></mj-raw></mj-column></mj-section>\n')
    code, report = findings(cli)
    assert code == 1
    assert {"empty-link", "image-no-alt"} <= codes(report, "error")
    assert {"insecure-link", "image-no-width"} <= codes(report, "warning")
    place = next(f["place"] for f in report["findings"] if f["code"] == "empty-link")
    assert re.fullmatch(rf"build/{EXAMPLE_ISSUE}/index\.html:\d+", place)
    line = int(place.rsplit(":", 1)[1])
    cli("build", EXAMPLE_ISSUE)
    built = (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text().splitlines()
    assert 'href=""' in built[line - 1]


def test_unsupported_css_from_a_theme_is_a_warning(workspace: Path, cli) -> None:
    override_partial(workspace, "_shared/masthead.mjml.j2",
                     '<mj-section><mj-column><mj-text><div style="display:flex;position:absolute">x</div>'
                     "</mj-text></mj-column></mj-section>\n")
    code, report = findings(cli)
    assert code == 0, "client support is a warning, not an error"
    warned = codes(report, "warning")
    assert {"client-support:css-display-flex", "client-support:css-position"} <= warned
    flex = next(f for f in report["findings"] if f["code"] == "client-support:css-display-flex")
    assert "Outlook (Windows)" in flex["message"]


def test_mjml_own_markup_raises_no_client_warnings(workspace: Path, cli) -> None:
    _, report = findings(cli)
    assert not [f for f in report["findings"] if f["code"].startswith("client-support") and f["severity"] == "warning"]


@pytest.mark.parametrize("kilobytes, code, severity", [(90, "gmail-clip-near", "warning"), (110, "gmail-clip", "error")])
def test_size_against_gmail_clipping(workspace: Path, cli, kilobytes: int, code: str, severity: str) -> None:
    baseline = json.loads(cli("build", EXAMPLE_ISSUE, "--json").out)["html_bytes"]
    sentence = "Plot news and notes for everyone. "
    filler = sentence * ((kilobytes * 1024 - baseline) // len(sentence))
    issue = workspace / ISSUE_FILE
    issue.write_text(issue.read_text() + "\n" + filler + "\n")
    exit_code, report = findings(cli)
    assert code in codes(report, severity)
    assert exit_code == (1 if severity == "error" else 0)


def test_caniemail_data_can_come_from_a_path(workspace: Path, cli, tmp_path: Path) -> None:
    data = {"data": [{"slug": "css-letter-spacing", "title": "letter-spacing", "category": "css",
                      "stats": {"outlook": {"windows": {"2019": "n"}}}}]}
    path = tmp_path / "caniemail.json"
    path.write_text(json.dumps(data))
    edit(workspace / "newsletter.toml", '# caniemail = "path/to/caniemail/data.json"', f'caniemail = "{path}"')
    _, report = findings(cli)
    letter_spacing = next(f for f in report["findings"] if f["code"] == "client-support:css-letter-spacing")
    assert letter_spacing["severity"] == "warning" and "Outlook (Windows)" in letter_spacing["message"]
