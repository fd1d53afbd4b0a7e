"""Providers deliver a Campaign to recipients, one batch at a time. Each is one module with one class.

The outbox provider (the dry run) sits beside the real ones, so "dry run" is a
choice of provider, not an ``if`` scattered through the sending code. A provider opens a
session for one campaign; the session sends batches and may raise:

- ``retry.TemporaryFailure``: worth trying again (the caller backs off and retries);
- ``BatchFailed``: will not work; ``delivered`` lists addresses that got it anyway.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ContextManager, Protocol, Sequence

from newsletter.deliver.audience import Recipient
from newsletter.deliver.message import Campaign
from newsletter.errors import InputError, SendError

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

PROVIDERS = {
    "outbox": "newsletter.deliver.providers.outbox:OutboxProvider",
    "sendgrid": "newsletter.deliver.providers.sendgrid:SendGridProvider",
    "smtp": "newsletter.deliver.providers.smtp:SmtpProvider",
}

# Environment variables holding secrets: read only from the environment or .env, never shown.
SECRET_VARIABLES = ("SENDGRID_API_KEY", "SMTP_PASSWORD")


@dataclass(frozen=True)
class Batch:
    id: str  # "<run>.<number>", the same in the send log and in the provider's custom args
    recipients: Sequence[Recipient]


@dataclass(frozen=True)
class SendResult:
    provider: str
    accepted: int
    dry_run: bool
    location: str | None = None
    details: dict = field(default_factory=dict)


class BatchFailed(SendError):
    """The provider refused the batch; ``delivered`` got it before the refusal (SMTP sends one by one)."""

    def __init__(self, message: str, delivered: Sequence[str] = ()) -> None:
        super().__init__(redact(message))
        self.delivered = list(delivered)


class Session(Protocol):
    def send(self, batch: Batch) -> str:
        """Deliver the batch; return a short receipt for the log. Calling it again after a
        TemporaryFailure must not deliver twice what the first call delivered."""

    def details(self) -> dict:
        """What the run produced, for the report (e.g. the outbox folder)."""


class Provider(Protocol):
    name: str
    dry_run: bool  # delivers nothing: no confirmation, no send log
    max_batch: int  # most recipients in one batch
    max_schedule: dt.timedelta | None  # how far ahead it can hold scheduled mail (None: no limit)

    def open(self, campaign: Campaign) -> ContextManager[Session]: ...


def get_provider(name: str, workspace: Workspace, sandbox: bool = False) -> Provider:
    if name not in PROVIDERS:
        raise InputError(None, f"unknown provider {name!r} (available: {', '.join(PROVIDERS)})")
    module_name, _, class_name = PROVIDERS[name].partition(":")
    provider_class = getattr(importlib.import_module(module_name), class_name)
    return provider_class.from_workspace(workspace, sandbox=sandbox)


def secret(variable: str, needed_for: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise InputError(None, f"{variable} is not set: {needed_for} needs it in the environment or in .env "
                         "(see .env.example)")
    return value


def redact(text: str) -> str:
    """``text`` with every secret's value blanked out, whatever a server or library put in it."""
    for variable in SECRET_VARIABLES:
        value = os.environ.get(variable, "")
        if len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return text


__all__ = ["PROVIDERS", "Batch", "BatchFailed", "Provider", "SECRET_VARIABLES", "SendResult", "Session",
           "get_provider", "redact", "secret"]
