"""Markdown clips: what a web clipper saves (markdownify, html2text, browser extensions).

A clip is a page dump with a format layer on top: links, images, emphasis, headings, quotes, tables
and code fences. The layer is taken off line by line (link text kept, images and markup dropped,
``#`` lines kept as headings), and what is left is read as a page dump. A clipper's front matter
(``title:``, ``published:``) says what the page said about itself, and wins.

Every pattern here is linear in its input: no nested or overlapping repeats.
"""

from __future__ import annotations

import re

from newsletter.errors import SourceError
from newsletter.sources.article import Article
from newsletter.sources.dates import parse_date
from newsletter.sources.readers.pagedump import split_dump
from newsletter.sources.source import Source

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}

FRONT_MATTER_FENCE = "---"
FRONT_MATTER_MAX_LINES = 40
FRONT_KEY = re.compile(r"^([A-Za-z_][\w-]{0,30})\s*:\s*(.*)$")
IMAGE = re.compile(r"!\[[^\]\n]{0,500}\]\([^)\s]{0,2000}(?:\s+\"[^\"\n]{0,300}\")?\)|!\[[^\]\n]{0,500}\]\[[^\]\n]{0,100}\]")
FOOTNOTE = re.compile(r"\[\[\d{1,3}\]\]\([^)\s]{0,2000}\)|\[\^\w{1,20}\]")  # "[[1]](#fn1)", "[^1]"
LINK = re.compile(r"\[([^\[\]\n]{0,500})\]"  # [text](url "title"), [text][ref]
                  r"(?:\([^)\s]{0,2000}(?:\s+\"[^\"\n]{0,300}\")?\)|\[[^\]\n]{0,100}\])")
AUTOLINK = re.compile(r"<(https?://[^>\s]{1,2000})>")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]\n]{1,100}\]:\s+\S")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
HEADING_MARK = re.compile(r"^\s*#{1,6}\s+")
SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
RULE = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
TABLE_RULE = re.compile(r"^\s*+\|?\s*+:?-{2,}+:?\s*+(?:\|\s*+:?-{2,}+:?\s*+)*+\|?\s*+$")
EMPHASIS = re.compile(r"(?<!\w)(\*{1,3}|_{1,3})(?=\S)([^*_\n]{1,500}?)(?<=\S)\1(?!\w)")
CODE_SPAN = re.compile(r"`([^`\n]{1,500})`")
HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,500}>")
PAIRED_MARKS = re.compile(r"\*\*|__(?!\w)|(?<!\w)__")  # emphasis that a wrapped line split in two
ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
BULLET = re.compile(r"^(\s*)(?:[*+-]\s+)+")  # "  - * News": a nested list's markers, one kept
ORDERED_ITEM = re.compile(r"^\s*(\d{1,9})[.)]\s")  # "2. Beat the butter": a step of its own, not the line above's
ITEM_HEADING = re.compile(r"^(\s*- )#{1,6}\s+")  # "- ## 1/50 Headline": a list item's heading (a gallery's slide)
BLOCK_MARKS = frozenset("`~[*-_|:=#>+") | {""}  # what a line that is more than text starts with, or a blank line
# Links and images that a clipper wrapped over lines (html2text wraps at 78 columns, inside a link too).
WRAPPED_IMAGE = re.compile(r"!\[[^\[\]]{0,500}\]\([^()\[\]]{0,2000}\)")
WRAPPED_LINK = re.compile(r"\[([^\[\]]{0,500})\]\([^()\[\]]{0,2000}\)")


def front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """A clipper's YAML-like front matter (``key: value`` lines between ``---`` fences) and the lines after it."""
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return {}, lines
    for end in range(1, min(len(lines), FRONT_MATTER_MAX_LINES)):
        if lines[end].strip() == FRONT_MATTER_FENCE:
            fields = {}
            for line in lines[1:end]:
                if match := FRONT_KEY.match(line):
                    fields[match[1].lower()] = match[2].strip().strip("\"'")
            return fields, lines[end + 1:]
    return {}, lines


def inline_text(text: str) -> str:
    """A line of markdown as the words a reader sees. Most lines carry no markup: each pattern runs only where its
    mark is (a third of the time of reading a clip went to patterns that found nothing)."""
    if "[" in text:
        text = FOOTNOTE.sub("", IMAGE.sub("", text) if "![" in text else text)
        for _ in range(2):  # a linked image inside a link: the image went first, the link now
            text = LINK.sub(lambda m: m.group(1), text)
    if "<" in text:
        text = AUTOLINK.sub(r"\1", text)
    if "`" in text:
        text = CODE_SPAN.sub(r"\1", text)
    if "<" in text:  # after the code spans, as before: "`<div>`" is a tag once its backticks are gone
        text = HTML_TAG.sub("", text)
    if "*" in text or "_" in text:
        text = EMPHASIS.sub(r"\2", text)
        text = EMPHASIS.sub(r"\2", text)  # "***bold italic***" and nested emphasis
    return ESCAPED.sub(r"\1", text) if "\\" in text else text


