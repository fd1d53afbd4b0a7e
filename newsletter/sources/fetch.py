"""Fetch web pages and feeds over HTTP(S), with limits, into the workspace's cache.

A fetched page is stored as ``<sha256 of the URL>.body`` plus ``.json`` (where it ended
up, status, the headers that matter, when), so a rebuild reads the same bytes offline.
Decoding is left to the readers: a page is handed on as bytes, media type and charset.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from newsletter import __version__, clock
from newsletter.errors import SourceError
from newsletter.files import write_atomically
from newsletter.sources.settings import FetchSettings
from newsletter.workspace import Workspace

if TYPE_CHECKING:
    import ssl

    import httpx

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                        "application/xml", "text/xml"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic",
                         "image/heif"})
KEPT_HEADERS = ("content-type", "content-length", "last-modified", "etag", "date")
PREFETCH_WORKERS = 8
PER_HOST = 2  # polite: a site never sees more than two requests from us at once


@dataclass(frozen=True)
class FetchOptions:
    """How to fetch: limits from newsletter.toml's [fetch] table and the command's --refresh."""

    cache_dir: Path | None = None  # None: no cache
    refresh: bool = False  # refetch even when the cache has the page
    offline: bool = False  # only the cache; a page that is not in it is an error
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = f"newsletter/{__version__}"
    # Called as (done, total, url) while prefetching; None: quiet.
    progress: Callable[[int, int, str], None] | None = field(default=None, compare=False, repr=False)
    deadline: float = 30.0  # seconds for the whole page, however slowly it trickles in
    # Hosts (as URLs spell them) that may resolve to loopback, private or link-local addresses.
    allow_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fetched:
    """One fetched page, as the server sent it."""

    url: str
    final_url: str
    status: int
    media_type: str
    charset: str | None
    headers: dict[str, str]
    fetched_at: str
    body: bytes

    def record(self) -> dict:
        data = asdict(self)
        data.pop("body")
        return data


def is_url(location: str) -> bool:
    return "://" in location


def fetch_page(url: str, options: FetchOptions, accept: frozenset[str] = PAGE_TYPES) -> Fetched:
    """The page at ``url``, from the cache unless refreshing. Raises SourceError naming the URL."""
    if not url.lower().startswith(("http://", "https://")):
        raise SourceError(url, "only http:// and https:// URLs can be fetched")
    cached = None if options.refresh else _read_cache(url, options.cache_dir)
    if cached is None:
        if options.offline:
            raise SourceError(url, "not in the cache (fetch it once with a build of its issue)")
        cached = _download(url, options, accept)
        _write_cache(cached, options.cache_dir)
    if cached.media_type not in accept:
        raise SourceError(url, _wrong_type_message(cached.media_type, accept))
    return cached


def prefetch(urls: list[str], options: FetchOptions) -> tuple[FetchOptions, dict[str, SourceError]]:
    """Fetch pages into the cache at once (at most PREFETCH_WORKERS, PER_HOST to one site).

    Returns the options to read them with (the cache is fresh now, so --refresh is spent)
    and the failures by URL, for the caller to report in its own order without fetching again.
    """
    wanted = list(dict.fromkeys(url for url in urls if is_url(url)))
    if not wanted or options.cache_dir is None or options.offline:
        return options, {}
    failures: dict[str, SourceError] = {}
    done = 0
    lock = threading.Lock()

    def fetch_one(url: str) -> None:
        nonlocal done
        try:
            fetch_page(url, options)
        except SourceError as error:
            failures[url] = error
        with lock:
            done += 1
            if options.progress:
                options.progress(done, len(wanted), url)

    with ThreadPoolExecutor(max_workers=min(PREFETCH_WORKERS, len(wanted))) as pool:
        list(pool.map(fetch_one, wanted))
    return replace(options, refresh=False), failures


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context for every client: loading the CA bundle costs ~130 ms each time."""
    import httpx

    return httpx.create_ssl_context()


_host_slots: dict[str, threading.BoundedSemaphore] = {}
_host_slots_lock = threading.Lock()


