"""Readers turn a source (a file today; URLs and feeds plug in the same way) into an Article.

A reader is one module with a class that has ``accepts(source)`` and ``read(source)``.
Adding a source type is adding a reader to ``READERS``; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..article import Article
from ..errors import InputError

if TYPE_CHECKING:
    from ..fetch import FetchOptions

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


class SourceError(InputError):
    """A source that cannot be read. Callers re-point it at the line that lists the source."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(location, message)

    def __str__(self) -> str:
        # A URL is shown as given: as a path it would lose a slash (http:/host).
        if isinstance(self.path, str) and "://" in self.path:
            return f"{self.path}: {self.message}"
        return super().__str__()


class Reader(Protocol):
    name: str

    def accepts(self, source: Source) -> bool: ...

    def read(self, source: Source) -> Article: ...


# "module:Class", tried in order; the first whose accepts() says yes reads the source.
READERS = [
    "newsletter.readers.html:HtmlReader",
    "newsletter.readers.text:TextDumpReader",
]


def _readers() -> list[Reader]:
    import importlib

    readers = []
    for spec in READERS:
        module_name, _, class_name = spec.partition(":")
        readers.append(getattr(importlib.import_module(module_name), class_name)())
    return readers


def load_source(location: str, base: Path, day_first: bool = True, fetch: FetchOptions | None = None) -> Source:
    """A file relative to ``base``, or a web page fetched (and cached) as ``fetch`` says."""
    from ..fetch import FetchOptions, fetch_page, is_url

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


def read_source(source: Source) -> Article:
    for reader in _readers():
        if reader.accepts(source):
            article = reader.read(source)
            return article if article.url or not source.url else replace(article, url=source.url)
    raise SourceError(source.location, f"no reader for {source.suffix or 'this source'} files; use a .txt page dump")


def read_article(location: str, base: Path, day_first: bool = True, fetch: FetchOptions | None = None) -> Article:
    return read_source(load_source(location, base, day_first, fetch))
