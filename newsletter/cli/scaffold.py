"""`newsletter init`: a new workspace with the packaged themes, settings and a starter issue."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from pathlib import Path

from newsletter import __version__
from newsletter.compose.issuefile import add_articles, new_issue
from newsletter.errors import InputError
from newsletter.render.email_html import PACKAGE_THEMES

SCAFFOLD = Path(__file__).parent / "starter"
ENV_EXAMPLE = ("# Secrets only; copy to .env (never committed). Settings live in newsletter.toml.\nSENDGRID_API_KEY=\n"
               "SMTP_PASSWORD=\nNEWSLETTER_UNSUBSCRIBE_SECRET=\n")
# init's own .env: the secret that signs unsubscribe tokens (the starter's unsubscribe_url uses them).
# Keep it: links in mail already sent are checked with it. CI needs the same value as a secret.
ENV = ("# Secrets only (never committed). Give CI the same values as repository secrets.\n"
       "NEWSLETTER_UNSUBSCRIBE_SECRET={secret}\n")
GITIGNORE = ".env\nbuild/\noutbox/\n.cache/\n"
REQUIREMENTS = ("# How CI (.github/workflows/send-scheduled.yml) installs newsletter: one pinned pip requirement.\n"
                "# Change it with the tool's version, e.g. git+https://git.example.org/you/newsletter@<commit>\n"
                "{spec}\n")


def init_workspace(folder: Path, today: dt.date, tool_spec: str | None = None) -> list[Path]:
    """Create the workspace; refuse to write into a folder that already has files.

    ``requirements.txt`` pins how CI installs this tool: ``tool_spec`` (any pip requirement:
    a version, a ``git+https://...@<commit>`` URL, a path to a wheel), by default this very version.
    """
    if folder.exists() and any(folder.iterdir()):
        raise InputError(folder, "is not empty; choose a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    created = [
        _copy_tree(PACKAGE_THEMES, folder / "templates"),
        _copy(SCAFFOLD / "newsletter.toml", folder / "newsletter.toml"),
        _write(folder / ".env.example", ENV_EXAMPLE),
        _private(_write(folder / ".env", ENV.format(secret=secrets.token_urlsafe(32)))),
        _write(folder / ".gitignore", GITIGNORE),
        _write(folder / "requirements.txt", REQUIREMENTS.format(spec=tool_spec or f"newsletter=={__version__}")),
        _copy(SCAFFOLD / "audience.csv", folder / "audience.csv"),
        _copy(SCAFFOLD / "suppressions.csv", folder / "suppressions.csv"),
    ]
    workflow = SCAFFOLD / "send-scheduled.yml"
    if workflow.is_file():
        created.append(_copy(workflow, folder / ".github" / "workflows" / "send-scheduled.yml"))
    issue = new_issue(folder / "issues", f"{today:%Y-%m}", today)
    _copy(SCAFFOLD / "welcome.txt", issue.parent / "articles" / "welcome.txt")
    add_articles(issue, ["articles/welcome.txt"])
    created.append(issue)
    return created


def _copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _write(target: Path, text: str) -> Path:
    target.write_text(text, encoding="utf-8")
    return target


def new_issue_with_audience(issues_dir: Path, slug: str, today: dt.date, has_audience: bool) -> list[Path]:
    """``newsletter new``: the issue, plus a sample audience beside it when the workspace sets none."""
    issue = new_issue(issues_dir, slug, today, audience=None if has_audience else "audience.csv")
    if has_audience:
        return [issue]
    return [issue, _copy(SCAFFOLD / "audience.csv", issue.parent / "audience.csv")]


def _private(target: Path) -> Path:
    target.chmod(0o600)  # secrets: the owner only
    return target
