"""Send an issue: build it, choose who gets it, hand it to a provider batch by batch.

A real send is recorded in the issue's send log (sendlog.py) before and after every batch,
under a lock; a dry run, a sandbox send and a test send (``--to``) leave no
trace there. Whoever the log says already has the issue is never sent it again; batches of
unknown fate are held back until the user checks them and asks for ``resend_unknown``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import AbstractSet, Callable, Iterable, Iterator, Sequence, Sized

from newsletter import clock
from newsletter.compose.audience import (
    Batch,
    Recipient,
    ScannedAudience,
    audience_file,
    audience_path,
    cycle_collector_paused,
    scan_audience,
    valid_email,
    write_bad_rows,
)
from newsletter.compose.issuefile import IssueSpec, read_issue
from newsletter.compose.sendlog import (
    KEY_VARIABLE,
    LoggedBatch,
    LogKey,
    LogState,
    SendLog,
    check_log_key,
    create_log_key,
    current_log_key,
    log_path,
    read_log,
)
from newsletter.deliver.approval import Approval, approve, verify_approved
from newsletter.deliver.providers import (
    DRY_RUN,
    PROVIDERS,
    BatchFailed,
    Provider,
    SendResult,
    Session,
    get_provider,
    hosted_unsubscribe,
    provider_class,
)
from newsletter.deliver.retry import RateGate, RetriesExhausted, RetryPolicy, TemporaryFailure, with_retries
from newsletter.deliver.schedule import LocalSchedule, ZoneCount, zone_counts
from newsletter.deliver.settings import SendSettings
from newsletter.deliver.suppressions import blocked_addresses
from newsletter.errors import InputError, SendError, count, display_path
from newsletter.render.build import Build, build_issue
from newsletter.render.message import Campaign, campaign_for
from newsletter.render.unsubscribe import HOSTED_PLACEHOLDER_MARK, TOKEN_FIELD, sending_workspace, with_tokens
from newsletter.render.unsubscribe import SECRET_VARIABLE as UNSUBSCRIBE_SECRET
from newsletter.secrets import redact, secret
from newsletter.workspace import Workspace

SKIPPED_ROWS_REPORT = "skipped-rows.csv"

Progress = Callable[[str], None]


Tokens = Callable[[list[Recipient]], list[Recipient]]


def _no_tokens(recipients: list[Recipient]) -> list[Recipient]:
    return recipients


@dataclass(frozen=True)
class Selection:
    """Who a run sends to: the scanned audience read back as it is sent, minus those the log
    excludes (``skip``: recipient ids), at most ``count`` of them, each given its unsubscribe
    token as it is read."""

    audience: ScannedAudience
    count: int
    skip: AbstractSet[str] = frozenset()
    recipient_id: Callable[[str], str] = str.lower  # address -> the id the send log knows it by
    tokens: Tokens = _no_tokens
    times: LocalSchedule | None = None  # a local send_at: each reader's own moment
    until: dt.datetime | None = None  # with ``times``: readers whose moment is later wait for another run

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Recipient]:
        for chunk in self.chunks():
            yield from chunk

    def chunks(self) -> Iterator[list[Recipient]]:
        left = self.count
        for chunk in self.audience.chunks():
            if left <= 0:
                return
            if self.skip:
                chunk = [r for r in chunk if self.recipient_id(r.email) not in self.skip]
            if self.times and self.until:
                chunk = [r for r in chunk if self.times.reader_time(r) <= self.until]
            chunk = chunk[:left]
            left -= len(chunk)
            yield self.tokens(chunk)


@dataclass(frozen=True)
class SendPlan:
    build: Build
    campaign: Campaign
    recipients: Sized & Iterable[Recipient]  # who gets it in this run (a list for a test send)
    audience: Path | None  # None for a test send (--to)
    history: LogState = field(default_factory=LogState)
    candidates: ScannedAudience | None = None  # the audience minus suppressions
    suppressed: int = 0
    already_sent: int = 0
    held_back: int = 0  # in batches of unknown fate
    left_after: int = 0  # still to send after this run (--limit)
    later: int = 0  # a local send_at: readers whose moment is beyond the provider's reach, for a later run
    per_time: dict = field(default_factory=dict)  # a local send_at: this run's readers per moment
    schedule: LocalSchedule | None = None  # a local send_at: when each reader gets it
    until: dt.datetime | None = None  # the provider's reach: readers whose moment is later wait
    limit: int | None = None
    resend_unknown: bool = False
    skipped_rows: int = 0
    skipped_rows_report: Path | None = None
    env_file: Path | None = None  # where a first real send keeps the new send-log key
    tokens: Tokens = _no_tokens
    workspace: Workspace | None = None
    skip_bad_rows: bool = False

    @property
    def test(self) -> bool:
        return self.audience is None

    @property
    def log(self) -> Path:
        return log_path(self.build.spec.folder)

    def refreshed(self, history: LogState) -> SendPlan:
        """The same plan against the log as it is now (read again under the lock)."""
        assert self.candidates is not None, "only a send to an audience is logged"
        return replace(self, history=history, **_select(self.candidates, history, self.limit, self.resend_unknown,
                                                        self.tokens, self.schedule, self.until))


def suppressions(workspace: Workspace) -> set[str]:
    name = workspace.table(SendSettings).suppressions
    if name:  # named in newsletter.toml: read only from inside the workspace
        workspace.require_inside(workspace.root / name, "[send] suppressions", workspace.settings_path,
                                 workspace.settings_line("send", "suppressions"))
    return blocked_addresses(workspace)  # the default suppressions.csv counts too, once it exists


def built_for(workspace: Workspace, issue: str | Path, provider: str | None) -> tuple[Workspace, Build]:
    """The issue built as ``provider`` (else [send] provider) sends it: its unsubscribe link and headers."""
    workspace = sending_workspace(workspace, hosted_unsubscribe(workspace, provider))
    return workspace, build_issue(workspace, issue)


def plan_send(workspace: Workspace, issue: str | Path, audience: Path | None = None,
              to: list[str] | None = None, limit: int | None = None, skip_bad_rows: bool = False,
              resend_unknown: bool = False, as_reader: str | None = None, provider: str | None = None) -> SendPlan:
    """What a send of ``issue`` would do, built for ``provider`` (the one that sends: --provider or
    [send] provider; a dry run shows what that provider would send)."""
    workspace, build = built_for(workspace, issue, provider)
    campaign = campaign_for(build, workspace, test=bool(to))
    tokens = _tokens(campaign, workspace)
    if to:
        fields = _reader_fields(workspace, build, audience, as_reader)
        recipients = [Recipient(valid_email(address), fields) for address in to][:limit]
        return SendPlan(build, campaign, tokens(recipients), None, workspace=workspace)
    source = audience_path(workspace, build.spec, audience)
    schedule, until = _local_schedule(workspace, build, source, provider)
    scanned = scan_audience(source, skip_bad_rows, suppressions(workspace))
    report = write_bad_rows(scanned, build.spec.folder / SKIPPED_ROWS_REPORT) if scanned.bad_rows else None
    history = read_history(build.spec.folder)
    return SendPlan(build, campaign, audience=source, history=history, candidates=scanned,
                    suppressed=scanned.suppressed, limit=limit, resend_unknown=resend_unknown,
                    skipped_rows=len(scanned.bad_rows), skipped_rows_report=report, env_file=workspace.root / ".env",
                    tokens=tokens, workspace=workspace, skip_bad_rows=skip_bad_rows, schedule=schedule, until=until,
                    **_select(scanned, history, limit, resend_unknown, tokens, schedule, until))


def _local_schedule(workspace: Workspace, build: Build, source: Path,
                    provider: str | None) -> tuple[LocalSchedule | None, dt.datetime | None]:
    """For a send_at written as a local time: each reader's moment, and how far ahead the provider
    that really sends (also behind a dry run) takes them. Refused, before anything goes, by a
    provider that cannot send each batch at its own time."""
    local = build.spec.send_local
    if local is None:
        return None, None
    sender = provider_class(provider or workspace.table(SendSettings).provider, workspace)
    refuse_local_times(build.spec, sender)
    reach = sender.max_schedule
    return LocalSchedule(local, source), clock.now() + reach if reach else None


def refuse_local_times(spec: IssueSpec, provider: Provider | type[Provider]) -> None:
    """A send_at written as a local time needs a provider that sends each batch at its own time."""
    if provider.local_send_times or spec.send_local is None:
        return
    able = [name for name in PROVIDERS if provider_class(name).local_send_times and not provider_class(name).dry_run]
    raise InputError(spec.path, f"send_at {spec.send_local.text} sends each reader at that time in their own zone, "
                     f"which {provider.name} cannot schedule: send it through {' or '.join(able)} (--provider, or "
                     "[send] provider), or write send_at as one moment with an offset", spec.lines.get("send_at"))


def _reader_fields(workspace: Workspace, build: Build, audience: Path | None, as_reader: str | None) -> dict[str, str]:
    """A test copy reads as a reader's would: the merge fields of ``as_reader``'s audience row,
    else of the first row (none without an audience)."""
    source = audience_file(workspace, build.spec, audience)
    if source is None:
        if as_reader:
            raise InputError(None, f"--as needs an audience to find {as_reader} in: add --audience CSV")
        return {}
    wanted = as_reader.lower() if as_reader else None
    for chunk in scan_audience(source, skip_bad_rows=True).chunks():
        for recipient in chunk:
            if wanted is None or recipient.email.lower() == wanted:
                return dict(recipient.fields)
    if wanted:
        raise InputError(source, "--as names no row of this audience")
    return {}


def _tokens(campaign: Campaign, workspace: Workspace) -> Tokens:
    """Signed unsubscribe tokens, when the issue's links use them."""
    if TOKEN_FIELD not in campaign.merge_field_names():
        return _no_tokens
    return lambda recipients: with_tokens(recipients, workspace)


