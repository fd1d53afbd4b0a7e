"""Resend through its HTTP API: one ``POST /emails/batch`` of at most 100 messages per batch.

Settings: ``[send.resend]`` (``host``; ``RESEND_API_HOST`` overrides it, for tests). Secret:
``RESEND_API_KEY``. Each reader gets a whole message in the batch, merge fields filled
(subject, HTML, text and the ``List-Unsubscribe`` headers, written as they are), tagged with
the issue (a test copy with the test categories, so it never counts as the issue).

Resend keeps an ``Idempotency-Key`` for 24 hours: the same key with the same body replays the
first answer and sends nothing again. The sender gives every batch a key (``Batch.key``, logged
before the request) and this provider declares ``idempotent_for``, so a try of unknown fate (a
timeout, a connection dropped after the body went out, a 5xx) is tried again under the same key,
in the same run or by a run resumed within that window. Answers:

- 409 ``concurrent_idempotent_requests``: the first try under the key is still running; retried.
- 409 ``invalid_idempotent_request``: Resend has another body under the key (the issue or the
  readers changed since the batch was first tried): an error, and the batch may have gone out.
- 429: retried after ``retry-after``; a used-up daily or monthly quota is an error.
- 401/403, 4xx, a redirect: errors, nothing sent; a redirect is never followed (the key goes to
  the configured host only).

The batch endpoint cannot schedule (``max_schedule`` is zero): a future ``send_at`` is refused
before anything goes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from newsletter.compose.audience import Batch, Recipient
from newsletter.deliver.providers import BatchFailed, Provider, SendResult, Session
from newsletter.deliver.retry import TemporaryFailure, requested_wait
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError
from newsletter.render.message import Campaign, fill
from newsletter.secrets import redact, secret

if TYPE_CHECKING:
    import httpx

    from newsletter.workspace import Workspace

DEFAULT_HOST = "https://api.resend.com"
HOST_VARIABLE = "RESEND_API_HOST"
API_KEY = "RESEND_API_KEY"
MAX_BATCH = 100  # messages per POST /emails/batch
IDEMPOTENT_FOR = dt.timedelta(hours=24)  # how long Resend keeps an Idempotency-Key
MAX_KEY = 256  # characters in an Idempotency-Key
QUOTA_ERRORS = ("daily_quota_exceeded", "monthly_quota_exceeded")  # a 429 that waiting a minute does not fix
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # Resend's tags: ASCII letters, digits, _ and -


@dataclass(frozen=True)
class ResendSettings:
    host: str = DEFAULT_HOST  # RESEND_API_HOST in the environment overrides it


def _mailbox(address: str, name: str = "") -> str:
    """``Name <address>``; a name holding specials is quoted, non-ASCII is left to Resend."""
    if not name:
        return address
    if re.search(r'[()<>\[\]:;@\\,."]', name):
        name = '"{}"'.format(name.replace("\\", "\\\\").replace('"', '\\"'))
    return f"{name} <{address}>"


def _tag(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value)[:256] or "_"


class ResendBody:
    """Builds each batch's request body from the parts every message shares, worked out once."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        name, address = campaign.sender_address
        self.sender = _mailbox(address, name)
        # What the figures are counted by: a test copy carries the test categories.
        categories = list(campaign.categories) or ["newsletter", campaign.slug]
        self.tags = [{"name": "list", "value": _tag(categories[0])},
                     {"name": "issue", "value": _tag(categories[-1])}]

    def message(self, recipient: Recipient) -> dict:
        values = recipient.merge_fields
        campaign = self.campaign
        message: dict = {
            "from": self.sender,
            "to": [_mailbox(recipient.email, recipient.name)],
            "subject": fill(campaign.subject, values),
            "html": fill(campaign.html, values, escape=True),
            "text": fill(campaign.text, values),
        }
        if campaign.reply_to:
            message["reply_to"] = campaign.reply_to
        if campaign.headers:  # written as they are: a receiving server reads List-Unsubscribe unencoded
            message["headers"] = {key: fill(value, values) for key, value in campaign.headers.items()}
        message["tags"] = self.tags
        return message

    def request(self, recipients: Sequence[Recipient]) -> bytes:
        """The exact bytes of the request: a retry under the same key must send the same body."""
        if not 0 < len(recipients) <= MAX_BATCH:
            raise ValueError(f"a batch request holds 1 to {MAX_BATCH} messages, not {len(recipients)}")
        body = [self.message(recipient) for recipient in recipients]
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ResendProvider(Provider):
    name = "resend"
    Settings = ResendSettings
    max_batch = MAX_BATCH
    max_concurrency = 2  # Resend's default rate limit is 2 requests a second; its 429s are honoured
    max_schedule = dt.timedelta(0)  # the batch endpoint cannot schedule
    idempotent_for = IDEMPOTENT_FOR

    def __init__(self, api_key: str, host: str = DEFAULT_HOST, timeout: float = 30.0) -> None:
        self.api_key = api_key
        self.host = host.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_workspace(cls, workspace: Workspace, sandbox: bool = False) -> ResendProvider:
        own = workspace.provider_settings(cls.name, ResendSettings)
        if sandbox:
            raise InputError(None, "the resend provider has no sandbox mode: send a test with --to ADDR")
        host = os.environ.get(HOST_VARIABLE) or own.host or DEFAULT_HOST
        if not re.match(r"https?://[^/\s]+", host):
            where = HOST_VARIABLE if os.environ.get(HOST_VARIABLE) else "[send.resend] host"
            raise InputError(workspace.settings_path, f"{where} = {host!r} is not an http(s) address, "
                             f"e.g. {DEFAULT_HOST!r}", workspace.settings_line("send.resend", "host"))
        return cls(secret(API_KEY, "the resend provider"), host, workspace.table(SendSettings).timeout)

    def summary(self, result: SendResult) -> str:
        return ""

    def client(self) -> httpx.Client:
        import httpx  # loaded only when Resend is used

        # No redirects (the key goes to the configured host only); no proxies or .netrc from the environment.
        return httpx.Client(base_url=self.host, timeout=httpx.Timeout(self.timeout), follow_redirects=False,
                            trust_env=False, headers={"Authorization": f"Bearer {self.api_key}",
                                                      "Content-Type": "application/json",
                                                      "User-Agent": "newsletter"})

    @contextmanager
    def open(self, campaign: Campaign) -> Iterator[ResendSession]:
        client = self.client()
        session = ResendSession(client, ResendBody(campaign), self.host)
        try:
            yield session
        finally:
            client.close()


