"""Build an issue: read and compose it, render it, and write the build folder atomically."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from newsletter.compose.issue import Issue, compose
from newsletter.compose.issuefile import IssueSpec, read_issue
from newsletter.errors import InputError
from newsletter.files import replaced_whole
from newsletter.render.assets import Assets, collect_assets, copy_assets, is_local, with_logo
from newsletter.render.email_html import Rendered, render, themes, web_address
from newsletter.sources.fetch import FetchOptions, fetch_options
from newsletter.workspace import Workspace

BUILD_FILES = ("index.html", "index.txt", "issue.json")


@dataclass(frozen=True)
class Build:
    spec: IssueSpec
    issue: Issue
    rendered: Rendered
    assets: Assets
    asset_base: str = ""  # where the HTML links the images ("": beside it)

    @property
    def local_html(self) -> str:
        """The HTML with its images beside it, for the build folder and the preview: it shows
        the same processed images the published copy will, opened from disk."""
        html = self.rendered.html
        if self.asset_base:
            for image in self.assets.images:
                target = self.assets.target(image)
                html = html.replace(f'src="{urljoin(self.asset_base, target)}"', f'src="{target}"')
        return html


def build_issue(workspace: Workspace, issue: str | Path, theme: str | None = None,
                fetch: FetchOptions | None = None, asset_base: str | None = None) -> Build:
    """Everything up to the final HTML and text, in memory. Raises InputError on bad input.

    Images are linked at ``asset_base`` (default: the issue's web archive address, else
    relative to the build folder); ``Build.local_html`` links them beside the page.
    """
    spec = read_issue(workspace.issue_path(issue), workspace.cache_dir)
    check_theme(workspace, spec, theme)
    if theme:
        spec = dataclasses.replace(spec, theme=theme)
    fetch = fetch or fetch_options(workspace)
    composed = compose(spec, workspace, fetch)
    check_images_inside(workspace, spec, composed)
    assets = with_logo(collect_assets(spec, composed, workspace.root, fetch), workspace, fetch)
    if assets.warnings:
        composed = dataclasses.replace(composed, warnings=composed.warnings + assets.warnings)
    base = web_address(workspace.settings, composed.slug) if asset_base is None else asset_base
    return Build(spec, composed, render(composed, workspace, assets, base), assets, base)


def check_images_inside(workspace: Workspace, spec: IssueSpec, composed: Issue) -> None:
    """Local images (named in the issue or by a source) are read only from inside the workspace."""
    for entry in composed.entries:
        if is_local(entry.image):
            line = next((ref.line for ref in spec.articles if ref.image == entry.image), None)
            workspace.require_inside(spec.folder / entry.image, f"image {entry.image}:", spec.path, line)


def check_theme(workspace: Workspace, spec: IssueSpec, option: str | None = None) -> None:
    """An unknown theme is an error where it was named: the option, the issue file or the settings."""
    name = option or spec.theme or workspace.settings.theme
    known = themes(workspace)
    if name in known:
        return
    message = f"unknown theme {name!r}: no templates/{name}/issue.mjml.j2 (themes: {', '.join(known)})"
    if option:
        raise InputError(None, message)
    if spec.theme:
        raise InputError(spec.path, message, spec.lines.get("theme"))
    raise InputError(workspace.settings_path, message, workspace.settings_line("newsletter", "theme"))


def write_build(build: Build, out_dir: Path) -> list[Path]:
    """Write index.html, index.txt, issue.json and images; the folder is replaced whole or not at all."""
    with replaced_whole(out_dir) as staging:
        (staging / "index.html").write_text(build.local_html, encoding="utf-8")
        (staging / "index.txt").write_text(build.rendered.text, encoding="utf-8")
        issue_json = json.dumps(build.issue.to_dict(), ensure_ascii=False, indent=2)
        (staging / "issue.json").write_text(issue_json + "\n", encoding="utf-8")
        copy_assets(build.assets, staging)
    return [out_dir / name for name in BUILD_FILES]
