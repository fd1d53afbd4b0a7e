"""Web pages, saved or fetched: trafilatura finds the article body, the page's own metadata the rest."""

from __future__ import annotations

import codecs
import re
from dataclasses import asdict

import lxml.html
from lxml import etree

from newsletter.article import Article, Block
from newsletter.errors import SourceError
from newsletter.sources.readers.htmlmeta import clean, page_meta
from newsletter.sources.source import BINARY_SNIFF, Source

HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
HTML_MEDIA_TYPES = {"text/html", "application/xhtml+xml"}
SNIFF_BYTES = 2048
CHARSET_SCAN_BYTES = 16384
LOOKS_LIKE_HTML = re.compile(rb"^(?:\s|<\?xml[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html|head|body)\b",
                             re.IGNORECASE | re.DOTALL)
META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
NEVER_ARTICLE_TEXT = ("head", "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
                      "audio", "video", "source", "track", "map", "picture", "button", "input", "select", "textarea",
                      "nav", "footer", "aside", "menu", "dialog", "link", "meta")
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Browsers read these labels as windows-1252 (the WHATWG encoding standard); so must we, or curly quotes break.
WINDOWS_1252_LABELS = {"latin_1", "ascii", "cp1252"}


class HtmlReader:
    name = "html"

    def accepts(self, source: Source) -> bool:
        return (source.suffix in HTML_SUFFIXES or source.media_type.lower() in HTML_MEDIA_TYPES
                or bool(LOOKS_LIKE_HTML.match(_sniffable(source.data[:SNIFF_BYTES]))))

    def read(self, source: Source) -> Article:
        import trafilatura  # 0.2 s to import: only when a page is really read

        tree = parse_html(decode_html(source))
        if tree is None:
            raise SourceError(source.location, "not an HTML page (nothing to parse)")
        base_url = source.url or (source.location if "://" in source.location else None)
        meta = page_meta(tree, base_url, source.day_first)
        # trafilatura deletes these anyway, after running its XPath rules over them; deleting them first
        # (the page's metadata is read) saves a quarter of its time and changes nothing it extracts.
        etree.strip_elements(tree, etree.Comment, *NEVER_ARTICLE_TEXT, with_tail=False)
        mark_listings(tree)
        extracted = trafilatura.bare_extraction(tree, url=base_url, fast=True, include_comments=False,
                                                include_tables=True, include_images=False)
        body = getattr(extracted, "body", None)
        blocks = body_blocks(body) if body is not None else []
        title = meta.title or (blocks[0].text if blocks and blocks[0].kind == "heading" else None)
        if not title:
            raise SourceError(source.location, "no title found in the page (no <title>, og:title or <h1>)")
        blocks = drop_repeated_title(blocks, title)
        if not any(block.kind != "heading" for block in blocks):
            raise SourceError(source.location, "no article text found in the page")
        return Article(source=source.location, blocks=tuple(blocks), **(asdict(meta) | {"title": title}))


def parse_html(html: str) -> etree._Element | None:
    """The page's tree; trafilatura's loader, slower but with repairs for libxml2's quirks, when lxml balks."""
    import trafilatura
    from trafilatura.utils import HTML_PARSER

    try:
        tree = lxml.html.document_fromstring(html, parser=HTML_PARSER)
    except (ValueError, etree.ParserError):  # an XML declaration in a str, or nothing to parse
        tree = None
    return tree if tree is not None and tree.find("body") is not None else trafilatura.load_html(html)


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


# trafilatura's output elements and the kind of block each one is.
BLOCK_KINDS = {"head": "heading", "p": "paragraph", "quote": "paragraph", "code": "paragraph", "item": "item"}


def mark_listings(tree: etree._Element) -> None:
    """A bare ``<pre>`` becomes ``<pre><code>``, so trafilatura keeps it a listing, line breaks and all."""
    for pre in tree.iter("pre"):
        if pre.find("code") is None:
            code = etree.SubElement(pre, "code")
            code.text, pre.text = pre.text, None
            for child in list(pre)[:-1]:
                code.append(child)


def body_blocks(body: etree._Element) -> list[Block]:
    for line_break in body.iter("lb"):
        inside_code = any(parent.tag == "code" for parent in line_break.iterancestors())
        line_break.tail = ("\n" if inside_code else " ") + (line_break.tail or "")
    blocks: list[Block] = []
    for element in body.iter("head", "p", "quote", "code", "item", "row"):
        if _inside_block(element):
            continue
        if element.tag == "row":
            text = " | ".join(filter(None, (clean(cell.xpath("string()")) for cell in element.iter("cell"))))
            kind = "paragraph"
        elif element.tag == "code":  # a listing keeps its lines
            lines = (" ".join(line.split()) for line in "".join(element.itertext()).splitlines())
            text, kind = "\n".join(line for line in lines if line), "paragraph"
        else:
            text = clean(_text_without_nested_lists(element))
            kind = BLOCK_KINDS[element.tag]
        if text:
            blocks.append(Block(kind, text))  # type: ignore[arg-type]
    return blocks


def _inside_block(element: etree._Element) -> bool:
    """Text inside a quote or an item is read with it, once; a nested list's items are their own blocks."""
    for parent in element.iterancestors():
        if parent.tag in ("quote", "row", "code") or parent.tag == "item" and element.tag != "item":
            return True
        if parent.tag == "list" and element.tag == "item":
            return False
    return False


def _text_without_nested_lists(element: etree._Element) -> str:
    if element.tag != "item":
        return "".join(element.itertext())
    parts = [element.text or ""]
    for child in element:
        if child.tag != "list":
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join(parts)


def drop_repeated_title(blocks: list[Block], title: str) -> list[Block]:
    """The page's headline repeats the title; the article's text starts after it."""
    if blocks and _same_words(blocks[0].text, title):
        return blocks[1:]
    return blocks


def _same_words(a: str, b: str) -> bool:
    return re.findall(r"\w+", a.lower()) == re.findall(r"\w+", b.lower())
