"""SendGrid through the official ``sendgrid`` library: one v3 mail/send request per batch.

Settings: ``[send.sendgrid]`` (``host``; ``SENDGRID_API_HOST`` overrides it;
``unsubscribe_group``, an ASM group id). Secret: ``SENDGRID_API_KEY``. The HTML is rendered once; recipients are personalizations with
substitutions. Rules from the API (and anymail's SendGrid backend): ``content`` lists
text/plain before text/html; ``custom_args`` and header values are strings; at most 1,000
personalizations per request; display names holding ``,`` or ``;`` are quoted.

The library neither retries nor times out by default: the session sets the timeout and turns
429, 5xx and network failures into TemporaryFailure for the caller's backoff, and any other
4xx into BatchFailed carrying SendGrid's own message.

Each batch is delivered at its own time (``SendGridBody.delivery``): its readers' own moment for
a send_at written as a local time (``Batch.send_at``), else the issue's send_at, else now (held
for ``hold``, when set). A batch delivered more than 15 minutes ahead goes out under a fresh
SendGrid batch id, cancellable until 10 minutes before that batch's own send_at.

Reading back (``pull_suppressions``, ``category_stats``) uses the same client with the same
retry policy as sending: a 429 waits for ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import datetime as dt
import html
import http.client
import json
import logging
import os
import re
import socket
import threading
import urllib.error
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from newsletter import clock
from newsletter.compose.audience import Batch, Recipient
from newsletter.deliver.providers import BatchFailed, HostedUnsubscribe, Provider, SendResult, Session
from newsletter.deliver.retry import RetryPolicy, TemporaryFailure, requested_wait, with_retries
from newsletter.deliver.settings import SendSettings
from newsletter.deliver.suppressions import Suppression
from newsletter.errors import InputError, SendError
from newsletter.render.message import MERGE_FIELD, Campaign, fill, mark_url_fields, url_field_starts, url_value
from newsletter.secrets import redact, secret

if TYPE_CHECKING:
    from python_http_client.exceptions import HTTPError
    from sendgrid import SendGridAPIClient

    from newsletter.workspace import Workspace

DEFAULT_HOST = "https://api.sendgrid.com"
API_KEY = "SENDGRID_API_KEY"


@dataclass(frozen=True)
class SendGridSettings:
    host: str = DEFAULT_HOST  # SENDGRID_API_HOST in the environment overrides it
    unsubscribe_group: int = 0  # an ASM group id: SendGrid hosts the unsubscribe page and keeps the list
    # Hold immediate sends this long ("11m", "1h"): SendGrid delivers them then, and until 10 minutes
    # before that a batch of unknown fate is cancelled and sent again (exactly once). Empty: off.
    hold: str = ""


MAX_PERSONALIZATIONS = 1000
ASM_TAG = "<%asm_group_unsubscribe_raw_url%>"  # SendGrid fills it per recipient (links and headers)
# What an email built for a group shows until this provider swaps the tag in (preview, dry run):
# plainly fake, and .invalid never resolves.
ASM_PLACEHOLDER = "https://sendgrid-replaces-this.invalid/group-unsubscribe-link"
MAX_SCHEDULE = dt.timedelta(hours=72)  # SendGrid holds scheduled mail at most this long
# SendGrid cancels a scheduled batch only up to 10 minutes before its send_at; from this far
# ahead each batch gets its own SendGrid batch id, so a resumed run can cancel one of unknown fate.
BATCH_ID_LEAD = dt.timedelta(minutes=15)
CANCEL_DEADLINE = dt.timedelta(minutes=10)  # SendGrid takes no cancel closer to send_at
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*")


def hold_time(text: str, workspace: Workspace) -> dt.timedelta:
    """``[send.sendgrid] hold``: "11m", "1h", "90s" (minutes when no unit), more than SendGrid's
    10-minute cancel deadline and at most its 72 hours."""
    if not text:
        return dt.timedelta(0)
    match = _DURATION.fullmatch(text)
    seconds = float(match[1]) * {"s": 1, "m": 60, "": 60, "h": 3600}[match[2]] if match else -1
    if not CANCEL_DEADLINE < dt.timedelta(seconds=seconds) <= MAX_SCHEDULE:
        raise InputError(workspace.settings_path, f"[send.sendgrid] hold = {text!r}: give a time over 10 minutes "
                         "(SendGrid takes cancels until 10 minutes before delivery) and at most 72 hours, e.g. \"11m\"",
                         workspace.settings_line("send.sendgrid", "hold"))
    return dt.timedelta(seconds=seconds)


def _address(email: str, name: str = "") -> dict[str, str]:
    if not name:
        return {"email": email}
    if "," in name or ";" in name:
        name = '"{}"'.format(name.replace("\\", "\\\\").replace('"', '\\"'))
    return {"email": email, "name": name}


def _text_key(name: str) -> str:
    return f"{{{{{name}:text}}}}"


class SendGridBody:
    """Builds each batch's request from the parts every batch shares, computed once."""

    def __init__(self, campaign: Campaign, now: dt.datetime | None = None, sandbox: bool = False,
                 unsubscribe_group: int = 0, hold: dt.timedelta = dt.timedelta(0)) -> None:
        self.campaign = campaign
        self.field_names = sorted(campaign.merge_field_names())
        # A value inside a link goes in percent-encoded, under its own key.
        self.html, self.text = (_asm_links(mark_url_fields(part), unsubscribe_group)
                                for part in (campaign.html, campaign.text))
        self.url_names = {name for part in (campaign.html, campaign.text) for name in _url_field_names(part)}
        plain = set(MERGE_FIELD.findall(campaign.subject + self.html + self.text))
        self.keys = {name: f"{{{{{name}}}}}" for name in self.field_names if name in plain}
        self.headers = {key: _Template(_asm_links(value, unsubscribe_group)) for key, value in campaign.headers.items()}
        self.url_names_anywhere = self.url_names.union(*(t.url_names for t in self.headers.values()))
        # Per field, worked out once: its key in the HTML part (if used there) and its link key (if in a link).
        self.substituted = [(name, self.keys.get(name), f"{{{{{name}:url}}}}" if name in self.url_names else None)
                            for name in self.field_names]
        self.varying_headers = {key: template for key, template in self.headers.items() if not template.constant}
        self.constant_headers = {key: template.text for key, template in self.headers.items() if template.constant}
        name, address = campaign.sender_address
        self.base: dict = {"from": _address(address, name)}
        if unsubscribe_group:
            self.base["asm"] = {"group_id": unsubscribe_group}
        if campaign.reply_to:
            self.base["reply_to"] = _address(campaign.reply_to)
        self.base["categories"] = list(campaign.categories)
        self.opened = now or clock.now()
        self.sandbox = sandbox
        # An immediate send goes out held until then (one time for the whole run), when ``hold`` is set.
        self.held_until = self.opened + hold if hold and not sandbox else None
        if sandbox:
            self.base["mail_settings"] = {"sandbox_mode": {"enable": True}}

    def delivery(self, send_at: dt.datetime | None = None) -> tuple[dt.datetime | None, bool]:
        """When SendGrid delivers a batch that should go out at ``send_at`` (its readers' own local
        time, else the issue's send_at; None: now), and whether a try at it can still be cancelled
        (it then goes out under a batch id). A time already past is now: held, if ``hold`` is set."""
        now = clock.now()
        target = send_at or self.campaign.send_at
        if target and target > now:
            return target, not self.sandbox and target - now > BATCH_ID_LEAD
        if self.held_until:
            return self.held_until, self.held_until - now > CANCEL_DEADLINE
        return None, False

    def request(self, recipients: Sequence[Recipient], batch_id: str | None = None,
                sendgrid_batch: str | None = None, send_at: dt.datetime | None = None) -> dict:
        if not 0 < len(recipients) <= MAX_PERSONALIZATIONS:
            raise ValueError(f"a request holds 1 to {MAX_PERSONALIZATIONS} recipients, not {len(recipients)}")
        # A value such as "Tom & Jerry" must be escaped in the HTML part but not in the text part
        # or the subject; those then use a second key for that field, in this request only.
        values = [recipient.merge_fields for recipient in recipients]
        text_keys = _changed_by_escaping(values, self.field_names)
        subject, text = self.campaign.subject, self.text
        if text_keys:
            subject, text = (_rename_fields(part, text_keys) for part in (subject, text))
        custom_args = {"issue": self.campaign.slug}
        if batch_id:
            custom_args["batch"] = batch_id
        scheduling = {"batch_id": sendgrid_batch} if sendgrid_batch else {}
        deliver_at, _ = self.delivery(send_at)
        if deliver_at:
            scheduling["send_at"] = int(deliver_at.timestamp())
        return {
            "personalizations": [self.personalization(r, v, text_keys) for r, v in zip(recipients, values)],
            **self.base,
            **scheduling,
            "subject": subject,
            "content": [{"type": "text/plain", "value": text}, {"type": "text/html", "value": self.html}],
            "custom_args": custom_args,
        }

    def personalization(self, recipient: Recipient, values: dict[str, str], text_keys: set[str]) -> dict:
        """Runs for every recipient (a million in a large send): what is the same for all is worked out once."""
        entry: dict = {"to": [_address(recipient.email, recipient.name)]}
        # Percent-encoded once: a value in a link is often in the unsubscribe header too.
        urls = {name: url_value(values[name]) for name in self.url_names_anywhere if name in values}
        substitutions = {}
        for name, key, url_key in self.substituted:
            if name not in values:
                continue
            value = str(values[name])
            if key:
                substitutions[key] = html.escape(value) if name in text_keys else value
            if text_keys and name in text_keys:
                substitutions[_text_key(name)] = value
            if url_key:
                substitutions[url_key] = urls[name]
        if substitutions:
            entry["substitutions"] = substitutions
        # Per recipient: the unsubscribe link carries the address or its token.
        if self.headers:
            entry["headers"] = {key: template.fill(values, urls) for key, template in self.varying_headers.items()}
            entry["headers"].update(self.constant_headers)
        return entry


