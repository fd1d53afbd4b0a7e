"""`newsletter archive`: the static web archive of sent issues."""

from __future__ import annotations

import json
import re
from pathlib import Path

from newsletter.render.build import build_issue
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE


def mark_sent(issue_folder: Path) -> None:
    """A send log with one confirmed batch, as `newsletter send --send` writes it."""
    events = [
        {"at": "2026-11-27T07:00:03Z", "event": "batch-start", "batch": "1.1", "count": 1, "to": ["maya.hollis@example.org"]},
        {"at": "2026-11-27T07:00:04Z", "event": "batch-sent", "batch": "1.1", "count": 1},
    ]
    (issue_folder / "send-log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_only_sent_issues_are_archived(workspace: Path, cli) -> None:
    result = cli("archive")
    assert result.code == 0 and "Archived 0 issues" in result.out
    assert "No issues have been sent yet" in (workspace / "build" / "archive" / "index.html").read_text()
    mark_sent(workspace / "issues" / EXAMPLE_ISSUE)
    result = cli("archive")
    assert result.code == 0 and "Archived 1 issue" in result.out
    index = (workspace / "build" / "archive" / "index.html").read_text()
    assert f'href="{EXAMPLE_ISSUE}/"' in index and "Winter pruning, leaf mould &amp; a seed library" in index


def test_archived_page_is_public_and_self_contained(workspace: Path, cli) -> None:
    out = workspace / "site"
    assert cli("archive", "--all", "--out", out).code == 0
    page = (out / EXAMPLE_ISSUE / "index.html").read_text()
    assert "{{" not in page, "merge fields are filled with neutral values"
    assert "Hello reader," in page
    name = re.search(r'src="images/([0-9a-f]{20}\.png)"', page).group(1)  # named by its content
    assert (out / EXAMPLE_ISSUE / "images" / name).stat().st_size > 1000


def test_view_in_browser_points_at_the_archive_page(workspace: Path, cli) -> None:
    assert cli("build", EXAMPLE_ISSUE).code == 0
    html = (workspace / "build" / EXAMPLE_ISSUE / "index.html").read_text()
    base = f"https://northwind.example/newsletter/{EXAMPLE_ISSUE}/"
    assert f'href="{base}"' in html
    assert re.search(r'src="images/[0-9a-f]{20}\.png"', html), "the build file shows its images from disk"
    sent = build_issue(find_workspace(workspace), EXAMPLE_ISSUE).rendered.html
    assert re.search(rf'src="{re.escape(base)}images/[0-9a-f]{{20}}\.png"', sent), \
        "email images live beside the archive page"
