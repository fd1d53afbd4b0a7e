"""Extraction quality and speed on a readability-style test set (default: ../shared/eval/readability).

Every page is read as HTML through the HTML reader, and as a page dump through the page-dump
reader, in each dump style asked for: ``text`` (the page rendered to plain text with all its
menus, banners and footers, what select-all and copy gives), ``browser`` (chromium's innerText,
JavaScript off), ``lynx`` (``lynx -dump -nolist``) and ``w3m`` (``w3m -dump``); the last three come
from benchmarks/make_dumps.py's cache. Prints body precision/recall/F1 (word 4-gram shingles, the
article-extraction-benchmark's method) beside the raw dump, title, byline and date accuracy,
pages without a body, and pages per second on one core. Exits 1 when a target is missed.

    python benchmarks/eval_extraction.py [--data DIR] [--style STYLE ...] [--pages ID ...] [--per-page]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from evaluation import (
    Accuracy,
    average,
    byline_accuracy,
    date_accuracy,
    evaluate_page,
    headline_accuracy,
    load_pages,
    shown_date_accuracy,
    title_accuracy,
)
from make_dumps import STYLES, SUFFIXES, cached_dumps

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval" / "readability"
TARGETS = {"html F1": 0.96, "html title": 0.95, "html date": 0.90, "html pages/s": 50.0}
# For every dump style: no page without a body, and these floors.
DUMP_TARGETS = {"F1": 0.95, "headline": 0.90, "shown date": 0.80, "pages/s": 50.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the test set folder")
    parser.add_argument("--style", nargs="*", choices=STYLES, default=list(STYLES), help="dump styles to measure")
    parser.add_argument("--pages", nargs="*", help="only these page ids")
    parser.add_argument("--per-page", action="store_true", help="print each page's F1 and metadata misses")
    parser.add_argument("--repeat", type=int, default=5, help="time each read this often and keep the fastest")
    args = parser.parse_args(argv)

    pages = load_pages(args.data, args.pages)
    print(f"{len(pages)} pages from {args.data}")
    measured: dict[str, float] = {}
    html_results = None
    for style in args.style:
        dumps = cached_dumps(style, args.data, [p.page_id for p in pages])
        results = [evaluate_page(page, repeat=args.repeat, dump=dumps[page.page_id], suffix=SUFFIXES.get(style, ".txt"))
                   for page in pages]
        html_results = html_results or results
        if args.per_page:
            print_pages(style, results)
        for name, value in report_style(style, results).items():
            measured[f"{style} {name}"] = value
    html = average([r.html_overlap for r in html_results])
    html_pairs = [(r.page, r.html) for r in html_results]
    speed = len(html_results) / max(sum(r.html.seconds for r in html_results), 1e-9)
    print(f"\nHTML -> HTML reader: body P/R/F1 {html.precision:.3f} / {html.recall:.3f} / {html.f1:.3f}; title "
          f"{show(title_accuracy(html_pairs))}; byline {show(byline_accuracy(html_pairs))}; "
          f"date {show(date_accuracy(html_pairs))}; {speed:.0f} pages/s")
    measured.update({"html F1": html.f1, "html title": title_accuracy(html_pairs).share,
                     "html date": date_accuracy(html_pairs).share, "html pages/s": speed})
    targets = dict(TARGETS)
    targets.update({f"{style} {name}": floor for style in args.style for name, floor in DUMP_TARGETS.items()})
    missed = [f"{name} {measured[name]:.3f} < {target}" for name, target in targets.items() if measured[name] < target]
    missed += [f"{style}: {int(measured[style + ' bodiless'])} pages without a body"
               for style in args.style if measured[f"{style} bodiless"]]
    print("\ntargets: " + ("all met" if not missed else "MISSED " + "; ".join(missed)))
    return 1 if missed else 0


def report_style(style: str, results: list) -> dict[str, float]:
    """Print one dump style's figures; return those with targets."""
    dump = average([r.dump_overlap for r in results])
    raw = average([r.raw for r in results])
    pairs = [(r.page, r.dump) for r in results]
    bodiless = [r for r in results if r.dump.error or not r.dump.text.strip()]
    speed = len(results) / max(sum(r.dump.seconds for r in results), 1e-9)
    headline, shown = headline_accuracy(pairs), shown_date_accuracy(results)
    print(f"\n[{style}] body P/R/F1 {dump.precision:.3f} / {dump.recall:.3f} / {dump.f1:.3f} "
          f"(raw dump {raw.f1:.3f}); pages without a body: {len(bodiless)}")
    print(f"  title {show(title_accuracy(pairs))}; title or <h1> {show(headline)}; byline "
          f"{show(byline_accuracy(pairs))}; date {show(date_accuracy(pairs))}; date where the dump shows it "
          f"{show(shown)}; {speed:.0f} pages/s")
    for result in bodiless:
        print(f"  refused: {result.page.page_id}: {result.dump.error or 'empty body'}")
    return {"F1": dump.f1, "headline": headline.share, "shown date": shown.share, "pages/s": speed,
            "bodiless": len(bodiless)}


def show(accuracy: Accuracy) -> str:
    return f"{accuracy.share:.1%} ({accuracy.right}/{accuracy.total})"


def print_pages(style: str, results) -> None:
    print(f"\n[{style}]\n{'page':<28}{'raw':>7}{'html':>7}{'dump':>7}  metadata misses (html / page text)")
    for r in results:
        misses = [f"{label} {field}={getattr(reading, field)!r}"
                  for label, reading in (("html", r.html), ("text", r.dump))
                  for field, measure in (("title", headline_accuracy), ("byline", byline_accuracy),
                                         ("published", date_accuracy))
                  if measure([(r.page, reading)]).total and not measure([(r.page, reading)]).right]
        print(f"{r.page.page_id:<28}{r.raw.f1:>7.3f}{r.html_overlap.f1:>7.3f}{r.dump_overlap.f1:>7.3f}  "
              + "; ".join(misses))
    print()


if __name__ == "__main__":
    sys.exit(main())
