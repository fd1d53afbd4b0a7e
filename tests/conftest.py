"""Shared fixtures. Third-party data is read from ../shared through ``shared_dir`` only."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from newsletter.cli.commands import main

# Fixtures shared by several test modules (loopback web server, fake SendGrid).
pytest_plugins = ["tests.http_server", "tests.send_helpers", "tests.fresh_install", "tests.smtp_server"]

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_ISSUE = "2026-11-garden-notes"
BENCHMARKS = PROJECT / "benchmarks"
ALLOW_LOOPBACK = 'allow_private_hosts = ["127.0.0.1"]\n'


def benchmark_module(name: str) -> ModuleType:
    """A script from benchmarks/, loaded by path (pysbd installs a top-level package named ``benchmarks``)."""
    if name in sys.modules:
        return sys.modules[name]
    if str(BENCHMARKS) not in sys.path:
        sys.path.append(str(BENCHMARKS))  # the scripts import their sibling ``evaluation``
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The per-user cache (compiled templates) of the test run, not of whoever runs it; CLI subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("user-cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The workplace's shared data (seeds, evaluation sets), beside the checkout as in CI."""
    candidates = [Path(os.environ["NEWSLETTER_SHARED"])] if "NEWSLETTER_SHARED" in os.environ else []
    candidates.append(PROJECT.parent / "shared")
    for candidate in candidates:
        if (candidate / "seeds").is_dir():
            return candidate
    pytest.fail(f"shared data not found (looked in {', '.join(map(str, candidates))}); set NEWSLETTER_SHARED")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's example workspace; the working directory is set to it."""
    root = example_workspace(tmp_path / "ws")
    monkeypatch.chdir(root)
    return root


def example_workspace(root: Path) -> Path:
    """A copy of the project's example workspace at ``root`` (a new folder)."""
    root.mkdir()
    settings = (PROJECT / "newsletter.toml").read_text(encoding="utf-8")
    # The tests' web servers live on 127.0.0.1, which fetches may reach only when a setting names it.
    (root / "newsletter.toml").write_text(settings.replace("[fetch]", f"[fetch]\n{ALLOW_LOOPBACK}", 1),
                                          encoding="utf-8")
    shutil.copytree(PROJECT / "issues" / EXAMPLE_ISSUE, root / "issues" / EXAMPLE_ISSUE)
    # As a sender's own copy has it (`cp .env.example .env`): a first real send keeps its new
    # send-log key there. A runner's fresh clone has none (tests of that remove it).
    (root / ".env").write_text("# Secrets only; never committed.\n", encoding="utf-8")
    return root


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture):
    """Run the newsletter command in process; returns exit code, stdout and stderr."""
    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def write_issue(folder: Path, front_matter: str, intro: str = "Hello.") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "issue.md"
    path.write_text(f"---\n{front_matter.strip()}\n---\n{intro}\n", encoding="utf-8")
    return path
