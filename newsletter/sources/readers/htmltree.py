"""The parsed tree of a web page: lxml's parse, code listings kept whole, trafilatura's body as blocks."""

from __future__ import annotations

from functools import cache

import lxml.html
from lxml import etree

from newsletter.sources.article import Block
from newsletter.sources.readers.htmlmeta import clean

NEVER_ARTICLE_TEXT = ("head", "script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
                      "audio", "video", "source", "track", "map", "picture", "button", "input", "select", "textarea",
                      "nav", "footer", "aside", "menu", "dialog", "link", "meta")


@cache
def html_parser() -> etree.HTMLParser:
    """trafilatura's parser settings, every element an ``HtmlElement`` chosen in C: lxml.html's own parser asks a
    Python function for each element's class, a million calls for a few hundred pages the extractor walks."""
    parser = etree.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                              remove_pis=True)
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity))
    return parser


def parse_html(html: str) -> etree._Element | None:
    """The page's tree; trafilatura's loader, slower but with repairs for libxml2's quirks, when lxml balks."""
    import trafilatura

    try:
        tree = lxml.html.document_fromstring(html, parser=html_parser())
    except (ValueError, etree.ParserError):  # an XML declaration in a str, or nothing to parse
        tree = None
    return tree if tree is not None and tree.find("body") is not None else trafilatura.load_html(html)


# trafilatura's own cleaning treats these specially: forms and figures may hold the article, formulas are kept.
CLEANED_WITH_CARE = {"form", "figure", "math"}


def strip_furniture(tree: etree._Element) -> None:
    """Delete what trafilatura deletes anyway, and keep only the text of the tags it unwraps: it does so after
    running its XPath rules over the whole page and copying it twice, so doing it first saves a third of its
    time and changes nothing it extracts."""
    from trafilatura.settings import CUT_EMPTY_ELEMS, MANUALLY_CLEANED, MANUALLY_STRIPPED

    etree.strip_elements(tree, etree.Comment, *NEVER_ARTICLE_TEXT, *(set(MANUALLY_CLEANED) - CLEANED_WITH_CARE),
                         with_tail=False)
    etree.strip_tags(tree, *MANUALLY_STRIPPED)
    for empty in [e for e in tree.iter(*CUT_EMPTY_ELEMS) if e.text is None and len(e) == 0]:
        empty.drop_tree()


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