class _Template:
    """A text with merge fields, compiled once to a format string: filling it for each of
    100,000 recipients is then one ``format_map`` instead of a regular-expression pass."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts, end = [], 0
        in_url = url_field_starts(text)
        self.url_names = _url_field_names(text)
        for match in MERGE_FIELD.finditer(text):
            key = f"url__{match.group(1)}" if match.start() in in_url else match.group(1)
            parts += [_brace_escaped(text[end:match.start()]), f"{{{key}}}"]
            end = match.end()
        self.format = "".join(parts) + _brace_escaped(text[end:])
        self.constant = not parts  # no merge field (List-Unsubscribe-Post): the same for everyone
        self.url_keys = [(name, f"url__{name}") for name in sorted(self.url_names)]

    def fill(self, values: dict[str, str], urls: dict[str, str]) -> str:
        """``urls``: the values of (at least) this text's link fields, percent-encoded."""
        if self.constant:
            return self.text
        if self.url_keys:
            values = dict(values)
            for name, key in self.url_keys:
                if name in urls:
                    values[key] = urls[name]
        try:
            return self.format.format_map(values)
        except KeyError:  # a field this recipient has no value for stays as written
            return fill(self.text, values)


def _url_field_names(template: str) -> set[str]:
    starts = url_field_starts(template)
    return {m.group(1) for m in MERGE_FIELD.finditer(template) if m.start() in starts}