def _host_slot(url: str) -> threading.BoundedSemaphore:
    host = (urlsplit(url).hostname or "").lower()
    with _host_slots_lock:
        return _host_slots.setdefault(host, threading.BoundedSemaphore(PER_HOST))


def _download(url: str, options: FetchOptions, accept: frozenset[str]) -> Fetched:
    with _host_slot(url):
        return _download_now(url, options, accept)


def http_client(options: FetchOptions, headers: dict[str, str] | None = None, **extra) -> httpx.Client:
    """The one client every fetch uses (sources, feeds, page pictures, ``check --online``): the
    connect and read timeouts, the redirect limit, our User-Agent, the shared TLS context, and a
    connection that reaches only the address it checked (see ``netguard``). Run each request
    under ``netguard.time_limit(options.deadline)`` for the deadline. Proxies from the
    environment are not used: a proxy would resolve the names itself, past the address rule."""
    import httpx  # 0.1 s to import: only when something is really requested

    from newsletter.sources.decoding import ACCEPT_ENCODING
    from newsletter.sources.netguard import PinnedBackend

    timeout = httpx.Timeout(options.read_timeout, connect=options.connect_timeout)
    transport = httpx.HTTPTransport(verify=_tls_context(), trust_env=False)
    pool = transport._pool  # httpx has no argument for httpcore's network backend
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpcore has no _network_backend: fetches cannot pin addresses")
    pool._network_backend = PinnedBackend(options.allow_hosts)
    return httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=options.max_redirects,
                        headers={"User-Agent": options.user_agent, "Accept-Encoding": ACCEPT_ENCODING,
                                 **(headers or {})},
                        transport=transport, trust_env=False, **extra)


