"""Readers turn a source (a file today; URLs and feeds plug in the same way) into an Article.

A reader is one module with a class that has ``accepts(source)`` and ``read(source)``.
Adding a source type is adding a reader to ``READERS``; nothing else changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from newsletter.errors import SourceError
from newsletter.sources.article import Article
from newsletter.sources.source import Source, load_source

if TYPE_CHECKING:
    from newsletter.sources.fetch import FetchOptions


class Reader(Protocol):
    name: str

    def accepts(self, source: Source) -> bool: ...

    def read(self, source: Source) -> Article: ...


# "module:Class", tried in order; the first whose accepts() says yes reads the source.
READERS = [
    "newsletter.sources.readers.html:HtmlReader",
    "newsletter.sources.readers.markdown:MarkdownClipReader",
    "newsletter.sources.readers.mail:MailReader",
    "newsletter.sources.readers.text:TextDumpReader",
]


def _readers() -> list[Reader]:
    import importlib

    readers = []
    for spec in READERS:
        module_name, _, class_name = spec.partition(":")
        readers.append(getattr(importlib.import_module(module_name), class_name)())
    return readers


def read_source(source: Source) -> Article:
    for reader in _readers():
        if reader.accepts(source):
            article = reader.read(source)
            return article if article.url or not source.url else replace(article, url=source.url)
    raise SourceError(source.location, f"no reader for {source.suffix or 'this source'} files; use a .txt page dump, a .md clip or an .eml mail")


def read_article(location: str, base: Path, day_first: bool = True, fetch: FetchOptions | None = None) -> Article:
    return read_source(load_source(location, base, day_first, fetch))
