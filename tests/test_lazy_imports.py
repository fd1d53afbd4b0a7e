"""A command loads only what its inputs need: no HTML extractor for text dumps, no HTTP client
without URLs, no provider library without a real send, no cloud SDK without publishing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE

# Each test starts fresh interpreters: seconds apiece, so make check leaves them out.
pytestmark = pytest.mark.slow

HEAVY = ["trafilatura", "httpx", "sendgrid", "python_http_client", "boto3", "feedparser", "premailer", "css_inline"]
# Loaded only on a cold cache: the article's reader and summariser, the issue file's and the
# settings' parsers, the image pipeline; and never for text dumps: jusText (its stoplists are read as files).
COLD_ONLY = ["ruamel", "email_validator", "syntok", "PIL", "justext", "lxml", "dotenv"]
PROBE = """
import json, sys
from newsletter.cli import main

code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [name for name in %r if name in sys.modules]}))
""" % (HEAVY + COLD_ONLY)


def loaded_by(workspace: Path, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=workspace, capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return report["loaded"]


def test_a_build_of_text_dumps_loads_no_extractor_client_or_sdk(workspace: Path) -> None:
    (workspace / ".env").unlink()  # a workspace without secrets (a fresh clone) loads no python-dotenv
    first = loaded_by(workspace, "build", EXAMPLE_ISSUE)
    assert {"ruamel", "email_validator", "syntok", "lxml"} <= set(first)  # a cold cache: everything is read
    assert not {"justext", "dotenv"} & set(first) and not set(HEAVY[:-2]) & set(first)
    # The next build (an editor changed the intro) reads nothing it has read before.
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(issue.read_text() + "\nOne more line for the intro.\n")
    assert loaded_by(workspace, "build", EXAMPLE_ISSUE) == ["premailer", "lxml"]  # the inliner and its parser


def test_a_changed_front_matter_or_sender_is_read_and_checked_again(workspace: Path) -> None:
    loaded_by(workspace, "build", EXAMPLE_ISSUE)
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(issue.read_text().replace('preheader: "', 'preheader: "Changed: ', 1))
    assert "ruamel" in loaded_by(workspace, "build", EXAMPLE_ISSUE)
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("news@northwind.example", "letters@northwind.example", 1))
    assert "email_validator" in loaded_by(workspace, "build", EXAMPLE_ISSUE)
    settings.write_text(settings.read_text().replace("letters@northwind.example", "letters@@northwind", 1))
    result = subprocess.run([sys.executable, "-m", "newsletter", "build", EXAMPLE_ISSUE], cwd=workspace,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "newsletter.toml:" in result.stderr and "invalid address" in result.stderr


def test_stoplists_read_as_files_are_the_ones_justext_gives() -> None:
    import justext

    from newsletter.sources.stoplists import all_stoplists

    ours, _ = all_stoplists()
    assert len(ours) == len(justext.get_stoplists()) > 50
    assert all(ours[language] == justext.get_stoplist(language) for language in justext.get_stoplists())


def test_a_dry_run_loads_no_provider_library(workspace: Path) -> None:
    assert "sendgrid" not in loaded_by(workspace, "send", EXAMPLE_ISSUE)


def test_css_inline_replaces_premailer_when_chosen(workspace: Path) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[newsletter]\n", '[newsletter]\ninliner = "css-inline"\n', 1))
    (workspace / ".env").unlink()  # no secrets to read: python-dotenv stays unloaded
    loaded_by(workspace, "build", EXAMPLE_ISSUE)
    assert loaded_by(workspace, "build", EXAMPLE_ISSUE) == ["css_inline"]
