"""`newsletter preview`: a local server that shows an issue as the inbox will, and redraws on save.

The server listens on 127.0.0.1 only and serves a fixed set of views of the current
build, never files by path. A watcher hears file events (inotify and its kin, through
watchfiles) in the issue folder, ``templates/`` and ``newsletter.toml``; each change rebuilds
in process, and the page is told at once over server-sent events (``/events``) instead of
asking. A build error is shown in the page (with its file and line) and the last good build
stays on screen.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import mimetypes
import re
import threading
import time
import webbrowser
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from newsletter.check.checks import CheckContext, audience_fields, audience_of, check
from newsletter.compose.audience import Recipient
from newsletter.errors import NewsletterError
from newsletter.render.build import Build, build_issue
from newsletter.render.message import build_message, campaign_for, fill
from newsletter.render.unsubscribe import HostedUnsubscribe, preview_values, sending_workspace
from newsletter.workspace import SETTINGS_FILE, Workspace, load_settings

Results = Callable[[Workspace, Path | str], str]  # the provider's figures for an issue, as HTML
LOOPBACK = "127.0.0.1"
EVENT_KEEPALIVE_SECONDS = 15  # a comment line now and then: proxies and browsers keep the stream open
REPORT_SECONDS = 300  # the provider's figures are fetched at most this often
PAGE = Path(__file__).parent / "web" / "preview.html"
SAMPLE_RECIPIENT = Recipient("reader@example.com", {"first_name": "Reader"})
DARK_MEDIA = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{")
# Gmail's desktop list shows about this many characters of subject plus preheader;
# Apple Mail on iPhone shows the subject on one line and two lines of preview.
GMAIL_ROW_CHARS, APPLE_SUBJECT_CHARS, APPLE_PREVIEW_CHARS = 110, 38, 90


@dataclass
class Snapshot:
    """Everything the views show, from one build."""

    version: int
    html: str = ""
    dark_html: str = ""
    text: str = ""
    # The sample message is written when the MIME view asks for it, not on every save (5 ms a rebuild).
    write_mime: Callable[[], str] = str
    inbox: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)  # "/images/<name>" -> file
    error: str = ""
    built_in_ms: float = 0.0

    @functools.cached_property
    def mime(self) -> str:
        return self.write_mime()


def dark_mode(email_html: str) -> str:
    """Apply the email's own dark-mode rules unconditionally, as a dark-mode client would."""
    return DARK_MEDIA.sub("@media all {", email_html)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def inbox_row(build: Build, sender_name: str, sample: Recipient) -> dict:
    subject = fill(build.issue.subject, sample.merge_fields)
    preheader = fill(build.issue.preheader, sample.merge_fields) or build.rendered.text.split("\n", 3)[-1][:200]
    gmail_room = max(GMAIL_ROW_CHARS - len(subject) - 3, 0)
    return {
        "sender": sender_name,
        "subject": subject,
        "preheader": preheader,
        "gmail": {"subject": truncate(subject, GMAIL_ROW_CHARS), "preheader": truncate(preheader, gmail_room)},
        "apple": {"subject": truncate(subject, APPLE_SUBJECT_CHARS), "preheader": truncate(preheader, APPLE_PREVIEW_CHARS)},
    }


