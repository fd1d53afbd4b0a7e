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
from typing import TYPE_CHECKING, Any, ContextManager, Sequence

from newsletter.compose.audience import Batch
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError, SendError
from newsletter.render.message import Campaign
from newsletter.render.unsubscribe import HOSTED_PLACEHOLDER_MARK, HostedUnsubscribe
from newsletter.schema import suggestion
from newsletter.secrets import redact

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

DRY_RUN = "outbox"  # what `send` uses without --send: writes what would be sent, sends nothing
PROVIDERS = {
    "outbox": "newsletter.deliver.providers.outbox:OutboxProvider",
    "resend": "newsletter.deliver.providers.resend:ResendProvider",
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


def hosted_unsubscribe(workspace: Workspace, provider: str | None = None) -> HostedUnsubscribe | None:
    """What the provider that sends (``provider``, else [send] provider) says about hosting
    unsubscribes (None: it does not)."""
    return provider_class(provider or workspace.table(SendSettings).provider, workspace).hosted_unsubscribe(workspace)


class BatchFailed(SendError):
    """The provider refused the batch; ``delivered`` got it before the refusal (SMTP sends one by one).
    ``maybe_delivered``: the refusal says an earlier try may have gone out (the batch stays unknown)."""

    def __init__(self, message: str, delivered: Sequence[str] = (), maybe_delivered: bool = False) -> None:
        super().__init__(redact(message))
        self.delivered = list(delivered)
        self.maybe_delivered = maybe_delivered


class Session:
    """One campaign's connection to a provider. What it can do beyond ``send`` is declared here
    (as django-anymail's backends do), so the generic sending code asks, never guesses."""

    # Logs each message before and after it goes (SMTP): a crash leaves one message in doubt.
    logs_each_message = False
    journal: Any = None  # set by the sender when logs_each_message: started(address), sent(address)

    def send(self, batch: Batch) -> str:
        """Deliver the batch; return a short receipt for the log. Calling it again after a
        TemporaryFailure must not deliver twice what the first call delivered."""
        raise NotImplementedError

    def details(self) -> dict:
        """What the run produced, for the report (e.g. the outbox folder)."""
        return {}

    def reserves(self, batch: Batch) -> bool:
        """Each try at ``batch`` goes out under a provider reference logged first and cancellable
        until the mail leaves (SendGrid's batch ids for scheduled mail): a try of unknown fate can
        be settled. Decided per batch: each may have its own send time."""
        return False

    def delivers_at(self, batch: Batch) -> dt.datetime | None:
        """When the provider will deliver ``batch``, if it holds it until later (logged with the batch)."""
        return None

    def reserve(self, batch: Batch) -> str:
        raise NotImplementedError

    def cancel(self, reference: str) -> None:
        raise NotImplementedError


class Provider:
    """A provider: its limits and its capabilities, declared. Subclasses set what differs."""

    name = ""
    dry_run = False  # delivers nothing: no confirmation, no send log
    max_batch = 1000  # most recipients in one batch
    max_concurrency = 1  # most batches in flight at once through one session
    max_schedule: dt.timedelta | None = dt.timedelta(0)  # how far ahead it holds scheduled mail (None: no limit)
    fills_hosted_unsubscribe = False  # replaces a hosted-unsubscribe placeholder per recipient
    can_cancel_scheduled = False  # cancel_scheduled(reference) calls back scheduled mail
    cancel_deadline = dt.timedelta(0)  # until this long before send_at
    # Sends each batch at its own time (Batch.send_at), so a send_at written as a local time
    # reaches each reader at that time in their own zone; others refuse such an issue.
    local_send_times = False
    can_pull_suppressions = False  # pull_suppressions(since, policy, progress)
    can_report = False  # category_stats(category, start, policy)
    # Keeps a batch's idempotency key (Batch.key) this long: the same key and body within it is
    # answered as the first time and sends nothing again, so a try of unknown fate is simply tried
    # again under its key, in the same run or a resumed one. Zero: it keeps no keys.
    idempotent_for = dt.timedelta(0)
    # The DKIM selectors it signs with under the sender's domain: `check --online` looks them up.
    dkim_selectors: tuple[str, ...] = ()

    @classmethod
    def hosted_unsubscribe(cls, workspace: Workspace) -> HostedUnsubscribe | None:
        """The unsubscribe page this provider hosts for the workspace (None: it hosts none)."""
        return None

    def open(self, campaign: Campaign) -> ContextManager[Session]:
        raise NotImplementedError

    def summary(self, result: SendResult) -> str:
        """One line for people about what the run did (empty: the caller's generic line)."""
        return ""

    def cancel_scheduled(self, reference: str) -> None:
        raise NotImplementedError

    def pull_suppressions(self, since: dt.datetime | None, policy: Any, progress: Any) -> list:
        raise NotImplementedError

    def category_stats(self, category: str, start: dt.date, policy: Any) -> dict[str, int]:
        raise NotImplementedError


def provider_class(name: str, workspace: Workspace | None = None) -> type[Provider]:
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
    for name in workspace.table(SendSettings).providers:
        if name not in PROVIDERS:
            raise InputError(workspace.settings_path, f"unknown table [send.{name}]: no provider is called {name!r}"
                             + suggestion(name, PROVIDERS), workspace.settings_line(f"send.{name}"))
        settings_class = getattr(provider_class(name), "Settings", None)
        if settings_class is not None:
            workspace.provider_settings(name, settings_class)


__all__ = ["DRY_RUN", "HOSTED_PLACEHOLDER_MARK", "PROVIDERS", "Batch", "BatchFailed", "HostedUnsubscribe", "hosted_unsubscribe", "Provider", "SendResult", "Session", "check_provider_tables",
           "get_provider", "provider_class"]
