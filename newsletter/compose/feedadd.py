"""``newsletter add --feed``: list a feed's new items in an issue file (the feed is read by sources/feeds)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from newsletter.compose.history import previous_issue
from newsletter.compose.issueedit import add_articles
from newsletter.errors import InputError
from newsletter.sources.feeds import Feed, FeedItem, read_feed
from newsletter.sources.fetch import FetchOptions

MAX_ITEMS = 50  # a feed can list thousands of items; an issue shows a handful


@dataclass(frozen=True)
class FeedAddition:
    """What ``newsletter add --feed`` did."""

    feed: Feed
    since: dt.date | None  # items dated on or after this were wanted (None: all)
    previous: str | None  # the issue the cutoff came from
    items: tuple[FeedItem, ...]  # the wanted items, oldest first (at most max_items: the newest)
    added: int  # how many of them were not listed yet
    left_out: int = 0  # older wanted items beyond max_items, not listed


def add_feed_items(issue_path: Path, issues_dir: Path, location: str, options: FetchOptions,
                   since: dt.date | None = None, section: str | None = None,
                   max_items: int = MAX_ITEMS) -> FeedAddition:
    """List a feed's items newer than the previous issue (or dated ``since`` on) as URL sources:
    the newest ``max_items`` of them; how many older ones were left is in ``left_out``."""
    previous = None
    if since is None:
        previous = previous_issue(issues_dir, issue_path)
        if previous and previous.date is None:
            raise InputError(previous.path, "the previous issue has no date: to add feed items, "
                             "give it a 'date:' or pass --since DATE")
        since = previous.date + dt.timedelta(days=1) if previous else None
    feed = read_feed(location, Path.cwd(), options)
    wanted = feed.items_since(since)
    items = tuple(wanted[-max_items:])
    added = add_articles(issue_path, [{"source": item.link, "url": item.link} for item in items], section)
    return FeedAddition(feed, since, previous.slug if previous else None, items, added, len(wanted) - len(items))
