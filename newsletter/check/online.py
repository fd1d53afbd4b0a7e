"""`newsletter check --online`: every link and image in the email, requested before thousands
of people click them.

Links are asked with HEAD (GET when a server refuses HEAD); images are downloaded, within the
fetch limits, and opened with Pillow, since a server can call anything ``image/png``. Requests
run concurrently in a small pool. Each finding names the article the link or image belongs to.
"""

from __future__ import annotations

import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

import httpx

from newsletter.check.checks import IMAGE_BUDGET, CheckContext, Finding
from newsletter.errors import SourceError
from newsletter.render.links import safe_url
from newsletter.sources.fetch import FetchOptions, fetch_options, http_client, read_body
from newsletter.sources.netguard import RefusedAddress, time_limit

WORKERS = 8
HEAD_REFUSED = {403, 405, 501}  # servers that answer HEAD so, but GET properly


@dataclass(frozen=True)
class Target:
    url: str
    kind: str  # "link" or "image"
    owner: str  # the article it belongs to, or "the email" (masthead, footer)
    place: str


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer
    final_url: str
    media_type: str = ""
    size: int | None = None
    readable_image: bool | None = None
    problem: str = ""


def check_online(ctx: CheckContext, options: FetchOptions | None = None) -> list[Finding]:
    options = options or fetch_options(ctx.workspace)
    targets = list(_targets(ctx))
    with http_client(options) as client, ThreadPoolExecutor(WORKERS) as pool:
        answers = list(pool.map(lambda target: _request(client, target, options), targets))
    return [finding for target, answer in zip(targets, answers) for finding in _judge(target, answer)]


def _targets(ctx: CheckContext) -> Iterator[Target]:
    """Each distinct web address once, with the first article that uses it."""
    owners = _owners(ctx)
    seen: set[str] = set()
    for element in ctx.document.iter("a", "img"):
        url = (element.get("href") if element.tag == "a" else element.get("src")) or ""
        if not re.match(r"(?i)https?://", url) or "{{" in url or url in seen:
            continue  # mail links, relative addresses (an offline finding) and per-recipient links
        seen.add(url)
        kind = "image" if element.tag == "img" else "link"
        yield Target(url, kind, owners.get(_bare(url), "the email"), ctx.html_place(element))


def _owners(ctx: CheckContext) -> dict[str, str]:
    """Article link and image address (without tracking parameters) -> the article's title."""
    owners: dict[str, str] = {}
    build = ctx.build
    for entry in build.issue.entries:
        if entry.url:
            owners.setdefault(_bare(safe_url(entry.url)), entry.title)
        target = build.assets.target(entry.image) if entry.image else None
        if target:
            owners.setdefault(f"{build.asset_base}{target}" if build.asset_base else target, entry.title)
    return owners


def _bare(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _request(client: httpx.Client, target: Target, options: FetchOptions) -> Answer:
    """One link or image, within the fetch limits: the whole exchange (redirects, HEAD then GET,
    the body) has ``[fetch] deadline``; addresses are held to the fetch rules on every hop."""
    with time_limit(options.deadline) as end:
        try:
            if target.kind == "link":
                response = client.head(target.url)
                if response.status_code not in HEAD_REFUSED:
                    return Answer(response.status_code, str(response.url))
            return _get(client, target, options.max_bytes, end, options.deadline)
        except RefusedAddress as error:
            return Answer(None, target.url, problem=str(error))
        except SourceError as error:
            return Answer(None, target.url, problem=error.message)
        except httpx.TooManyRedirects:
            return Answer(None, target.url, problem="too many redirects")
        except httpx.TimeoutException:
            if time.monotonic() >= end:
                return Answer(None, target.url, problem=f"took longer than {options.deadline:g} s ([fetch] deadline)")
            return Answer(None, target.url, problem="timed out")
        except httpx.HTTPError as error:
            return Answer(None, target.url, problem=str(error).splitlines()[0] if str(error) else type(error).__name__)


def _get(client: httpx.Client, target: Target, max_bytes: int, end: float, allowed: float) -> Answer:
    """``end``: the monotonic time the exchange must be done by, ``allowed`` seconds from its start."""
    with client.stream("GET", target.url) as response:
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if target.kind == "link" or not response.is_success:
            return Answer(response.status_code, str(response.url), media_type)
        try:
            body = read_body(target.url, response, max_bytes, end, allowed)
        except SourceError as error:
            if "larger than" not in error.message:
                raise
            return Answer(response.status_code, str(response.url), media_type, max_bytes + 1)
        return Answer(response.status_code, str(response.url), media_type, len(body), _is_image(body))


def _is_image(data: bytes) -> bool:
    """Whether Pillow reads it as a picture of at most the megapixels a build accepts."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    from newsletter.render.pixels import MAX_SOURCE_PIXELS

    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_SOURCE_PIXELS:
                return False
            image.verify()
        return True
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return False


def _judge(target: Target, answer: Answer) -> Iterator[Finding]:
    what = f"{target.kind} {target.url} ({target.owner})"
    if answer.status is None:
        yield Finding(f"broken-{target.kind}", "error", f"{what}: no answer: {answer.problem}", target.place)
        return
    if answer.status >= 400:
        yield Finding(f"broken-{target.kind}", "error", f"{what}: HTTP {answer.status}", target.place)
        return
    if urlsplit(answer.final_url).hostname != urlsplit(target.url).hostname:
        yield Finding(f"redirected-{target.kind}", "warning", f"{what} redirects to another host: "
                      f"{answer.final_url}", target.place)
    if target.kind == "image":
        yield from _judge_image(what, target, answer)


def _judge_image(what: str, target: Target, answer: Answer) -> Iterator[Finding]:
    if not answer.media_type.startswith("image/") or answer.readable_image is False:
        yield Finding("not-an-image", "error", f"{what} is not an image (it is {answer.media_type or 'untyped'}"
                      f"{', and not a readable picture' if answer.readable_image is False else ''})", target.place)
    elif answer.size is not None and answer.readable_image is None:
        yield Finding("image-too-large", "error", f"{what} is larger than the fetch limit", target.place)
    elif answer.size and answer.size > IMAGE_BUDGET:
        yield Finding("image-heavy", "warning", f"{what} is {answer.size / 1024:.0f} KB "
                      f"(budget {IMAGE_BUDGET // 1024} KB)", target.place)
