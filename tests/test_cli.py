"""The installed console script, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ISSUE

# The script pip installed beside this interpreter, not whatever ``newsletter`` comes first on PATH.
SCRIPT = Path(sys.executable).parent / "newsletter"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert SCRIPT.is_file(), f"the console script is not installed beside {sys.executable}"
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_help_teaches_every_command(workspace: Path) -> None:
    result = run("--help", cwd=workspace)
    assert result.returncode == 0
    for command in ("new", "add", "extract", "build", "send"):
        assert f"newsletter {command}" in result.stdout or f"  {command} " in result.stdout
    assert "Exit codes" in result.stdout


@pytest.mark.slow
def test_build_then_dry_run_send(workspace: Path) -> None:
    build = run("build", EXAMPLE_ISSUE, "--json", cwd=workspace)
    assert build.returncode == 0, build.stderr
    report = json.loads(build.stdout)
    assert report["articles"] == 4 and report["html_bytes"] < 102 * 1024
    send = run("send", EXAMPLE_ISSUE, cwd=workspace)
    assert send.returncode == 0, send.stderr
    assert "Dry run: nothing was sent. 6 recipients" in send.stdout
    assert len(list((workspace / "outbox" / EXAMPLE_ISSUE).glob("*/*.eml"))) == 3


@pytest.mark.slow
def test_new_then_add_then_build(workspace: Path) -> None:
    assert run("new", "2026-12", cwd=workspace).returncode == 0
    articles = workspace / "issues" / "2026-12" / "articles"
    shutil.copy(workspace / "issues" / EXAMPLE_ISSUE / "articles" / "compost.txt", articles)
    added = run("add", "2026-12", "articles/compost.txt", cwd=workspace)
    assert added.returncode == 0 and "Added 1 article" in added.stdout
    build = run("build", "2026-12", cwd=workspace)
    assert build.returncode == 0, build.stderr
    assert "brown gold" in (workspace / "build" / "2026-12" / "index.txt").read_text()


def test_errors_are_one_line_without_traceback(workspace: Path) -> None:
    result = run("build", "no-such-issue", cwd=workspace)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_quick_exit_flushes_output_runs_exit_handlers_and_keeps_the_code(workspace: Path) -> None:
    """`run` leaves without tearing the interpreter down: nothing printed, and no exit handler
    registered while the command runs (thread pools, logging: as libraries do on import), is lost."""
    probe = ("import atexit, sys; from newsletter.cli import commands; real = commands.main;"
             "commands.main = lambda: (atexit.register(lambda: print('exit handler ran')), real())[1];"
             "sys.argv = ['newsletter', *sys.argv[1:]]; commands.run()")
    # Block-buffered output into a pipe, as in CI: unflushed text would be lost.
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    result = subprocess.run([sys.executable, "-c", probe, "build", EXAMPLE_ISSUE, "--json"], cwd=workspace,
                            capture_output=True, text=True, timeout=120, env=buffered)
    assert result.returncode == 0, result.stderr
    report, handler = result.stdout.rsplit("}", 1)
    assert json.loads(report + "}")["articles"] == 4  # the whole JSON document, flushed into a pipe
    assert handler.strip() == "exit handler ran"
    failed = subprocess.run([sys.executable, "-c", probe, "build", "no-such-issue"], cwd=workspace,
                            capture_output=True, text=True, timeout=120, env=buffered)
    assert failed.returncode == 2 and "no-such-issue" in failed.stderr

