"""The workflow `newsletter init` writes, run as a GitHub runner would run it.

Each run starts from a fresh ``git clone`` of the workspace's remote (a bare repository here),
so ignored files (.env, .cache, build) are not there. Each ``run:`` step goes through bash in
order with only the environment the job and the step declare: ``${{ secrets.NAME }}`` is the
test's secret or "" when unset, as GitHub passes it, and any other expression is empty. The
``uses:`` steps (checkout, setup-python) are what the clone and a fresh venv stand in for. The
tool comes from the wheel built from this checkout, through the requirements.txt that init
wrote from where the running tool was installed from (PEP 610).
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


def run_workflow(clone: Path, runner_env: dict[str, str], secrets: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """Every step of the pages job, then the send job; a failed step skips the rest, except ``if: always()`` ones."""
    jobs = YAML(typ="safe").load((clone / WORKFLOW).read_text())["jobs"]
    results, failed = {}, False
    for job, step in [(name, step) for name in ("pages", "send") for step in jobs[name]["steps"]]:
        if "run" not in step or (failed and "always()" not in str(step.get("if", ""))):
            continue
        declared = {**(jobs[job].get("env") or {}), **(step.get("env") or {})}
        step_env = runner_env | {key: expand(str(value), secrets) for key, value in declared.items()}
        result = subprocess.run(["bash", "-eo", "pipefail", "-c", expand(step["run"], secrets)], cwd=clone,
                                env=step_env, capture_output=True, text=True, timeout=300)
        results[f"{job}: {step['name']}"] = result
        failed = failed or result.returncode != 0
    return results


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def report(steps: dict[str, subprocess.CompletedProcess]) -> str:
    return "\n".join(f"{name}: exit {r.returncode}\n{r.stdout}{r.stderr}" for name, r in steps.items())


@pytest.fixture
def sendgrid():
    server = FakeSendGrid(FAKE_KEY)
    yield server
    server.stop()


EDITOR = ["-c", "user.name=Editor", "-c", "user.email=editor@example.org"]


def editor_workspace(tmp_path: Path, built_wheel: Path, sendgrid: FakeSendGrid) -> tuple[Path, Path, dict[str, str], str, dict]:
    """A workspace made by init from the installed wheel, its issue scheduled, approved and pushed
    to a bare remote; the venv the runner uses, with the tool uninstalled again."""
    env = fresh_venv(tmp_path / "venv")
    run(["python", "-m", "pip", "install", "--quiet", str(built_wheel)], cwd=tmp_path, env=env)
    init = run(["newsletter", "init", "news", "--json"], cwd=tmp_path, env=env)
    slug = json.loads(init.stdout)["issue"]
    root = tmp_path / "news"
    assert (root / "requirements.txt").read_text().splitlines()[-1] == f"newsletter @ {built_wheel.as_uri()}"
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
    run(["newsletter", "approve", slug], cwd=root, env=env)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "-A")
    git(root, *EDITOR, "commit", "--quiet", "-m", "Issue")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "--quiet", "-u", "origin", "main")
    run(["python", "-m", "pip", "uninstall", "--quiet", "--yes", "newsletter"], cwd=root, env=env)
    assert not (tmp_path / "venv" / "bin" / "newsletter").exists(), "the workflow must install the tool itself"
    runner_env = {key: env[key] for key in ("PATH", "HOME", "LANG", "VIRTUAL_ENV", "PIP_DISABLE_PIP_VERSION_CHECK",
                                            "PIP_NO_INDEX")}
    runner_env |= {"GIT_AUTHOR_NAME": "runner", "GIT_COMMITTER_NAME": "runner",
                   "GIT_AUTHOR_EMAIL": "runner@example.org", "GIT_COMMITTER_EMAIL": "runner@example.org"}
    # What `newsletter secrets` told the editor to give CI: the values init made into .env.
    made = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in (root / ".env").read_text().splitlines()
            if "=" in line and not line.startswith("#")}
    secrets = {"SENDGRID_API_KEY": FAKE_KEY, **made}
    assert set(secrets) == {"SENDGRID_API_KEY", "NEWSLETTER_LOG_KEY", "NEWSLETTER_UNSUBSCRIBE_SECRET"}
    return remote, tmp_path, runner_env, slug, secrets


def fresh_clone(remote: Path, folder: Path) -> Path:
    git(remote.parent, "clone", "--quiet", str(remote), str(folder))
    return folder


@pytest.mark.slow
def test_two_scheduled_runs_send_each_reader_the_approved_issue_exactly_once(tmp_path, built_wheel, sendgrid):
    remote, base, runner_env, slug, secrets = editor_workspace(tmp_path, built_wheel, sendgrid)

    first = run_workflow(fresh_clone(remote, base / "run-1"), runner_env, secrets)
    assert len(first) == 6 and all(r.returncode == 0 for r in first.values()), report(first)
    assert (base / "run-1" / "_site" / slug / "index.html").is_file(), "the Pages job archives the issue that is due"
    assert sorted(sendgrid.delivered) == ["ada.sample@example.org", "ben.trial@example.org", "cleo.demo@example.org"]
    assert "Send log:" in git(remote, "log", "-1", "--format=%s")
    assert f"issues/{slug}/send-log.jsonl" in git(remote, "show", "--name-only", "--format=", "HEAD")

    again = run_workflow(fresh_clone(remote, base / "run-2"), runner_env, secrets)
    assert all(r.returncode == 0 for r in again.values()), report(again)
    assert "No scheduled issue is due." in again["send: Build and check the issues that are due"].stdout
    assert len(sendgrid.delivered) == 3, "a second run sends nothing"


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["NEWSLETTER_LOG_KEY", "SENDGRID_API_KEY", "NEWSLETTER_UNSUBSCRIBE_SECRET"])
def test_a_run_missing_a_secret_sends_nothing_and_names_it(tmp_path, built_wheel, sendgrid, missing):
    remote, base, runner_env, slug, secrets = editor_workspace(tmp_path, built_wheel, sendgrid)
    del secrets[missing]
    steps = run_workflow(fresh_clone(remote, base / "run"), runner_env, secrets)
    failed = next(result for result in steps.values() if result.returncode != 0)
    assert f"{missing} is not set" in failed.stdout + failed.stderr, report(steps)
    assert not any(request.body.get("personalizations") for request in sendgrid.attempts)
    assert sendgrid.delivered == []
    assert "Send log:" not in git(remote, "log", "-1", "--format=%s")
