"""`newsletter init`: a new workspace with the packaged themes, settings and a starter issue."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from importlib import metadata
from pathlib import Path

from newsletter.compose.issueedit import add_articles, new_issue
from newsletter.errors import InputError
from newsletter.render.email_html import PACKAGE_THEMES
from newsletter.secrets import add_generated, env_example

SCAFFOLD = Path(__file__).parent / "starter"
# Files holding secrets or addresses that CI does not need from the repository stay out of
# `git add -A`: suppression lists (CI pulls them from the provider), their pull state, the rows
# a send skipped, and everything the tool writes for itself.
GITIGNORE = (".env\n.env.lock\n.*.lock\nbuild/\noutbox/\n.cache/\n"
             "suppressions.csv\n.suppressions.csv.pulled.json\n*.pulled.json\nissues/*/skipped-rows.csv\n")
REQUIREMENTS = ("# How CI (.github/workflows/send-scheduled.yml) installs newsletter: one pinned pip requirement,\n"
                "# where this copy of the tool was installed from. A bare name (newsletter==0.1.0) would\n"
                "# install another project of that name from the public index, with your secrets in reach.\n"
                "{spec}\n")
# How often CI looks for due issues. SendGrid holds a scheduled issue for up to 72 hours, so
# one run a day (and one when an issue is pushed) hands every issue over in time; SMTP cannot
# hold mail, so its runs must come as often as the lateness you accept.
STARTER_ISSUE = "first-issue"
CRONS = {"sendgrid": "17 6 * * *", "smtp": "*/15 * * * *"}


def installed_tool_spec() -> str:
    """The pip requirement for this very copy of the tool, from its PEP 610 ``direct_url.json``:
    the VCS URL and commit, or the wheel or archive it came from. A copy from a package index or
    a local folder has no address CI could install again: the user must say (--tool-spec)."""
    try:
        text = metadata.distribution("newsletter").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    origin = json.loads(text) if text else {}
    url = origin.get("url", "")
    if "vcs_info" in origin and origin["vcs_info"].get("commit_id"):
        vcs = origin["vcs_info"]
        subdirectory = f"#subdirectory={origin['subdirectory']}" if origin.get("subdirectory") else ""
        return f"newsletter @ {vcs['vcs']}+{url}@{vcs['commit_id']}{subdirectory}"
    if "archive_info" in origin and url:
        return f"newsletter @ {url}"
    where = "a local folder" if "dir_info" in origin else "a package index (where that name is another project)"
    raise InputError(None, f"this newsletter was installed from {where}, which CI cannot install again: "
                        "pass --tool-spec with where CI should get it, e.g. "
                        "--tool-spec 'newsletter @ git+https://git.example.org/you/newsletter@<commit>'")


def init_workspace(folder: Path, today: dt.date, tool_spec: str | None = None, provider: str = "sendgrid") -> list[Path]:
    """Create the workspace; refuse to write into a folder that already has files.

    ``requirements.txt`` pins how CI installs this tool: ``tool_spec`` (any pip requirement:
    a ``git+https://...@<commit>`` URL, a path or URL of a wheel), by default where this very
    copy was installed from. ``provider`` sets how often the workflow looks for due issues.
    """
    if folder.exists() and any(folder.iterdir()):
        raise InputError(folder, "is not empty; choose a new folder")
    tool_spec = tool_spec or installed_tool_spec()
    folder.mkdir(parents=True, exist_ok=True)
    created = [
        _copy_tree(PACKAGE_THEMES, folder / "templates"),
        _copy(SCAFFOLD / "newsletter.toml", folder / "newsletter.toml"),
        _write(folder / ".env.example", env_example()),
        _secrets(folder / ".env"),
        _write(folder / ".gitignore", GITIGNORE),
        _write(folder / "requirements.txt", REQUIREMENTS.format(spec=tool_spec)),
        _copy(SCAFFOLD / "audience.csv", folder / "audience.csv"),
        _copy(SCAFFOLD / "suppressions.csv", folder / "suppressions.csv"),
    ]
    workflow = SCAFFOLD / "send-scheduled.yml"
    if workflow.is_file():
        text = workflow.read_text(encoding="utf-8").replace("{cron}", CRONS[provider])
        target = folder / ".github" / "workflows" / "send-scheduled.yml"
        target.parent.mkdir(parents=True)
        created.append(_write(target, text))
    issue = new_issue(folder / "issues", STARTER_ISSUE, today)  # no date in its name: the guide works any day
    _copy(SCAFFOLD / "welcome.txt", issue.parent / "articles" / "welcome.txt")
    add_articles(issue, ["articles/welcome.txt"])
    created.append(issue)
    return created


def _secrets(env_file: Path) -> Path:
    """The secrets the tool makes itself: the starter's unsubscribe links are signed tokens, and
    its first real send needs the send-log key. Keep them: links in mail already sent are checked
    with the one, the send log is read with the other; CI needs the same values (newsletter secrets)."""
    add_generated(env_file)
    return env_file


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
