"""A Campaign is one rendered issue ready to go out; each recipient gets it with merge fields filled."""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import quote

from newsletter import clock
from newsletter.compose.audience import Recipient
from newsletter.schema import parse_mailbox

if TYPE_CHECKING:
    from newsletter.render.build import Build
    from newsletter.workspace import Workspace

MERGE_FIELD = re.compile(r"\{\{\s*([A-Za-z_][\w]*)\s*\}\}")
# A merge field is inside a URL when a URL runs, unbroken, from its scheme up to the field.
_URL_BEFORE = re.compile(r"""(?:https?://|mailto:)[^\s"'<>]*\Z""", re.IGNORECASE)
_URL_REACH = 2000  # characters looked back for the URL's start


@dataclass(frozen=True)
class Campaign:
    slug: str
    subject: str
    html: str
    text: str
    sender: str
    reply_to: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # may hold merge fields
    categories: tuple[str, ...] = ()
    send_at: dt.datetime | None = None  # when the issue is scheduled to go out (aware)

    @property
    def sender_address(self) -> tuple[str, str]:
        return parse_mailbox(self.sender, "sender")

    @property
    def domain(self) -> str:
        return self.sender_address[1].rpartition("@")[2] or "localhost"

    def merge_field_names(self) -> set[str]:
        parts = [self.subject, self.html, self.text, *self.headers.values()]
        return {name for part in parts for name in MERGE_FIELD.findall(part)}


def fill(template: str, values: dict[str, str], escape: bool = False) -> str:
    """Replace ``{{name}}`` with the recipient's value; unknown names stay visible for `check`.
    A value inside a URL is percent-encoded (``+`` arrives as ``+``); elsewhere, with
    ``escape``, HTML-escaped."""
    in_url = url_field_starts(template)

    def replace(match: re.Match) -> str:
        if match.group(1) not in values:
            return match.group(0)
        value = values[match.group(1)]
        if match.start() in in_url:
            return url_value(value)
        return html.escape(value) if escape else value

    return MERGE_FIELD.sub(replace, template)


# What ``quote(value, safe="@")`` leaves as it is: most addresses, checked faster than quoted.
_UNCHANGED_IN_URL = re.compile(r"[A-Za-z0-9_.~@-]*\Z")


def url_value(value: str) -> str:
    """A merge value as it must appear inside a URL: every reserved character encoded, ``@`` kept."""
    value = str(value)
    return value if _UNCHANGED_IN_URL.match(value) else quote(value, safe="@")


@functools.lru_cache(maxsize=64)
def url_field_starts(template: str) -> frozenset[int]:
    """Where the merge fields that sit inside a URL start (cached: a template is filled once per recipient)."""
    return frozenset(match.start() for match in MERGE_FIELD.finditer(template)
                     if _URL_BEFORE.search(template, max(0, match.start() - _URL_REACH), match.start()))


def mark_url_fields(template: str, suffix: str = ":url") -> str:
    """``{{name}}`` inside a URL renamed ``{{name:url}}``, for providers that substitute one value per key."""
    starts = url_field_starts(template)
    return MERGE_FIELD.sub(lambda m: f"{{{{{m.group(1)}{suffix}}}}}" if m.start() in starts else m.group(0), template)


def unsubscribe_headers(url: str, mailto: str) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe with RFC 8058 one-click, when an https link exists."""
    targets = [f"<{url}>"] if url else []
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    headers = {"List-Unsubscribe": ", ".join(targets)} if targets else {}
    if url.startswith("https:"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


# Headers a receiving server reads as they are: RFC 2369 / RFC 8058 forbid encoded words in them.
RAW_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
MAX_LINE = 998  # RFC 5322: no line longer than this, CRLF not counted


class _RawListHeaders(EmailPolicy):
    """The default policy, except that the List-Unsubscribe headers are written raw and unfolded
    (the default RFC 2047-encodes any word over 78 characters, which hides the https link from
    the receiving server). Should one ever pass 998 characters it is folded between its
    ``<...>`` targets, where RFC 2369 allows it, never inside a URL."""

    def _raw(self, name: str, value: str) -> str | None:
        value = str(value)
        if name.lower() not in RAW_HEADERS or not value.isascii() or "\n" in value or "\r" in value:
            return None
        line = f"{name}: {value}"
        if len(line) > MAX_LINE:
            line = line.replace(">, <", f">,{self.linesep} <")
        return line + self.linesep

    def fold(self, name, value):
        raw = self._raw(name, value)
        return super().fold(name, value) if raw is None else raw

    def fold_binary(self, name, value):
        raw = self._raw(name, value)
        return super().fold_binary(name, value) if raw is None else raw.encode("ascii")


SENDING_POLICY = _RawListHeaders()


def build_message(campaign: Campaign, recipient: Recipient, now: dt.datetime | None = None) -> EmailMessage:
    values = recipient.merge_fields
    message = EmailMessage(policy=SENDING_POLICY)
    name, address = campaign.sender_address
    message["From"] = Address(display_name=name, addr_spec=address)
    message["To"] = Address(display_name=recipient.name, addr_spec=recipient.email)
    if campaign.reply_to:
        reply_name, reply_address = parse_mailbox(campaign.reply_to, "reply_to")
        message["Reply-To"] = Address(display_name=reply_name, addr_spec=reply_address)
    message["Subject"] = fill(campaign.subject, values)
    message["Date"] = format_datetime(now or clock.now())
    message["Message-ID"] = make_msgid(idstring=campaign.slug, domain=campaign.domain)
    for header, value in campaign.headers.items():
        message[header] = fill(value, values)
    message.set_content(fill(campaign.text, values))
    message.add_alternative(fill(campaign.html, values, escape=True), subtype="html")
    return message


TEST_PREFIX = "[TEST] "


def campaign_for(build: Build, workspace: Workspace, test: bool = False) -> Campaign:
    """The email as it leaves, before each recipient's merge fields. A test copy is tagged apart
    (its own categories), so the provider's figures for the issue never count it."""
    settings = workspace.settings
    subject = f"{TEST_PREFIX}{build.issue.subject}" if test else build.issue.subject
    categories = ("newsletter-test", f"{build.issue.slug}-test") if test else ("newsletter", build.issue.slug)
    return Campaign(
        slug=build.issue.slug,
        subject=subject,
        html=build.rendered.html,
        text=build.rendered.text,
        sender=settings.sender,
        reply_to=settings.reply_to,
        headers=unsubscribe_headers(settings.unsubscribe_url, settings.unsubscribe_mailto),
        categories=categories,
        send_at=None if test else build.spec.send_at,  # a test goes out now
    )
