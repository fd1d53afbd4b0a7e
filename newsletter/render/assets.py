"""The images an issue shows (``image: images/hero.png``, an image URL, or the page's own
``og:image``): read or downloaded, made fit for email (render/images.py), and published as
``images/<content hash>.<ext>`` beside the issue's web page."""

from __future__ import annotations

import dataclasses
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from newsletter.compose.issue import Entry, Issue
from newsletter.compose.issuefile import IssueSpec
from newsletter.errors import InputError, SourceError
from newsletter.render.images import EmailImage, prepare_image
from newsletter.render.settings import Brand
from newsletter.sources.fetch import IMAGE_TYPES, FetchOptions, fetch_page
from newsletter.workspace import Workspace

SOURCE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".heic", ".heif"}
ASSET_FOLDER = "images"
IMAGE_CACHE = ".cache/images"
# The themes show article images across the 600 px body less 24 px padding on each side.
DISPLAY_WIDTH = 552


@dataclass(frozen=True)
class Assets:
    """The issue's images as it names them -> their email versions, each published as ``images/<name>``."""

    images: dict[str, EmailImage]
    dropped: frozenset[str] = frozenset()  # pictures found in a page that could not be used
    warnings: tuple[str, ...] = field(default=())

    @property
    def files(self) -> dict[str, Path]:
        return {image: processed.path for image, processed in self.images.items()}

    def target(self, image: str) -> str | None:
        return f"{ASSET_FOLDER}/{self.images[image].name}" if image in self.images else None

    @property
    def total_bytes(self) -> int:
        return sum(image.size for image in {i.path: i for i in self.images.values()}.values())


def copy_assets(assets: Assets, folder: Path) -> None:
    """Put the images where the HTML links them: ``<folder>/images/<name>``."""
    for image in assets.images.values():
        (folder / ASSET_FOLDER).mkdir(exist_ok=True)
        shutil.copyfile(image.path, folder / ASSET_FOLDER / image.name)


def is_local(image: str | None) -> bool:
    return bool(image) and not urlsplit(image).scheme


def collect_assets(spec: IssueSpec, issue: Issue, root: Path, fetch: FetchOptions) -> Assets:
    """Every image the composed issue uses, made fit for email.

    A problem with an image the editor named is an error at its line; a page's own picture
    that cannot be fetched or read is left out with a warning.
    """
    editor_lines = {ref.image: ref.line for ref in spec.articles if ref.image}
    source_lines = {ref.source: ref.line for ref in spec.articles}
    wanted = list(dict.fromkeys(entry.image for entry in issue.entries if entry.image))
    owners = {entry.image: entry for entry in reversed(issue.entries) if entry.image}
    # Decoding and resizing release the GIL: photos are prepared on every core at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = pool.map(lambda image: _attempt(image, spec.folder, root / IMAGE_CACHE, fetch), wanted)
        done = dict(zip(wanted, results))
    images, dropped, warnings = {}, set(), []
    for image, result in done.items():
        if isinstance(result, EmailImage):
            images[image] = result
            continue
        line = editor_lines.get(image)
        problem = InputError(spec.path, f"image {image}: {result.message}",
                             line or source_lines.get(owners[image].article.source))
        if line:
            raise problem from None
        dropped.add(image)
        warnings.append(f"{problem} (the article's own picture is left out)")
    return Assets(images, frozenset(dropped), tuple(warnings))


def _attempt(image: str, folder: Path, cache_dir: Path, fetch: FetchOptions) -> EmailImage | SourceError:
    try:
        return _prepare(image, folder, cache_dir, fetch)
    except SourceError as error:
        return error


def with_logo(assets: Assets, workspace: Workspace, fetch: FetchOptions) -> Assets:
    """The brand's logo through the same pipeline, at the width the masthead shows it."""
    brand = workspace.table(Brand)
    if not brand.logo:
        return assets
    line = workspace.settings_line("brand", "logo")
    if is_local(brand.logo):
        workspace.require_inside(workspace.root / brand.logo, f"brand.logo {brand.logo}:", workspace.settings_path, line)
    try:
        logo = _prepare(brand.logo, workspace.root, workspace.root / IMAGE_CACHE, fetch, brand.logo_width)
    except SourceError as error:
        raise InputError(workspace.settings_path, f"brand.logo {brand.logo}: {error.message}", line) from None
    return dataclasses.replace(assets, images={**assets.images, brand.logo: logo})


def _prepare(image: str, folder: Path, cache_dir: Path, fetch: FetchOptions, width: int = DISPLAY_WIDTH) -> EmailImage:
    if not is_local(image):
        return prepare_image(fetch_page(image, fetch, accept=IMAGE_TYPES).body, width, cache_dir, image)
    path = (folder / image).resolve()
    if path.suffix.lower() not in SOURCE_SUFFIXES:
        raise SourceError(image, "use a JPEG, PNG, GIF, WEBP, AVIF or HEIC file")
    if not path.is_file():
        raise SourceError(image, "file not found")
    return prepare_image(path, width, cache_dir, image)


def image_size(assets: Assets, entry: Entry) -> EmailImage | None:
    return assets.images.get(entry.image) if entry.image else None
