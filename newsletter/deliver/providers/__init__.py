"""Providers deliver a Campaign to recipients, one batch at a time. Each is one module with one class.

A provider module owns everything about its service: its ``[send.NAME]`` settings table (a
dataclass, read with ``workspace.provider_settings``), the secrets it asks for, the request it
makes and how it sums up a result. Adding one is a module plus one line in ``PROVIDERS``.

The outbox provider (the dry run) sits beside the real ones, so "dry run" is a choice of
provider, not an ``if`` scattered through the sending code. A provider opens a session for one
campaign; the session sends batches and may raise:

- ``retry.TemporaryFailure``: worth trying again (the caller backs off and retries);
- ``BatchFailed``: will not work; ``delivered`` lists addresses that got it anyway.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ContextManager, Protocol, Sequence

from newsletter.deliver.audience import Batch
from newsletter.deliver.message import Campaign
from newsletter.deliver.secrets import redact
from newsletter.errors import InputError, SendError
from newsletter.schema import suggestion

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

PROVIDERS = {
    "outbox": "newsletter.deliver.providers.outbox:OutboxProvider",
    "sendgrid": "newsletter.deliver.providers.sendgrid:SendGridProvider",
    "smtp": "newsletter.deliver.providers.smtp:SmtpProvider",
}


@dataclass(frozen=True)
class SendResult:
    provider: str
    accepted: int
    dry_run: bool
    location: str | None = None  # where a dry run wrote what it would have sent
    details: dict = field(default_factory=dict)
    summary: str = ""  # the provider's own line about what it did, for people


@dataclass(frozen=True)
class HostedUnsubscribe:
    """A provider that hosts the unsubscribe page itself: the email is built with ``placeholder``
    as its unsubscribe link (plainly fake, on the never-resolving .invalid domain, which preview
    and the dry run show as it is) and the provider swaps in its own per-recipient link."""

    placeholder: str
    mode: str  # a short name for `check`, e.g. "sendgrid-group"
    explanation: str  # one sentence for people


# Every hosted-unsubscribe placeholder contains this: a provider that hosts none refuses to send it.
HOSTED_PLACEHOLDER_MARK = "-replaces-this.invalid/"


def hosted_unsubscribe(workspace: Workspace) -> HostedUnsubscribe | None:
    """What the workspace's provider says about hosting unsubscribes (None: it does not)."""
    ask = getattr(provider_class(workspace.settings.send.provider, workspace), "hosted_unsubscribe", None)
    return ask(workspace) if ask else None


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
    max_concurrency: int  # most batches in flight at once through one session
    max_schedule: dt.timedelta | None  # how far ahead it can hold scheduled mail (None: no limit)

    def open(self, campaign: Campaign) -> ContextManager[Session]: ...

    def summary(self, result: SendResult) -> str:
        """One line for people about what the run did (empty: the caller's generic line)."""


def provider_class(name: str, workspace: Workspace | None = None) -> type:
    if name not in PROVIDERS:
        raise InputError(workspace.settings_path if workspace else None,
                         f"unknown provider {name!r}{suggestion(name, PROVIDERS)}")
    module_name, _, class_name = PROVIDERS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_provider(name: str, workspace: Workspace, sandbox: bool = False) -> Provider:
    check_provider_tables(workspace)
    return provider_class(name, workspace).from_workspace(workspace, sandbox=sandbox)


def check_provider_tables(workspace: Workspace) -> None:
    """Every ``[send.NAME]`` table names a provider and holds only what that provider reads."""
    for name in workspace.settings.send.providers:
        if name not in PROVIDERS:
            raise InputError(workspace.settings_path, f"unknown table [send.{name}]: no provider is called {name!r}"
                             + suggestion(name, PROVIDERS), workspace.settings_line(f"send.{name}"))
        settings_class = getattr(provider_class(name), "Settings", None)
        if settings_class is not None:
            workspace.provider_settings(name, settings_class)


__all__ = ["HOSTED_PLACEHOLDER_MARK", "PROVIDERS", "Batch", "BatchFailed", "HostedUnsubscribe", "hosted_unsubscribe", "Provider", "SendResult", "Session", "check_provider_tables",
           "get_provider", "provider_class"]
