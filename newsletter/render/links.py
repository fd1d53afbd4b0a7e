"""Links in the email: only safe schemes, UTM-tagged article links, numbered references for text."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.render.settings import UtmSettings

SAFE_SCHEMES = {"http", "https", "mailto"}
TAGGABLE_SCHEMES = {"http", "https"}
# Merge fields such as {{email}} must reach the provider unencoded to be substituted.
MERGE_FIELD_SAFE = "{}"


def safe_url(url: str | None) -> str:
    """Web and mail links only; anything else (javascript:, data:, relative) becomes ''."""
    if not url:
        return ""
    url = url.strip()
    return url if urlsplit(url).scheme.lower() in SAFE_SCHEMES else ""


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def tag_url(url: str, params: dict[str, str]) -> str:
    """Add UTM parameters, keeping the existing query (its own utm_* values win) and the fragment."""
    return _tagged(url, tuple(params.items()))


@functools.lru_cache(maxsize=4096)  # each article link is tagged three times a render, and again on every save
def _tagged(url: str, params: tuple[tuple[str, str], ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in TAGGABLE_SCHEMES:
        return url
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = urlencode([(key, value) for key, value in params if value and key not in present],
                      safe=MERGE_FIELD_SAFE)
    # The existing query stays byte for byte: decoding and re-encoding it would turn a source's
    # neutralised %7B%7Bemail%7D%7D back into a merge field.
    query = "&".join(part for part in (parts.query, added) if part)
    return urlunsplit(parts._replace(query=query))


def utm_params(utm: UtmSettings, slug: str, content: str = "") -> dict[str, str]:
    if not utm.enabled:
        return {}
    return {
        "utm_source": utm.source,
        "utm_medium": utm.medium,
        "utm_campaign": utm.campaign.replace("{slug}", slug),
        "utm_content": slugify(content),
    }


class LinkNumbers:
    """Numbers for reference-style links in the plain-text part, in reading order."""

    def __init__(self, urls: list[str]) -> None:
        self.urls: list[str] = list(dict.fromkeys(url for url in urls if url))

    def number(self, url: str | None) -> int | None:
        return self.urls.index(url) + 1 if url in self.urls else None