def _asm_links(text: str, group: int) -> str:
    """With an unsubscribe group, the placeholder link becomes SendGrid's per-recipient tag."""
    return text.replace(ASM_PLACEHOLDER, ASM_TAG) if group else text


def _brace_escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_HTML_SPECIAL = re.compile(r"[&<>\"']")


def _changed_by_escaping(values: list[dict[str, str]], names: Sequence[str]) -> set[str]:
    return {name for row in values for name in names if name in row and _HTML_SPECIAL.search(row[name])}


def _rename_fields(template: str, names: set[str]) -> str:
    return MERGE_FIELD.sub(lambda m: _text_key(m.group(1)) if m.group(1) in names else m.group(0), template)


class SendGridProvider(Provider):
    name = "sendgrid"
    Settings = SendGridSettings
    max_batch = MAX_PERSONALIZATIONS
    max_concurrency = 8  # requests in flight; SendGrid's rate limits answer 429, which all workers honour
    max_schedule = MAX_SCHEDULE
    fills_hosted_unsubscribe = True
    can_cancel_scheduled = True
    cancel_deadline = CANCEL_DEADLINE
    local_send_times = True  # each batch carries its own send_at
    can_pull_suppressions = True
    can_report = True
    dkim_selectors = ("s1", "s2")  # the CNAMEs of its automated security (domain authentication)

    def __init__(self, api_key: str, host: str = DEFAULT_HOST, timeout: float = 30.0, sandbox: bool = False,
                 unsubscribe_group: int = 0, hold: dt.timedelta = dt.timedelta(0),
                 policy: RetryPolicy = RetryPolicy()) -> None:
        self.api_key = api_key
        self.policy = policy
        self.unsubscribe_group = unsubscribe_group
        self.hold = hold
        self.delivers_at: dt.datetime | None = None  # a held send's delivery time, once open
        # The library appends /v3 itself.
        self.host = host.rstrip("/").removesuffix("/v3")
        self.timeout = timeout
        self.sandbox = sandbox
        self.dry_run = sandbox  # sandbox mode: SendGrid validates and answers, delivers nothing

    @classmethod
    def from_workspace(cls, workspace: Workspace, sandbox: bool = False) -> SendGridProvider:
        own = workspace.provider_settings(cls.name, SendGridSettings)
        host = os.environ.get("SENDGRID_API_HOST") or own.host or DEFAULT_HOST
        send = workspace.table(SendSettings)
        return cls(secret(API_KEY, "the sendgrid provider"), host, send.timeout, sandbox, own.unsubscribe_group,
                   hold_time(own.hold, workspace), RetryPolicy.from_settings(send))

    @classmethod
    def hosted_unsubscribe(cls, workspace: Workspace) -> HostedUnsubscribe | None:
        """With ``unsubscribe_group``, SendGrid hosts the unsubscribe page and keeps the list."""
        group = workspace.provider_settings(cls.name, SendGridSettings).unsubscribe_group
        if not group:
            return None
        return HostedUnsubscribe(ASM_PLACEHOLDER, "sendgrid-group", (
            f"SendGrid unsubscribe group {group}: SendGrid hosts the unsubscribe page and one-click link, "
            "and keeps the list (pull it with 'newsletter suppressions pull'); unsubscribe_url is not used"))

    def summary(self, result: SendResult) -> str:
        if self.sandbox:
            return (f"Sandbox: sendgrid accepted {result.accepted:,} recipients in "
                    f"{result.details.get('requests', 0):,} requests; nothing was delivered.")
        when = self.delivers_at
        if when and result.details.get("held"):
            return (f"Sent to {result.accepted:,} recipients via sendgrid, held until {when:%Y-%m-%d %H:%M} UTC: "
                    f"SendGrid delivers them then; a run of unknown fate is settled until "
                    f"{when - CANCEL_DEADLINE:%H:%M} UTC (send again before then).")
        return ""

    def client(self) -> SendGridAPIClient:
        from sendgrid import SendGridAPIClient  # loaded only when SendGrid is used

        # python_http_client logs every request's headers, the API key included, at DEBUG level.
        logging.getLogger("python_http_client.client").setLevel(logging.INFO)
        client = SendGridAPIClient(self.api_key, host=self.host)
        client.client = _unredirected(client.client)
        client.client.timeout = self.timeout
        return client

    @contextmanager
    def open(self, campaign: Campaign) -> Iterator[SendGridSession]:
        body = SendGridBody(campaign, sandbox=self.sandbox, unsubscribe_group=self.unsubscribe_group, hold=self.hold)
        self.delivers_at = body.held_until
        yield SendGridSession(self.client, body, self.host, self.policy)

    def pull_suppressions(self, since: dt.datetime | None, policy: RetryPolicy,
                          progress: Callable[[str], None] = lambda _: None) -> list[Suppression]:
        """Every global list created since ``since`` (all when None), page by page, then the
        unsubscribe group's members (that endpoint has neither dates nor pages)."""
        reader = _Reader(self.client(), policy, progress)
        rows = []
        for name, reason in SUPPRESSION_LISTS.items():
            query = {"start_time": int(since.timestamp())} if since else {}
            for item in reader.pages(("suppression", name), query):
                rows.append(Suppression(item["email"], _reason(reason, item), _day(item.get("created")),
                                        f"sendgrid:{name}"))
        if self.unsubscribe_group:
            group = self.unsubscribe_group
            for email in reader.get(("asm", "groups", str(group), "suppressions")):
                rows.append(Suppression(email, f"unsubscribe (group {group})", "", f"sendgrid:group {group}"))
        return rows

    def category_stats(self, category: str, start: dt.date, policy: RetryPolicy) -> dict[str, int]:
        """The category's metrics summed over the days since ``start``."""
        days = _Reader(self.client(), policy).get(("categories", "stats"),
                                                  {"categories": category, "start_date": start.isoformat()})
        totals: dict[str, int] = {}
        for day in days:
            for entry in day.get("stats", []):
                for metric, value in (entry.get("metrics") or {}).items():
                    totals[metric] = totals.get(metric, 0) + int(value or 0)
        return totals

    def cancel_scheduled(self, reference: str) -> None:
        """Cancel a scheduled batch: whatever was sent under its id is never delivered."""
        cancel_batch(self.client(), reference, self.policy)


