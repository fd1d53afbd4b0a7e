"""`newsletter archive`: a static web archive of sent issues, the target of "view in browser".

Each issue goes to ``<out>/<slug>/index.html`` with its images beside it, and
``<out>/index.html`` lists them newest first. Merge fields are filled with neutral
values, since the page is public. ``--private`` writes a separate page for the team instead:
each sent issue with the provider's figures, never published.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from newsletter.compose.issuefile import read_issue_date
from newsletter.compose.sendlog import log_path, read_log
from newsletter.files import replaced_whole
from newsletter.render.assets import copy_assets
from newsletter.render.build import build_issue
from newsletter.render.email_html import environment
from newsletter.render.message import MERGE_FIELD, fill
from newsletter.render.settings import Brand
from newsletter.workspace import ISSUE_FILE, Workspace

PUBLIC_MERGE_VALUES = {"first_name": "reader", "name": "reader", "email": ""}


@dataclass(frozen=True)
class ArchivedIssue:
    slug: str
    subject: str
    preheader: str
    date: dt.date | None


def was_sent(issue_folder: Path) -> bool:
    return read_log(log_path(issue_folder)).batches_sent > 0


def archive_issues(workspace: Workspace, include_unsent: bool = False, also: Iterable[Path] = ()) -> list[Path]:
    """Sent issues (all with ``include_unsent``; ``also``: issue folders about to be sent), newest first."""
    folders = sorted(p.parent for p in workspace.issues_dir.glob(f"*/{ISSUE_FILE}"))
    extra = {folder.resolve() for folder in also}
    chosen = [folder for folder in folders if include_unsent or folder.resolve() in extra or was_sent(folder)]
    return sorted(chosen, key=lambda f: (read_issue_date(f / ISSUE_FILE) or dt.date.min, f.name), reverse=True)


def write_archive(workspace: Workspace, out_dir: Path, include_unsent: bool = False,
                  also: Iterable[Path] = ()) -> list[ArchivedIssue]:
    """Build every chosen issue into a staging folder, then swap it in whole."""
    with replaced_whole(out_dir) as staging:
        folders = archive_issues(workspace, include_unsent, also)
        archived = [_write_issue(workspace, folder, staging) for folder in folders]
        page = environment(workspace.templates_dir).get_template("_shared/archive.html.j2")
        html = page.render(issues=archived, settings=workspace.settings, brand=workspace.table(Brand))
        (staging / "index.html").write_text(html, encoding="utf-8")
    return archived


def _write_issue(workspace: Workspace, folder: Path, staging: Path) -> ArchivedIssue:
    build = build_issue(workspace, folder, asset_base="")
    target = staging / build.issue.slug
    target.mkdir()
    public = fill(build.rendered.html, PUBLIC_MERGE_VALUES, escape=True)
    (target / "index.html").write_text(MERGE_FIELD.sub("", public), encoding="utf-8")
    copy_assets(build.assets, target)
    return ArchivedIssue(build.issue.slug, build.issue.subject, build.issue.preheader, build.issue.date)


PRIVATE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#222}}
h2{{font-size:1.1em;margin:2em 0 .3em}} .note{{color:#666}}</style></head>
<body><h1>{title}</h1><p class="note">For the team: not part of the public archive, never published.</p>
{sections}</body></html>
"""


def write_private_results(workspace: Workspace, out_dir: Path, results_fragment: Callable[[Workspace, Path], str]) -> list[str]:
    """One page with every sent issue's figures (requests, delivered, bounces, opens, clicks),
    each fetched by ``results_fragment`` (deliver.report's, handed in by the CLI)."""

    folders = archive_issues(workspace)
    sections = "".join(f"<h2>{html.escape(folder.name)}</h2>{results_fragment(workspace, folder)}" for folder in folders)
    title = html.escape(f"{workspace.settings.name}: results")
    with replaced_whole(out_dir) as staging:
        (staging / "index.html").write_text(PRIVATE_PAGE.format(title=title, sections=sections), encoding="utf-8")
    return [folder.name for folder in folders]
