"""The ``newsletter`` command: a thin layer over the library's functions."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import webbrowser
from pathlib import Path

from . import __version__
from .errors import NewsletterError, display_path

EXAMPLES = """\
examples:
  newsletter new 2026-12                     scaffold issues/2026-12/issue.md
  newsletter add 2026-12 articles/a.txt      list an article in the issue
  newsletter extract article.txt --json      see what the tool finds in one article
  newsletter build 2026-12                   write build/2026-12/index.html, index.txt, issue.json
  newsletter send 2026-12                    dry run: write what would be sent to outbox/

Exit codes: 0 ok, 1 findings or a failed send, 2 bad input or usage.
"""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        from .workspace import find_workspace, load_secrets

        workspace = find_workspace(args.workspace)
        load_secrets(workspace)
        return args.handler(args, workspace) or 0
    except NewsletterError as error:
        if args.debug:
            raise
        print(f"newsletter: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("newsletter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsletter",
        description="Compose email newsletters from article files: extract, summarise, render, check, send.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsletter {__version__}")
    parser.add_argument("-C", "--workspace", type=Path, metavar="DIR",
                        help="workspace folder (default: the nearest folder with newsletter.toml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler, summary: str, example: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary, epilog=f"example:\n  {example}",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(handler=handler)
        return sub

    new = command("new", _new, "Scaffold issues/SLUG/issue.md with a commented starter.", "newsletter new 2026-12")
    new.add_argument("slug", metavar="SLUG", help="the issue's folder name, e.g. 2026-12")

    add = command("add", _add, "Add article sources to an issue file, keeping its comments and layout.",
                  "newsletter add 2026-12 articles/pruning.txt articles/compost.txt --section 'On the plot'")
    add.add_argument("issue", metavar="ISSUE", help="issue slug, folder or issue.md path")
    add.add_argument("sources", metavar="SOURCE", nargs="+", help="article file paths, relative to the issue folder")
    add.add_argument("--section", metavar="TITLE", help="section to add to (created if missing; default: the last)")

    extract = command("extract", _extract, "Show what the tool finds in one article: metadata, text, summary.",
                      "newsletter extract issues/2026-11-garden-notes/articles/compost.txt --json")
    extract.add_argument("source", metavar="SOURCE", help="an article file (plain-text page dump)")
    extract.add_argument("--json", action="store_true", help="print JSON for scripts")

    build = command("build", _build, "Build an issue: index.html (inlined CSS), index.txt and issue.json.",
                    "newsletter build 2026-11-garden-notes --out /tmp/preview")
    build.add_argument("issue", metavar="ISSUE", help="issue slug, folder or issue.md path")
    build.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: build/SLUG)")
    build.add_argument("--open", action="store_true", help="open the built HTML in a browser")
    build.add_argument("--json", action="store_true", help="print the written files and counts as JSON")

    send = command("send", _send, "Send an issue. This version only dry-runs: it writes to the outbox, sends nothing.",
                   "newsletter send 2026-11-garden-notes --limit 1")
    send.add_argument("issue", metavar="ISSUE", help="issue slug, folder or issue.md path")
    send.add_argument("--audience", type=Path, metavar="CSV", help="recipients CSV (an email column plus merge fields)")
    send.add_argument("--to", action="append", metavar="ADDR", help="test send to ADDR instead of the audience ([TEST] subject); repeatable")
    send.add_argument("--limit", type=_positive, metavar="N", help="only the first N recipients")
    send.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _new(args, workspace) -> int:
    from .issuefile import new_issue

    path = new_issue(workspace.issues_dir, args.slug, dt.date.today())
    print(f"Created {display_path(path)}")
    print(f"Next: put article files in {display_path(path.parent / 'articles')}/ and run: newsletter add {args.slug} articles/FILE.txt")
    return 0


def _add(args, workspace) -> int:
    from .issuefile import add_articles

    path = workspace.issue_path(args.issue)
    added = add_articles(path, args.sources, args.section)
    skipped = len(args.sources) - added
    note = f" ({skipped} already listed)" if skipped else ""
    print(f"Added {_count(added, 'article')} to {display_path(path)}{note}")
    return 0


def _extract(args, workspace) -> int:
    from .issuefile import Budget
    from .readers import read_article
    from .summarize import summarize

    settings = workspace.settings
    article = read_article(args.source, Path.cwd(), settings.date_order.upper().startswith("D"))
    summary = summarize(article, Budget(settings.summary.sentences, settings.summary.words))
    data = article.to_dict() | {"summary": summary}
    if args.json:
        _print_json(data)
        return 0
    for key in ("title", "byline", "published", "updated", "site", "url", "image", "description"):
        if data.get(key):
            print(f"{key + ':':<13}{data[key]}")
    print(f"\nsummary:\n{summary}\n\ntext ({len(article.text.split())} words):\n{article.text}")
    return 0


def _build(args, workspace) -> int:
    from .build import build_issue, write_build

    build = build_issue(workspace, args.issue)
    out_dir = args.out or workspace.build_dir / build.issue.slug
    files = write_build(build, out_dir)
    entries = build.issue.entries
    if args.json:
        _print_json({"issue": build.issue.slug, "out": str(out_dir), "files": [str(f) for f in files],
                     "sections": len(build.issue.sections), "articles": len(entries),
                     "html_bytes": len(build.rendered.html.encode())})
    else:
        print(f"Built {build.issue.slug}: {_count(len(entries), 'article')} in {_count(len(build.issue.sections), 'section')}")
        for entry in entries:
            for older in entry.article.also_from:
                print(f"  merged {older} into {entry.article.source} (newer version kept)")
        for path in files:
            print(f"  {display_path(path):<48} {path.stat().st_size / 1024:6.1f} KB")
    if args.open:
        webbrowser.open((out_dir / "index.html").resolve().as_uri())
    return 0


def _send(args, workspace) -> int:
    from .send import execute, outbox_provider, plan_send

    plan = plan_send(workspace, args.issue, audience=args.audience, to=args.to, limit=args.limit)
    result = execute(plan, outbox_provider(workspace))
    if args.json:
        _print_json({"issue": plan.build.issue.slug, "provider": result.provider, "dry_run": result.dry_run,
                     "recipients": result.accepted, "outbox": result.location, "files": result.details.get("files", [])})
        return 0
    source = f" from {display_path(plan.audience)}" if plan.audience else " (test addresses)"
    print(f"Dry run: nothing was sent. {_count(result.accepted, 'recipient')}{source}.")
    files = result.details.get("files", [])
    samples = [name for name in files if name.endswith(".eml")]
    print(f"Wrote {display_path(result.location)}/: {len(samples)} sample .eml, payload.json, manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
