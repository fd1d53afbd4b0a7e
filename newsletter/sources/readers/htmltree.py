"""The parsed tree of a web page: lxml's parse, code listings kept whole, trafilatura's body as blocks."""

from __future__ import annotations

import lxml.html
from lxml import etree

from newsletter.sources.article import Block
from newsletter.sources.readers.htmlmeta import clean

NEVER_ARTICLE_TEXT = ("head", "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
                      "audio", "video", "source", "track", "map", "picture", "button", "input", "select", "textarea",
                      "nav", "footer", "aside", "menu", "dialog", "link", "meta")


def parse_html(html: str) -> etree._Element | None:
    """The page's tree; trafilatura's loader, slower but with repairs for libxml2's quirks, when lxml balks."""
    import trafilatura
    from trafilatura.utils import HTML_PARSER

    try:
        tree = lxml.html.document_fromstring(html, parser=HTML_PARSER)
    except (ValueError, etree.ParserError):  # an XML declaration in a str, or nothing to parse
        tree = None
    return tree if tree is not None and tree.find("body") is not None else trafilatura.load_html(html)


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


