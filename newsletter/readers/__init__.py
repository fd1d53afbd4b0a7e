"""Readers turn a source (a file today; URLs and feeds plug in the same way) into an Article.

A reader is one module with a class that has ``accepts(source)`` and ``read(source)``.
Adding a source type is adding a reader to ``READERS``; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..article import Article
from ..errors import InputError

BINARY_SNIFF = 8192


@dataclass(frozen=True)
class Source:
    """The raw bytes of one source, with where they came from."""

    location: str
    path: Path | None
    data: bytes
    day_first: bool = True

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower() if self.path else ""

    def text(self) -> str:
        try:
            return self.data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SourceError(self.location, f"not UTF-8 text (byte {error.start}); save it as UTF-8") from None


class SourceError(InputError):
    """A source that cannot be read. Callers re-point it at the line that lists the source."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(location, message)


class Reader(Protocol):
    name: str

    def accepts(self, source: Source) -> bool: ...

    def read(self, source: Source) -> Article: ...


# "module:Class", tried in order; the first whose accepts() says yes reads the source.
READERS = [
    "newsletter.readers.text:TextDumpReader",
]


def _readers() -> list[Reader]:
    import importlib

    readers = []
    for spec in READERS:
        module_name, _, class_name = spec.partition(":")
        readers.append(getattr(importlib.import_module(module_name), class_name)())
    return readers


def load_source(location: str, base: Path, day_first: bool = True) -> Source:
    if "://" in location:
        raise SourceError(location, "URL sources are not supported yet; save the page as a text file")
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
            return reader.read(source)
    raise SourceError(source.location, f"no reader for {source.suffix or 'this source'} files; use a .txt page dump")


def read_article(location: str, base: Path, day_first: bool = True) -> Article:
    return read_source(load_source(location, base, day_first))
