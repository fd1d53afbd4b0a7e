"""RSS and Atom feeds: list their items, pick the ones newer than the previous issue."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import feedparser

from newsletter.errors import SourceError
from newsletter.sources.fetch import FEED_TYPES, PAGE_TYPES, FetchOptions, fetch_page, is_url


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str
    published: dt.datetime | None
    updated: dt.datetime | None

    @property
    def date(self) -> dt.date | None:
        """When the item first appeared: published, else updated (an edit is not a new item)."""
        moment = self.published or self.updated
        return moment.date() if moment else None


@dataclass(frozen=True)
class Feed:
    location: str
    title: str
    items: tuple[FeedItem, ...]

    def items_since(self, since: dt.date | None) -> list[FeedItem]:
        """Items dated on or after ``since`` (all dated items when None), oldest first."""
        dated = [item for item in self.items if item.date and (since is None or item.date >= since)]
        return sorted(dated, key=lambda item: item.date)


def read_feed(location: str, base: Path, options: FetchOptions) -> Feed:
    """A feed from a URL (fetched through the cache) or a file relative to ``base``."""
    if is_url(location):
        # A feed is fetched fresh: its point is to show what is new since last time.
        options = dataclasses.replace(options, refresh=True, offline=False)
        data = fetch_page(location, options, accept=FEED_TYPES | PAGE_TYPES).body
    else:
        try:
            data = (base / location).read_bytes()
        except OSError as error:
            raise SourceError(location, f"cannot read the feed: {error.strerror or error}") from None
    return parse_feed(location, data)


def parse_feed(location: str, data: bytes) -> Feed:
    parsed = feedparser.parse(data)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        detail = f" ({_first_line(problem)})" if problem else ""
        raise SourceError(location, f"not an RSS or Atom feed{detail}")
    # feedparser recovers from small mistakes; an item it could not finish means the feed is broken.
    if parsed.bozo and (not parsed.entries or not all(entry.get("link") for entry in parsed.entries)):
        raise SourceError(location, f"feed does not parse: {_first_line(problem)}")
    items = tuple(_item(entry) for entry in parsed.entries if entry.get("link"))
    return Feed(location, parsed.feed.get("title", "").strip(), items)


def _item(entry: feedparser.FeedParserDict) -> FeedItem:
    return FeedItem(
        title=entry.get("title", "").strip(),
        link=entry["link"].strip(),
        # dict.get: feedparser's own get() answers a missing updated date with the published one.
        published=_moment(dict.get(entry, "published_parsed")),
        updated=_moment(dict.get(entry, "updated_parsed")),
    )


def _moment(parsed_time) -> dt.datetime | None:
    """feedparser's UTC struct_time as an aware datetime."""
    if not parsed_time:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(parsed_time), dt.timezone.utc)


def _first_line(problem: object) -> str:
    text = str(problem or "unknown error").strip()
    return text.splitlines()[0] if text else type(problem).__name__