class PreviewState:
    """The latest snapshot and a rebuild function; rebuilds are serialised by a lock."""

    def __init__(self, workspace: Workspace, issue: str | Path, hosted: HostedUnsubscribe | None = None,
                 results: Results | None = None) -> None:
        self.workspace, self.issue = workspace, issue
        self.hosted, self.fetch_results = hosted, results
        self.lock = threading.Lock()
        self.snapshot = Snapshot(version=0)
        self.changed = threading.Condition()

    def wait_for_version(self, seen: int, timeout: float) -> int:
        """The current version once it differs from ``seen`` (or ``seen`` after ``timeout`` seconds)."""
        with self.changed:
            self.changed.wait_for(lambda: self.snapshot.version != seen, timeout)
            return self.snapshot.version

    def rebuild(self) -> Snapshot:
        with self.lock:
            started = time.perf_counter()
            previous = self.snapshot
            try:
                self._reload_settings()
                # Linked as sent, shown with local images; SendGrid's tags shown as fake URLs.
                build = build_issue(sending_workspace(self.workspace, self.hosted), self.issue)
                snapshot = self._snapshot(build, previous.version + 1)
            except NewsletterError as error:
                snapshot = dataclasses.replace(previous, version=previous.version + 1, error=str(error))
            snapshot.built_in_ms = (time.perf_counter() - started) * 1000
            with self.changed:
                self.snapshot = snapshot
                self.changed.notify_all()
            return snapshot

    def results(self) -> str:
        """The provider's figures as an HTML fragment with a bar chart, fetched only when asked for."""
        if self.fetch_results is None:
            return "<p>No provider figures here: the preview was started without a provider to ask.</p>"
        cached = getattr(self, "_results", None)
        if cached and time.monotonic() - cached[0] < REPORT_SECONDS:
            return cached[1]
        fragment = self.fetch_results(self.workspace, self.issue)
        self._results = (time.monotonic(), fragment)
        return fragment

    def _reload_settings(self) -> None:
        settings_path = self.workspace.root / SETTINGS_FILE
        if settings_path.is_file():
            self.workspace = Workspace(self.workspace.root, load_settings(settings_path))

    def _snapshot(self, build: Build, version: int) -> Snapshot:
        recipients = audience_of(build, self.workspace)  # read once: the sample and the merge-field check
        sample = recipients[0] if recipients else SAMPLE_RECIPIENT
        workspace = sending_workspace(self.workspace, self.hosted)  # links as sent; SendGrid's tag shown as a fake URL
        campaign = campaign_for(build, workspace)
        values = preview_values(sample, workspace)
        sample = dataclasses.replace(sample, fields={**sample.fields, **values})
        email_html = fill(build.local_html, values, escape=True)
        report = check(CheckContext(build, campaign, workspace, audience_fields(recipients)))
        return Snapshot(
            version=version,
            html=email_html,
            dark_html=dark_mode(email_html),
            text=fill(build.rendered.text, values),
            write_mime=lambda: build_message(campaign, sample).as_string(),
            inbox=inbox_row(build, campaign.sender_address[0] or campaign.sender_address[1], sample),
            findings=[finding.__dict__ for finding in report.findings],
            images={f"/{build.assets.target(image)}": path for image, path in build.assets.files.items()},
        )


class Watcher(threading.Thread):
    """Rebuilds when a watched file changes, woken by the operating system's file events."""

    def __init__(self, state: PreviewState, paths: list[Path]) -> None:
        super().__init__(daemon=True)
        self.state, self.paths = state, [path for path in paths if path.exists()]
        self.stopped = threading.Event()
        self.ready = threading.Event()  # set once the events are being listened for

    def run(self) -> None:
        from watchfiles import watch

        # A burst of writes (an editor's save, a git checkout) arrives as one batch: one rebuild.
        changes = watch(*self.paths, stop_event=self.stopped, debounce=20, step=5, yield_on_timeout=True,
                        rust_timeout=200, ignore_permission_denied=True)
        for batch in changes:
            self.ready.set()
            if batch and not self.stopped.is_set():
                self.state.rebuild()


def local_host(host: str, port: int) -> bool:
    return host.lower() in (f"127.0.0.1:{port}", f"localhost:{port}")


