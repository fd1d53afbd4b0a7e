"""A blind read of blurbs: a sheet for someone who did not write the rules, and its tally.

Issue #21's floor is a person's judgement: of 20 blurbs made from validation pages, an editor keeps at least 15
as written. No script can stand in for that reader, so this one only makes the read fair and the count exact:

    python benchmarks/blurb_read.py sheet blind-read.md    # 20 pages drawn at random from the validation side
    (the reader marks "- [x] keep as written" under each blurb an editor would send unchanged)
    python benchmarks/blurb_read.py score blind-read.md    # kept 16 of 20 (floor 15 of 20): met

Each entry gives the page's address, the headline the reader found, the blurb exactly as the newsletter would
print it (the default budget: 3 sentences, 60 words) and, folded, the article text it was chosen from, so the
reader can tell a sentence that leans on one left out. Nothing says which rule chose what. The pages are
drawn with a seed, so the same sheet can be made again; whoever writes the rules should not open it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from pathlib import Path

from evaluation import load_snippet_pages, split_pages

from newsletter.compose.issuefile import Budget
from newsletter.compose.settings import SummarySettings
from newsletter.compose.summarize import summarize
from newsletter.errors import SourceError
from newsletter.sources.readers import read_source
from newsletter.sources.source import Source

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSLETTER_SHARED", PROJECT.parent / "shared")) / "eval"
FLOOR = (15, 20)  # kept, out of
KEEP = re.compile(r"^- \[([ xX])\] keep as written$", re.MULTILINE)
INSTRUCTIONS = """\
Mark `- [x] keep as written` under a blurb an editor would send unchanged. Leave `[ ]` when it holds
boilerplate or a promotion ("Sign up for…", "sponsored by…"), a photo caption, a sentence that needs one left
out to make sense ("The next year, …"), a description cut short ("…"), or misses what the article is about.
The article each blurb was chosen from is folded under it."""


def blurb_entries(set_name: str, side: str, count: int, seed: int) -> list[dict[str, str]]:
    """`count` pages drawn at random from one side of a set, each with its headline and blurb as read from HTML."""
    root = SHARED / set_name
    chosen = random.Random(seed).sample(split_pages(root, side), count)
    addresses = {entry["file"]: address for address, entry in
                 json.loads((root / "evaldata.json").read_text(encoding="utf-8")).items()}
    settings = SummarySettings()
    budget = Budget(settings.sentences, settings.words)
    entries = []
    for page in load_snippet_pages(root, chosen):
        try:
            article = read_source(Source(page.page_id, Path("page.html"), page.html))
        except SourceError as error:
            entries.append({"address": addresses[page.page_id], "title": "", "blurb": "", "text": "",
                            "refused": str(error)})
            continue
        entries.append({"address": addresses[page.page_id], "title": article.title or "",
                        "blurb": summarize(article, budget), "text": article.text, "refused": ""})
    return entries


def sheet(entries: list[dict[str, str]]) -> str:
    parts = [f"# Blind read: {len(entries)} blurbs\n", INSTRUCTIONS, ""]
    for number, entry in enumerate(entries, 1):
        parts += [f"## {number}. {_one_line(entry['title']) or '(no headline)'}", "", f"<{entry['address']}>", ""]
        if entry["refused"]:
            parts += ["(the reader refused this page, so it has no blurb: it counts as not kept)", ""]
        parts += [*(f"> {line}" for line in (entry["blurb"] or "(empty)").splitlines()), "",
                  "- [ ] keep as written", ""]
        if entry["text"]:
            fence = "`" * max(3, 1 + max(map(len, re.findall(r"`+", entry["text"])), default=0))  # the text's own
            parts += ["<details><summary>the article as read</summary>", "", f"{fence}text", entry["text"], fence, "",
                      "</details>", ""]
    return "\n".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def tally(text: str) -> tuple[int, int]:
    """(kept, read): the entries marked to keep, and all entries."""
    marks = KEEP.findall(text)
    return sum(mark != " " for mark in marks), len(marks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("sheet", help="write the sheet for the blind reader")
    make.add_argument("out", type=Path)
    make.add_argument("--set", default="trafilatura", choices=("trafilatura",))
    make.add_argument("--side", default="validation", choices=("development", "validation"))
    make.add_argument("--count", type=int, default=FLOOR[1])
    make.add_argument("--seed", type=int, default=21)
    score = commands.add_parser("score", help="count the blurbs the reader kept")
    score.add_argument("sheet", type=Path)
    score.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "sheet":
        args.out.write_text(sheet(blurb_entries(args.set, args.side, args.count, args.seed)), encoding="utf-8")
        print(f"wrote {args.count} blurbs to {args.out}")
        print(f"Next: give it to a reader who did not write the rules, then: python {Path(__file__).name} score "
              f"{args.out}")
        return 0
    kept, read = tally(args.sheet.read_text(encoding="utf-8"))
    need = -(-FLOOR[0] * read // FLOOR[1])  # the floor's share, rounded up
    met = read > 0 and kept >= need
    if args.json:
        print(json.dumps({"kept": kept, "read": read, "needed": need, "met": met}))
    else:
        print(f"kept {kept} of {read} (floor {FLOOR[0]} of {FLOOR[1]}): {'met' if met else 'missed'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
