"""The console side of ``newsletter send`` and ``newsletter status``: the confirmation,
progress lines, summaries and JSON. The work is done by newsletter.deliver.send."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from newsletter.cli.console import print_json
from newsletter.compose.issuefile import time_zone
from newsletter.deliver.providers import Provider, SendResult
from newsletter.deliver.send import (
    SendPlan,
    choose_provider,
    due_issues,
    issue_status,
    plan_send,
    send_issue,
    settles_by_key,
)
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError, NewsletterError, SendError, count, display_path
from newsletter.workspace import Workspace


def run_send(args, workspace: Workspace) -> int:
    if args.due:
        return _send_due(args, workspace)
    if not args.issue:
        raise InputError(None, "send needs an ISSUE, or --due to send every scheduled issue that is due")
    report = _send_one(args, workspace, args.issue)
    if args.json:
        print_json(report)
    return 0


def _send_one(args, workspace: Workspace, issue: str | Path) -> dict:
    """Send (or dry-run) one issue; print the summary unless --json; return the JSON report."""
    provider = choose_provider(workspace, send=args.send, sandbox=args.sandbox, name=args.provider)
    plan = plan_send(workspace, issue, audience=args.audience, to=args.to, limit=args.limit,
                     skip_bad_rows=args.skip_bad_rows, resend_unknown=args.resend_unknown, as_reader=args.as_reader,
                     provider=args.provider)
    _warn_about(plan, provider)
    progress = _progress if not provider.dry_run else (lambda _: None)
    result = send_issue(plan, provider, workspace.table(SendSettings), _confirmation(args.yes), progress, force=args.force,
                        require_approval=args.due)
    if not args.json:
        _print_summary(plan, provider, result, _audience_options(args))
    return _send_json(plan, result)


def _audience_options(args) -> str:
    """The options that chose who gets it, to repeat in the command that really sends."""
    options = [f"--to {shlex.quote(address)}" for address in args.to or []]
    options += [f"--audience {shlex.quote(str(args.audience))}"] if args.audience else []
    options += ["--skip-bad-rows"] if args.skip_bad_rows else []
    options += [f"--limit {args.limit}"] if args.limit else []
    return "".join(f" {option}" for option in options)


def _send_due(args, workspace: Workspace) -> int:
    """Every due issue, each on its own: one that fails does not stop the others."""
    if args.issue or args.to:
        raise InputError(None, "--due sends every issue that is due: give no ISSUE and no --to")
    paths, problems = due_issues(workspace, provider=args.provider)
    for problem in problems:
        print(f"newsletter: {problem}", file=sys.stderr)
    if not paths and not args.json:
        print("No scheduled issue is due.")
    code, reports = 2 if problems else 0, []
    for path in paths:
        try:
            reports.append(_send_one(args, workspace, path))
        except NewsletterError as error:
            print(f"newsletter: {path.parent.name}: {error}", file=sys.stderr)
            code = max(code, error.exit_code)
            continue
        if reports[-1]["held_back"]:  # what is still in doubt after this run
            code = max(code, 1)
            print(f"newsletter: {path.parent.name}: not complete: {count(reports[-1]['held_back'], 'recipient')} in "
                  "batches of unknown fate; check the provider's activity, then send with --resend-unknown "
                  "if they were not delivered", file=sys.stderr)
    if args.json:
        print_json(reports)
    return code


def _ask(question: str, action: str, outcome: str) -> None:
    """Ask on the terminal; raise unless the answer is yes. ``action``: "send"; ``outcome``: "sent"."""
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        raise InputError(None, f"refusing to {action} without a confirmation and there is no terminal to ask on: "
                         "add --yes")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise SendError(f"not confirmed: nothing was {outcome}")


def _confirmation(assume_yes: bool):
    def confirm(plan: SendPlan, provider: Provider) -> None:
        if assume_yes:
            return
        when = f", scheduled for {plan.campaign.send_at.isoformat()}" if plan.campaign.send_at else ""
        if plan.schedule:
            when = f", each at {plan.schedule.local.text} (their own time zone)"
        _ask(f"Send \"{plan.campaign.subject}\" to {count(len(plan.recipients), 'recipient')} "
             f"via {provider.name}{when}?", "send", "sent")

    return confirm


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _warn_about(plan: SendPlan, provider: Provider) -> None:
    for warning in plan.build.issue.warnings:  # sources dropped by skip_broken, repeats of earlier issues
        print(f"newsletter: warning: {warning}", file=sys.stderr)
    if plan.skipped_rows:
        print(f"Skipped {count(plan.skipped_rows, 'bad row')} of {display_path(plan.audience)}: "
              f"listed in {display_path(plan.skipped_rows_report)}", file=sys.stderr)
    for batch in plan.history.unknown:
        if not plan.resend_unknown and not batch.open_reservations and not settles_by_key(batch, provider):
            print(f"Held back batch {batch.id} ({count(len(batch.to), 'recipient')}, first {batch.first}, "
                  f"started {batch.started}): its fate is unknown. Check the {batch.provider} activity, then "
                  "send again with --resend-unknown if it was not delivered.", file=sys.stderr)


def _print_summary(plan: SendPlan, provider: Provider, result: SendResult, audience_options: str = "") -> None:
    source = f" from {display_path(plan.audience)}" if plan.audience else " (test addresses)"
    batches = result.details.get("batches", 0)
    if result.location:  # a dry run that wrote what it would send
        print(f"Dry run: nothing was sent. {count(result.accepted, 'recipient')}{source}.")
        print(result.summary)
    elif result.summary:
        print(result.summary)
    elif plan.test:
        print(f"Test sent to {', '.join(r.email for r in plan.recipients)} via {provider.name}.")
    elif result.accepted:
        print(f"Sent to {count(result.accepted, 'recipient')}{source} in {batches} batch{'es' if batches != 1 else ''} "
              f"via {provider.name}. Log: {display_path(plan.log)}")
    else:
        print(f"Nothing to send: no one in the audience is waiting for it. Log: {display_path(plan.log)}")
    notes = _plan_notes(plan, result.details.get("held_back", plan.held_back))
    if notes:
        print(f"{'; '.join(notes)}.")
    slug = plan.build.issue.slug
    if result.location and result.accepted:
        print(f"To send it: newsletter send {slug} --send{audience_options}")
    elif not plan.test:
        print(f"Next: newsletter status {slug}")


def _plan_notes(plan: SendPlan, held_back: int) -> list[str]:
    notes = []
    if plan.already_sent:
        notes.append(f"{count(plan.already_sent, 'recipient')} already had it")
    if plan.suppressed:
        notes.append(f"{plan.suppressed:,} suppressed")
    if held_back:
        notes.append(f"{held_back:,} held back in batches of unknown fate")
    if plan.left_after:
        notes.append(f"{plan.left_after:,} left for another run (--limit)")
    if plan.later:
        notes.append(f"{plan.later:,} wait until their send time is within the provider's reach "
                     "('newsletter send --due --send' sends them then)")
    return notes


def _send_json(plan: SendPlan, result: SendResult) -> dict:
    return {
        "issue": plan.build.issue.slug, "provider": result.provider, "dry_run": result.dry_run,
        "test": plan.test, "recipients": result.accepted,
        "audience": str(plan.audience) if plan.audience else None,
        "already_sent": plan.already_sent, "suppressed": plan.suppressed,
        "held_back": result.details.get("held_back", plan.held_back),
        "left": plan.left_after, "later": plan.later,
        "send_times": {when.isoformat(): readers for when, readers in sorted(plan.per_time.items())}, "unknown_batches": [b.id for b in plan.history.unknown],
        "skipped_rows": plan.skipped_rows,
        "skipped_rows_report": str(plan.skipped_rows_report) if plan.skipped_rows_report else None,
        "batches": result.details.get("batches", 0), "log": result.details.get("log"),
        "outbox": result.location, "files": result.details.get("files", []),
    }


def run_status(args, workspace: Workspace) -> int:
    status = issue_status(workspace, args.issue, audience=args.audience)
    if args.json:
        print_json(status.to_dict())
        return 0
    print(f"{status.issue}: \"{status.subject}\"")
    if status.recipients is None:
        print("  audience   none set")
    else:
        extras = [f"{status.suppressed:,} suppressed"] if status.suppressed else []
        extras += [f"{count(status.skipped_rows, 'bad row')} skipped"] if status.skipped_rows else []
        print(f"  audience   {count(status.recipients, 'recipient')} in {display_path(status.audience)}"
              + (f" ({', '.join(extras)})" if extras else ""))
    last = f", last batch {status.last_sent}" if status.last_sent else ""
    print(f"  sent       {status.sent:,} in {count(status.runs, 'run')}{last}")
    if status.left is not None:
        print(f"  left       {status.left:,}")
    batches = f"{len(status.unknown)} batches" if len(status.unknown) != 1 else "1 batch"
    people = f" ({count(status.unknown_recipients, 'recipient')})" if status.unknown else ""
    print(f"  unknown    {batches}{people}")
    for batch in status.unknown:
        print(f"    batch {batch['batch']}: {count(batch['count'], 'recipient')} (first {batch['first']}), "
              f"started {batch['started']} via {batch['provider']}" + (f": {batch['note']}" if batch["note"] else ""))
    if any(batch["cancellable"] for batch in status.unknown):
        print("  Scheduled batches of unknown fate are cancelled and sent again by the next send.")
    for batch in status.unknown:
        if batch["resent_until"]:
            print(f"  Batch {batch['batch']} is sent again under its idempotency key by a send until "
                  f"{batch['resent_until']} (the provider does not deliver it twice); after that it stays unknown.")
    if any(not batch["cancellable"] and not batch["resent_until"] for batch in status.unknown):
        print("  Check the provider's activity for them; send with --resend-unknown if they were not delivered.")
    if status.send_at or status.send_at_local:
        state = "due" if status.due else ("sent" if status.complete else "not yet due")
        first = f"; first reader {status.send_at.isoformat()}" if status.send_at_local and status.send_at else ""
        print(f"  scheduled  {status.send_at_local or status.send_at.isoformat()} ({state}{first})")
    for zone in status.zones:
        where = zone.zone or "no zone"
        when = zone.send_at.astimezone(time_zone(zone.zone)).isoformat() if zone.send_at and zone.zone else "no send time"
        doubt = f", {zone.unknown:,} unknown" if zone.unknown else ""
        print(f"    {where + (' (default)' if zone.default else ''):<28} {when:<26} {count(zone.recipients, 'reader')}: "
              f"{zone.sent:,} handed over, {zone.left:,} pending{doubt}")
    for waiting in status.deliveries:
        print(f"  delivers   {count(waiting['recipients'], 'recipient')} at {waiting['send_at']} "
              "(the provider holds them until then)")
    print(f"Next: newsletter {'archive' if status.sent and not status.left else 'send ' + status.issue}")
    return 0


def _pull(workspace: Workspace, quiet: bool) -> dict:
    from newsletter.deliver.suppressions import pull_suppressions

    result = pull_suppressions(workspace, progress=_progress)
    if not quiet:
        print(result.summary())
    return result.to_dict()


def run_suppressions(args, workspace: Workspace) -> int:
    from newsletter.deliver.suppressions import import_suppressions

    if args.action == "pull":
        report = _pull(workspace, args.json)
    else:
        merge = import_suppressions(workspace, args.file)
        report = merge.to_dict()
        if not args.json:
            print(f"Imported {count(merge.added, 'new suppression')} from {display_path(args.file)} into "
                  f"{display_path(merge.path)} ({merge.already:,} were listed already, {merge.total:,} in all).")
    if args.json:
        print_json(report)
    else:
        print("Next: newsletter send ISSUE (suppressed addresses are skipped and counted)")
    return 0


def run_unsubscribe(args, workspace: Workspace) -> int:
    """``unsubscribe verify TOKEN``: exit 0 and whose token it is, or exit 1 when it is not valid."""
    from newsletter.render.unsubscribe import InvalidToken, list_id, verify_token

    try:
        who = verify_token(args.token, list_name=list_id(workspace))  # valid only for this workspace's list
    except InvalidToken as error:
        if args.json:
            print_json({"valid": False, "error": str(error)})
        else:
            print(f"Not valid: {error}.")
        return 1
    if args.json:
        print_json({"valid": True, "email": who.email, "list": who.list})
    else:
        print(f"Valid: {who.email} on \"{who.list}\".")
        print("Next: remove the address from your list, or add it with: newsletter suppressions import FILE")
    return 0


def run_report(args, workspace: Workspace) -> int:
    from newsletter.deliver.report import METRICS, OPENS_CAVEAT, issue_report

    report = issue_report(workspace, args.issue, since=args.since)
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"{report.issue}: {report.provider} figures since {report.since}")
    for metric, label in METRICS.items():
        share = report.share(metric)
        print(f"  {label:<14} {report.figures.get(metric, 0):>9,}" + (f"  {share:6.1%}" if share is not None else ""))
    print(f"Note: {OPENS_CAVEAT}")
    print("Next: newsletter suppressions pull (bring this issue's bounces and unsubscribes home)")
    return 0


def run_secrets(args, workspace: Workspace) -> int:
    """``secrets``: make the generated secrets into .env; say what CI needs and how to give it."""
    from newsletter.secrets import GENERATED, SECRETS, add_generated, read_env

    env_file = workspace.root / ".env"
    added = add_generated(env_file)
    present = read_env(env_file)
    needed = [secret.name for secret in SECRETS if secret.name in present]
    missing = [secret for secret in SECRETS if secret.name not in present and secret.name not in GENERATED]
    if args.json:
        print_json({"env": str(env_file), "added": added, "in_env": needed, "not_set": [s.name for s in missing]})
        return 0
    kept = [name for name in GENERATED if name not in added]
    print(f"{display_path(env_file)}: " + "; ".join(
        ([f"added {', '.join(added)}"] if added else []) + ([f"kept {', '.join(kept)}"] if kept else [])) + ".")
    for secret in missing:
        print(f"  not set: {secret.name} ({secret.purpose})")
    print("Give CI the same values as repository secrets (GitHub CLI; the values are read from .env, never shown):")
    for name in needed:
        print(f"  sed -n 's/^{name}=//p' .env | gh secret set {name}")
    print("Next: newsletter send ISSUE --to YOU@EXAMPLE.ORG (a test copy), then commit and push the issue")
    return 0


def run_approve(args, workspace: Workspace) -> int:
    from newsletter.deliver.send import approve_issue

    approval = approve_issue(workspace, args.issue)
    if args.json:
        print_json(approval.to_dict())
        return 0
    print(f"Approved {args.issue} as built now (sha256 {approval.sha256[:12]}): {display_path(approval.path)}")
    print(f"Next: git add {display_path(approval.path)} && git commit (a scheduled send sends exactly this email)")
    return 0


def run_cancel(args, workspace: Workspace) -> int:
    from newsletter.deliver.send import cancel_issue

    def confirm(recipients: int) -> None:
        if not args.yes:
            _ask(f"Cancel the scheduled send of {args.issue} to {count(recipients, 'recipient')}?", "cancel", "cancelled")

    result = cancel_issue(workspace, args.issue, confirm=confirm)
    if args.json:
        print_json(result.to_dict())
        return 1 if result.too_late else 0
    minutes = int(result.deadline.total_seconds() // 60)
    if result.too_late:
        print(f"Too late to cancel {args.issue}: SendGrid calls back a scheduled send only until {minutes} minutes "
              f"before send_at ({result.schedule or 'none'}). It goes out as planned.")
        return 1
    batches = count(len(result.cancelled), 'batch').replace('batchs', 'batches')
    if result.late:
        print(f"Cancelled {args.issue}: {batches} called back; {count(len(result.late), 'batch').replace('batchs', 'batches')} "
              f"within {minutes} minutes of their own send time go out as planned.")
    else:
        print(f"Cancelled {args.issue}: {batches} called back before {result.schedule or ''}; nobody gets it.")
    print(f"Next: change send_at in the issue to send it later (send --due leaves it alone until then), "
          f"or newsletter status {args.issue}")
    return 0
