"""Extraction quality and speed on a readability-style test set (default: ../shared/eval/readability).

Every page is read twice: its HTML through the HTML reader, and the page rendered to plain
text with all its menus, banners and footers (what select-all and copy gives) through the
page-dump reader. Prints body precision/recall/F1 (word 4-gram shingles, the
article-extraction-benchmark's method) beside the raw rendered text, title, byline and date
accuracy, and pages per second on one core. Exits 1 when a target is missed.

    python benchmarks/eval_extraction.py [--data DIR] [--pages ID ...] [--per-page]
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
    title_accuracy,
)

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval" / "readability"
TARGETS = {"html F1": 0.95, "dump F1": 0.90, "html title": 0.95, "html date": 0.90,
           "html pages/s": 50.0, "dump pages/s": 50.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the test set folder")
    parser.add_argument("--pages", nargs="*", help="only these page ids")
    parser.add_argument("--per-page", action="store_true", help="print each page's F1 and metadata misses")
    parser.add_argument("--repeat", type=int, default=5, help="time each read this often and keep the fastest")
    args = parser.parse_args(argv)

    pages = load_pages(args.data, args.pages)
    results = [evaluate_page(page, repeat=args.repeat) for page in pages]
    if args.per_page:
        print_pages(results)

    html = average([r.html_overlap for r in results])
    dump = average([r.dump_overlap for r in results])
    raw = average([r.raw for r in results])
    html_pairs = [(r.page, r.html) for r in results]
    dump_pairs = [(r.page, r.dump) for r in results]
    speed = {name: len(results) / max(sum(getattr(r, name).seconds for r in results), 1e-9)
             for name in ("html", "dump")}

    print(f"{len(results)} pages from {args.data}\n")
    print(f"{'body (word 4-gram shingles)':<38}{'precision':>10}{'recall':>10}{'F1':>10}")
    for label, scores in (("HTML -> HTML reader", html), ("page text -> page-dump reader", dump),
                          ("page text as it is (baseline)", raw)):
        print(f"{label:<38}{scores.precision:>10.3f}{scores.recall:>10.3f}{scores.f1:>10.3f}")
    print(f"\n{'metadata (exact, normalised)':<38}{'HTML':>16}{'page text':>16}")
    for label, measure in (("title", title_accuracy), ("title or the page's <h1>", headline_accuracy),
                           ("byline", byline_accuracy), ("published date", date_accuracy)):
        print(f"{label:<38}{show(measure(html_pairs)):>16}{show(measure(dump_pairs)):>16}")
    print(f"\n{'pages/s (CPU time, one thread, no I/O)':<38}{speed['html']:>16.0f}{speed['dump']:>16.0f}")
    failures = [r for r in results if r.html.error or r.dump.error]
    for result in failures:
        print(f"refused: {result.page.page_id}: {result.html.error or ''} {result.dump.error or ''}".rstrip())

    measured = {"html F1": html.f1, "dump F1": dump.f1, "html title": title_accuracy(html_pairs).share,
                "html date": date_accuracy(html_pairs).share,
                "html pages/s": speed["html"], "dump pages/s": speed["dump"]}
    missed = [f"{name} {measured[name]:.3f} < {target}" for name, target in TARGETS.items() if measured[name] < target]
    print("\ntargets: " + ("all met" if not missed else "MISSED " + "; ".join(missed)))
    return 1 if missed else 0


def show(accuracy: Accuracy) -> str:
    return f"{accuracy.share:.1%} ({accuracy.right}/{accuracy.total})"


def print_pages(results) -> None:
    print(f"{'page':<28}{'raw':>7}{'html':>7}{'dump':>7}  metadata misses (html / page text)")
    for r in results:
        misses = [f"{label} {field}={getattr(reading, field)!r}"
                  for label, reading in (("html", r.html), ("text", r.dump))
                  for field, measure in (("title", title_accuracy), ("byline", byline_accuracy),
                                         ("published", date_accuracy))
                  if measure([(r.page, reading)]).total and not measure([(r.page, reading)]).right]
        print(f"{r.page.page_id:<28}{r.raw.f1:>7.3f}{r.html_overlap.f1:>7.3f}{r.dump_overlap.f1:>7.3f}  "
              + "; ".join(misses))
    print()


if __name__ == "__main__":
    sys.exit(main())