def _unredirected(http_client):
    """python_http_client's client with urllib's redirect handling taken out. urllib follows a
    302 as a GET, Authorization header and all, to whatever origin it names: the API key would go
    there and the mail would not. A redirect is an HTTP error here, which says so."""
    import urllib.request

    from python_http_client import Client

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None  # urllib then raises the 3xx as an HTTPError

    class UnredirectedClient(Client):
        def _build_client(self, name=None):
            return _unredirected(super()._build_client(name))

        def _make_request(self, opener, request, timeout=None):
            return super()._make_request(urllib.request.build_opener(NoRedirect), request, timeout)

    clone = UnredirectedClient(host=http_client.host, request_headers=http_client.request_headers,
                               version=http_client._version, url_path=http_client._url_path,
                               append_slash=http_client.append_slash, timeout=http_client.timeout)
    return clone


class SendGridSession(Session):
    """Shared by the send's worker threads. Each thread gets its own client: the library keeps
    per-request state (headers, the URL it builds) on the client object."""

    def __init__(self, new_client: Callable[[], SendGridAPIClient], body: SendGridBody, host: str = "",
                 policy: RetryPolicy = RetryPolicy()) -> None:
        self.new_client = new_client
        self.policy = policy  # for cancels, which are safe to try again
        self.host = host
        self.body = body
        self.requests = 0
        self.held = 0  # recipients whose batches went out held (``hold``)
        self.reserved: dict[str, str] = {}  # our batch id -> the SendGrid batch id it goes out under
        self.lock = threading.Lock()
        self.local = threading.local()

    @property
    def client(self) -> SendGridAPIClient:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = self.new_client()
        return client

    def reserves(self, batch: Batch) -> bool:
        return self.body.delivery(batch.send_at)[1]

    def delivers_at(self, batch: Batch) -> dt.datetime | None:
        return self.body.delivery(batch.send_at)[0]

    def reserve(self, batch: Batch) -> str | None:
        """For a batch delivered far enough ahead, a fresh SendGrid batch id for the next attempt at
        it (the caller logs it before sending); otherwise None."""
        if not self.reserves(batch):
            return None
        reserved = new_batch_id(self.client)
        with self.lock:
            self.reserved[batch.id] = reserved
        return reserved

    def cancel(self, sendgrid_batch: str) -> None:
        cancel_batch(self.client, sendgrid_batch, self.policy)

    def send(self, batch: Batch) -> str:
        from python_http_client.exceptions import HTTPError

        with self.lock:
            sendgrid_batch = self.reserved.get(batch.id)
        request = self.body.request(batch.recipients, batch.id, sendgrid_batch, batch.send_at)
        try:
            response = self.client.send(request)
        except HTTPError as error:
            raise _classify(error, batch) from None
        except urllib.error.URLError as error:
            # Refused or the name did not resolve: nothing went out.
            where = f"SendGrid at {self.host} (SENDGRID_API_HOST, or [send.sendgrid] host)"
            if isinstance(error.reason, socket.gaierror):  # a wrong name does not get right by waiting
                raise BatchFailed(f"{where} does not resolve: {error.reason}; batch {batch.id} not sent") from None
            not_sent = isinstance(error.reason, ConnectionRefusedError)
            raise TemporaryFailure(f"{where} unreachable: {error.reason}", maybe_delivered=not not_sent) from None
        except (OSError, http.client.HTTPException) as error:
            # Timed out or cut off after the request went out: SendGrid may have accepted it.
            raise TemporaryFailure(f"SendGrid did not answer: {error or type(error).__name__}",
                                   maybe_delivered=True) from None
        deliver_at, _ = self.body.delivery(batch.send_at)
        with self.lock:
            self.requests += 1
            self.held += len(batch.recipients) if deliver_at and deliver_at == self.body.held_until else 0
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return f"{response.status_code}" + (f" X-Message-Id {message_id}" if message_id else "")

    def details(self) -> dict:
        return {"requests": self.requests, "held": self.held}


