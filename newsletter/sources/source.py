"""A source's raw bytes and where they came from: a file in the workspace or a fetched page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.errors import SourceError

if TYPE_CHECKING:
    from newsletter.sources.fetch import FetchOptions

BINARY_SNIFF = 8192


@dataclass(frozen=True)
class Source:
    """The raw bytes of one source, with where they came from."""

    location: str
    path: Path | None
    data: bytes
    day_first: bool = True
    media_type: str = ""  # from the server for fetched pages; "" for files
    charset: str | None = None  # the server's declared charset, if any
    url: str | None = None  # where a fetched page ended up after redirects

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower() if self.path else ""

    def text(self) -> str:
        """The bytes decoded as the server declared, else as UTF-8."""
        declared = self.charset or "utf-8"
        encoding = "utf-8-sig" if declared.lower() in ("utf-8", "utf8") else declared
        try:
            return self.data.decode(encoding)
        except LookupError:
            raise SourceError(self.location, f"unknown charset {declared!r} declared by the server") from None
        except UnicodeDecodeError as error:
            if self.path is not None:
                hint = "save it as UTF-8"
            else:
                hint = f"the server declared charset={self.charset}" if self.charset else "the server declared no charset"
            name = "UTF-8" if encoding == "utf-8-sig" else declared
            raise SourceError(self.location, f"not {name} text (byte {error.start}); {hint}") from None


def load_source(location: str, base: Path, day_first: bool = True, fetch: FetchOptions | None = None) -> Source:
    """A file relative to ``base``, or a web page fetched (and cached) as ``fetch`` says."""
    from newsletter.sources.fetch import FetchOptions, fetch_page, is_url  # httpx only for URLs

    if is_url(location):
        page = fetch_page(location, fetch or FetchOptions())
        return Source(location, None, page.body, day_first, page.media_type, page.charset, page.final_url)
    path = (base / location).resolve()
    if not path.is_file():
        raise SourceError(location, "file not found" if not path.exists() else "not a file")
    data = path.read_bytes()
    if not data.strip():
        raise SourceError(location, "file is empty")
    if b"\x00" in data[:BINARY_SNIFF]:
        raise SourceError(location, "binary file, not an article (expected a text page dump)")
    return Source(location, path, data, day_first)