def read_history(issue_folder: Path) -> LogState:
    """The issue's send log under this workspace's key; a log written under another key is refused."""
    path, key = log_path(issue_folder), current_log_key()
    history = read_log(path, key)
    check_log_key(history, key, path)
    return history


def _select(candidates: ScannedAudience, history: LogState, limit: int | None, resend_unknown: bool,
            tokens: Tokens = _no_tokens, times: LocalSchedule | None = None, until: dt.datetime | None = None) -> dict:
    """Counts in one pass over the addresses; the recipients themselves are read as they are sent.
    With ``times`` (a local send_at), readers whose moment is after ``until`` wait (``later``), and
    this run's readers are counted per moment (``per_time``)."""
    unknown = set() if resend_unknown else history.unknown_addresses
    already = held = later = 0
    per_time: dict[dt.datetime, int] = {}
    counted = 0
    if history.sent or unknown or times:
        for line, email, zone in candidates.zoned():
            key = history.id(email)
            if key in history.sent:
                already += 1
            elif key in unknown:
                held += 1
            elif times:
                moment = times.time_of(zone, line)
                if until and moment > until:
                    later += 1
                elif limit is None or counted < limit:
                    per_time[moment] = per_time.get(moment, 0) + 1
                    counted += 1
    pending = candidates.count - already - held - later
    chosen = min(pending, limit) if limit is not None else pending
    recipients = Selection(candidates, chosen, history.sent | unknown, history.id, tokens, times, until)
    return {"recipients": recipients, "already_sent": already, "held_back": held, "left_after": pending - chosen,
            "later": later, "per_time": per_time}


