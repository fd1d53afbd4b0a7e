"""A command loads only what its inputs need: no HTML extractor for text dumps, no HTTP client
without URLs, no provider library without a real send, no cloud SDK without publishing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_ISSUE

HEAVY = ["trafilatura", "httpx", "sendgrid", "python_http_client", "boto3", "feedparser", "premailer", "css_inline"]
PROBE = """
import json, sys
from newsletter.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [name for name in %r if name in sys.modules]}))
""" % HEAVY


def loaded_by(workspace: Path, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=workspace, capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return report["loaded"]


def test_a_build_of_text_dumps_loads_no_extractor_client_or_sdk(workspace: Path) -> None:
    assert loaded_by(workspace, "build", EXAMPLE_ISSUE) == ["premailer"]  # the inliner the settings name


def test_a_dry_run_loads_no_provider_library(workspace: Path) -> None:
    assert "sendgrid" not in loaded_by(workspace, "send", EXAMPLE_ISSUE)


def test_css_inline_replaces_premailer_when_chosen(workspace: Path) -> None:
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[newsletter]\n", '[newsletter]\ninliner = "css-inline"\n', 1))
    assert loaded_by(workspace, "build", EXAMPLE_ISSUE) == ["css_inline"]
