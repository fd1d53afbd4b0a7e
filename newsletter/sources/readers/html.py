"""Web pages, saved or fetched: trafilatura finds the article body, the page's own metadata the rest."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from copy import copy
from dataclasses import asdict, replace
from functools import cache
from typing import TYPE_CHECKING

from newsletter.errors import SourceError
from newsletter.sources.article import Article, Block
from newsletter.sources.source import BINARY_SNIFF, Source

if TYPE_CHECKING:
    from newsletter.sources.readers.htmlmeta import PageMeta

HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
HTML_MEDIA_TYPES = {"text/html", "application/xhtml+xml"}
SNIFF_BYTES = 2048
CHARSET_SCAN_BYTES = 16384
LOOKS_LIKE_HTML = re.compile(rb"^(?:\s|<\?xml[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html|head|body)\b",
                             re.IGNORECASE | re.DOTALL)
META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# trafilatura keeps what its rules find article-like; when that is under a third of the page's text (a short
# recipe whose lists it takes for menus, a page of one or two boxes, a listing page), it may have missed the
# article: its reading that favours recall, then its baseline (the page's paragraphs, less what we strip as
# furniture), may read more. (A quarter, before a recall-favouring reading was tried: one development page more
# without a usable body of 761.)
MISSED_SHARE = 0.35
# Browsers read these labels as windows-1252 (the WHATWG encoding standard); so must we, or curly quotes break.
WINDOWS_1252_LABELS = {"latin_1", "ascii", "cp1252"}


class HtmlReader:
    name = "html"

    def accepts(self, source: Source) -> bool:
        return (source.suffix in HTML_SUFFIXES or source.media_type.lower() in HTML_MEDIA_TYPES
                or bool(LOOKS_LIKE_HTML.match(_sniffable(source.data[:SNIFF_BYTES]))))

    def read(self, source: Source) -> Article:
        # trafilatura (0.2 s to import) and lxml load only when a page is really read
        import trafilatura

        from newsletter.sources.readers.htmlmeta import (
            guessed_publication_date,
            page_meta,
            shown_publication_date,
        )
        from newsletter.sources.readers.htmltree import body_blocks, mark_listings, parse_html, strip_furniture

        tree = parse_html(decode_html(source))
        if tree is None:
            raise SourceError(source.location, "not an HTML page (nothing to parse)")
        base_url = source.url or (source.location if "://" in source.location else None)
        meta = page_meta(tree, base_url, source.day_first)
        published = shown_publication_date(tree, meta.published, source.day_first)
        meta = with_published(meta, published or guessed_publication_date(tree, base_url))
        strip_furniture(tree)  # the page's metadata is read
        mark_listings(tree)
        blocks = extracted_blocks(tree, extraction_options(base_url))
        missed = MISSED_SHARE * text_length(tree)  # trafilatura reads the tree without changing it
        if prose_length(blocks) < missed:  # else no reading could hold that much more
            blocks = max(blocks, extracted_blocks(tree, extraction_options(base_url, recall=True)), key=prose_length)
        if prose_length(blocks) < missed:
            every_paragraph = body_blocks(trafilatura.baseline(tree)[0])
            if prose_length(blocks) < MISSED_SHARE * prose_length(every_paragraph):
                blocks = every_paragraph
        title = meta.title or (blocks[0].text if blocks and blocks[0].kind == "heading" else None)
        if not title:
            raise SourceError(source.location, "no title found in the page (no <title>, og:title or <h1>)")
        blocks = without_leading_byline(drop_repeated_title(blocks, title))
        if not any(block.kind != "heading" for block in blocks):
            raise SourceError(source.location, "no article text found in the page")
        return Article(source=source.location, blocks=tuple(blocks), **(asdict(meta) | {"title": title}))


def with_published(meta: PageMeta, published: dt.date | None) -> PageMeta:
    """The page's metadata with a publication date found elsewhere; an update is one only if it comes later."""
    updated = meta.updated if meta.updated and (not published or meta.updated > published) else None
    return replace(meta, published=published, updated=updated)