def choose_provider(workspace: Workspace, send: bool = False, sandbox: bool = False,
                    name: str | None = None) -> Provider:
    """The dry run unless --send or --sandbox; then --provider, else [send] provider."""
    if not (send or sandbox):
        return get_provider(DRY_RUN, workspace)
    provider = get_provider(name or workspace.table(SendSettings).provider, workspace, sandbox=sandbox)
    if provider.dry_run and not sandbox:
        real = ", ".join(repr(other) for other in PROVIDERS if not provider_class(other).dry_run)
        raise InputError(None, f"provider {provider.name!r} only writes a dry run: set [send] provider to one of "
                         f"{real} in newsletter.toml, or pass --provider, to really send")
    return provider


def due_ahead(settings: SendSettings, provider: Provider | type) -> dt.timedelta:
    """How early ``send --due`` hands a scheduled issue to ``provider``: [send] schedule_ahead, if
    the provider can hold mail (it then sends it at send_at, under references a resumed or
    cancelled run can call back), at most as long as it holds mail."""
    ahead = dt.timedelta(minutes=settings.schedule_ahead)
    holds = provider.max_schedule
    if provider.dry_run or not holds:
        return dt.timedelta(0)
    return min(ahead, holds)


def due_window(workspace: Workspace, provider_name: str | None = None) -> dt.timedelta:
    """The one definition of "due" that status, check --due, archive --due and send --due (dry or
    not) share: an issue is due once its send_at comes within this window of now. The window
    belongs to the provider that will really send it ([send] provider, or --provider), not to
    the dry run, so a rehearsal sees what the real run will do."""
    from newsletter.deliver.providers import provider_class

    return due_ahead(workspace.table(SendSettings), provider_class(provider_name or workspace.table(SendSettings).provider,
                                                             workspace))


def is_due(send_at: dt.datetime | None, complete: bool, window: dt.timedelta, now: dt.datetime | None = None) -> bool:
    return bool(send_at and send_at <= (now or clock.now()) + window and not complete)


def check_schedule(plan: SendPlan, provider: Provider, now: dt.datetime | None = None) -> None:
    """A scheduled issue goes out now only through a provider that can hold it until then."""
    if plan.schedule:
        return _check_local_schedule(plan, provider)
    send_at = plan.campaign.send_at
    now = now or clock.now()
    if send_at is None or send_at <= now or provider.max_schedule is None or send_at - now <= provider.max_schedule:
        return
    if provider.max_schedule:
        hours = provider.max_schedule.total_seconds() / 3600
        limit = f"{provider.name} holds mail at most {hours:g} h"
    else:
        limit = f"{provider.name} cannot hold mail for later"
    spec = plan.build.spec
    raise InputError(spec.path, f"send_at {send_at.isoformat()} is in the future and {limit}: "
                     "'newsletter send --due --send' sends it once it is due", spec.lines.get("send_at"))


def _check_local_schedule(plan: SendPlan, provider: Provider) -> None:
    """Refused by a provider that cannot send each batch at its own time; and when no reader's
    moment is within the provider's reach yet and none has it (`send --due` sends it once due)."""
    spec = plan.build.spec
    refuse_local_times(spec, provider)
    nothing_yet = not plan.recipients and not plan.already_sent and not plan.held_back
    if plan.later and nothing_yet and plan.until and not provider.dry_run:
        raise InputError(spec.path, f"send_at {spec.schedule_text}: no reader's send time is before "
                         f"{plan.until:%Y-%m-%d %H:%M} UTC, as far ahead as {provider.name} holds mail: "
                         "'newsletter send --due --send' sends it once it is due", spec.lines.get("send_at"))


def send_issue(plan: SendPlan, provider: Provider, settings: SendSettings,
               confirm: Callable[[SendPlan, Provider], None], progress: Progress = lambda _: None,
               force: bool = False, require_approval: bool = False) -> SendResult:
    """Send the plan, safely whoever calls it. A real send refuses on `check` errors (unless
    ``force``), asks ``confirm`` (which raises to refuse), publishes the web version and images,
    then locks the log and re-plans against it so two runs never send the same batch. Nothing
    leaves the machine before the confirmation. An issue with an approval record (required with
    ``require_approval``, as scheduled sends do) goes out only as approved."""
    check_schedule(plan, provider)
    if not provider.dry_run and not provider.fills_hosted_unsubscribe and HOSTED_PLACEHOLDER_MARK in plan.campaign.html:
        raise InputError(None, f"the unsubscribe link is one the [send] provider hosts (its unsubscribe group), "
                         f"which {provider.name} cannot fill: send through that provider")
    if provider.dry_run:
        return execute(plan, provider, settings, None, progress)
    _require_secrets(plan)
    refuse_on_check_errors(plan, force, progress)
    if not plan.test:
        verify_approved(plan.build, plan.campaign, require_approval)
    if plan.test:
        publish_first(plan, progress)
        return execute(plan, provider, settings, None, progress)
    if not plan.recipients and plan.history.complete:
        return SendResult(provider.name, 0, False, details={"batches": 0, "log": str(plan.log)})
    if plan.recipients or plan.held_back:
        confirm(plan, provider)
    key = current_log_key() or _new_log_key(plan, progress)
    if settings.pull_suppressions and provider.can_pull_suppressions:
        plan = _after_pulling_suppressions(plan, provider, progress)
    publish_first(plan, progress)
    # Even with nobody left a run is recorded: its "complete" tells `--due` the issue is done.
    with SendLog.locked(plan.log, key) as log:
        state = log.state()
        check_log_key(state, key, plan.log)
        cancel_unknown(log, provider, progress)
        return execute(plan.refreshed(log.state()), provider, settings, log, progress)


