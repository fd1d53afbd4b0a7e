"""The workflow `newsletter init` writes, run step by step as GitHub Actions would run it.

Each ``run:`` step goes through bash in order, with ``${{ secrets.NAME }}`` taken from the
test's secrets and any other expression left empty; ``uses:`` steps (checkout, setup-python)
are what the fresh venv and the local git repository stand in for. The tool comes from the
wheel built from this checkout, through the requirements.txt that init wrote.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.fresh_install import fill_in_placeholders, fresh_venv, run
from tests.send_helpers import FAKE_KEY
from tests.sendgrid_server import FakeSendGrid

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
WORKFLOW = ".github/workflows/send-scheduled.yml"


def expand(text: str, secrets: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = re.fullmatch(r"secrets\.(\w+)", match.group(1))
        return secrets.get(name.group(1), "") if name else ""

    return EXPRESSION.sub(value, text)


def run_workflow(root: Path, env: dict[str, str], secrets: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """Every step of the pages job, then the send job; a failed step skips the rest, except ``if: always()`` ones."""
    jobs = YAML(typ="safe").load((root / WORKFLOW).read_text())["jobs"]
    results, failed = {}, False
    for job, step in [(name, step) for name in ("pages", "send") for step in jobs[name]["steps"]]:
        if "run" not in step or (failed and "always()" not in str(step.get("if", ""))):
            continue
        step_env = env | {key: expand(str(value), secrets) for key, value in (step.get("env") or {}).items()}
        result = subprocess.run(["bash", "-eo", "pipefail", "-c", expand(step["run"], secrets)], cwd=root,
                                env=step_env, capture_output=True, text=True, timeout=300)
        results[f"{job}: {step['name']}"] = result
        failed = failed or result.returncode != 0
    return results


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def sendgrid():
    server = FakeSendGrid(FAKE_KEY)
    yield server
    server.stop()


@pytest.mark.slow
def test_the_init_workflow_installs_checks_sends_due_issues_and_commits_the_log(tmp_path, built_wheel, sendgrid):
    env = fresh_venv(tmp_path / "venv")
    run(["python", "-m", "pip", "install", "--quiet", str(built_wheel)], cwd=tmp_path, env=env)
    init = run(["newsletter", "init", "news", "--tool-spec", str(built_wheel), "--json"], cwd=tmp_path, env=env)
    slug = json.loads(init.stdout)["issue"]
    root = tmp_path / "news"
    assert (root / "requirements.txt").read_text().splitlines()[-1] == str(built_wheel)
    workflow = YAML(typ="safe").load((root / WORKFLOW).read_text())
    python = next(s for s in workflow["jobs"]["send"]["steps"] if "setup-python" in s.get("uses", ""))
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "requirements.txt"

    fill_in_placeholders(root, slug)
    issue = root / "issues" / slug / "issue.md"
    issue.write_text(issue.read_text().replace("\ndate:", "\nsend_at: 2026-01-01T07:00:00+00:00\ndate:", 1))
    run(["newsletter", "add", slug, f"issues/{slug}/articles/welcome.txt", "--url",
         "https://riverside-allotments.org.uk/first-issue"], cwd=root, env=env)
    settings = root / "newsletter.toml"
    settings.write_text(settings.read_text().replace('provider = "outbox"', 'provider = "sendgrid"')
                        + f'\n[send.sendgrid]\nhost = "{sendgrid.url}"\n')
    # The workspace repository and its remote, as actions/checkout leaves them.
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    git(root, "init", "--quiet", "-b", "main")
    git(root, "-c", "user.name=Editor", "-c", "user.email=editor@example.org", "commit", "--quiet", "-m", "Start",
        "--allow-empty")
    git(root, "add", "-A")
    git(root, "-c", "user.name=Editor", "-c", "user.email=editor@example.org", "commit", "--quiet", "-m", "Issue")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "--quiet", "-u", "origin", "main")
    run(["python", "-m", "pip", "uninstall", "--quiet", "--yes", "newsletter"], cwd=root, env=env)
    assert not (tmp_path / "venv" / "bin" / "newsletter").exists(), "the workflow must install the tool itself"

    secrets = {"SENDGRID_API_KEY": FAKE_KEY, "NEWSLETTER_LOG_KEY": "log-key-the-first-send-wrote-to-env"}
    git(root, "clean", "-fdxq")  # each run starts from a fresh checkout: no .env, no cache, no build
    steps = run_workflow(root, env, secrets)
    report = "\n".join(f"{name}: exit {r.returncode}\n{r.stdout}{r.stderr}" for name, r in steps.items())
    assert len(steps) == 6 and all(r.returncode == 0 for r in steps.values()), report
    assert (root / "_site" / slug / "index.html").is_file(), "the Pages job archives the issue that is due"
    assert sorted(sendgrid.delivered) == ["ada.sample@example.org", "ben.trial@example.org", "cleo.demo@example.org"]
    assert "Send log:" in git(remote, "log", "-1", "--format=%s")
    assert f"issues/{slug}/send-log.jsonl" in git(remote, "show", "--name-only", "--format=", "HEAD")

    git(root, "clean", "-fdxq")
    again = run_workflow(root, env, secrets)
    assert all(r.returncode == 0 for r in again.values())
    assert "No scheduled issue is due." in again["send: Build and check the issues that are due"].stdout
    assert len(sendgrid.delivered) == 3, "a second run sends nothing"
