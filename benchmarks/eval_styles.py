"""Extraction on both test sets, development and validation side by side, in every input style.

For each set (readability: whole expected texts, body F1 from word 4-gram shingles; trafilatura: snippets
the body must and must not hold, F1 over the set's snippet counts) and each side of its split.json, every
page is read as HTML and as a dump in each style of benchmarks/make_dumps.py (a markdown clip as ``.md``,
a forward pasted into ``.txt``). Prints, per style: body P/R/F1, the share of pages without a usable body
(page F1 < 0.5), titles right (the title, less a site suffix, or an ``<h1>``), dates right where the gold
has one, and pages per second on one core (in process: after one untimed read of a small page of each kind,
so the libraries' imports and the stoplists' index, a cold start's cost, count against no set). Validation
figures are printed only as totals: never page by page (they are for measuring, not tuning). "date" is over the pages whose gold has one; "shown" over those
whose dump shows that date in a common form at all (a dump cannot give a date it does not show).

    python benchmarks/eval_styles.py [--set readability trafilatura] [--side development validation]
                                     [--style html text ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from evaluation import (
    Scores,
    average,
    headlines,
    load_pages,
    load_snippet_pages,
    normalise_text,
    overlap,
    shows_date,
    snippet_counts,
    snippet_f1,
    snippet_scores,
    split_pages,
)
from make_dumps import STYLES, SUFFIXES, cached_dumps

from newsletter.errors import SourceError
from newsletter.sources.readers import read_source
from newsletter.sources.source import Source

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval"
SETS = ("readability", "trafilatura")
SIDES = ("development", "validation")
USABLE_F1 = 0.5
# The floors, on the validation side.
TARGETS = {"body F1": 0.93, "html body F1": 0.96, "no body": 0.01, "title": 0.90, "date": 0.85}


def read(page_id: str, data: bytes, suffix: str):
    """The article (None when refused) and the CPU seconds the read took."""
    source = Source(f"{page_id}{suffix}", Path(f"page{suffix}"), data)
    start = time.process_time()
    try:
        article = read_source(source)
    except SourceError:
        article = None
    return article, time.process_time() - start


# Read once, untimed, before anything is measured: the first read of each kind imports its libraries and builds
# the stoplists' index (about 0.4 s, once per process: the cold start, which cold_build.py measures), which would
# otherwise count against whichever set and style came first.
WARM_UP_PAGE = ("<html><head><title>Warming up</title></head><body><h1>Warming up</h1><p>The reader imports its "
                "libraries on the first page it reads, and the words of every language once.</p>"
                "<p>Published 3 March 2025.</p></body></html>")


def warm_up() -> None:
    read("warm-up", WARM_UP_PAGE.encode("utf-8"), ".html")
    read("warm-up", b"Warming up\n\nThe reader imports its libraries on the first page it reads, and the words of "
                    b"every language once.\n", ".txt")


def measure(set_name: str, side: str, styles: list[str]) -> dict[str, dict[str, float]]:
    root = SHARED / set_name
    ids = split_pages(root, side)
    snippets = set_name == "trafilatura"
    pages = load_snippet_pages(root, ids) if snippets else load_pages(root, ids)
    figures = {}
    for style in styles:
        dumps = {} if style == "html" else cached_dumps(style, root, ids)
        overlaps, counts, titles, dates, shown, seconds, unusable = [], [], [], [], [], 0.0, 0
        for page in pages:
            if style == "html":
                article, took = read(page.page_id, page.html, ".html")
            else:
                article, took = read(page.page_id, dumps[page.page_id].encode("utf-8"), SUFFIXES.get(style, ".txt"))
            seconds += took
            text = article.text if article else ""
            if snippets:
                count = snippet_counts(page, text)
                counts.append(count)
                unusable += bool(page.with_) and snippet_f1(count) < USABLE_F1
            else:
                overlaps.append(overlap(page.expected_text, text))
                unusable += overlaps[-1].f1 < USABLE_F1
            if page.title:
                titles.append(bool(article) and normalise_text(article.title) in headlines(page))
            if page.published:
                dates.append(bool(article) and article.published == page.published)
                if style == "html" or shows_date(dumps[page.page_id], page.published):
                    shown.append(dates[-1])
        body: Scores = snippet_scores(counts) if snippets else average(overlaps)
        figures[style] = {"pages": len(pages), "precision": body.precision, "recall": body.recall, "f1": body.f1,
                          "no body": unusable / len(pages), "title": statistics.fmean(titles) if titles else 1.0,
                          "date": statistics.fmean(dates) if dates else 1.0, "dated pages": len(dates),
                          "shown date": statistics.fmean(shown) if shown else 1.0, "shown dated pages": len(shown),
                          "pages/s": len(pages) / max(seconds, 1e-9)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", choices=SETS, default=list(SETS))
    parser.add_argument("--side", nargs="*", choices=SIDES, default=list(SIDES))
    parser.add_argument("--style", nargs="*", choices=("html", *STYLES), default=["html", *STYLES])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    everything: dict[str, dict] = {}
    warm_up()
    for set_name in args.set:
        for side in args.side:
            figures = everything.setdefault(set_name, {})[side] = measure(set_name, side, args.style)
            print(f"\n{set_name} / {side} ({next(iter(figures.values()))['pages']} pages)")
            print(f"  {'style':<10}{'P':>7}{'R':>7}{'F1':>7}{'no body':>9}{'title':>8}{'date':>8}{'shown':>8}"
                  f"{'pages/s':>9}")
            for style, f in figures.items():
                print(f"  {style:<10}{f['precision']:>7.3f}{f['recall']:>7.3f}{f['f1']:>7.3f}{f['no body']:>9.1%}"
                      f"{f['title']:>8.1%}{f['date']:>8.1%}{f['shown date']:>8.1%}{f['pages/s']:>9.0f}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
