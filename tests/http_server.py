"""A real HTTP server on 127.0.0.1, in a thread, serving the pages a test registers.

Tests import the ``web`` fixture: ``web.page("/a", body, "text/plain")`` then fetch
``web.url("/a")``; ``web.hits`` counts requests per path; ``web.stop()`` takes it offline.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import write_issue

WEB_FIXTURES = Path(__file__).parent / "fixtures" / "web"
# Fetches reach 127.0.0.1 only when allowed by name ([fetch] allow_private_hosts; FetchOptions.allow_hosts).
LOOPBACK = frozenset({"127.0.0.1"})


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    chunked: bool = False  # send without Content-Length
    drip: float = 0.0  # seconds between single bytes of the body (a server that trickles)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        self.server.agents.add(self.headers.get("User-Agent", ""))
        response = self.server.routes.get(path, Response(404, b"not found", {"Content-Type": "text/plain"}))
        time.sleep(response.delay)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.chunked:
            self._send_chunked(response.body)
            return
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.drip:
            self._send_dripping(response.body, response.drip)
            return
        self.wfile.write(response.body)

    def _send_dripping(self, body: bytes, pause: float) -> None:
        try:
            for index in range(len(body)):
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the client gave up

    def _send_chunked(self, body: bytes, size: int = 64 * 1024) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), size):
            piece = body[start:start + size]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Response] = {}
        self.hits: Counter[str] = Counter()
        self.agents: set[str] = set()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout tests) is expected


class WebServer:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()
        self.running = True

    @property
    def hits(self) -> Counter[str]:
        return self._server.hits

    @property
    def agents(self) -> set[str]:
        return self._server.agents

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def route(self, path: str, response: Response) -> str:
        self._server.routes[path] = response
        return self.url(path)

    def page(self, path: str, body: bytes | str, content_type: str = "text/plain; charset=utf-8",
             **options: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.route(path, Response(body=data, headers={"Content-Type": content_type}, **options))

    def fixture(self, name: str, content_type: str, path: str | None = None) -> str:
        """Serve tests/fixtures/web/NAME at /NAME (or ``path``)."""
        return self.page(path or f"/{name}", (WEB_FIXTURES / name).read_bytes(), content_type)

    def redirect(self, path: str, target: str, status: int = 302) -> str:
        return self.route(path, Response(status, headers={"Location": target}))

    def stop(self) -> None:
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self.running = False


@pytest.fixture
def web():
    server = WebServer()
    yield server
    server.stop()


FETCH_SETTINGS = """\
[newsletter]
name = "Plot Notes"

[fetch]
connect_timeout = 2
read_timeout = 2
max_bytes = 100000
allow_private_hosts = ["127.0.0.1"]
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace with short fetch limits; the working directory is set to it."""
    root = tmp_path / "site"
    (root / "issues").mkdir(parents=True)
    (root / "newsletter.toml").write_text(FETCH_SETTINGS, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def url_issue(root: Path, slug: str, sources: list[str], date: str | None = None, extra: str = "") -> Path:
    """issues/SLUG/issue.md listing ``sources`` (URLs or paths) in one section."""
    listed = "".join(f"      - source: {source}\n" for source in sources)
    dated = f"date: {date}\n" if date else ""
    front = f'subject: "Plot Notes {slug}"\n{dated}{extra}sections:\n  - title: News\n    articles:\n{listed}'
    return write_issue(root / "issues" / slug, front)
