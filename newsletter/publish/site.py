"""What is published and whether an email is ready to go: ``newsletter publish`` and the
check ``send --send`` makes first.

The archive (preview/archive.py) is written to a temporary folder, the issue about to be
sent included, and uploaded: ``<prefix>/<slug>/index.html``, ``<prefix>/<slug>/images/…``
and ``<prefix>/index.html``, served at ``public_url`` (by default archive_url up to ``{slug}``).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import InputError
from newsletter.preview.archive import write_archive
from newsletter.publish.s3 import Bucket, Uploaded, missing, parse_bucket, upload_tree
from newsletter.publish.settings import PublishSettings
from newsletter.render.email_html import web_address
from newsletter.workspace import Workspace

_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"')


@dataclass(frozen=True)
class Published:
    bucket: Bucket
    public_url: str
    issues: list[str]
    uploaded: Uploaded


def is_configured(workspace: Workspace) -> bool:
    return bool(workspace.table(PublishSettings).bucket)


def public_base(workspace: Workspace) -> str:
    """The URL the bucket's prefix is served at, ending in a slash."""
    settings = workspace.settings
    base = workspace.table(PublishSettings).public_url or settings.archive_url.split("{slug}")[0]
    if not re.match(r"https?://", base) or "{slug}" not in settings.archive_url:
        raise InputError("newsletter.toml", "publishing needs archive_url with {slug} (e.g. "
                         "\"https://example.org/newsletter/{slug}/\") and, if the bucket is served elsewhere, "
                         "[publish] public_url")
    base = base if base.endswith("/") else f"{base}/"
    if not settings.archive_url.startswith(base):
        raise InputError("newsletter.toml", f"archive_url {settings.archive_url} is not under [publish] public_url "
                         f"{base}: the view-in-browser link would miss the published page")
    return base


def publish(workspace: Workspace, issue_folder: Path | None = None) -> Published:
    """Upload the archive of sent issues (and ``issue_folder``, about to be sent) to the bucket."""
    if not is_configured(workspace):
        raise InputError("newsletter.toml", "nowhere to publish: set [publish] bucket = \"s3://NAME/PREFIX\"")
    bucket, base = parse_bucket(workspace.table(PublishSettings).bucket), public_base(workspace)
    with tempfile.TemporaryDirectory(prefix="newsletter-publish-") as temporary:
        site = Path(temporary) / "site"
        archived = write_archive(workspace, site, also=[issue_folder] if issue_folder else [])
        uploaded = upload_tree(site, bucket)
    return Published(bucket, base, [item.slug for item in archived], uploaded)


def sent_addresses(html: str, web_url: str) -> list[str]:
    """The image addresses and the web version an email names: what must load in every inbox."""
    return sorted(set(_IMG_SRC.findall(html)) | ({web_url} if web_url else set()))


def refuse_unready(workspace: Workspace, slug: str, html: str) -> None:
    """Stop a send whose images or web version cannot load: relative, or not yet published."""
    addresses = sent_addresses(html, web_address(workspace.settings, slug))
    relative = [url for url in addresses if not re.match(r"(?i)https?://", url) and not url.startswith("data:")]
    if relative:
        raise InputError(None, f"refusing to send: the email names {relative[0]}, a relative address no inbox can "
                         "load; set archive_url (and [publish]) in newsletter.toml")
    if not is_configured(workspace):
        return
    bucket, base = parse_bucket(workspace.table(PublishSettings).bucket), public_base(workspace)
    keys = {_key(bucket, url[len(base):]): url for url in addresses if url.startswith(base)}
    absent = missing(bucket, list(keys))
    if absent:
        raise InputError(None, f"refusing to send: {keys[absent[0]]} is not published yet "
                         f"(run: newsletter publish {slug})")


def _key(bucket: Bucket, relative: str) -> str:
    relative = relative.split("?", 1)[0].split("#", 1)[0]
    return bucket.key(relative + "index.html" if relative == "" or relative.endswith("/") else relative)
