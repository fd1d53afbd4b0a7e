"""Local images named in an issue (``image: images/hero.png``): checked, copied into the build,
and linked from where the web archive will host them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from newsletter.compose.issue import Issue
from newsletter.compose.issuefile import IssueSpec
from newsletter.errors import InputError

IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif"}
ASSET_FOLDER = "images"


@dataclass(frozen=True)
class Assets:
    """Issue-relative image paths -> files; each is published as ``images/<name>``."""

    files: dict[str, Path]

    def target(self, image: str) -> str | None:
        return f"{ASSET_FOLDER}/{self.files[image].name}" if image in self.files else None


def copy_assets(assets: Assets, folder: Path) -> None:
    """Put the images where the HTML links them: ``<folder>/images/<name>``."""
    for path in assets.files.values():
        (folder / ASSET_FOLDER).mkdir(exist_ok=True)
        shutil.copyfile(path, folder / ASSET_FOLDER / path.name)


def is_local(image: str | None) -> bool:
    return bool(image) and not urlsplit(image).scheme


def collect_assets(spec: IssueSpec, issue: Issue) -> Assets:
    """Every local image the composed issue uses; a missing or unsupported one is an error at its line."""
    lines = {ref.image: ref.line for ref in spec.articles if ref.image}
    files = {}
    for entry in issue.entries:
        if not is_local(entry.image):
            continue
        path = (spec.folder / entry.image).resolve()
        line = lines.get(entry.image)
        if path.suffix.lower() not in IMAGE_TYPES:
            raise InputError(spec.path, f"image {entry.image}: use PNG, JPEG or GIF (email clients lack the rest)", line)
        if not path.is_file():
            raise InputError(spec.path, f"image {entry.image}: file not found", line)
        files[entry.image] = path
    names = [path.name for path in files.values()]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise InputError(spec.path, f"two different images are named {duplicate}; rename one")
    return Assets(files)
