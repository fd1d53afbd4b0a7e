"""The ``newsletter`` command: a thin layer over the library's functions."""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import errno
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from newsletter import __version__, clock
from newsletter.check.settings import CheckSettings
from newsletter.cli.console import fetch_progress, print_json, print_json_line
from newsletter.compose.settings import SummarySettings
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError, NewsletterError, count, display_path
from newsletter.publish.settings import PublishSettings
from newsletter.render.settings import Brand, UtmSettings
from newsletter.sources.settings import FetchSettings

# Every table of newsletter.toml, in the order the stages that own them run ([send.NAME] tables
# belong to the providers). The command checks them all before it does anything.
SETTINGS_TABLES = (FetchSettings, SummarySettings, Brand, UtmSettings, CheckSettings, PublishSettings, SendSettings)

EXAMPLES = """\
examples:
  newsletter init my-newsletter              start a workspace (themes, settings, a starter issue)
  newsletter secrets                         make the send-log key and unsubscribe secret into .env
  newsletter new spring-fair                 scaffold issues/spring-fair/issue.md
  newsletter add spring-fair articles/a.txt  list an article in the issue
  newsletter extract article.txt --json      see what the tool finds in one article
  newsletter build spring-fair               write build/spring-fair/index.html, index.txt, issue.json
  newsletter check spring-fair               lint it: size, unsubscribe, links, images, client support
  newsletter preview spring-fair             see it in the browser; it redraws on every save
  newsletter send spring-fair                dry run: write what would be sent to outbox/
  newsletter send spring-fair --send --to me@example.org   a test copy, filled as the first reader's
  newsletter approve spring-fair             record it as approved: CI sends exactly this email
  newsletter send spring-fair --send         send it (asks first); again after a crash: sends the rest
  newsletter status spring-fair              sent to how many, what is left, whether it is due
  newsletter cancel spring-fair              call back a scheduled SendGrid send (until 10 min before)
  newsletter publish spring-fair             upload its web page and images to [publish] bucket
  newsletter suppressions pull               bring SendGrid's bounces, spam reports, unsubscribes home
  newsletter report spring-fair              delivered, bounces, opens, clicks (from SendGrid)

Exit codes: 0 ok, 1 findings or a failed send, 2 bad input or usage.
"""


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        from newsletter.workspace import find_workspace, load_secrets

        workspace = find_workspace(args.workspace)
        workspace.check_tables(SETTINGS_TABLES)
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
    except OSError as error:
        if args.debug or error.errno not in _WRITE_ERRORS:
            raise
        # Disk full, a read-only or someone else's folder: the file, and what the system said.
        place = f"{display_path(error.filename)}: " if error.filename else ""
        print(f"newsletter: {place}{error.strerror or error}", file=sys.stderr)
        return 2
    except RecursionError:
        if args.debug:
            raise
        print("newsletter: the input is nested too deeply to read", file=sys.stderr)
        return 2


def run() -> NoReturn:
    """The ``newsletter`` command: ``main``, then an exit that does not take the interpreter apart.

    Freeing six hundred modules and every object they hold, one by one, was a tenth of the CPU
    of a build; the operating system takes a process's memory back at once. So the exit is the
    ordinary ``sys.exit``, which waits for non-daemon threads and runs every exit handler, and
    the first handler registered, which Python runs last, flushes the streams and ends the
    process there (``os._exit``) instead of going on to the teardown. ``main`` itself returns,
    so tests and other callers keep their interpreter."""
    atexit.register(_end_after_exit_handlers)
    try:
        code = main()
    except SystemExit as exit_:  # argparse's --help, --version and usage errors
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    _EXIT.append(code)
    sys.exit(code)


_EXIT: list[int] = []


def _end_after_exit_handlers() -> None:
    for stream in (sys.stdout, sys.stderr):  # after the other handlers: they may print too
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (| head), or a stream already closed
            pass
    os._exit(_EXIT[-1] if _EXIT else 1)


# Every command's parser by its words ("send", "suppressions pull"), as the last _parser() made
# them: the generated command reference (cli/reference.py) reads each one's --help from here.
PARSERS: dict[str, argparse.ArgumentParser] = {}


