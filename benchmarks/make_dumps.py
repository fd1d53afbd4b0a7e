"""Page dumps of a readability-style test set in the styles users make them, cached outside the repository.

Styles: ``text`` (the page rendered to text in process, as select-all and copy gives it), ``browser``
(headless chromium's ``document.body.innerText`` with JavaScript off), ``lynx`` (``lynx -dump -nolist``)
and ``w3m`` (``w3m -dump``). The dumps are derived third-party data: they are written to a cache folder
(``$NEWSLETTER_DUMPS``, else ``~/.cache/newsletter-dumps``) and never committed; this script remakes them.

    python benchmarks/make_dumps.py [--data DIR] [--style STYLE ...] [--pages ID ...] [--refresh]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval" / "readability"
DEFAULT_CACHE = Path(os.environ.get("NEWSLETTER_DUMPS", Path.home() / ".cache" / "newsletter-dumps"))
STYLES = ("text", "browser", "lynx", "w3m")
CHROMIUM = os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags chromium stalls on a closed network (design notes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
# Some pages keep the body invisible until their scripts run (anti-flicker); a reader whose browser runs
# them sees the text, so it is revealed before taking innerText.
INNER_TEXT = """() => {
    if (!document.body) return "";
    if (getComputedStyle(document.body).visibility === "hidden") {
        document.body.style.setProperty("visibility", "visible", "important");
    }
    return document.body.innerText;
}"""
COMMANDS = {
    "lynx": ["lynx", "-dump", "-nolist", "-display_charset=utf-8", "-force_html"],
    "w3m": ["w3m", "-dump", "-O", "UTF-8", "-T", "text/html"],
}


def page_ids(data: Path) -> list[str]:
    return sorted(p.name for p in (data / "test-pages").iterdir() if (p / "source.html").is_file())


def cached_dumps(style: str, data: Path = DEFAULT_DATA, pages: list[str] | None = None,
                 cache: Path = DEFAULT_CACHE, refresh: bool = False) -> dict[str, str]:
    """Each page's dump in one style, made only where the cache lacks it (or the source changed)."""
    wanted = pages or page_ids(data)
    folder = cache / style
    folder.mkdir(parents=True, exist_ok=True)
    paths = {page: folder / f"{page}-{_digest(data / 'test-pages' / page / 'source.html')}.txt" for page in wanted}
    missing = [page for page, path in paths.items() if refresh or not path.is_file()]
    if missing:
        for page, text in make_dumps(style, [data / "test-pages" / page / "source.html" for page in missing]):
            paths[page].write_text(text, encoding="utf-8")
    return {page: path.read_text(encoding="utf-8") for page, path in paths.items()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def make_dumps(style: str, sources: list[Path]):
    """(page id, dump) for each source.html, in the given style."""
    if style == "browser":
        yield from _browser_dumps(sources)
        return
    for source in sources:
        page = source.parent.name
        if style == "text":
            yield page, _text_dump(source)
        else:
            run = subprocess.run([*COMMANDS[style], str(source)], capture_output=True, timeout=60, check=True)
            yield page, run.stdout.decode("utf-8", "replace")


def _text_dump(source: Path) -> str:
    from evaluation import page_text

    from newsletter.sources.readers.html import decode_html
    from newsletter.sources.source import Source

    return page_text(decode_html(Source(str(source), source, source.read_bytes())))


def _browser_dumps(sources: list[Path]):
    """``innerText`` of each page in headless chromium, JavaScript off, every request but the file refused."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                          else route.abort())
            page = context.new_page()
            for source in sources:
                page.goto(source.resolve().as_uri(), wait_until="domcontentloaded", timeout=30_000)
                yield source.parent.name, page.evaluate(INNER_TEXT)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the test set folder")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the dumps go")
    parser.add_argument("--style", nargs="*", choices=STYLES, default=list(STYLES))
    parser.add_argument("--pages", nargs="*", help="only these page ids")
    parser.add_argument("--refresh", action="store_true", help="make them again even when cached")
    args = parser.parse_args(argv)
    for style in args.style:
        dumps = cached_dumps(style, args.data, args.pages, args.cache, args.refresh)
        print(f"{style:<8} {len(dumps)} dumps in {args.cache / style}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