def extracted_blocks(tree, options) -> list[Block]:
    import trafilatura

    from newsletter.sources.readers.htmltree import body_blocks

    body = getattr(trafilatura.bare_extraction(tree, options=options), "body", None)
    return body_blocks(body) if body is not None else []


def extraction_options(url: str | None, recall: bool = False):
    """trafilatura's settings for one page: a copy of one set read once (its configuration file takes a third of a
    millisecond a page), with the page's address. ``recall``: its reading that keeps more of what it doubts (for
    all pages, it cost 0.003 of body F1 on the development pages)."""
    options = copy(_extraction_options(recall))
    options.url = options.source = url
    return options


@cache
def _extraction_options(recall: bool):
    from trafilatura.settings import Extractor

    # "txt": the body tree is all we read; the "python" format would also render it as text, for nothing.
    return Extractor(output_format="txt", fast=True, recall=recall, comments=False, tables=True, images=False)


def _sniffable(start: bytes) -> bytes:
    """The first bytes as ASCII-compatible text, whatever byte-order mark they carry."""
    for bom, encoding in BOMS:
        if start.startswith(bom):
            return start[len(bom):].decode(encoding, "ignore").encode("utf-8")
    return start


def decode_html(source: Source) -> str:
    """Bytes to text: a byte-order mark, else the declared charset (server, then page), else UTF-8, else a guess."""
    data = source.data
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return _decode(source, data[len(bom):], encoding)
    if b"\x00" in data[:BINARY_SNIFF]:
        raise SourceError(source.location, "binary data, not an HTML page")
    declared = META_CHARSET.search(data[:CHARSET_SCAN_BYTES])
    for label in (source.charset, declared.group(1).decode("ascii") if declared else None):
        encoding = _codec(label)
        if encoding:
            try:
                return _checked(source, data.decode(encoding))
            except UnicodeDecodeError:
                break  # the declaration is wrong; what the bytes are is a better guide than what they claim
    try:
        return _checked(source, data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    guess = from_bytes(data[:CHARSET_SCAN_BYTES * 4]).best()
    if guess is None or guess.encoding is None:
        raise SourceError(source.location, "cannot tell the page's character encoding; save it as UTF-8")
    return _decode(source, data, guess.encoding)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None
    return "cp1252" if name in WINDOWS_1252_LABELS or name == "iso8859_1" else name


def _decode(source: Source, data: bytes, encoding: str) -> str:
    try:
        return _checked(source, data.decode(encoding))
    except UnicodeDecodeError as error:
        raise SourceError(source.location, f"not valid {encoding} text (byte {error.start})") from None


def _checked(source: Source, text: str) -> str:
    if "\x00" in text:
        raise SourceError(source.location, "binary data, not an HTML page")
    if not text.strip():
        raise SourceError(source.location, "the page is empty")
    return text


def text_length(tree) -> int:
    """The page's text in characters, runs of white space (most of a page's, its indentation) as one."""
    return len(" ".join(tree.text_content().split()))


def prose_length(blocks: list[Block]) -> int:
    return sum(len(block.text) for block in blocks if block.kind != "heading")


def drop_repeated_title(blocks: list[Block], title: str) -> list[Block]:
    """The page's headline repeats the title; the article's text starts after it."""
    if blocks and _same_words(blocks[0].text, title):
        return blocks[1:]
    return blocks


def without_leading_byline(blocks: list[Block]) -> list[Block]:
    """The article's blocks less the byline or dateline trafilatura left at their head ("· By Jane Doe",
    "12 March 2025 | Jane Doe"): the page's metadata, read as such, not its text."""
    from newsletter.sources.dates import MAX_DATELINE_WORDS, dateline
    from newsletter.sources.readers.pagedump import byline_name

    while (blocks and blocks[0].kind != "heading" and len(blocks[0].text.split()) <= MAX_DATELINE_WORDS
           and not blocks[0].text.rstrip().endswith((".", "!", "?"))
           and (byline_name(blocks[0].text.lstrip("·•|-– ")) or dateline(blocks[0].text)[0])):
        blocks = blocks[1:]
    return blocks


def _same_words(a: str, b: str) -> bool:
    return re.findall(r"\w+", a.lower()) == re.findall(r"\w+", b.lower())
