"""Articles that reached someone by mail: ``.eml`` files, and forwards pasted into a text file.

The article is the forwarded part: what follows a forward marker ("---------- Forwarded message
---------", "Begin forwarded message:", "-----Original Message-----") less the forwarded header
block, or the ``> `` quoted lines under "On ... wrote:". The forward's own headers, the forwarder's
note and signature are the mail's, not the article's: their dates never date the article.

Every pattern here is anchored at a line's start and linear in its input.
"""

from __future__ import annotations

import re

from newsletter.errors import SourceError
from newsletter.sources.article import Article
from newsletter.sources.readers.pagedump import split_dump
from newsletter.sources.source import Source

MAIL_SUFFIXES = {".eml", ".mbox"}
HEADER = re.compile(r"^(?:\*\*)?(?:from|to|cc|bcc|date|sent|subject|reply-to|von|an|datum|gesendet|betreff|de|à|objet"
                    r"|envoyé|para|asunto|enviado|fecha)(?:\*\*)?\s*:", re.IGNORECASE)
FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded\s+message|original\s+message|weitergeleitete\s+nachricht|message\s+transféré"
    r"|mensaje\s+reenviado|ursprüngliche\s+nachricht)\s*-{2,}|begin\s+forwarded\s+message\s*:"
    r")\s*$", re.IGNORECASE)
RULE = re.compile(r"^\s*_{5,}\s*$")  # Outlook's line over the forwarded headers
ATTRIBUTION = re.compile(r"^\s*(?:on\b.{0,200}\bwrote|am\b.{0,200}\bschrieb|le\b.{0,200}\ba\s+écrit"
                         r"|el\b.{0,200}\bescribió)\s*:\s*$", re.IGNORECASE)
QUOTED = re.compile(r"^\s{0,3}>")
QUOTE_MARKS = re.compile(r"^\s{0,3}(?:>\s?)+")
SIGNATURE = re.compile(r"^--$|^(?:sent\s+from\s+my|get\s+outlook\s+for|von\s+meinem)\b", re.IGNORECASE)
MAIL_START_LINES = 12  # a pasted mail starts with its headers within these lines
MIN_HEADERS = 2  # ... at least this many of them
QUOTED_SHARE = 0.5  # or this share of its text lines are quoted


def looks_like_mail(text: str) -> bool:
    """A pasted mail or forward: header lines at its top, a forward marker, or mostly ``> `` quoted lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    if sum(bool(HEADER.match(line)) for line in lines[:MAIL_START_LINES]) >= MIN_HEADERS:
        return True
    if _markers(lines):
        return True
    return bool(lines) and sum(bool(QUOTED.match(line)) for line in lines) >= QUOTED_SHARE * len(lines)


def _markers(lines: list[str]) -> list[int]:
    """Rows of forward markers: the words, or Outlook's rule when header lines follow it."""
    return [i for i, line in enumerate(lines) if FORWARD_MARKER.match(line) or RULE.match(line)
            and any(HEADER.match(QUOTE_MARKS.sub("", after)) for after in lines[i + 1:i + 3])]


def forwarded_part(text: str) -> str:
    """The forwarded article of a mail's text: after the last forward marker and its header block, else the
    quoted lines (unquoted), else the body less the headers at its top; never the signature."""
    lines = text.splitlines()
    markers = _markers(lines)
    if markers:
        lines = _without_headers(lines[markers[-1] + 1:])
    else:
        lines = _without_headers(lines)
        quoted = [i for i, line in enumerate(lines) if QUOTED.match(line)]
        if quoted and sum(1 for line in lines[quoted[0]:] if line.strip()) and len(quoted) >= 3:
            lines = [QUOTE_MARKS.sub("", line) if QUOTED.match(line) else "" for line in lines[quoted[0]:quoted[-1] + 1]]
            lines = _without_headers(_without_markers(lines))
    lines = [QUOTE_MARKS.sub("", line) for line in lines]
    return "\n".join(_without_signature(lines))


def _without_markers(lines: list[str]) -> list[str]:
    """Quoted lines after a forward marker nested in the quote."""
    markers = _markers(lines)
    return lines[markers[-1] + 1:] if markers else lines


def _without_headers(lines: list[str]) -> list[str]:
    """The lines after a header block at the top (blank lines before it allowed; wrapped header values too)."""
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    start = index
    while index < len(lines) and (HEADER.match(lines[index])
                                  or index > start and lines[index][:1] in (" ", "\t") and lines[index].strip()):
        index += 1
    if index == start:
        return [line for line in lines if not ATTRIBUTION.match(line)]
    return [line for line in lines[index:] if not ATTRIBUTION.match(line)]


def _without_signature(lines: list[str]) -> list[str]:
    """The lines before a signature ("-- ", "Sent from my phone") in the last fifth of the mail."""
    cut = len(lines)
    for index in range(len(lines) - 1, int(len(lines) * 0.8) - 1, -1):
        if SIGNATURE.match(lines[index].strip()):
            cut = index
    return lines[:cut]


def mail_text(data: bytes) -> str:
    """The readable text of an ``.eml`` message: its text/plain part, else its HTML part as page text."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(data)
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        content = part.get_payload(decode=True).decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        content = _html_text(content)
    return content


def _html_text(html: str) -> str:
    import lxml.html

    document = lxml.html.document_fromstring(html)
    for element in document.iter("script", "style", "head"):
        element.drop_tree()
    for element in document.iter("p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "blockquote"):
        element.tail = "\n" + (element.tail or "")
    return document.text_content()


class MailReader:
    name = "mail"

    def accepts(self, source: Source) -> bool:
        return source.suffix in MAIL_SUFFIXES

    def read(self, source: Source) -> Article:
        return read_mail_text(source, forwarded_part(mail_text(source.data)))


def read_mail_text(source: Source, text: str) -> Article:
    parts = split_dump(text, source.day_first)
    if not any(block.kind != "heading" for block in parts.blocks):
        raise SourceError(source.location, "no article text found in the mail")
    return Article(source=source.location, title=parts.title, blocks=parts.blocks, byline=parts.byline,
                   published=parts.published, updated=parts.updated, description=parts.description)
