"""The first hour, replayed: from the built wheel in a fresh venv to a dry-run send, by the commands alone.

Each step is the console script as a newcomer types it, in the folder they would stand in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE, PROJECT
from tests.fresh_install import fill_in_placeholders, fresh_venv, run

HTML = Path(__file__).parent / "fixtures" / "html"


@pytest.mark.slow
def test_a_newcomer_gets_from_init_to_a_dry_run_send(tmp_path: Path, built_wheel: Path, web) -> None:
    env = fresh_venv(tmp_path / "venv")
    run(["python", "-m", "pip", "install", "--quiet", str(built_wheel)], cwd=tmp_path, env=env)
    root = tmp_path / "garden-news"
    root.mkdir()

    def nl(*args: str, code: int = 0, cwd: Path = root) -> str:
        result = run(["newsletter", *args], cwd=cwd, env=env, check=False)
        assert result.returncode == code, f"newsletter {' '.join(args)}: exit {result.returncode}\n{result.stdout}{result.stderr}"
        return result.stdout

    starter = json.loads(nl("init", ".", "--json"))["issue"]
    assert "placeholder" in nl("check", starter, code=1), "the scaffold's stand-ins are not ready to send"
    fill_in_placeholders(root, starter)
    with (root / "newsletter.toml").open("a", encoding="utf-8") as settings:  # the test's pages are on loopback
        settings.write('\n[fetch]\nallow_private_hosts = ["127.0.0.1"]\n')

    out = nl("new", "seed-swap")
    assert "Next: newsletter add seed-swap" in out
    fill_in_placeholders(root, "seed-swap")
    saved = root / "saved" / "compost.txt"  # a page copied from the browser into a text file
    saved.parent.mkdir()
    shutil.copy(PROJECT / "issues" / EXAMPLE_ISSUE / "articles" / "compost.txt", saved)
    out = nl("add", "seed-swap", "compost.txt", "--url", "https://riverside.example/compost", cwd=saved.parent)
    assert "Added 1 article" in out and "Next: newsletter build seed-swap" in out
    page = web.page("/first-beehive", (HTML / "beehive.html").read_bytes(), "text/html; charset=utf-8")
    assert "Added 1 article" in nl("add", "seed-swap", page)
    issue_text = (root / "issues" / "seed-swap" / "issue.md").read_text()
    assert "source: ../../saved/compost.txt" in issue_text and str(tmp_path) not in issue_text

    out = nl("build", "seed-swap")
    assert "Built seed-swap: 2 articles" in out and "Next: newsletter check seed-swap" in out
    out = nl("check", "seed-swap")
    assert "0 errors" in out, out
    out = nl("send", "seed-swap")
    assert "Dry run: nothing was sent. 3 recipients from audience.csv" in out
    assert "To send it: newsletter send seed-swap --send" in out
    assert len(list((root / "outbox" / "seed-swap").glob("*/*.eml"))) == 3
    out = nl("status", "seed-swap")
    assert "audience   3 recipients" in out and "sent       0" in out
    out = nl("archive")
    assert "Archived 0 issues" in out and "--all" in out