SUPPRESSION_LISTS = {"bounces": "bounce", "blocks": "block", "spam_reports": "spam report",
                     "invalid_emails": "invalid address", "unsubscribes": "unsubscribe (all mail)"}
PAGE_SIZE = 500  # SendGrid's largest page for the suppression lists


class _Reader:
    """GET requests with retries; ``pages`` follows limit/offset until a short page."""

    def __init__(self, client: SendGridAPIClient, policy: RetryPolicy,
                 progress: Callable[[str], None] = lambda _: None) -> None:
        self.client, self.policy, self.progress = client, policy, progress

    def pages(self, path: tuple[str, ...], query: dict) -> Iterator[dict]:
        offset = 0
        while True:
            page = self.get(path, {**query, "limit": PAGE_SIZE, "offset": offset})
            yield from page
            if len(page) < PAGE_SIZE:
                return
            offset += len(page)

    def get(self, path: tuple[str, ...], query: dict | None = None) -> Any:
        endpoint = self.client.client
        for part in path:
            endpoint = endpoint._(part)
        where = "/v3/" + "/".join(path)

        def attempt() -> Any:
            from python_http_client.exceptions import HTTPError

            try:
                response = endpoint.get(query_params=query)
            except HTTPError as error:
                raise _read_failure(error, where) from None
            except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
                raise TemporaryFailure(f"SendGrid did not answer GET {where}: {error}") from None
            return json.loads(response.body or b"[]")

        def waiting(failure: TemporaryFailure, attempt: int, delay: float) -> None:
            self.progress(f"{failure.message}; retry {attempt} of {self.policy.max_retries} in {delay:.1f} s")

        return with_retries(attempt, self.policy, on_retry=waiting)