def _parser() -> argparse.ArgumentParser:
    PARSERS.clear()
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

    def command(name: str, handler, summary: str, example: str, issue: bool = False,
                json: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary, epilog=f"example:\n  {example}",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        PARSERS[name] = sub
        sub.set_defaults(handler=handler)
        if issue:
            sub.add_argument("issue", metavar="ISSUE", help="issue slug, folder or issue.md path")
        if json:
            sub.add_argument("--json", action="store_true", help=json)
        return sub

    new = command("new", _new, "Scaffold issues/SLUG/issue.md with a commented starter.", "newsletter new spring-fair",
                  json="print the created files as JSON")
    new.add_argument("slug", metavar="SLUG", help="the issue's folder name: letters, digits, '-', '_' and '.', e.g. spring-fair")

    add = command("add", _add, "Add article sources (files, URLs, a feed's new items) to an issue file, "
                  "keeping its comments and layout.",
                  "newsletter add spring-fair ~/Downloads/pruning.txt --url https://example.com/blog/pruning\n"
                  "  newsletter add spring-fair https://example.com/blog/compost --section 'On the plot'\n"
                  "  newsletter add spring-fair --feed https://example.com/blog/feed.xml", issue=True,
                  json="print what was added as JSON")
    add.add_argument("sources", metavar="SOURCE", nargs="*",
                     help="article files (paths from the current folder) or http(s) URLs")
    add.add_argument("--url", metavar="URL", help="the link readers follow for the one SOURCE given "
                     "(a page dump has none of its own); also sets it on an article already listed")
    add.add_argument("--copy", action=argparse.BooleanOptionalAction, default=None,
                     help="copy the files into the issue's articles/ folder (default: only files from outside "
                     "the workspace, which a scheduled send could not read); --no-copy refuses such files")
    add.add_argument("--section", metavar="TITLE", help="section to add to (created if missing; default: the last)")
    add.add_argument("--feed", metavar="URL", help="an RSS or Atom feed (URL or file): add its items newer than "
                     "the previous issue's date")
    add.add_argument("--since", type=dt.date.fromisoformat, metavar="DATE",
                     help="with --feed: add the items dated DATE (YYYY-MM-DD) or later instead")
    add.add_argument("--max-items", type=_feed_items, default=None, metavar="N",
                     help="with --feed: add at most the N newest items (default 50; older ones are left, with a note)")

    extract = command("extract", _extract, "Show what the tool finds in one article: metadata, text, summary.",
                      "newsletter extract issues/2026-11-garden-notes/articles/compost.txt --json",
                      json="print JSON for scripts")
    extract.add_argument("source", metavar="SOURCE", help="an article file (plain-text page dump) or an http(s) URL")
    extract.add_argument("--refresh", action="store_true", help="refetch a URL instead of using the cached copy")

    build = command("build", _build, "Build an issue: index.html (inlined CSS), index.txt and issue.json.",
                    "newsletter build 2026-11-garden-notes --out /tmp/preview", issue=True,
                    json="print the written files and counts as JSON")
    build.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: build/SLUG)")
    build.add_argument("--open", action="store_true", help="open the built HTML in a browser")
    build.add_argument("--refresh", action="store_true",
                       help="refetch URL sources instead of using the copies cached in .cache/sources")

    check = command("check", _check, "Lint a built issue for deliverability and accessibility; exit 1 on errors.",
                    "newsletter check 2026-11-garden-notes --theme letter --json\n"
                    "  newsletter check --due                   (CI: every issue that is due to be sent)",
                    json="print the findings as JSON")
    check.add_argument("issue", metavar="ISSUE", nargs="?", help="issue slug, folder or issue.md path")
    check.add_argument("--due", action="store_true", help="check every issue whose send_at has passed and that "
                       "is not sent yet (what send --due would send)")
    check.add_argument("--theme", metavar="NAME", help="check with this theme instead of the issue's")
    check.add_argument("--audience", type=Path, metavar="CSV", help="audience whose columns merge fields may use")
    check.add_argument("--all", action="store_true", help="also show notes (info findings)")
    check.add_argument("--online", action="store_true", help="also request every link and image in the email "
                       "(broken links, redirects to other hosts, images that are not images or too large) "
                       "and the sender domain's SPF, DKIM and DMARC records")
    check.add_argument("--a11y", action="store_true", help="also run axe-core in chromium, light and dark, "
                       "at 375 and 600 px (critical and serious violations are errors)")
    check.add_argument("--spam", action="store_true", help="also score the message with SpamAssassin "
                       "(local rules, no network; over 2.0 points is an error)")

    preview = command("preview", _preview, "Preview an issue in the browser; it redraws on every save.",
                      "newsletter preview 2026-11-garden-notes --port 8025", issue=True,
                      json="print the address and each rebuild as JSON lines")
    preview.add_argument("--port", type=int, default=8025, help="port on 127.0.0.1 (default 8025; 0 picks a free one)")
    preview.add_argument("--no-open", action="store_true", help="don't open a browser")

    archive = command("archive", _archive, "Write the static web archive of sent issues (what view-in-browser links to).",
                      "newsletter archive --out site/newsletter", json="print the archived issues as JSON")
    archive.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: build/archive)")
    archive.add_argument("--all", action="store_true", help="include issues that were not sent yet")
    archive.add_argument("--private", action="store_true", help="instead, a page for the team with each sent "
                         "issue's results from the provider (build/archive-private; never published)")
    archive.add_argument("--due", action="store_true", help="also the issues send --due would send now (a Pages "
                         "deploy before the send serves their images)")

    init = command("init", _init, "Scaffold a new workspace: themes to edit, a starter issue, settings.",
                   "newsletter init my-newsletter --tool-spec 'git+https://git.example.org/you/newsletter@v0.1.0'",
                   json="print the created files as JSON")
    init.add_argument("folder", type=Path, metavar="DIR", help="folder to create (or an empty one)")
    init.add_argument("--tool-spec", metavar="SPEC", help="how CI installs this tool: a pip requirement written to "
                      "requirements.txt (default: where this copy was installed from, by its PEP 610 record: a "
                      "git URL and commit, or a wheel; required when it came from a package index or a folder)")
    init.add_argument("--provider", choices=("sendgrid", "smtp"), default="sendgrid",
                      help="how the scheduled-send workflow runs: sendgrid (daily and on push: SendGrid holds an "
                      "issue until its send_at) or smtp (every 15 minutes: SMTP cannot hold mail)")

    command("secrets", _secrets, "Make the secrets the tool can make (the send-log key, the unsubscribe "
                      "signing secret) into .env, and say how to give CI all it needs.", "newsletter secrets",
                      json="print what was added and what is missing as JSON")

    command("approve", _approve, "Approve an issue as built now: CI's send --due sends exactly this email "
                      "or refuses (commit the approved.json it writes).", "newsletter approve 2026-11-garden-notes",
                      issue=True, json="print the approval as JSON")

    cancel = command("cancel", _cancel, "Call back an issue's scheduled SendGrid batches while SendGrid allows it "
                     "(until 10 minutes before send_at).", "newsletter cancel 2026-11-garden-notes --yes",
                     issue=True, json="print what was cancelled as JSON")
    cancel.add_argument("--yes", action="store_true", help="cancel without asking")

    send = command("send", _send, "Send an issue: a dry run into outbox/ unless --send; never twice to anyone.",
                   "newsletter send 2026-11-garden-notes --send --limit 100", json="print the result as JSON")
    send.add_argument("issue", metavar="ISSUE", nargs="?", help="issue slug, folder or issue.md path")
    send.add_argument("--send", action="store_true", help="really send, through [send] provider (after a confirmation)")
    send.add_argument("--yes", action="store_true", help="send without asking (CI)")
    send.add_argument("--audience", type=Path, metavar="CSV", help="recipients CSV (an email column plus merge fields)")
    send.add_argument("--to", action="append", metavar="ADDR", help="test send to ADDR instead of the audience ([TEST] subject, "
                      "merge fields from the audience's first row); repeatable")
    send.add_argument("--as", dest="as_reader", metavar="EMAIL", help="with --to: fill the merge fields from this "
                      "reader's audience row instead of the first")
    send.add_argument("--limit", type=_positive, metavar="N", help="only the next N recipients who do not have it yet")
    send.add_argument("--provider", metavar="NAME", help="sendgrid, resend or smtp instead of [send] provider")
    send.add_argument("--sandbox", action="store_true", help="SendGrid sandbox mode: the API checks everything, delivers nothing")
    send.add_argument("--skip-bad-rows", action="store_true", help="skip invalid audience rows (listed in skipped-rows.csv) instead of stopping")
    send.add_argument("--resend-unknown", action="store_true", help="also send batches whose fate the log does not know (check them first)")
    send.add_argument("--force", action="store_true", help="send even when 'newsletter check' finds errors")
    send.add_argument("--due", action="store_true", help="every issue whose send_at has passed and that is not sent yet (CI)")

    publish = command("publish", _publish, "Upload the web archive (an issue's page, its images, the index) to "
                      "[publish] bucket, so archive_url and every image in the email load.",
                      "newsletter publish 2026-11-garden-notes", json="print what was uploaded as JSON")
    publish.add_argument("issue", metavar="ISSUE", nargs="?",
                         help="also publish this issue before it is sent (default: the sent issues only)")

    status = command("status", _status, "What the send log says: sent, to how many, what is left, batches of unknown fate.",
                     "newsletter status 2026-11-garden-notes --json", issue=True, json="print the status as JSON")
    status.add_argument("--audience", type=Path, metavar="CSV", help="count what is left against this CSV")
    _results_commands(command)
    return parser


