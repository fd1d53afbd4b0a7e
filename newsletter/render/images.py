"""Images made fit for email: resized, re-encoded, stripped of metadata, named by content.

Every client can show JPEG, PNG and GIF; Outlook for Windows cannot show WEBP, AVIF or
HEIC, and CMYK JPEGs come out in wrong colours in some clients. A phone photo carries its
GPS position in EXIF, which must not travel to thousands of inboxes. The output is named
by a hash of its bytes, so publishing the same image twice uploads nothing new.

Results are cached in the workspace (``.cache/images/``), keyed by the source's hash and
the settings, so a rebuild only hashes the sources.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from newsletter.files import write_atomically

PIPELINE_VERSION = 1  # bump when the output of the same source changes
PIXEL_DENSITY = 2  # sharp on high-density screens, no heavier than that


@dataclass(frozen=True)
class EmailImage:
    """A processed image: its file in the cache and the size it is shown at."""

    path: Path
    media_type: str
    width: int  # pixels in the file
    height: int
    display_width: int  # CSS pixels in the email (the <img> width attribute)
    display_height: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def prepare_image(source: bytes | Path, display_width: int, cache_dir: Path, label: str) -> EmailImage:
    """The email version of the image ``source`` (its bytes, or a file), from the cache when it was made before.

    A file that has not changed since (same size and modification time) is not even read
    again. ``label`` names the source in errors. Raises SourceError for what is not an image.
    """
    settings = f"-w{display_width}-v{PIPELINE_VERSION}"
    stamp = None
    if isinstance(source, Path):
        info = source.stat()
        stamp = cache_dir / f"file-{_digest(f'{source.resolve()}|{info.st_size}|{info.st_mtime_ns}{settings}'.encode())}.json"
        cached = _read_record(stamp, cache_dir)
        if cached:
            return cached
        source = source.read_bytes()
    record = cache_dir / f"{_digest(source)}{settings}.json"
    image = _read_record(record, cache_dir) or _make(source, display_width, cache_dir, label, record)
    if stamp:
        write_atomically(stamp, record.read_bytes())
    return image


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _make(data: bytes, display_width: int, cache_dir: Path, label: str, record: Path) -> EmailImage:
    from newsletter.render.pixels import convert  # Pillow loads only when an image is not in the cache yet

    encoded, extension, (width, height) = convert(data, display_width * PIXEL_DENSITY, label)
    path = cache_dir / f"{hashlib.sha256(encoded).hexdigest()[:20]}.{extension}"
    shown = min(display_width, width)
    image = EmailImage(path, MEDIA_TYPES[extension], width, height, shown, round(height * shown / width))
    # Whole or not at all; write_atomically's temporary names are unique, and images are prepared in parallel.
    write_atomically(path, encoded)
    fields = asdict(image) | {"path": path.name}
    write_atomically(record, json.dumps(fields).encode())
    return image


MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def _read_record(record: Path, cache_dir: Path) -> EmailImage | None:
    try:
        fields = json.loads(record.read_text(encoding="utf-8"))
        image = EmailImage(**fields | {"path": cache_dir / fields["path"]})
    except (FileNotFoundError, ValueError, TypeError, KeyError):
        return None
    return image if image.path.is_file() else None

