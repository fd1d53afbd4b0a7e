"""Time a build whose URL sources are slow to answer: pages download together, two per site.

Each of PAGES pages answers after DELAY seconds; they are spread over SITES loopback
addresses (127.0.0.1, 127.0.0.2, ...: separate "sites" to the per-host limit). The server
records how many requests each site had open at once, to show the tool stays polite.

    python benchmarks/fetch.py [--pages 8] [--delay 1] [--sites 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 3.0  # 8 pages of 1 s each

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page {n}: notes from the plot</title>
</head><body><article><h1>Page {n}: notes from the plot</h1><p>By Alex Example</p>{paragraphs}</article></body></html>"""


def articles(pages: int) -> list[bytes]:
    """Distinct HTML articles (sentences of the example issue, recombined), so none merge as versions."""
    from build import sentence_pool  # benchmarks/build.py

    pool, rng = sentence_pool(), random.Random(8)
    return [ARTICLE.format(n=n, paragraphs="".join(f"<p>{' '.join(rng.sample(pool, 3))}</p>" for _ in range(8)))
            .encode() for n in range(pages)]


class _Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: str, delay: float, stats: "Stats", pages: list[bytes]) -> None:
        super().__init__((address, 0), _Handler)
        self.delay, self.stats, self.pages = delay, stats, pages


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        host = self.server.server_address[0]
        self.server.stats.enter(host)
        try:
            time.sleep(self.server.delay)
            body = self.server.pages[int(self.path.strip("/"))]
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            self.server.stats.leave(host)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Stats:
    """Requests open at once, per site: now and at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def enter(self, host: str) -> None:
        with self.lock:
            self.open[host] += 1
            self.peak[host] = max(self.peak[host], self.open[host])

    def leave(self, host: str) -> None:
        with self.lock:
            self.open[host] -= 1


def timed_build(pages: int, delay: float, sites: int) -> tuple[float, Stats]:
    """Seconds for one build of an issue listing ``pages`` slow URLs (cold cache), and the server's stats."""
    from newsletter.render.build import build_issue
    from newsletter.sources.fetch import fetch_options
    from newsletter.workspace import find_workspace

    stats = Stats()
    bodies = articles(pages)
    servers = [_Site(f"127.0.0.{number + 1}", delay, stats, bodies) for number in range(sites)]
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    root = Path(tempfile.mkdtemp(prefix="newsletter-fetch-"))
    try:
        hosts = ", ".join(f'"{server.server_address[0]}"' for server in servers)  # loopback: allowed by name
        settings = (PROJECT / "newsletter.toml").read_text(encoding="utf-8")
        (root / "newsletter.toml").write_text(settings.replace("[fetch]", f"[fetch]\nallow_private_hosts = [{hosts}]", 1),
                                              encoding="utf-8")
        urls = [f"http://{servers[n % sites].server_address[0]}:{servers[n % sites].server_address[1]}/{n}"
                for n in range(pages)]
        listing = "".join(f"      - {url}\n" for url in urls)
        (root / "issues" / "slow").mkdir(parents=True)
        (root / "issues" / "slow" / "issue.md").write_text(
            f'---\nsubject: "Slow pages"\nsections:\n  - title: Pages\n    articles:\n{listing}---\nHello.\n')
        workspace = find_workspace(root)
        started = time.perf_counter()
        build = build_issue(workspace, "slow", fetch=fetch_options(workspace))
        elapsed = time.perf_counter() - started
        assert len(build.issue.entries) == pages, "every page became an article"
        return elapsed, stats
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    timed_build(1, 0.0, 1)  # imports and first-use caches: the figure is the build, not the interpreter start
    runs = [timed_build(args.pages, args.delay, args.sites) for _ in range(args.repeat)]
    elapsed, stats = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    sequential = args.pages * args.delay
    print(f"{args.pages} pages answering after {args.delay:g} s each, on {args.sites} sites: build {elapsed:.2f} s (median of {args.repeat}) "
          f"(one at a time: at least {sequential:g} s); at most {max(stats.peak.values())} requests open per site")
    target = TARGET_SECONDS * args.pages * args.delay / 8
    met = elapsed < target
    print(f"target < {target:g} s: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