def _results_commands(command) -> None:
    """What comes back after a send: suppressions, figures, unsubscribe tokens."""
    suppressions = command("suppressions", _suppressions, "Bring bounces, spam reports and unsubscribes home into "
                           "the suppression file ([send] suppressions, default suppressions.csv).",
                           "newsletter suppressions pull\n  newsletter suppressions import bounces.mbox")
    actions = suppressions.add_subparsers(dest="action", metavar="ACTION", required=True)
    pull = actions.add_parser("pull", help="read SendGrid's suppression lists since the last pull and merge them",
                              description="Read SendGrid's bounces, blocks, spam reports, invalid addresses, "
                              "global unsubscribes and the unsubscribe group's members, since the last pull.")
    imported = actions.add_parser("import", help="merge a CSV (email column) or an mbox of bounce reports (RFC 3464)")
    imported.add_argument("file", type=Path, metavar="FILE", help="a CSV with an email column, or an mbox file")
    for action in (pull, imported):
        action.add_argument("--json", action="store_true", help="print the merge result as JSON")
    PARSERS.update({"suppressions pull": pull, "suppressions import": imported})

    report = command("report", _report, "The provider's figures for a sent issue: requests, delivered, bounces, "
                     "spam reports, unsubscribes, unique opens and clicks.", "newsletter report 2026-11-garden-notes",
                     issue=True, json="print the figures as JSON")
    report.add_argument("--since", type=dt.date.fromisoformat, metavar="DATE",
                        help="count from DATE (YYYY-MM-DD) instead of the first send")

    unsubscribe = command("unsubscribe", _unsubscribe, "Signed unsubscribe tokens for a team's own unsubscribe page.",
                          "newsletter unsubscribe verify 'eyJl...'")
    verbs = unsubscribe.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = verbs.add_parser("verify", help="check a {{unsubscribe_token}} and print whose it is")
    verify.add_argument("token", metavar="TOKEN")
    verify.add_argument("--json", action="store_true", help="print the address and list as JSON")
    PARSERS["unsubscribe verify"] = verify


