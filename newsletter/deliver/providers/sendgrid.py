"""SendGrid through the official ``sendgrid`` library: one v3 mail/send request per batch.

The HTML is rendered once; recipients are personalizations with substitutions (payload.py).
The library neither retries nor times out by default: the session sets the timeout and turns
429, 5xx and network failures into TemporaryFailure for the caller's backoff, and any other
4xx into BatchFailed carrying SendGrid's own message.
"""

from __future__ import annotations

import http.client
import logging
import os
import urllib.error
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from newsletter.deliver.message import Campaign
from newsletter.deliver.providers import Batch, BatchFailed, redact, secret
from newsletter.deliver.providers.sendgrid_payload import MAX_PERSONALIZATIONS, MAX_SCHEDULE, SendGridBody
from newsletter.deliver.retry import TemporaryFailure, requested_wait

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

# python_http_client logs every request's headers, the API key included, at DEBUG level.
logging.getLogger("python_http_client.client").setLevel(logging.INFO)

DEFAULT_HOST = "https://api.sendgrid.com"


class SendGridProvider:
    name = "sendgrid"
    max_batch = MAX_PERSONALIZATIONS
    max_schedule = MAX_SCHEDULE

    def __init__(self, api_key: str, host: str = DEFAULT_HOST, timeout: float = 30.0, sandbox: bool = False) -> None:
        self.api_key = api_key
        # The library appends /v3 itself.
        self.host = host.rstrip("/").removesuffix("/v3")
        self.timeout = timeout
        self.sandbox = sandbox
        self.dry_run = sandbox  # sandbox mode: SendGrid validates and answers, delivers nothing

    @classmethod
    def from_workspace(cls, workspace: Workspace, sandbox: bool = False) -> SendGridProvider:
        settings = workspace.settings.send
        host = os.environ.get("SENDGRID_API_HOST") or settings.sendgrid_host or DEFAULT_HOST
        return cls(secret("SENDGRID_API_KEY", "the sendgrid provider"), host, settings.timeout, sandbox)

    @contextmanager
    def open(self, campaign: Campaign) -> Iterator[SendGridSession]:
        client = SendGridAPIClient(self.api_key, host=self.host)
        client.client.timeout = self.timeout
        yield SendGridSession(client, SendGridBody(campaign, sandbox=self.sandbox))


class SendGridSession:
    def __init__(self, client: SendGridAPIClient, body: SendGridBody) -> None:
        self.client = client
        self.body = body
        self.requests = 0

    def send(self, batch: Batch) -> str:
        request = self.body.request(batch.recipients, batch.id)
        try:
            response = self.client.send(request)
        except HTTPError as error:
            raise _classify(error, batch) from None
        except urllib.error.URLError as error:
            refused = isinstance(error.reason, ConnectionRefusedError)
            raise TemporaryFailure(f"SendGrid unreachable: {error.reason}", maybe_delivered=not refused) from None
        except (OSError, http.client.HTTPException) as error:
            # Timed out or cut off after the request went out: SendGrid may have accepted it.
            raise TemporaryFailure(f"SendGrid did not answer: {error or type(error).__name__}",
                                   maybe_delivered=True) from None
        self.requests += 1
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return f"{response.status_code}" + (f" X-Message-Id {message_id}" if message_id else "")

    def details(self) -> dict:
        return {"requests": self.requests}


def _classify(error: HTTPError, batch: Batch) -> Exception:
    status = error.status_code
    message = redact(f"SendGrid answered {status} {error.reason}{_explanation(error)}")
    headers = error.headers or {}
    if status == 429:
        return TemporaryFailure(message, retry_after=requested_wait(headers))
    if status >= 500:
        return TemporaryFailure(message)
    return BatchFailed(f"{message} (batch {batch.id} not sent)")


def _explanation(error: HTTPError) -> str:
    """SendGrid's ``errors`` list, e.g. ``: personalizations.0.to: invalid email``."""
    try:
        problems = error.to_dict.get("errors") or []
    except (ValueError, AttributeError, UnicodeDecodeError):
        body = (error.body or b"")[:200]
        return f": {body.decode('utf-8', 'replace')}" if body else ""
    texts = [f"{p['field']}: {p.get('message', '')}" if p.get("field") else str(p.get("message", ""))
             for p in problems if isinstance(p, dict)]
    return f": {'; '.join(texts)}" if texts else ""
