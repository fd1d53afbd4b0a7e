"""The article cache: a rebuild reads and summarises only the sources whose bytes changed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import newsletter.compose.cache as cache_module
from tests.conftest import EXAMPLE_ISSUE


class Counted:
    """Wraps a function and records the sources it was called for."""

    def __init__(self, function) -> None:
        self.function, self.calls = function, []

    def __call__(self, source, *args, **kwargs):
        self.calls.append(getattr(source, "location", source))
        return self.function(source, *args, **kwargs)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counted:
    counted = Counted(cache_module.read_source)
    monkeypatch.setattr(cache_module, "read_source", counted)
    return counted


def summaries(workspace: Path) -> dict[str, str]:
    issue = json.loads((workspace / "build" / EXAMPLE_ISSUE / "issue.json").read_text())
    return {e["source"]: e["summary"] for s in issue["sections"] for e in s["articles"]}


def test_an_unchanged_rebuild_reads_no_source_again(workspace: Path, cli, reads: Counted) -> None:
    assert cli("build", EXAMPLE_ISSUE).code == 0
    first, before = len(reads.calls), summaries(workspace)
    assert first >= 4
    assert cli("build", EXAMPLE_ISSUE).code == 0
    assert len(reads.calls) == first  # every article and summary came from the cache
    assert summaries(workspace) == before


def test_an_edited_source_is_the_only_one_read_again(workspace: Path, cli, reads: Counted) -> None:
    assert cli("build", EXAMPLE_ISSUE).code == 0
    reads.calls.clear()
    article = workspace / "issues" / EXAMPLE_ISSUE / "articles" / "compost.txt"
    article.write_text(article.read_text().replace("compost", "leaf compost", 1))
    assert cli("build", EXAMPLE_ISSUE).code == 0
    assert reads.calls == ["articles/compost.txt"]


def test_refresh_ignores_the_cache_and_a_new_budget_misses_it(workspace: Path, cli, reads: Counted) -> None:
    assert cli("build", EXAMPLE_ISSUE).code == 0
    reads.calls.clear()
    assert cli("build", EXAMPLE_ISSUE, "--refresh").code == 0
    assert len(reads.calls) >= 4
    short_before = summaries(workspace)
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    text = issue.read_text()
    shorter = re.sub(r"summary: \{[^}]*\}", "summary: {sentences: 1}", text, count=1)
    assert shorter != text, "the example issue sets its summary budget"
    issue.write_text(shorter)
    assert cli("build", EXAMPLE_ISSUE).code == 0
    after = summaries(workspace)
    changed = [source for source in after if after[source] != short_before[source]]
    assert changed, "a shorter summary budget must not be served from the cache"


def test_a_changed_module_is_a_new_program_for_the_cache(workspace: Path, cli, reads: Counted, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An editable install edited in place keeps its version: the modules' size and time key the cache too."""
    import shutil

    from newsletter import files

    package = tmp_path / "package"
    shutil.copytree(Path(files.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    stamp = files.code_stamp.__wrapped__
    before = stamp(package)
    (package / "sources" / "article.py").write_text((package / "sources" / "article.py").read_text() + "\n# edited\n")
    assert stamp(package) != before

    assert cli("build", EXAMPLE_ISSUE).code == 0
    first = len(reads.calls)
    monkeypatch.setattr(files, "code_stamp", lambda: stamp(package))  # the edited program
    assert cli("build", EXAMPLE_ISSUE).code == 0
    assert len(reads.calls) == 2 * first  # every source read again
    monkeypatch.undo()
    assert cli("build", EXAMPLE_ISSUE).code == 0
    assert len(reads.calls) == 2 * first  # the program as it was: the first build's results serve again