def _feed_items(value: str) -> int:
    number = _positive(value)
    if number > 1000:
        raise argparse.ArgumentTypeError("must be 1000 or less")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _new(args, workspace) -> int:
    from newsletter.cli.scaffold import new_issue_with_audience

    has_audience = bool(workspace.table(SendSettings).audience)
    created = new_issue_with_audience(workspace.issues_dir, args.slug, clock.today(), has_audience)
    if args.json:
        print_json({"issue": args.slug, "files": [str(path) for path in created]})
        return 0
    for path in created:
        print(f"Created {display_path(path)}")
    print(f"Next: newsletter add {args.slug} PATH --url LINK   (PATH: a page saved as HTML, or copied as text)")
    return 0


def _add(args, workspace) -> int:
    from newsletter.compose.issueedit import add_articles, place_sources

    path = workspace.issue_path(args.issue)
    if not args.sources and not args.feed:
        raise InputError(None, "nothing to add: give SOURCE paths or URLs, or --feed URL")
    if args.since and not args.feed:
        raise InputError(None, "--since only applies to --feed")
    if args.max_items and not args.feed:
        raise InputError(None, "--max-items only applies to --feed")
    if args.url and len(args.sources) != 1:
        raise InputError(None, "--url is the link of one article: give exactly one SOURCE with it")
    report = {"issue": path.parent.name, "file": str(path), "added": [], "copied": [], "already_listed": 0}
    if args.sources:
        placed = place_sources(args.sources, path.parent, workspace.root, Path.cwd(), args.copy)
        entries = [{"source": p.source, "url": args.url} if args.url else p.source for p in placed]
        added = add_articles(path, entries, args.section)
        report.update(added=[p.source for p in placed], already_listed=len(placed) - added,
                      copied=[str(p.copied_from) for p in placed if p.copied_from])
        if not args.json:
            _print_added(path, placed, added, args.url)
    if args.feed:
        report["feed"] = _add_feed(args, workspace, path)
    if args.json:
        print_json(report)
    else:
        print(f"Next: newsletter build {path.parent.name}")
    return 0