def _after_pulling_suppressions(plan: SendPlan, provider: Provider, progress: Progress) -> SendPlan:
    """[send] pull_suppressions: the provider's bounces and unsubscribes since the last pull come
    home first, and the audience is read again without them: last issue's bounce is not mailed."""
    from newsletter.deliver.suppressions import pull_suppressions

    assert plan.workspace is not None and plan.audience is not None, "plan_send sets both for an audience"
    progress(pull_suppressions(plan.workspace, provider.name, progress).summary())
    scanned = scan_audience(plan.audience, plan.skip_bad_rows, suppressions(plan.workspace))
    return replace(plan, candidates=scanned, suppressed=scanned.suppressed,
                   **_select(scanned, plan.history, plan.limit, plan.resend_unknown, plan.tokens, plan.schedule,
                             plan.until))


def _require_secrets(plan: SendPlan) -> None:
    """Secrets the send needs but reads only as recipients are read: asked for before anything goes."""
    if TOKEN_FIELD in plan.campaign.merge_field_names():
        secret(UNSUBSCRIBE_SECRET, "{{unsubscribe_token}} (signed unsubscribe links)")


def approve_issue(workspace: Workspace, issue: str | Path, provider: str | None = None) -> Approval:
    """Record the email as it would leave now (see approval.py): built as plan_send builds it."""
    workspace, build = built_for(workspace, issue, provider)
    return approve(build, campaign_for(build, workspace))


def refuse_on_check_errors(plan: SendPlan, force: bool, progress: Progress = lambda _: None) -> None:
    """A real send runs `newsletter check` first; its errors stop the send unless ``force``."""
    from newsletter.check.checks import check_build

    assert plan.workspace is not None, "plan_send sets the workspace"
    report = check_build(plan.build, plan.workspace, plan.audience)  # the workspace as sent: its links
    errors = [finding for finding in report.findings if finding.severity == "error"]
    for finding in errors:
        progress(str(finding))
    if errors and not force:
        raise SendError(f"not sent: 'newsletter check {plan.build.issue.slug}' found {count(len(errors), 'error')} "
                        "(listed above); fix them, or send anyway with --force")
    if errors:
        progress(f"newsletter: warning: sending despite {count(len(errors), 'check error')} (--force)")


def publish_first(plan: SendPlan, progress: Progress = lambda _: None) -> None:
    """Images and the web version must load before anyone opens the email."""
    from newsletter.publish.site import is_configured, publish, refuse_unready

    workspace = plan.workspace
    assert workspace is not None, "plan_send sets the workspace"
    if is_configured(workspace):
        done = publish(workspace, plan.build.spec.folder)
        progress(f"Published {done.public_url}{plan.build.issue.slug}/: {count(len(done.uploaded.sent), 'file')} "
                 f"uploaded, {len(done.uploaded.unchanged)} unchanged")
    refuse_unready(workspace, plan.build.issue.slug, plan.campaign.html)


def _new_log_key(plan: SendPlan, progress: Progress) -> LogKey:
    env_file = plan.env_file
    assert env_file is not None, "only a send to an audience is logged, and plan_send sets env_file for it"
    key = create_log_key(env_file)
    progress(f"Created {KEY_VARIABLE} in {display_path(env_file)}: the send log keeps recipients as keyed hashes, "
             f"so store the same value as a CI secret named {KEY_VARIABLE}, or a CI send cannot tell who has the issue.")
    return key


