"""`newsletter init`: a new workspace with the packaged themes, settings and a starter issue."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from newsletter.compose.issuefile import add_articles, new_issue
from newsletter.errors import InputError
from newsletter.render.email_html import PACKAGE_THEMES

SCAFFOLD = Path(__file__).parent / "starter"
ENV_EXAMPLE = "# Secrets only; copy to .env (never committed). Settings live in newsletter.toml.\nSENDGRID_API_KEY=\nSMTP_PASSWORD=\n"
GITIGNORE = ".env\nbuild/\noutbox/\n.cache/\n"


def init_workspace(folder: Path, today: dt.date) -> list[Path]:
    """Create the workspace; refuse to write into a folder that already has files."""
    if folder.exists() and any(folder.iterdir()):
        raise InputError(folder, "is not empty; choose a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    created = [
        _copy_tree(PACKAGE_THEMES, folder / "templates"),
        _copy(SCAFFOLD / "newsletter.toml", folder / "newsletter.toml"),
        _write(folder / ".env.example", ENV_EXAMPLE),
        _write(folder / ".gitignore", GITIGNORE),
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