def _read_failure(error: HTTPError, where: str) -> Exception:
    status = error.status_code
    message = redact(f"SendGrid answered {status} {error.reason} to GET {where}{_explanation(error)}")
    if status == 429:
        return TemporaryFailure(message, retry_after=requested_wait(error.headers or {}))
    if status >= 500:
        return TemporaryFailure(message)
    if status in (401, 403):
        message += " (the API key needs read access to Suppressions and Stats)"
    return SendError(message)


def _reason(kind: str, item: dict) -> str:
    detail = " ".join(str(item.get("reason") or "").split())
    return f"{kind}: {detail}"[:200] if detail else kind


def _day(created: object) -> str:
    try:
        return dt.datetime.fromtimestamp(int(created), dt.timezone.utc).date().isoformat()
    except (TypeError, ValueError):
        return ""


def new_batch_id(client: SendGridAPIClient) -> str:
    """POST /v3/mail/batch. Creating an id sends nothing, so any failure is safe to retry."""
    response = _call(lambda: client.client.mail.batch.post(), "creating a batch id")
    try:
        return str(json.loads(response.body)["batch_id"])
    except (ValueError, KeyError, TypeError):
        raise TemporaryFailure(f"SendGrid answered {response.status_code} without a batch_id") from None


def cancel_batch(client: SendGridAPIClient, sendgrid_batch: str, policy: RetryPolicy) -> None:
    """POST /v3/user/scheduled_sends with status cancel, tried again while SendGrid does not answer
    or answers 429/5xx. A cancel is safe to repeat, but SendGrid refuses a second status for a
    batch id, and an earlier try (this run's, or a killed run's) may have been taken: a refusal is
    checked against the status SendGrid keeps (GET /v3/user/scheduled_sends/{batch_id})."""
    def attempt() -> None:
        try:
            _call(lambda: client.client.user.scheduled_sends.post(request_body={"batch_id": sendgrid_batch,
                                                                                "status": "cancel"}),
                  f"cancelling batch {sendgrid_batch}")
        except BatchFailed:
            if _batch_status(client, sendgrid_batch, policy) != "cancel":
                raise

    with_retries(attempt, policy)


