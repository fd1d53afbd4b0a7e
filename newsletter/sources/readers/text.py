"""Plain-text page dumps: what staff get from select-all, copy, paste."""

from __future__ import annotations

from newsletter.errors import SourceError
from newsletter.sources.article import Article
from newsletter.sources.readers.mail import forwarded_part, looks_like_mail
from newsletter.sources.readers.pagedump import split_dump
from newsletter.sources.source import Source

TEXT_SUFFIXES = {".txt", ".text", ""}


class TextDumpReader:
    name = "text"

    def accepts(self, source: Source) -> bool:
        return source.suffix in TEXT_SUFFIXES

    def read(self, source: Source) -> Article:
        text = source.text()
        if looks_like_mail(text):  # a pasted forward: the article is the forwarded part, not the mail around it
            text = forwarded_part(text)
        parts = split_dump(text, source.day_first)
        if not any(block.kind != "heading" for block in parts.blocks):
            raise SourceError(source.location, "no article text found (only headings or page furniture)")
        return Article(
            source=source.location,
            title=parts.title,
            blocks=parts.blocks,
            byline=parts.byline,
            published=parts.published,
            updated=parts.updated,
            description=parts.description,
        )
