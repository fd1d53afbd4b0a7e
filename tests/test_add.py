"""`newsletter add`: paths are read from where the user stands and stored relative to the issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.compose.issuefile import read_issue
from tests.conftest import EXAMPLE_ISSUE


@pytest.fixture
def issue_dir(workspace: Path) -> Path:
    return workspace / "issues" / EXAMPLE_ISSUE


def sources(issue_dir: Path) -> dict[str, str | None]:
    return {ref.source: ref.url for ref in read_issue(issue_dir / "issue.md").articles}


def test_a_path_typed_from_the_workspace_root_is_stored_relative_to_the_issue(cli, workspace, issue_dir):
    (issue_dir / "articles" / "new.txt").write_text("A new article about hedges.\n")
    result = cli("add", EXAMPLE_ISSUE, f"issues/{EXAMPLE_ISSUE}/articles/new.txt")
    assert result.code == 0, result.err
    assert "articles/new.txt" in sources(issue_dir)
    assert f"Next: newsletter build {EXAMPLE_ISSUE}" in result.out


def test_a_path_from_a_subfolder_is_resolved_from_there(cli, workspace, issue_dir, monkeypatch):
    monkeypatch.chdir(issue_dir / "articles")
    (issue_dir / "articles" / "here.txt").write_text("Typed from inside the articles folder.\n")
    assert cli("-C", workspace, "add", EXAMPLE_ISSUE, "here.txt").code == 0
    assert "articles/here.txt" in sources(issue_dir)


def test_a_file_outside_the_workspace_is_copied_in(cli, workspace, issue_dir, tmp_path):
    outside = tmp_path / "downloads" / "meadow.txt"
    outside.parent.mkdir()
    outside.write_text("How we sowed a wildflower meadow.\n")
    result = cli("add", EXAMPLE_ISSUE, str(outside), "--url", "https://northwind.example/meadow", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["added"] == ["articles/meadow.txt"] and report["copied"] == [str(outside)]
    assert (issue_dir / "articles" / "meadow.txt").read_text() == outside.read_text()
    assert sources(issue_dir)["articles/meadow.txt"] == "https://northwind.example/meadow"
    assert str(tmp_path) not in (issue_dir / "issue.md").read_text()  # an absolute path breaks in CI


def test_no_copy_refuses_a_file_outside_the_workspace(cli, issue_dir, tmp_path):
    outside = tmp_path / "meadow.txt"
    outside.write_text("Meadow.\n")
    before = (issue_dir / "issue.md").read_text()
    result = cli("add", EXAMPLE_ISSUE, str(outside), "--no-copy")
    assert result.code == 2 and "outside the workspace" in result.err
    assert (issue_dir / "issue.md").read_text() == before


@pytest.mark.parametrize("typed, message", [("missing.txt", "not found"), ("issues", "is not a file")])
def test_a_missing_path_or_a_folder_is_a_one_line_error_and_nothing_changes(cli, workspace, issue_dir, typed, message):
    (issue_dir / "articles" / "fine.txt").write_text("Fine.\n")
    before = (issue_dir / "issue.md").read_text()
    result = cli("add", EXAMPLE_ISSUE, f"issues/{EXAMPLE_ISSUE}/articles/fine.txt", typed)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1
    assert (issue_dir / "issue.md").read_text() == before


def test_url_sets_the_link_of_an_article_already_listed(cli, issue_dir):
    listed = next(source for source in sources(issue_dir) if "://" not in source)
    result = cli("add", EXAMPLE_ISSUE, str(issue_dir / listed), "--url", "https://northwind.example/new-link")
    assert result.code == 0, result.err
    assert sources(issue_dir)[listed] == "https://northwind.example/new-link"


def test_url_needs_exactly_one_source(cli, issue_dir):
    result = cli("add", EXAMPLE_ISSUE, "a.txt", "b.txt", "--url", "https://northwind.example/x")
    assert result.code == 2 and "exactly one SOURCE" in result.err
