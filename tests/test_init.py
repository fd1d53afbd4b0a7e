"""A new workspace: what `init` and `new` write, and what `check` says about the stand-ins left in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fresh_install import fill_in_placeholders

TOOL_SPEC = "newsletter @ git+https://git.example.org/team/newsletter@4f2a9c1"


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> tuple[Path, str]:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "news", "--json", "--tool-spec", TOOL_SPEC)
    assert result.code == 0, result.err
    root = tmp_path / "news"
    monkeypatch.chdir(root)
    return root, json.loads(result.out)["issue"]


def errors(cli, slug: str) -> dict[str, list[str]]:
    result = cli("check", slug, "--json")
    found: dict[str, list[str]] = {}
    for finding in json.loads(result.out)["findings"]:
        found.setdefault(finding["severity"], []).append(f"{finding['place']} {finding['message']}")
    return found


def test_check_names_every_stand_in_left_from_the_scaffold(fresh, cli) -> None:
    root, slug = fresh
    found = "\n".join(errors(cli, slug)["error"])
    for key in ("postal_address", "sender", "website", "unsubscribe_url", "unsubscribe_mailto"):
        assert f"{key} is" in found and "newsletter.toml:" in found, key
    for part in ("subject", "preheader", "intro"):
        assert f"the {part} is still the starter's" in found, part
    fill_in_placeholders(root, slug)
    after = errors(cli, slug)
    assert "error" not in after, after
    assert any("has no link" in warning for warning in after["warning"]), "the welcome article has no url:"
    assert cli("add", slug, f"issues/{slug}/articles/welcome.txt", "--url", "https://riverside.example/w").code == 0
    assert "warning" not in errors(cli, slug)


def test_the_sample_audience_takes_a_dry_run_and_the_hint_keeps_the_audience(fresh, cli) -> None:
    root, slug = fresh
    for name in ("audience.csv", "suppressions.csv", "requirements.txt"):
        assert (root / name).is_file(), name
    assert all(line.endswith("@example.org") or line == "email"
               for line in (root / "suppressions.csv").read_text().splitlines())
    assert (root / "requirements.txt").read_text().splitlines()[-1] == TOOL_SPEC
    fill_in_placeholders(root, slug)
    dry = cli("send", slug)
    assert dry.code == 0, dry.err
    assert "3 recipients from audience.csv" in dry.out and f"To send it: newsletter send {slug} --send\n" in dry.out
    (root / "test.csv").write_text("email,first_name\neditor@example.org,Ed\n")
    test = cli("send", slug, "--audience", "test.csv", "--limit", "1")
    assert f"To send it: newsletter send {slug} --send --audience test.csv --limit 1" in test.out


def test_new_writes_a_sample_audience_when_the_workspace_has_none(workspace: Path, cli) -> None:
    result = cli("new", "seed-swap", "--json")
    assert result.code == 0, result.err
    folder = workspace / "issues" / "seed-swap"
    assert sorted(json.loads(result.out)["files"]) == sorted(str(folder / n) for n in ("audience.csv", "issue.md"))
    assert "audience: audience.csv" in (folder / "issue.md").read_text()
    assert (folder / "audience.csv").read_text().startswith("email,first_name,last_name\n")


def test_new_refuses_a_slug_with_a_space(workspace: Path, cli) -> None:
    result = cli("new", "Dec issue")
    assert result.code == 2 and result.err.count("\n") == 1 and "invalid issue name 'Dec issue'" in result.err
    assert not (workspace / "issues" / "Dec issue").exists()


def test_every_command_ends_with_a_next_hint(fresh, cli) -> None:
    root, slug = fresh
    fill_in_placeholders(root, slug)
    for args in (["build", slug], ["check", slug], ["status", slug], ["new", "autumn-fair"], ["archive"]):
        result = cli(*args)
        assert result.out.splitlines()[-1].startswith("Next: newsletter") or "Next: open" in result.out, args


def test_archive_with_nothing_sent_says_why_and_mentions_all(fresh, cli) -> None:
    result = cli("archive")
    assert "Archived 0 issues" in result.out and "--all" in result.out
    assert json.loads(cli("archive", "--all", "--json").out)["issues"][0]["slug"] == fresh[1]