def execute(plan: SendPlan, provider: Provider, settings: SendSettings, log: SendLog | None = None,
            progress: Progress = lambda _: None) -> SendResult:
    size = max(1, min(settings.batch_size, provider.max_batch))
    run = plan.history.runs + 1
    keys = _Keys.for_provider(provider, plan.build.issue.slug, log)
    # Batches of unknown fate this provider still keeps the idempotency key of: sent again first,
    # the same readers under the same key (the provider answers as the first time if it took them).
    again = _settle_by_key(plan, keys, progress) if log and keys and not plan.resend_unknown else []
    held_back = plan.held_back - sum(len(batch.recipients) for batch, _ in again)
    count = len(plan.recipients) + sum(len(batch.recipients) for batch, _ in again)
    # Batches are cut per send time: with a local send_at, per moment.
    readers = list(plan.per_time.values()) if plan.schedule else [len(plan.recipients)]
    batches = sum(-(-number // size) for number in readers) + len(again)
    policy = RetryPolicy.from_settings(settings)
    if log:
        source = display_path(plan.audience) if plan.audience else ""
        log.run_started(run, provider.name, source, count, batches)
    workers = max(1, min(settings.concurrency, provider.max_concurrency, batches))
    sender = _Sender(provider.name, policy, log, _serialised(progress), keys)
    outcome = "failed"
    try:
        with provider.open(plan.campaign) as session, cycle_collector_paused():
            sender.send_all(session, _resent_then(again, _in_batches(plan.recipients, size, run, plan.schedule)),
                            workers)
        outcome = "complete" if plan.left_after == 0 and held_back == 0 and plan.later == 0 else "partial"
    except (BatchFailed, RetriesExhausted) as error:
        raise SendError(redact(f"{error}. Sent to {sender.sent} of {count} recipients before that; "
                               + _after_failure(plan, log, error))) from None
    finally:
        if log:
            log.run_ended(run, outcome, sender.sent)
    details = {**session.details(), "batches": batches, "log": str(plan.log) if log else None,
               "held_back": held_back}
    result = SendResult(provider.name, sender.sent, provider.dry_run, details.get("location"), details)
    return replace(result, summary=provider.summary(result))


def _in_batches(recipients: Sized & Iterable[Recipient], size: int, run: int,
                times: LocalSchedule | None = None) -> Iterator[Batch]:
    """Batches numbered ``<run>.<n>`` in audience order, cut as they are needed. With ``times``
    (a local send_at) readers wait in one queue per moment and each batch carries its moment."""
    chunks = recipients.chunks() if isinstance(recipients, Selection) else [list(recipients)]
    waiting: dict[dt.datetime | None, list[Recipient]] = {}
    number = 0
    for chunk in chunks:
        for recipient in chunk:
            waiting.setdefault(times.reader_time(recipient) if times else None, []).append(recipient)
        for moment, queue in waiting.items():
            while len(queue) >= size:
                number += 1
                yield Batch(f"{run}.{number}", queue[:size], send_at=moment)
                del queue[:size]
    for moment, queue in waiting.items():
        if queue:
            number += 1
            yield Batch(f"{run}.{number}", queue, send_at=moment)


def _resent_then(again: list[tuple[Batch, str]], batches: Iterator[Batch]) -> Iterator[tuple[Batch, str]]:
    """The batches sent again under their keys (with when each key was first used), then the new ones."""
    yield from again
    for batch in batches:
        yield batch, ""


# A provider keeps a key for its window from when it first took it; we count from before our
# first request went out, and stop this much earlier still: a clock a little off, a long run.
KEY_MARGIN = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class _Keys:
    """Idempotency keys for a provider that keeps them for ``window``. A logged batch's key comes
    from the issue, its readers' send-log ids and the log key's fingerprint, so sending the same
    readers again reproduces it; a test send (no log) gets a fresh key for each batch."""

    issue: str
    window: dt.timedelta
    log_key: LogKey | None
    logged: bool
    provider: str = ""

    @classmethod
    def for_provider(cls, provider: Provider, issue: str, log: SendLog | None) -> _Keys | None:
        if not provider.idempotent_for:
            return None
        return cls(issue, provider.idempotent_for, log.key if log else None, log is not None, provider.name)

    def key(self, batch: Batch) -> str:
        if not self.logged:
            return f"newsletter/{_key_label(self.issue)}/test/{uuid.uuid4().hex}"
        ids = [self.log_key.id(r.email) if self.log_key else r.email.strip().lower() for r in batch.recipients]
        return batch_key(self.issue, ids, self.log_key.fingerprint if self.log_key else "")

    def fresh(self, since: str, now: dt.datetime | None = None) -> bool:
        """Whether a key first used at ``since`` (a log time) is still kept, with a margin."""
        first = _log_datetime(since)
        return first is not None and (now or clock.now()) - first < self.window - KEY_MARGIN


def batch_key(issue: str, ids: Sequence[str], fingerprint: str) -> str:
    """The idempotency key of the batch of these readers (send-log ids, in order) of ``issue``."""
    digest = hashlib.sha256("\n".join([fingerprint, issue, *ids]).encode("utf-8")).hexdigest()
    return f"newsletter/{_key_label(issue)}/{digest[:48]}"


def _key_label(issue: str) -> str:
    """The issue as a key shows it: ASCII, short."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", issue)[:100]


def _log_datetime(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def settles_by_key(batch: LoggedBatch, provider: Provider | type[Provider], now: dt.datetime | None = None) -> bool:
    """Whether ``provider`` still keeps the key of ``batch`` (of unknown fate), so a send sends it again."""
    if not (batch.key and provider.idempotent_for and batch.provider == provider.name and batch.whole):
        return False
    return _Keys("", provider.idempotent_for, None, True).fresh(batch.key_since, now)


def key_until(batch: LoggedBatch, now: dt.datetime | None = None) -> str | None:
    """Until when a send settles ``batch`` (of unknown fate) by sending it again under its key (None: it does not)."""
    if batch.provider not in PROVIDERS:
        return None
    provider = provider_class(batch.provider)
    first = _log_datetime(batch.key_since)
    if first is None or not settles_by_key(batch, provider, now):
        return None
    return log_time(first + provider.idempotent_for - KEY_MARGIN)


def _settle_by_key(plan: SendPlan, keys: _Keys, progress: Progress) -> list[tuple[Batch, str]]:
    """The batches of unknown fate whose key the provider still keeps, rebuilt as first sent: the
    same readers (read again from the audience, in the same order) under the same key and batch id.
    One that cannot be rebuilt (a reader left the audience or was suppressed), or whose key is too
    old, stays unknown."""
    wanted: dict[str, LoggedBatch] = {}
    for batch in plan.history.unknown:
        if not batch.key or batch.provider != keys.provider:  # only the provider that keeps the key can settle it
            continue
        if not keys.fresh(batch.key_since):
            progress(f"batch {batch.id}: its fate is unknown and its idempotency key was first used at "
                     f"{batch.key_since}, more than {_hours(keys.window - KEY_MARGIN)} ago: the provider no longer "
                     "keeps it, so the batch is not sent again")
        elif batch.whole:
            wanted[batch.id] = batch
    if not wanted or plan.candidates is None:
        return []
    needed = {recipient for batch in wanted.values() for recipient in batch.to}
    found: dict[str, Recipient] = {}
    for chunk in plan.candidates.chunks():
        for recipient in chunk:
            key = plan.history.id(recipient.email)
            if key in needed and key not in found:
                found[key] = recipient
    again = []
    for batch in wanted.values():
        if not all(recipient in found for recipient in batch.to):
            progress(f"batch {batch.id}: its fate is unknown and some of its readers are no longer in the audience "
                     "(or were suppressed), so it cannot be sent again as it was: it stays unknown")
            continue
        recipients = plan.tokens([found[recipient] for recipient in batch.to])
        again.append((Batch(batch.id, recipients, batch.key), batch.key_since))
        progress(f"batch {batch.id}: fate was unknown; sending it again under its idempotency key "
                 "(the provider does not send it twice)")
    return again


def _hours(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} h"


def _serialised(progress: Progress) -> Progress:
    lock = threading.Lock()

    def locked(message: str) -> None:
        with lock:
            progress(message)
    return locked


class _Sender:
    """Hands batches to up to ``workers`` threads. The first batch that fails stops the handing
    out; batches already in flight finish and are logged; then that failure is raised."""

    def __init__(self, provider: str, policy: RetryPolicy, log: SendLog | None, progress: Progress,
                 keys: _Keys | None = None) -> None:
        self.provider, self.policy, self.log, self.progress = provider, policy, log, progress
        self.keys = keys
        self.gate = RateGate()  # a 429 to one worker holds back all of them
        self.sent = 0
        self.counting = threading.Lock()

    def send_all(self, session: Session, batches: Iterator[tuple[Batch, str]], workers: int) -> None:
        """``batches``: each with when its key was first used, if it is being sent again under it."""
        if workers == 1:  # in this thread: the same order, and nothing to coordinate
            for batch, key_since in batches:
                self.sent += self.send(session, batch, key_since)
            return
        failure: BaseException | None = None
        with ThreadPoolExecutor(workers, thread_name_prefix="send") as pool:
            running: set[Future[int]] = set()
            for batch, key_since in batches:
                running.add(pool.submit(self.send, session, batch, key_since))
                if len(running) >= workers:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    failure = self.collect(done, failure)
                    if failure:
                        break
            failure = self.collect(wait(running).done, failure)
        if failure:
            raise failure

    def collect(self, done: set[Future[int]], failure: BaseException | None) -> BaseException | None:
        """Count what ``done`` sent; the first failure seen stays the one raised."""
        for future in done:
            error = future.exception()
            if error is None:
                with self.counting:
                    self.sent += future.result()
            else:
                failure = failure or error
        return failure

    def send(self, session: Session, batch: Batch, key_since: str = "") -> int:
        try:
            return _send_batch(session, batch, self.provider, self.policy, self.log, self.progress, self.gate,
                               self.keys, key_since)
        except (BatchFailed, RetriesExhausted) as error:
            with self.counting:  # what went out before the failure counts (one-by-one providers)
                self.sent += len(error.delivered)
            raise


def _send_batch(session: Session, batch: Batch, provider: str, policy: RetryPolicy, log: SendLog | None,
                progress: Progress, gate: RateGate | None = None, keys: _Keys | None = None,
                key_since: str = "") -> int:
    """``keys``: the provider keeps idempotency keys; ``key_since``: ``batch`` is one of unknown fate
    sent again under its key, first used then."""
    def retrying(failure, attempt: int, delay: float) -> None:
        progress(redact(f"batch {batch.id}: {failure.message}; "
                        f"retry {attempt} of {policy.max_retries} in {delay:.1f} s"))

    per_message = log is not None and session.logs_each_message
    scheduled = log is not None and session.reserves(batch)
    if keys and not batch.key:
        batch = replace(batch, key=keys.key(batch))
    if log:
        log.batch_started(batch, provider, per_message, scheduled, key_since, session.delivers_at(batch))
    if per_message:
        session.journal = _MessageJournal(log, batch)
    # Tries whose fate is unclear; a batch sent again under its key starts with one.
    unclear = _Unclear(keys, key_since or (log_time() if batch.key else ""), bool(key_since))
    try:
        receipt = with_retries(lambda: _attempt(session, batch, log if scheduled else None, unclear), policy,
                               on_retry=retrying, gate=gate)
    except RetriesExhausted as error:
        if unclear.seen and not error.maybe_delivered:
            error = RetriesExhausted(f"{error}; an earlier try of this batch may have been delivered",
                                     TemporaryFailure(str(error), delivered=error.delivered), True)
        if log and error.maybe_delivered:
            log.batch_unknown(batch, str(error))
        elif log:
            log.batch_failed(batch, str(error), error.delivered)
        raise error from None
    except BatchFailed as error:
        if unclear.seen and not error.maybe_delivered:
            error = BatchFailed(f"{error}; an earlier try of this batch may have been delivered", error.delivered,
                                maybe_delivered=True)
        if log and error.maybe_delivered:
            log.batch_unknown(batch, str(error))
        elif log:
            log.batch_failed(batch, str(error), error.delivered)
        raise error from None
    if log:
        log.batch_sent(batch, receipt)
    progress(f"batch {batch.id}: {len(batch.recipients)} sent ({receipt})")
    return len(batch.recipients)


def log_time(now: dt.datetime | None = None) -> str:
    """A time as the send log writes it."""
    return (now or clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Unclear:
    """Whether any try of a batch may have been delivered; with a key the provider still keeps
    (first used at ``since``), such a try is simply tried again under that key."""

    keys: _Keys | None
    since: str
    seen: bool = False

    @property
    def retryable(self) -> bool:
        return bool(self.keys and self.since and self.keys.fresh(self.since))


def _attempt(session: Session, batch: Batch, log: SendLog | None, unclear: _Unclear | None = None) -> str:
    """One try at a batch. Scheduled far enough ahead (``log`` given), each try goes out under a
    fresh provider batch id logged first; a try of unknown fate is cancelled before the next one,
    so a retry can never make a second copy. Under an idempotency key the provider keeps, a try of
    unknown fate is tried again under the same key: the provider answers as the first time."""
    if log is None and batch.key and unclear is not None:
        try:
            return session.send(batch)
        except TemporaryFailure as failure:
            if not failure.maybe_delivered:
                raise
            unclear.seen = True
            if not unclear.retryable:
                raise
            raise TemporaryFailure(f"{failure.message} (trying again under the same idempotency key)",
                                   failure.retry_after, delivered=failure.delivered) from None
    if log is None:
        return session.send(batch)
    reserved = session.reserve(batch)
    log.batch_reserved(batch.id, reserved)
    try:
        return session.send(batch)
    except TemporaryFailure as failure:
        if not failure.maybe_delivered:
            raise
        try:
            session.cancel(reserved)
        except (TemporaryFailure, BatchFailed):
            raise failure from None
        log.batch_cancelled(batch.id, reserved)
        raise TemporaryFailure(f"{failure.message} (its scheduled batch was cancelled; sending again)",
                               failure.retry_after) from None


def cancel_unknown(log: SendLog, provider: Provider, progress: Progress = lambda _: None) -> int:
    """Settle batches of unknown fate that went out under provider batch ids by cancelling those
    ids: their recipients are then simply still to send. Returns how many batches were settled."""
    settled = 0
    for batch in log.state().unknown if provider.can_cancel_scheduled else []:
        if not batch.scheduled:
            continue
        try:
            for reference in batch.open_reservations:
                provider.cancel_scheduled(reference)
                log.batch_cancelled(batch.id, reference)
        except (TemporaryFailure, BatchFailed) as error:
            progress(redact(f"batch {batch.id}: could not cancel its scheduled batch, so its fate stays "
                            f"unknown: {error}"))
            continue
        progress(f"batch {batch.id}: fate was unknown; cancelled its scheduled batch, sending it again")
        settled += 1
    return settled


@dataclass(frozen=True)
class _MessageJournal:
    """For providers that send one message at a time: each message is logged before and
    after it goes, so a crash leaves at most the message in flight of unknown fate."""

    log: SendLog
    batch: Batch

    def started(self, address: str) -> None:
        self.log.message_started(self.batch, address)

    def sent(self, address: str) -> None:
        self.log.message_sent(self.batch, address)


def _after_failure(plan: SendPlan, log: SendLog | None, error: Exception) -> str:
    if log is None:
        return "nothing was recorded (not a real send)"
    if getattr(error, "maybe_delivered", False):
        return ("that batch may have been delivered, so it is held back: check the provider's activity, "
                f"then 'newsletter send {plan.build.issue.slug} --send --resend-unknown' if it was not")
    return "the send log has it: fix the cause and run the same command again to send the rest"


@dataclass(frozen=True)
class IssueStatus:
    issue: str
    subject: str
    audience: Path | None
    recipients: int | None  # in the audience, after suppressions (None: no audience)
    suppressed: int
    skipped_rows: int
    sent: int  # confirmed, all time
    left: int | None
    unknown: list[dict]
    unknown_recipients: int  # whose copy may or may not have gone out: never "complete" while any
    runs: int
    last_sent: str | None
    complete: bool
    send_at: dt.datetime | None  # a local send_at: its earliest reader's moment
    due: bool
    send_at_local: str | None = None  # send_at written as a local time, as written
    zones: list[ZoneCount] = field(default_factory=list)  # a local send_at: who is pending, per zone
    deliveries: list[dict] = field(default_factory=list)  # held by the provider until later: when, how many

    def to_dict(self) -> dict:
        data = {key: getattr(self, key) for key in self.__dataclass_fields__}
        data["audience"] = display_path(self.audience) if self.audience else None
        data["send_at"] = self.send_at.isoformat() if self.send_at else None
        data["zones"] = [zone.to_dict() for zone in self.zones]
        return data


def issue_status(workspace: Workspace, issue: str | Path, audience: Path | None = None,
                 now: dt.datetime | None = None, provider: str | None = None) -> IssueStatus:
    """What the send log says, against the audience as it is now. Builds nothing."""
    spec = read_issue(workspace.issue_path(issue), workspace.cache_dir)
    history = read_history(spec.folder)
    source = audience_file(workspace, spec, audience)
    recipients = left = None
    suppressed = skipped = 0
    if source is not None:
        scanned = scan_audience(source, skip_bad_rows=True, blocked=suppressions(workspace))
        recipients, skipped, suppressed = scanned.count, len(scanned.bad_rows), scanned.suppressed
        left = len(_select(scanned, history, None, False)["recipients"])
    now = now or clock.now()
    unknown = [{"batch": b.id, "started": b.started, "provider": b.provider, "count": len(b.to),
                "first": b.first, "note": b.note, "cancellable": bool(b.open_reservations),
                "resent_until": key_until(b, now)} for b in history.unknown]
    zones: list[ZoneCount] = []
    send_at = spec.send_at
    if spec.send_local:
        schedule = LocalSchedule(spec.send_local, source)
        readers = list(scanned.zoned()) if source is not None else []
        zones = zone_counts(schedule, readers, history.sent, history.unknown_addresses, history.id)
        send_at = schedule.earliest(zone for _, _, zone in readers)
    return IssueStatus(spec.slug, spec.subject, source, recipients, suppressed, skipped, len(history.sent), left,
                       unknown, len(history.unknown_addresses), history.runs, history.last_sent, history.complete, send_at,
                       is_due(send_at, history.complete, due_window(workspace, provider), now),
                       spec.send_local.text if spec.send_local else None, zones, _deliveries(history, now))


def _deliveries(history: LogState, now: dt.datetime) -> list[dict]:
    """Recipients the provider holds until later (scheduled, held, or at a local send time), per delivery time."""
    waiting = sorted((when, count) for when, count in history.deliveries.items()
                     if (_log_datetime(when) or now) > now)
    return [{"send_at": when, "recipients": count} for when, count in waiting]


def first_send_time(workspace: Workspace, spec: IssueSpec, audience: Path | None = None) -> dt.datetime | None:
    """When the issue first goes out: its send_at, or for a local send_at its earliest reader's moment."""
    if spec.send_local is None:
        return spec.send_at
    source = audience_file(workspace, spec, audience)
    zones = (zone for _, _, zone in scan_audience(source, skip_bad_rows=True).zoned()) if source else ()
    return LocalSchedule(spec.send_local, source).earliest(zones)


def due_issues(workspace: Workspace, now: dt.datetime | None = None,
               provider: str | None = None) -> tuple[list[Path], list[InputError]]:
    """Issues that are due (see ``due_window``) and that no run has finished sending, oldest
    first; and the issue files that could not be read (reported, not fatal for the others)."""
    window = due_window(workspace, provider)
    due: list[tuple[dt.datetime, Path]] = []
    problems: list[InputError] = []
    for path in sorted(workspace.issues_dir.glob("*/issue.md")):
        try:
            spec = read_issue(path, workspace.cache_dir)
        except InputError as error:
            problems.append(error)
            continue
        logged = read_log(log_path(spec.folder))
        if not spec.schedule_text or logged.cancelled_send_at == spec.schedule_text or logged.complete:
            continue
        try:
            first = first_send_time(workspace, spec)
        except InputError as error:
            problems.append(error)
            continue
        if is_due(first, logged.complete, window, now):
            due.append((first, path))
    return [path for _, path in sorted(due)], problems




@dataclass(frozen=True)
class CancelResult:
    issue: str
    send_at: dt.datetime | None
    cancelled: list[str]  # our batch ids whose scheduled mail was called back
    too_late: bool  # every batch's send time is closer than the provider allows a cancel
    deadline: dt.timedelta  # how long before send_at the provider stops taking cancels
    late: list[str] = field(default_factory=list)  # batches too close to their own send time: they go out
    schedule: str | None = None  # send_at as written (a local time, or the moment)

    def to_dict(self) -> dict:
        return {"issue": self.issue, "send_at": self.send_at.isoformat() if self.send_at else None,
                "send_at_written": self.schedule, "cancelled": self.cancelled, "too_late": self.too_late,
                "too_late_batches": self.late}


def cancel_issue(workspace: Workspace, issue: str | Path, now: dt.datetime | None = None,
                 confirm: Callable[[int], None] = lambda _: None) -> CancelResult:
    """Call back every scheduled batch of the issue while the provider still allows it: until its
    deadline before the batch's own send time (each reader's, for a local send_at). Its
    recipients are then not sent; ``send --due`` leaves the issue alone until its send_at changes."""
    spec = read_issue(workspace.issue_path(issue), workspace.cache_dir)
    path, key = log_path(spec.folder), current_log_key()
    state = read_log(path, key)
    if not state.scheduled:
        raise InputError(spec.path, "nothing to cancel: no batch of this issue is waiting at a provider "
                         "(only mail a provider holds until send_at can be called back)")
    now = now or clock.now()
    provider = get_provider(state.providers[-1], workspace)
    if not provider.can_cancel_scheduled:
        raise InputError(spec.path, f"{provider.name} cannot call back mail it has taken")

    def in_time(batch: LoggedBatch) -> bool:
        when = _log_datetime(batch.send_at) if batch.send_at else spec.send_at
        return when is not None and when - now >= provider.cancel_deadline

    result = CancelResult(spec.slug, spec.send_at, [], True, provider.cancel_deadline, schedule=spec.schedule_text)
    if not any(map(in_time, state.scheduled)):
        return result
    confirm(sum(len(batch.to) for batch in state.scheduled if in_time(batch)))
    cancelled, late = [], []
    with SendLog.locked(path, key) as log:
        check_log_key(log.state(), key, path)
        for batch in log.state().scheduled:
            if not in_time(batch):
                late.append(batch.id)
                continue
            for reservation in batch.open_reservations:
                provider.cancel_scheduled(reservation)
                log.batch_cancelled(batch.id, reservation)
            cancelled.append(batch.id)
        log.issue_cancelled(spec.schedule_text or "", len(cancelled))
    return replace(result, cancelled=cancelled, too_late=False, late=late)