def _batch_status(client: SendGridAPIClient, sendgrid_batch: str, policy: RetryPolicy) -> str:
    """"cancel", "pause", or "" when SendGrid keeps no status for the batch id."""
    try:
        found = _Reader(client, policy).get(("user", "scheduled_sends", sendgrid_batch))
    except SendError:  # 404 (no status kept), or no answer after the retries: the refusal stands
        return ""
    entries = found if isinstance(found, list) else [found]
    return next((str(e.get("status", "")) for e in entries if isinstance(e, dict)
                 and e.get("batch_id") == sendgrid_batch), "")


def _call(request, what: str):
    from python_http_client.exceptions import HTTPError

    try:
        return request()
    except HTTPError as error:
        message = redact(f"SendGrid answered {error.status_code} {error.reason}{_explanation(error)} ({what})")
        if error.status_code == 429 or error.status_code >= 500:
            raise TemporaryFailure(message, retry_after=requested_wait(error.headers or {})) from None
        raise BatchFailed(message) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise TemporaryFailure(f"SendGrid did not answer ({what}): {error}") from None


def _classify(error: HTTPError, batch: Batch) -> Exception:
    status = error.status_code
    message = redact(f"SendGrid answered {status} {error.reason}{_explanation(error)}")
    headers = error.headers or {}
    if status == 429:
        return TemporaryFailure(message, retry_after=requested_wait(headers))
    if status >= 500:
        return TemporaryFailure(message)
    if 300 <= status < 400:
        where = (error.headers or {}).get("Location", "elsewhere")
        message = redact(f"SendGrid's host answered {status} and points to {where}: redirects are not followed "
                         "(the API key goes to the configured host only); check SENDGRID_API_HOST or "
                         "[send.sendgrid] host")
    if status in (401, 403):
        message += " (SendGrid refused SENDGRID_API_KEY: set a key with Mail Send access in .env or the CI secrets)"
    return BatchFailed(f"{message} (batch {batch.id} not sent)")


def _explanation(error: HTTPError) -> str:
    """SendGrid's ``errors`` list, e.g. ``: personalizations.0.to: invalid email``."""
    try:
        problems = error.to_dict.get("errors") or []
    except (ValueError, AttributeError, UnicodeDecodeError):
        body = (error.body or b"")[:200]
        return f": {body.decode('utf-8', 'replace')}" if body else ""
    if not isinstance(problems, list):  # not the documented shape: show the body as it came
        body = (error.body or b"")[:200]
        return f": {body.decode('utf-8', 'replace')}" if body else ""
    texts = [f"{p['field']}: {p.get('message', '')}" if p.get("field") else str(p.get("message", ""))
             for p in problems if isinstance(p, dict)]
    return f": {'; '.join(texts)}" if texts else ""