def make_handler(state: PreviewState, state_stopped: threading.Event | None = None) -> type[BaseHTTPRequestHandler]:
    state_stopped = state_stopped or threading.Event()

    class PreviewHandler(BaseHTTPRequestHandler):
        server_version = "newsletter-preview"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if not local_host(self.headers.get("Host", ""), self.server.server_address[1]):
                # DNS rebinding: a web page's own name pointed at 127.0.0.1 must not read the preview.
                self.send_error(HTTPStatus.FORBIDDEN, "only http://127.0.0.1:PORT or http://localhost:PORT")
                return
            snapshot = state.snapshot
            routes = {
                "/": lambda: ("text/html", PAGE.read_text(encoding="utf-8")),
                "/email.html": lambda: ("text/html", snapshot.html or _error_page(snapshot.error)),
                "/email-dark.html": lambda: ("text/html", snapshot.dark_html or _error_page(snapshot.error)),
                "/email.txt": lambda: ("text/plain", snapshot.text),
                "/message.eml": lambda: ("text/plain", snapshot.mime),
                "/state.json": lambda: ("application/json", json.dumps(_state(snapshot))),
                "/results.html": lambda: ("text/html", state.results()),
            }
            path = urlsplit(self.path).path
            if path == "/events":
                return self.stream_versions()
            if path in snapshot.images:
                image = snapshot.images[path]
                self.reply(mimetypes.guess_type(image.name)[0] or "application/octet-stream", image.read_bytes())
            elif path in routes:
                content_type, body = routes[path]()
                self.reply(f"{content_type}; charset=utf-8", body.encode("utf-8"))
            else:
                self.send_error(HTTPStatus.NOT_FOUND, "not found")

        def stream_versions(self) -> None:
            """Server-sent events: the build's version whenever it changes, until the page goes."""
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = -1
            try:
                while not state_stopped.is_set():
                    version = state.wait_for_version(seen, EVENT_KEEPALIVE_SECONDS)
                    event = f"data: {json.dumps(_state(state.snapshot))}\n\n" if version != seen else ": still here\n\n"
                    self.wfile.write(event.encode("utf-8"))
                    self.wfile.flush()
                    seen = version
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page was closed or reloaded

        def reply(self, content_type: str, data: bytes) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # quiet: the terminal shows rebuilds instead
            pass

    return PreviewHandler


def _state(snapshot: Snapshot) -> dict:
    return {"version": snapshot.version, "error": snapshot.error, "inbox": snapshot.inbox,
            "findings": snapshot.findings, "built_in_ms": round(snapshot.built_in_ms, 1)}


def _error_page(error: str) -> str:
    return f"<!doctype html><title>Build error</title><pre>{html.escape(error)}</pre>"


def watched_paths(workspace: Workspace, issue_path: Path) -> list[Path]:
    return [issue_path.parent, workspace.templates_dir, workspace.root / SETTINGS_FILE]


class PreviewServer:
    """The server and its watcher; ``start`` returns at once, ``stop`` shuts both down."""

    def __init__(self, workspace: Workspace, issue: str | Path, port: int = 0,
                 hosted: HostedUnsubscribe | None = None, results: Results | None = None) -> None:
        self.state = PreviewState(workspace, issue, hosted, results)
        self.state.rebuild()
        self.watcher = Watcher(self.state, watched_paths(workspace, workspace.issue_path(issue)))
        self.httpd = ThreadingHTTPServer((LOOPBACK, port), make_handler(self.state, self.watcher.stopped))
        self.httpd.daemon_threads = True  # open event streams never hold up a stop

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> None:
        self.watcher.start()
        self.watcher.ready.wait(5)
        # Polled for a stop every 50 ms (the default half second is what Ctrl+C would wait).
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.watcher.stopped.set()
        with self.state.changed:
            self.state.changed.notify_all()  # event streams see the stop at once
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(workspace: Workspace, issue: str | Path, port: int, open_browser: bool, report=print,
          hosted: HostedUnsubscribe | None = None, results: Results | None = None) -> None:
    """Run until interrupted, reporting each rebuild. ``hosted``: the sending provider's hosted
    unsubscribe; ``results``: how to fetch the provider's figures (both from deliver, via the CLI)."""
    server = PreviewServer(workspace, issue, port, hosted, results)
    server.start()
    report(f"Previewing {server.state.snapshot.inbox.get('subject', issue)} at {server.url} (Ctrl+C to stop)")
    if open_browser:
        webbrowser.open(server.url)
    shown = server.state.snapshot.version
    try:
        while True:
            if server.state.wait_for_version(shown, EVENT_KEEPALIVE_SECONDS) != shown:
                snapshot = server.state.snapshot
                shown = snapshot.version
                report(f"rebuilt in {snapshot.built_in_ms:.0f} ms" + (f": {snapshot.error}" if snapshot.error else ""))
    finally:
        server.stop()