def _print_added(path: Path, placed: list, added: int, url: str | None) -> None:
    skipped = len(placed) - added
    note = f" ({skipped} already listed{', link set' if url and skipped else ''})" if skipped else ""
    print(f"Added {count(added, 'article')} to {display_path(path)}{note}")
    for item in placed:
        if item.copied_from:
            print(f"  copied {display_path(item.copied_from)} to {display_path(path.parent / item.source)}")


def _add_feed(args, workspace, path: Path) -> dict:
    from newsletter.compose.feedadd import MAX_ITEMS, add_feed_items
    from newsletter.sources.fetch import fetch_options

    result = add_feed_items(path, workspace.issues_dir, args.feed, fetch_options(workspace), args.since, args.section,
                            args.max_items or MAX_ITEMS)
    name = f'"{result.feed.title}"' if result.feed.title else args.feed
    if result.since is None:
        window = "all dated items (no earlier issue)"
    else:
        after = f", after issue {result.previous}" if result.previous else ""
        window = f"items dated {result.since} or later{after}"
    skipped = len(result.items) - result.added
    note = f"; {skipped} already listed" if skipped else ""
    undated = sum(1 for item in result.feed.items if item.date is None)
    note += f"; {count(undated, 'item')} without a date left out" if undated else ""
    if result.left_out:
        note += (f"; {result.left_out:,} older item{'s' if result.left_out != 1 else ''} left out "
                 f"(at most {len(result.items)} are added: "
                 "choose others with --since DATE or --max-items N)")
    if not args.json:
        print(f"Added {count(result.added, 'article')} to {display_path(path)} from {name}: {window}{note}")
    return {"feed": args.feed, "title": result.feed.title, "added": result.added, "since": str(result.since or ""),
            "previous": result.previous, "already_listed": skipped, "undated": undated, "left_out": result.left_out}


def _extract(args, workspace) -> int:
    from newsletter.compose.issuefile import Budget
    from newsletter.compose.summarize import summarize
    from newsletter.sources.fetch import fetch_options
    from newsletter.sources.readers import read_article

    settings = workspace.settings
    fetch = fetch_options(workspace, refresh=args.refresh)
    article = read_article(args.source, Path.cwd(), settings.day_first, fetch)
    blurbs = workspace.table(SummarySettings)
    summary = summarize(article, Budget(blurbs.sentences, blurbs.words))
    data = article.to_dict() | {"summary": summary}
    if args.json:
        print_json(data)
        return 0
    for key in ("title", "byline", "published", "updated", "site", "url", "image", "description"):
        if data.get(key):
            print(f"{key + ':':<13}{data[key]}")
    print(f"\nsummary:\n{summary}\n\ntext ({len(article.text.split())} words):\n{article.text}")
    print(f"Next: newsletter add ISSUE {args.source}")
    return 0