def plain_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """The clip's lines without the markdown layer, and its level-one headings."""
    out: list[str] = []
    headings: list[str] = []
    fenced = joinable = in_list = False
    for index, line in enumerate(lines):
        if not line.strip():
            joinable = False
        starts_block = False
        # Before a bullet's spaces are normalised ("*   " is a hard break); a quote's marks end no line.
        hard_break = line.endswith(("  ", "\\"))
        if fenced or line.lstrip()[:1] in BLOCK_MARKS:  # most lines are plain text, and skip these patterns
            if FENCE.match(line):
                fenced = not fenced
                out.append("")
                continue
            if fenced:
                out.append(line)
                continue
            if REFERENCE_DEFINITION.match(line) or RULE.match(line) or TABLE_RULE.match(line) and "-" in line:
                out.append("")
                continue
            if SETEXT_UNDERLINE.match(line) and index and out and out[-1].strip():
                if line.strip().startswith("="):
                    headings.append(out[-1].strip())
                out.append("")
                continue
            line = QUOTE.sub("", line)
            if heading := HEADING.match(line):
                text = inline_text(heading[2]).strip()
                if heading[1] == "#" and text:
                    headings.append(text)
                out += ["", text, ""]
                joinable = False
                continue
            starts_block = bool(BULLET.match(line))
            line = ITEM_HEADING.sub(r"\1", BULLET.sub(r"\1- ", line))
            if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
                cells = [inline_text(cell).strip() for cell in line.strip().strip("|").split("|")]
                out.append("\t".join(cell for cell in cells if cell))
                joinable = False
                continue
        # As CommonMark has it, only "1." starts a list inside a paragraph ("... in the year\n2019. The ..." goes on)
        ordered = ORDERED_ITEM.match(line)
        in_list = (ordered[1] == "1" or in_list) if ordered else in_list and bool(line.strip())
        starts_block = starts_block or bool(ordered) and in_list
        text = inline_text(line).rstrip("\\").strip()
        if text and joinable and not starts_block and out and out[-1]:
            out[-1] += " " + text  # a soft line break: the paragraph goes on (clippers wrap at 78 columns)
        else:
            out.append(text)
        joinable = bool(text) and not hard_break
    return [PAIRED_MARKS.sub("", line) if "*" in line or "_" in line else line for line in out], headings


def _link_on_one_line(link: re.Match) -> str:
    """A link a clipper wrapped over lines, on one line; a teaser card that is one link keeps no heading marks
    ("[\n\n##### Online-Rechner\n\nWichtige Informationen ...](/rechner)")."""
    if "\n" not in link.group(0):
        return link.group(0)
    return " ".join(HEADING_MARK.sub("", part) for part in link.group(1).split("\n"))


def clip_text(text: str) -> tuple[str, dict[str, str], list[str]]:
    """The clip as a plain page dump, its front matter, and its level-one headings."""
    text = WRAPPED_IMAGE.sub("", text)
    text = WRAPPED_LINK.sub(_link_on_one_line, text)
    fields, lines = front_matter(text.splitlines())
    plain, headings = plain_lines(lines)
    return "\n".join(plain), fields, headings


class MarkdownClipReader:
    name = "markdown"

    def accepts(self, source: Source) -> bool:
        return source.suffix in MARKDOWN_SUFFIXES

    def read(self, source: Source) -> Article:
        text, fields, headings = clip_text(source.text())
        parts = split_dump(text, source.day_first, headings=headings)
        if not any(block.kind != "heading" for block in parts.blocks):
            raise SourceError(source.location, "no article text found in the markdown clip")
        title = fields.get("title") or parts.title
        published = _field_date(fields, ("published", "date", "created"), source.day_first) or parts.published
        byline = fields.get("author") or fields.get("byline") or parts.byline
        return Article(
            source=source.location,
            title=title,
            blocks=parts.blocks,
            byline=byline.strip("[]\"' ") if byline else None,
            published=published,
            updated=parts.updated,
            description=fields.get("description") or parts.description,
            url=fields.get("source") or fields.get("url") or None,
        )


def _field_date(fields: dict[str, str], keys: tuple[str, ...], day_first: bool):
    for key in keys:
        if fields.get(key):
            date = parse_date(fields[key], day_first)
            if date:
                return date
    return None