class ResendSession(Session):
    """Shared by the send's worker threads (an httpx client is safe to share)."""

    def __init__(self, client: httpx.Client, body: ResendBody, host: str = "") -> None:
        self.client = client
        self.body = body
        self.host = host
        self.requests = 0
        self.lock = threading.Lock()

    def send(self, batch: Batch) -> str:
        import httpx

        content = self.body.request(batch.recipients)
        headers = {"Idempotency-Key": batch.key} if batch.key else {}
        where = f"Resend at {self.host} ({HOST_VARIABLE}, or [send.resend] host)"
        try:
            response = self.client.post("/emails/batch", content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # No connection was made: nothing went out.
            raise TemporaryFailure(redact(f"{where} unreachable: {error or type(error).__name__}")) from None
        except httpx.RequestError as error:
            # Timed out, cut off or garbled after the request went out: Resend may have taken it.
            raise TemporaryFailure(redact(f"Resend did not answer: {error or type(error).__name__}"),
                                   maybe_delivered=True) from None
        with self.lock:
            self.requests += 1
        if 200 <= response.status_code < 300:
            return _receipt(response)
        raise _classify(response, batch)

    def details(self) -> dict:
        return {"requests": self.requests}


def _receipt(response: httpx.Response) -> str:
    try:
        ids = [item.get("id") for item in response.json().get("data", [])]
    except (ValueError, AttributeError):
        ids = []
    first = f", first id {ids[0]}" if ids and isinstance(ids[0], str) else ""
    return f"{response.status_code}: {len(ids)} emails{first}"


def _error(response: httpx.Response) -> tuple[str, str]:
    """Resend's error ``name`` and ``message`` (or the body as it came)."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload.get("name") or "")[:100], payload["message"][:300]
    return "", response.text[:200]


def _classify(response: httpx.Response, batch: Batch) -> Exception:
    status = response.status_code
    name, text = _error(response)
    said = f"Resend answered {status}" + (f" {name}" if name else "") + (f": {text}" if text else "")
    if status == 409 and name == "concurrent_idempotent_requests":
        # The first try under this key is still being handled: ask again shortly.
        return TemporaryFailure(redact(said), retry_after=requested_wait(response.headers))
    if status == 409 and name == "invalid_idempotent_request":
        return BatchFailed(f"{said} (batch {batch.id}: Resend already took another request under this batch's "
                           "idempotency key; the issue or these readers changed since it was first tried, so its "
                           "first version may have gone out: restore the issue as it was sent, or check Resend's "
                           "activity)", maybe_delivered=True)
    if status == 429 and name not in QUOTA_ERRORS:
        return TemporaryFailure(redact(said), retry_after=requested_wait(response.headers))
    if status >= 500:
        # A 5xx may come after Resend took the batch: of unknown fate (settled by the idempotency key).
        return TemporaryFailure(redact(said), maybe_delivered=True)
    if 300 <= status < 400:
        where = response.headers.get("Location", "elsewhere")
        return BatchFailed(f"Resend's host answered {status} and points to {where}: redirects are not followed "
                           f"(the API key goes to the configured host only); check {HOST_VARIABLE} or "
                           f"[send.resend] host (batch {batch.id} not sent)")
    if status in (401, 403):
        said += f" (Resend refused {API_KEY}: set a key with sending access in .env or the CI secrets)"
    return BatchFailed(f"{said} (batch {batch.id} not sent)")
