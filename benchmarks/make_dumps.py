"""Page dumps of a test set in the styles users make them, cached outside the repository.

Styles: ``text`` (the page rendered to text in process, as select-all and copy gives it), ``browser``
(headless chromium's ``document.body.innerText`` with JavaScript off), ``lynx`` (``lynx -dump -nolist``),
``w3m`` (``w3m -dump``), ``markdown`` (a web clipper's markdown: markdownify for even pages, html2text for
odd ones, so both clippers' habits are in every sample) and ``forward`` (the select-all text forwarded by
a mail client: its headers, a note, the text ``> `` quoted and wrapped at 72 columns, a signature).
Test sets: a readability-style folder (``test-pages/<id>/source.html``) or a trafilatura-style one
(``pages/<file>.gz`` listed in ``evaldata.json``). The dumps are derived third-party data: they are written
to a cache folder (``$NEWSLETTER_DUMPS``, else ``~/.cache/newsletter-dumps``) and never committed; this
script remakes them.

    python benchmarks/make_dumps.py [--data DIR] [--style STYLE ...] [--pages ID ...] [--refresh]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval" / "readability"
DEFAULT_CACHE = Path(os.environ.get("NEWSLETTER_DUMPS", Path.home() / ".cache" / "newsletter-dumps"))
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
STYLES = ("text", "browser", "lynx", "w3m", "markdown", "forward")
# The file a user would save each style as: the reader is chosen by it.
SUFFIXES = {"markdown": ".md"}
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


def is_snippet_set(data: Path) -> bool:
    """A trafilatura-style set: pages with snippets the body must and must not hold, not whole expected texts."""
    return (data / "evaldata.json").is_file()


def page_ids(data: Path) -> list[str]:
    if is_snippet_set(data):
        return sorted(entry["file"] for entry in json.loads((data / "evaldata.json").read_text(encoding="utf-8")).values())
    return sorted(p.name for p in (data / "test-pages").iterdir() if (p / "source.html").is_file())


def source_path(data: Path, page: str, cache: Path = DEFAULT_CACHE) -> Path:
    """The page's HTML file; a gzipped page is unpacked into the cache once (the dumpers read plain files)."""
    if not is_snippet_set(data):
        return data / "test-pages" / page / "source.html"
    packed = data / "pages" / f"{page}.gz"
    plain = cache / "_pages" / data.name / _digest(packed) / page
    if not plain.is_file():
        plain.parent.mkdir(parents=True, exist_ok=True)
        plain.write_bytes(gzip.decompress(packed.read_bytes()))
    return plain


def cached_dumps(style: str, data: Path = DEFAULT_DATA, pages: list[str] | None = None,
                 cache: Path = DEFAULT_CACHE, refresh: bool = False) -> dict[str, str]:
    """Each page's dump in one style, made only where the cache lacks it (or the source changed)."""
    wanted = pages or page_ids(data)
    folder = cache / style / data.name
    folder.mkdir(parents=True, exist_ok=True)
    sources = {page: source_path(data, page, cache) for page in wanted}
    paths = {page: folder / f"{page}-{_digest(sources[page])}.txt" for page in wanted}
    missing = [page for page, path in paths.items() if refresh or not path.is_file()]
    if missing:
        for source, text in make_dumps(style, [sources[page] for page in missing]):
            paths[_page_of(sources, source)].write_text(text, encoding="utf-8")
    return {page: path.read_text(encoding="utf-8") for page, path in paths.items()}


def _page_of(sources: dict[str, Path], source: Path) -> str:
    return next(page for page, path in sources.items() if path == source)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def make_dumps(style: str, sources: list[Path]):
    """(source path, dump) for each source, in the given style."""
    if style == "browser":
        yield from _browser_dumps(sources)
        return
    for source in sources:
        try:
            yield source, _dump(style, source)
        except Exception as error:  # noqa: BLE001 - a page no dumper can read dumps as nothing
            print(f"{style}: {source.name}: {error}", file=sys.stderr)
            yield source, ""


def _dump(style: str, source: Path) -> str:
    if style == "text":
        return _text_dump(source)
    if style == "markdown":
        return _markdown_dump(source)
    if style == "forward":
        return forward(_text_dump(source), int(_digest(source), 16))
    run = subprocess.run([*COMMANDS[style], str(source)], capture_output=True, timeout=60, check=False)
    return run.stdout.decode("utf-8", "replace")


def _html(source: Path) -> str:
    from newsletter.errors import SourceError
    from newsletter.sources.readers.html import decode_html
    from newsletter.sources.source import Source

    try:
        html = decode_html(Source(str(source), source, source.read_bytes()))
    except SourceError:  # a page with a stray byte: as a browser would show it
        html = source.read_bytes().decode("utf-8", "replace")
    return XML_DECLARATION.sub("", html, count=1)  # lxml refuses one in a text string


def _markdown_dump(source: Path) -> str:
    """What a web clipper saves: the whole page as markdown (scripts and styles left out, as clippers do)."""
    import lxml.html
    from lxml import etree

    document = lxml.html.document_fromstring(_html(source))
    etree.strip_elements(document, "script", "style", "noscript", "template", etree.Comment, with_tail=False)
    html = lxml.html.tostring(document, encoding="unicode")
    if int(_digest(source), 16) % 2:
        import html2text

        converter = html2text.HTML2Text()
        converter.ignore_images = False
        return converter.handle(html)
    from markdownify import markdownify

    return markdownify(html, heading_style="ATX")


FORWARD_HEADERS = """From: Sam Reed <sam.reed@example.org>
Date: Mon, 7 Dec 2026 09:{minute:02d}:00 +0100
Subject: Fwd: worth a read
To: newsletter-team@example.org

Thought this one could go in the next issue.

{marker}
"""


def forward(text: str, seed: int) -> str:
    """The text as a mail client forwards it: its own headers and note, the text ``> `` quoted and wrapped at 72
    columns under an attribution (or a forward marker), and a signature. Its dates are the mail's, not the page's."""
    quoted = []
    for line in text.splitlines():
        wrapped = textwrap.wrap(line, 70) or [""]
        quoted += ["> " + part if part else ">" for part in wrapped]
    marker = ("On Sun, 6 Dec 2026 at 18:30, Alex Kim <alex.kim@example.com> wrote:" if seed % 2
              else "---------- Forwarded message ---------\nFrom: Alex Kim <alex.kim@example.com>\n"
                   "Date: Sun, 6 Dec 2026 at 18:30\nSubject: a link\nTo: Sam Reed <sam.reed@example.org>\n")
    body = "\n".join(quoted) if seed % 2 else "\n".join(line[2:] if line.startswith("> ") else line.lstrip(">")
                                                       for line in quoted)
    return FORWARD_HEADERS.format(minute=seed % 60, marker=marker) + body + "\n\n-- \nSam Reed\nSent from my phone\n"


def _text_dump(source: Path) -> str:
    from evaluation import page_text

    return page_text(_html(source))


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
                try:
                    page.goto(source.resolve().as_uri(), wait_until="domcontentloaded", timeout=30_000)
                    yield source, page.evaluate(INNER_TEXT)
                except Exception:  # noqa: BLE001 - a page that will not load dumps as nothing
                    yield source, ""
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