def _build(args, workspace) -> int:
    from newsletter.render.build import build_issue, write_build
    from newsletter.sources.fetch import fetch_options

    fetch = replace(fetch_options(workspace, refresh=args.refresh), progress=fetch_progress(quiet=args.json))
    build = build_issue(workspace, args.issue, fetch=fetch)
    for warning in build.issue.warnings:
        print(f"newsletter: warning: {warning}", file=sys.stderr)
    out_dir = args.out or workspace.build_dir / build.issue.slug
    files = write_build(build, out_dir)
    entries = build.issue.entries
    if args.json:
        print_json({"issue": build.issue.slug, "out": str(out_dir), "files": [str(f) for f in files],
                     "sections": len(build.issue.sections), "articles": len(entries),
                     "html_bytes": len(build.rendered.html.encode()), "warnings": list(build.issue.warnings)})
    else:
        print(f"Built {build.issue.slug}: {count(len(entries), 'article')} in {count(len(build.issue.sections), 'section')}")
        for entry in entries:
            for older in entry.article.also_from:
                print(f"  merged {older} into {entry.article.source} (newer version kept)")
        for path in files:
            print(f"  {display_path(path):<48} {path.stat().st_size / 1024:6.1f} KB")
        print(f"Next: newsletter check {build.issue.slug}")
    if args.open:
        import webbrowser  # only for --open

        webbrowser.open((out_dir / "index.html").resolve().as_uri())
    return 0


def _check(args, workspace) -> int:
    from newsletter.check.checks import check_issue
    from newsletter.check.online import check_online

    if args.due == bool(args.issue):
        raise InputError(None, "check needs an ISSUE, or --due (and not both)")
    issues = _due_issues(workspace, args.json) if args.due else [args.issue]
    extra = []
    if args.online:  # the DNS records first: a bad [check] dns stops before any request
        from newsletter.check.sender_auth import sender_auth_check
        from newsletter.deliver.providers import provider_class

        provider = provider_class(workspace.table(SendSettings).provider, workspace)
        extra += [sender_auth_check(provider.dkim_selectors), check_online]
    if args.a11y:
        from newsletter.check.a11y import check_a11y
        extra.append(check_a11y)
    if args.spam:
        from newsletter.check.spam import check_spam
        extra.append(check_spam)
    from newsletter.deliver.providers import hosted_unsubscribe

    hosted = hosted_unsubscribe(workspace)
    reports = [check_issue(workspace, issue, theme=args.theme, audience=args.audience, extra=extra, hosted=hosted)
               for issue in issues]
    if args.json:
        print_json([r.to_dict() for r in reports] if args.due else reports[0].to_dict())
    for report in [] if args.json else reports:
        _print_findings(report, args.all)
    return 1 if any(report.count("error") for report in reports) else 0


def _due_issues(workspace, quiet: bool) -> list[Path]:
    from newsletter.deliver.send import due_issues

    paths, problems = due_issues(workspace)
    if problems:
        raise problems[0]
    if not paths and not quiet:
        print("No scheduled issue is due.")
    return paths


# Notes printed without --all: what decides the links and headers, and what an asked-for check measured.
ALWAYS_SHOWN = ("unsubscribe-mode", "spam-score", "a11y-score", "spf", "dkim", "dmarc")


def _print_findings(report, show_all: bool) -> None:
    # How readers unsubscribe is always said: it decides what the links and headers hold.
    shown = [f for f in report.findings if show_all or f.severity != "info" or f.code.startswith(ALWAYS_SHOWN)]
    for finding in shown:
        print(finding)
    notes = report.count("info")
    hidden = f", {count(notes, 'note')}{'' if show_all else ' (see them with --all)'}" if notes else ""
    print(f"{report.issue} ({report.theme}): {count(report.count('error'), 'error')}, "
          f"{count(report.count('warning'), 'warning')}{hidden}")
    if report.count("error"):
        print(f"Next: fix the errors above, then: newsletter check {report.issue}")
    else:
        print(f"Next: newsletter preview {report.issue} (or: newsletter send {report.issue})")


def _preview(args, workspace) -> int:
    from newsletter.deliver.providers import hosted_unsubscribe
    from newsletter.deliver.report import results_fragment
    from newsletter.preview.server import serve

    try:
        report = (lambda message: print_json_line({"message": message})) if args.json else _print_now
        serve(workspace, args.issue, args.port, open_browser=not args.no_open, report=report,
              hosted=hosted_unsubscribe(workspace), results=results_fragment)
    except OSError as error:
        raise InputError(None, f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}); try --port 0") from None
    except KeyboardInterrupt:
        print("Preview stopped.")
        if not args.json:
            print(f"Next: newsletter send {args.issue}")
    return 0