def _download_now(url: str, options: FetchOptions, accept: frozenset[str]) -> Fetched:
    import httpx

    from newsletter.sources.netguard import RefusedAddress, time_limit

    hops = RedirectGuard(url)
    client = http_client(options, {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"},
                         event_hooks={"request": [hops.check]})
    # The read timeout is per read: a server trickling a byte a second (headers included) never
    # trips it. Every wait on the connection is cut at the deadline instead.
    with time_limit(options.deadline) as end:
        try:
            with client, client.stream("GET", url) as response:
                return _receive(url, response, options.max_bytes, accept, end, options.deadline)
        except RefusedAddress as error:
            raise SourceError(url, str(error)) from None
        except httpx.HTTPError as error:
            if time.monotonic() >= end:
                raise SourceError(url, _deadline_message(options.deadline)) from None
            raise _fetch_error(url, error, options) from None


def _fetch_error(url: str, error: httpx.HTTPError, options: FetchOptions) -> SourceError:
    import httpx

    if isinstance(error, httpx.TooManyRedirects):
        return SourceError(url, f"too many redirects (the limit is {options.max_redirects})")
    if isinstance(error, httpx.ConnectTimeout):
        return SourceError(url, f"timed out connecting after {options.connect_timeout:g} s")
    if isinstance(error, httpx.TimeoutException):
        return SourceError(url, f"timed out: no data for {options.read_timeout:g} s")
    if isinstance(error, httpx.UnsupportedProtocol):
        return SourceError(url, f"cannot fetch: {error}")
    if isinstance(error, httpx.ConnectError):
        return SourceError(url, f"cannot connect: {_reason(error)}")
    return SourceError(url, f"fetch failed: {_reason(error)}")


def _deadline_message(deadline: float) -> str:
    return f"took longer than {deadline:g} s to download (raise [fetch] deadline in newsletter.toml)"


def read_body(url: str, response: httpx.Response, max_bytes: int, deadline: float = float("inf"),
              allowed: float = 0.0) -> bytes:
    """The body, decoded, never more than ``max_bytes`` decoded bytes across all content-encoding
    layers (SourceError naming ``url`` beyond), nor past the monotonic ``deadline``."""
    from newsletter.sources.decoding import BadEncoding, TooLarge, decode_all

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(url, _too_big_message(max_bytes))
    chunks = []
    try:
        for chunk in decode_all(response.iter_raw(), response.headers.get("content-encoding", ""), max_bytes):
            if time.monotonic() > deadline:
                raise SourceError(url, _deadline_message(allowed))
            chunks.append(chunk)
    except TooLarge:
        raise SourceError(url, _too_big_message(max_bytes)) from None
    except BadEncoding as error:
        raise SourceError(url, str(error)) from None
    return b"".join(chunks)


def _receive(url: str, response: httpx.Response, max_bytes: int, accept: frozenset[str],
             deadline: float = float("inf"), allowed: float = 0.0) -> Fetched:
    if not response.is_success:
        raise SourceError(url, f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
    media_type, charset = _content_type(response.headers.get("content-type", ""))
    if media_type not in accept:
        raise SourceError(url, _wrong_type_message(media_type, accept))
    body = read_body(url, response, max_bytes, deadline, allowed)
    return Fetched(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        media_type=media_type,
        charset=charset,
        headers={name: response.headers[name] for name in KEPT_HEADERS if name in response.headers},
        fetched_at=clock.now().isoformat(timespec="seconds"),
        body=body,
    )


class RedirectGuard:
    """Redirects stay on http(s). (Where they may lead is the connection's business: the client
    refuses private and loopback addresses on every hop alike.)"""

    def __init__(self, url: str) -> None:
        self.url = url

    def check(self, request: httpx.Request) -> None:
        """Called for the first request and for every redirect, before it is sent."""
        target = request.url
        if not target.host:
            raise SourceError(self.url, f"cannot fetch {target}: no host in the address")
        if target.scheme not in ("http", "https"):
            raise SourceError(self.url, f"redirected to {target.scheme}: ({target}); only http(s) is followed")


def _content_type(header: str) -> tuple[str, str | None]:
    from email.message import Message  # only for fetched pages (~10 ms to load)

    message = Message()
    message["content-type"] = header
    media_type = message.get_content_type() if header.strip() else ""
    return media_type, message.get_param("charset")


def _wrong_type_message(media_type: str, accept: frozenset[str]) -> str:
    if accept == IMAGE_TYPES:
        return f"content type {media_type or 'missing'}, expected an image (JPEG, PNG, GIF, WEBP, AVIF or HEIC)"
    wanted = "a feed (RSS or Atom)" if not accept & PAGE_TYPES else "an HTML page or plain text"
    if accept & PAGE_TYPES and media_type in FEED_TYPES:
        return f"this is a feed ({media_type}), not an article: add its items with newsletter add ISSUE --feed URL"
    return f"content type {media_type or 'missing'}, expected {wanted}"


def _too_big_message(max_bytes: int) -> str:
    return f"larger than {max_bytes / 1_000_000:g} MB (raise [fetch] max_bytes in newsletter.toml)"


def _reason(error: Exception) -> str:
    text = str(error).strip()
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0] if text else type(error).__name__


def cache_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _read_cache(url: str, cache_dir: Path | None) -> Fetched | None:
    if cache_dir is None:
        return None
    stem = cache_dir / cache_key(url)
    try:
        record = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        body = stem.with_suffix(".body").read_bytes()
    except (FileNotFoundError, ValueError):
        return None
    if record.get("url") != url:
        return None
    return Fetched(**record, body=body)


def _write_cache(page: Fetched, cache_dir: Path | None) -> None:
    """Body first, record last: a record on disk always has its body beside it."""
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = cache_dir / cache_key(page.url)
    write_atomically(stem.with_suffix(".body"), page.body)
    record = json.dumps(page.record(), ensure_ascii=False, indent=2) + "\n"
    write_atomically(stem.with_suffix(".json"), record.encode("utf-8"))


def fetch_options(workspace: Workspace, refresh: bool = False) -> FetchOptions:
    """The workspace's [fetch] settings, caching under the workspace."""
    settings = workspace.table(FetchSettings)
    return FetchOptions(
        cache_dir=workspace.root / settings.cache,
        refresh=refresh,
        connect_timeout=float(settings.connect_timeout),
        read_timeout=float(settings.read_timeout),
        max_bytes=settings.max_bytes,
        max_redirects=settings.max_redirects,
        user_agent=settings.user_agent or FetchOptions.user_agent,
        deadline=float(settings.deadline),
        allow_hosts=frozenset(settings.allow_private_hosts),
    )