def _archive(args, workspace) -> int:
    from newsletter.preview.archive import write_archive, write_private_results

    if args.private:
        out_dir = args.out or workspace.build_dir / "archive-private"
        from newsletter.deliver.report import results_fragment

        slugs = write_private_results(workspace, out_dir, results_fragment)
        if args.json:
            print_json({"out": str(out_dir), "issues": slugs})
            return 0
        print(f"Wrote the results of {count(len(slugs), 'sent issue')} to {display_path(out_dir / 'index.html')}")
        print(f"Next: open {display_path(out_dir / 'index.html')}   (newsletter report ISSUE for one issue's table)")
        return 0
    out_dir = args.out or workspace.build_dir / "archive"
    due = []
    if args.due:
        from newsletter.deliver.send import due_issues

        due = [path.parent for path in due_issues(workspace)[0]]
    archived = write_archive(workspace, out_dir, include_unsent=args.all, also=due)
    if args.json:
        print_json({"out": str(out_dir), "issues": [{"slug": item.slug, "subject": item.subject,
                                                     "date": item.date.isoformat() if item.date else None}
                                                    for item in archived]})
        return 0
    print(f"Archived {count(len(archived), 'issue')} in {display_path(out_dir)}/")
    for item in archived:
        print(f"  {item.slug}/index.html  {item.subject}")
    if not archived:
        print("Only issues that were sent (their send-log.jsonl records a batch) are archived; "
              "add --all to include the unsent ones.")
    print(f"Next: newsletter publish   (or open {display_path(out_dir / 'index.html')})")
    return 0


def _init(args, workspace) -> int:
    from newsletter.cli.scaffold import init_workspace

    created = init_workspace(args.folder, clock.today(), args.tool_spec, args.provider)
    issue = created[-1].parent.name
    if args.json:
        print_json({"folder": str(args.folder), "files": [str(path) for path in created], "issue": issue})
        return 0
    print(f"Created a workspace in {display_path(args.folder)}:")
    for path in created:
        print(f"  {display_path(path)}")
    print(f"Next: cd {display_path(args.folder)}, put your details in newsletter.toml "
          f"(check names what is left), then: newsletter check {issue}")
    return 0


def _send(args, workspace) -> int:
    from newsletter.cli.send import run_send

    return run_send(args, workspace)


def _secrets(args, workspace) -> int:
    from newsletter.cli.send import run_secrets

    return run_secrets(args, workspace)


def _approve(args, workspace) -> int:
    from newsletter.cli.send import run_approve

    return run_approve(args, workspace)


def _cancel(args, workspace) -> int:
    from newsletter.cli.send import run_cancel

    return run_cancel(args, workspace)


def _publish(args, workspace) -> int:
    from newsletter.publish.site import publish

    folder = workspace.issue_path(args.issue).parent if args.issue else None
    done = publish(workspace, folder)
    if args.json:
        print_json({"bucket": str(done.bucket), "public_url": done.public_url, "issues": done.issues,
                    "uploaded": done.uploaded.sent, "unchanged": done.uploaded.unchanged})
        return 0
    print(f"Published {count(len(done.issues), 'issue')} to {done.bucket}: "
          f"{count(len(done.uploaded.sent), 'file')} uploaded, {len(done.uploaded.unchanged)} unchanged")
    for key in done.uploaded.sent:
        print(f"  {key}")
    page = done.public_url + (f"{folder.name}/" if folder else "")
    print(f"Next: open {page} and, when it looks right, newsletter send {folder.name if folder else 'ISSUE'} --send")
    return 0


def _status(args, workspace) -> int:
    from newsletter.cli.send import run_status

    return run_status(args, workspace)


def _suppressions(args, workspace) -> int:
    from newsletter.cli.send import run_suppressions

    return run_suppressions(args, workspace)


def _report(args, workspace) -> int:
    from newsletter.cli.send import run_report

    return run_report(args, workspace)


def _unsubscribe(args, workspace) -> int:
    from newsletter.cli.send import run_unsubscribe

    return run_unsubscribe(args, workspace)


if __name__ == "__main__":
    sys.exit(main())


def _print_now(message: str) -> None:
    """Piped into a log or another program, a line must not wait in a buffer (the preview's URL)."""
    print(message, flush=True)
